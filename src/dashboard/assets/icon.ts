/** The favicon and header mark: a box with two claws, in the accent colour. */
export const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="7" y="10" width="18" height="15" rx="3" fill="#b3361f"/><path d="M7 13 3 7l5 1M25 13l4-6-5 1" stroke="#b3361f" stroke-width="2.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/><circle cx="12.5" cy="16" r="1.6" fill="#fff"/><circle cx="19.5" cy="16" r="1.6" fill="#fff"/></svg>
`;
