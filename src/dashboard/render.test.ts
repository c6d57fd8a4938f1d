import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ansiToHtml } from './ansi.ts';
import { STYLE } from './assets/style.ts';
import { barChart, columnChart } from './chart.ts';
import { duration, money } from './format.ts';

describe('log tails: ANSI to escaped HTML', () => {
  it('colours and weights become classed spans; a reset closes them', () => {
    assert.equal(String(ansiToHtml('\x1b[31mred\x1b[0m plain \x1b[1;92mbold green\x1b[22m green')), '<span class="f1">red</span> plain <span class="f10 ab">bold green</span><span class="f10"> green</span>');
  });

  it('text is always escaped: markup in a log is shown, never run', () => {
    const html = String(ansiToHtml('<script>alert(1)</script> & "x" \x1b[31m<img src=x onerror=alert(1)>\x1b[0m'));
    assert.ok(!html.includes('<script') && !html.includes('<img'), html);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;x&quot; <span class="f1">&lt;img src=x onerror=alert\(1\)&gt;<\/span>/);
  });

  it('other escape sequences and control characters are dropped; a carriage return shows the last frame', () => {
    assert.equal(String(ansiToHtml('\x1b]0;title\x07\x1b[2Kdone\x1b[?25h\x07\x00')), 'done');
    assert.equal(String(ansiToHtml('10%\r50%\r100%\nnext\r\n')), '100%\nnext\n');
    assert.equal(String(ansiToHtml('\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\')), 'link');
  });

  it('256 and true colours fall back to the nearest of the 16 (no inline styles), background included', () => {
    assert.equal(String(ansiToHtml('\x1b[38;5;196mA\x1b[38;2;0;0;238mB\x1b[48;5;2mC')), '<span class="f9">A</span><span class="f4">B</span><span class="f4 b2">C</span>');
  });

  it('a whole test log renders in well under a millisecond per kilobyte', () => {
    const log = Array.from({ length: 2000 }, (_, i) => `\x1b[32m✔\x1b[39m test ${i} \x1b[90m(${i}ms)\x1b[39m`).join('\n');
    const out = String(ansiToHtml(log));
    assert.equal(out.split('\n').length, 2000);
    assert.equal((out.match(/<span class="f2">✔<\/span>/g) ?? []).length, 2000);
  });
});

describe('charts: inline SVG drawn on the server', () => {
  it('one column per day, each with its value as a title, and the numbers as a table for screen readers', () => {
    const svg = String(columnChart({ id: 'c', caption: 'Cost by day', bars: [{ label: '2026-01-01', value: 0 }, { label: '2026-01-02', value: 2 }, { label: '2026-01-03', value: 1 }], format: money }));
    assert.equal((svg.match(/<rect class="bar"/g) ?? []).length, 3);
    assert.match(svg, /<title>2026-01-02: \$2\.00<\/title>/);
    assert.match(svg, /<svg viewBox="0 0 640 180" role="img" aria-labelledby="c"/);
    assert.match(svg, /<table class="sr-only"><caption>Cost by day<\/caption>/);
    const heights = [...svg.matchAll(/<rect class="bar"[^>]* height="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual([heights[0], heights[1]! / heights[2]!], [0, 2]);
    assert.doesNotMatch(svg, /style=/);
  });

  it('owner bars are escaped like everything else', () => {
    const svg = String(barChart({ id: 'o', caption: 'By owner', bars: [{ label: '<b>eve</b>', value: 3 }], format: money }));
    assert.ok(!svg.includes('<b>'));
    assert.match(svg, /&lt;b&gt;eve&lt;\/b&gt;/);
  });
});

describe('formatting', () => {
  it('durations in two units at most, money in cents unless under a cent', () => {
    assert.deepEqual([duration(850), duration(3200), duration(65_000), duration(2 * 3_600_000 + 600_000), duration(50 * 3_600_000)], ['850 ms', '3.2 s', '1 min 05 s', '2 h 10 min', '2 d 2 h']);
    assert.deepEqual([money(0), money(0.004), money(0.2083), money(12.5)], ['$0.00', '$0.0040', '$0.21', '$12.50']);
  });
});

/** WCAG relative luminance and contrast of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const lum = (hex: string) => {
    const [r, g, b2] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b2;
  };
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

describe('the palette, light and dark', () => {
  const scheme = (block: string): Record<string, string> => Object.fromEntries([...block.matchAll(/--([a-z-]+):(#[0-9a-f]{6})/g)].map((m) => [m[1]!, m[2]!]));
  const light = scheme(STYLE.slice(STYLE.indexOf(':root{'), STYLE.indexOf('@media (prefers-color-scheme:dark)')));
  const darkStart = STYLE.indexOf('@media (prefers-color-scheme:dark){:root{');
  const dark = scheme(STYLE.slice(darkStart, STYLE.indexOf('}}', darkStart)));

  it('both schemes define every colour, and text, muted text, states and links reach 4.5:1 on page and card', () => {
    assert.deepEqual(Object.keys(dark).sort(), Object.keys(light).sort());
    for (const [name, colours] of [['light', light], ['dark', dark]] as const) {
      for (const fg of ['fg', 'muted', 'ok', 'bad', 'warn', 'run']) {
        for (const bg of ['bg', 'card', 'head', 'code']) {
          const ratio = contrast(colours[fg]!, colours[bg]!);
          assert.ok(ratio >= 4.5, `${name}: --${fg} on --${bg} is ${ratio.toFixed(2)}:1`);
        }
      }
      assert.ok(contrast(colours['accent-fg']!, colours.accent!) >= 4.5, `${name}: the current nav item`);
    }
  });
});
