import { html, type Html } from './html.ts';

/**
 * Terminal output as HTML: SGR colour and weight become spans with classes (the stylesheet maps them to the 16
 * terminal colours, dark and light), every other escape sequence and control character is dropped, a carriage return
 * overwrites the line as a terminal would, and all text is escaped. No inline styles (the CSP forbids them), so 256
 * and true colours fall back to the nearest of the 16.
 */

interface Style {
  fg?: number | undefined;
  bg?: number | undefined;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

// The xterm defaults of the 16 colours, to place 256-colour and true-colour values.
const PALETTE: [number, number, number][] = [
  [0, 0, 0], [205, 0, 0], [0, 205, 0], [205, 205, 0], [0, 0, 238], [205, 0, 205], [0, 205, 205], [229, 229, 229],
  [127, 127, 127], [255, 0, 0], [0, 255, 0], [255, 255, 0], [92, 92, 255], [255, 0, 255], [0, 255, 255], [255, 255, 255],
];

function nearest(r: number, g: number, b: number): number {
  let best = 0;
  let bestDistance = Infinity;
  PALETTE.forEach(([pr, pg, pb], i) => {
    const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
    if (d < bestDistance) [best, bestDistance] = [i, d];
  });
  return best;
}

function from256(n: number): number {
  if (n < 16) return n;
  if (n >= 232) {
    const level = 8 + (n - 232) * 10;
    return nearest(level, level, level);
  }
  const i = n - 16;
  const step = (v: number) => (v === 0 ? 0 : 55 + v * 40);
  return nearest(step(Math.floor(i / 36)), step(Math.floor(i / 6) % 6), step(i % 6));
}

/** Applies one SGR parameter list (`1;31`, `38;5;208`) to the style. */
function applySgr(style: Style, params: string): Style {
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  let next: Style = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 3) next.italic = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) next.bold = next.dim = false;
    else if (code === 23) next.italic = false;
    else if (code === 24) next.underline = false;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code === 39) next.fg = undefined;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 49) next.bg = undefined;
    else if (code === 38 || code === 48) {
      let colour: number | undefined;
      if (codes[i + 1] === 5 && codes[i + 2] !== undefined) {
        colour = from256(codes[i + 2]! & 255);
        i += 2;
      } else if (codes[i + 1] === 2 && codes[i + 4] !== undefined) {
        colour = nearest(codes[i + 2]!, codes[i + 3]!, codes[i + 4]!);
        i += 4;
      } else break;
      if (code === 38) next.fg = colour;
      else next.bg = colour;
    }
  }
  return next;
}

const classOf = (s: Style): string =>
  [s.fg !== undefined ? `f${s.fg}` : '', s.bg !== undefined ? `b${s.bg}` : '', s.bold ? 'ab' : '', s.dim ? 'ad' : '', s.italic ? 'ai' : '', s.underline ? 'au' : ''].filter(Boolean).join(' ');

// CSI (SGR is the one kept), OSC (titles, hyperlinks), and two-byte escapes.
const ESCAPES = /\x1b\[([0-?]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?/g;
// Control characters other than tab and newline (carriage returns are handled per line before this).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** A line with carriage returns (a progress bar redrawn in place) shows its last frame, as a terminal would. */
function overwrite(line: string): string {
  if (!line.includes('\r')) return line;
  return line.split('\r').filter((part) => part !== '').at(-1) ?? '';
}

/** Terminal output as escaped HTML with colour spans. */
export function ansiToHtml(text: string): Html {
  const out: Html[] = [];
  let style: Style = {};
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = overwrite(raw);
    let last = 0;
    const emit = (chunk: string) => {
      const plain = chunk.replace(CONTROLS, '');
      if (plain === '') return;
      const c = classOf(style);
      out.push(c ? html`<span class="${c}">${plain}</span>` : html`${plain}`);
    };
    for (const match of line.matchAll(ESCAPES)) {
      emit(line.slice(last, match.index));
      last = match.index + match[0].length;
      if (match[3] === 'm' && match[2] === '') style = applySgr(style, match[1] ?? '');
    }
    emit(line.slice(last));
    if (index < lines.length - 1) out.push(html`\n`);
  });
  return html`${out}`;
}
