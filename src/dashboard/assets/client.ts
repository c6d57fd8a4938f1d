import { BROWSER_CLOCK_SOURCE } from '../../domain/clock.ts';

/**
 * The dashboard's only script (served at /assets/dashboard.<hash>.js, loaded with the page's CSP nonce). Pages work
 * without it; with it:
 * - countdowns (`data-left`, seconds), running times (`data-up`, seconds) and costs so far (`data-cost` + `data-rate` per second) move every second,
 *   counted from when the server rendered them (the browser's own clock is never read, so a skewed one does not lie);
 * - a `data-live` region polls its URL every few seconds with If-None-Match and swaps in the new fragment on a change
 *   (304 otherwise), through the one Trusted Types policy the CSP allows; it stops when the fragment says
 *   `data-live-end`, pauses while the tab is hidden, and goes to the sign-in page when the session has ended.
 * Time comes from one place, `clock`: the page's own timers (BROWSER_CLOCK_SOURCE in src/domain/clock.ts), which is the
 * clock a browser test replaces (Playwright's `page.clock`) and advances instead of waiting (src/dashboard/browser.test.ts).
 */
export const CLIENT = String.raw`(function () {
  'use strict';
  var tt = window.trustedTypes;
  var policy = tt && tt.createPolicy ? tt.createPolicy('crabbox-fragment', { createHTML: function (s) { return s; } }) : { createHTML: function (s) { return s; } };
  var clock = ${BROWSER_CLOCK_SOURCE};
  var ticks = 0;
  var POLL_MS = 2000;
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function duration(s) {
    var t = Math.max(0, Math.round(s));
    if (t < 60) return t + ' s';
    var m = Math.floor(t / 60);
    if (m < 60) return m + ' min ' + two(t % 60) + ' s';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h ' + two(m % 60) + ' min';
    return Math.floor(h / 24) + ' d ' + (h % 24) + ' h';
  }
  function money(v) { return '$' + (v === 0 || v >= 0.01 ? v.toFixed(2) : v.toFixed(4)); }
  function stamp(root) {
    root.querySelectorAll('[data-left],[data-up],[data-cost]').forEach(function (el) { el.setAttribute('data-t0', String(ticks)); });
  }
  function since(el) { return ticks - Number(el.getAttribute('data-t0') || ticks); }
  function render() {
    document.querySelectorAll('[data-left]').forEach(function (el) {
      var left = Number(el.getAttribute('data-left')) - since(el);
      el.textContent = left > 0 ? 'in ' + duration(left) : 'due now';
    });
    document.querySelectorAll('[data-up]').forEach(function (el) {
      el.textContent = duration(Number(el.getAttribute('data-up')) + since(el));
    });
    document.querySelectorAll('[data-cost]').forEach(function (el) {
      el.textContent = money(Number(el.getAttribute('data-cost')) + Number(el.getAttribute('data-rate')) * since(el));
    });
  }
  function live(region) {
    var url = region.getAttribute('data-live');
    var etag = region.getAttribute('data-etag') || '';
    var stopped = !!region.querySelector('[data-live-end]');
    function next() { if (!stopped) clock.after(POLL_MS, poll); }
    function poll() {
      if (document.visibilityState === 'hidden') { next(); return; }
      fetch(url, { headers: { 'Accept': 'text/html', 'If-None-Match': etag }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (res) {
          if (res.status === 401) { stopped = true; window.location.assign('/login'); return null; }
          if (res.status !== 200) return null;
          etag = res.headers.get('ETag') || '';
          return res.text();
        })
        .then(function (text) {
          if (typeof text !== 'string') return;
          region.innerHTML = policy.createHTML(text);
          stamp(region);
          render();
          region.setAttribute('data-updated', String(ticks));
          if (region.querySelector('[data-live-end]')) stopped = true;
        })
        .catch(function () { /* offline for a moment: try again */ })
        .then(next);
    }
    next();
  }
  function start() {
    stamp(document);
    render();
    document.querySelectorAll('[data-live]').forEach(live);
    clock.every(1000, function () { ticks++; render(); });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
`;
