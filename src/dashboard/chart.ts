import { html, type Html } from './html.ts';

/**
 * Bar charts as inline SVG, drawn on the server: no script, no inline style (colours come from the stylesheet's
 * classes, so they follow the light or dark scheme). Each chart carries its numbers as a table for screen readers,
 * and each bar a <title> for pointer users.
 */

export interface Bar {
  label: string;
  value: number;
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** Columns, one per bar (the days of a month): a value axis label at the top, every few labels along the bottom. */
export function columnChart(input: { id: string; caption: string; bars: Bar[]; format: (value: number) => string }): Html {
  const { bars } = input;
  const width = 640;
  const height = 180;
  const top = 18;
  const bottom = 22;
  const plot = height - top - bottom;
  const max = Math.max(...bars.map((b) => b.value), 0);
  const slot = width / Math.max(bars.length, 1);
  const every = Math.ceil(bars.length / 10);
  const columns = bars.map((b, i) => {
    const h = max > 0 ? (b.value / max) * plot : 0;
    const x = round(i * slot + slot * 0.15);
    return html`<rect class="bar" x="${x}" y="${round(top + plot - h)}" width="${round(slot * 0.7)}" height="${round(Math.max(h, b.value > 0 ? 1 : 0))}"><title>${b.label}: ${input.format(b.value)}</title></rect>${
      i % every === 0 ? html`<text class="tick" x="${round(i * slot + slot / 2)}" y="${height - 6}" text-anchor="middle">${b.label.slice(-2)}</text>` : ''}`;
  });
  return html`<figure class="chart">
<figcaption id="${input.id}">${input.caption}</figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${input.id}" focusable="false">
<line class="axis" x1="0" y1="${top + plot}" x2="${width}" y2="${top + plot}"></line>
<text class="tick" x="2" y="12">${input.format(max)}</text>
${columns}
</svg>
${dataTable(input.caption, bars, input.format)}
</figure>`;
}

/** Rows, one per bar (owners), longest first as given, the value written beside each. */
export function barChart(input: { id: string; caption: string; bars: Bar[]; format: (value: number) => string }): Html {
  const { bars } = input;
  const width = 640;
  const row = 26;
  const labelWidth = 190;
  const valueWidth = 90;
  const plot = width - labelWidth - valueWidth;
  const max = Math.max(...bars.map((b) => b.value), 0);
  const rows = bars.map((b, i) => {
    const y = i * row;
    const w = max > 0 ? (b.value / max) * plot : 0;
    return html`<text class="label" x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${b.label.length > 24 ? `${b.label.slice(0, 23)}…` : b.label}</text>
<rect class="bar" x="${labelWidth}" y="${y + 5}" width="${round(Math.max(w, b.value > 0 ? 1 : 0))}" height="${row - 10}"><title>${b.label}: ${input.format(b.value)}</title></rect>
<text class="value" x="${round(labelWidth + w + 6)}" y="${y + 17}">${input.format(b.value)}</text>`;
  });
  return html`<figure class="chart">
<figcaption id="${input.id}">${input.caption}</figcaption>
<svg viewBox="0 0 ${width} ${Math.max(bars.length, 1) * row}" role="img" aria-labelledby="${input.id}" focusable="false">${rows}</svg>
${dataTable(input.caption, bars, input.format)}
</figure>`;
}

function dataTable(caption: string, bars: Bar[], format: (value: number) => string): Html {
  return html`<table class="sr-only"><caption>${caption}</caption><tbody>${bars.map((b) => html`<tr><th scope="row">${b.label}</th><td>${format(b.value)}</td></tr>`)}</tbody></table>`;
}
