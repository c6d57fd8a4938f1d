/** Minimal XML rendering in the EC2 response style (lowerCamel elements, lists as `<xSet><item>`). */
export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `<name>content</name>`; a string is escaped, an array is joined as already-rendered children. Undefined renders nothing. */
export function el(name: string, content: string | number | boolean | string[] | undefined): string {
  if (content === undefined) return '';
  const inner = Array.isArray(content) ? content.join('') : esc(String(content));
  return `<${name}>${inner}</${name}>`;
}

/** `<name><item>…</item>…</name>`. */
export function set(name: string, items: string[][]): string {
  return `<${name}>${items.map((children) => `<item>${children.join('')}</item>`).join('')}</${name}>`;
}

export function tagSet(tags: Map<string, string> | Record<string, string>): string {
  const entries = tags instanceof Map ? [...tags] : Object.entries(tags);
  return set('tagSet', entries.map(([k, v]) => [el('key', k), el('value', v)]));
}

/** A successful response: `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`. */
export function response(action: string, requestId: string, children: string[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_XMLNS}">${el('requestId', requestId)}${children.join('')}</${action}Response>`;
}

/** EC2's error document: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`. */
export function errorResponse(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>${el('Code', code)}${el('Message', message)}</Error></Errors>${el('RequestID', requestId)}</Response>`;
}
