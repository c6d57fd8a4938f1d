import { html as honoHtml } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/**
 * The dashboard's one way to write markup: Hono's `html` tagged template, which escapes every interpolated value
 * (strings, numbers) and leaves nested templates alone. Nothing here is ever async, so a template is a plain escaped
 * string. There is no `raw()` in the dashboard: text from runs, logs and events is always escaped.
 */
export type Html = HtmlEscapedString;

export type Child = Html | string | number | boolean | null | undefined | Child[];

export const html = (strings: TemplateStringsArray, ...values: Child[]): Html => honoHtml(strings, ...values) as Html;

/** `class="a b"` from the truthy names. */
export const cls = (...names: (string | false | undefined | null)[]): string => names.filter(Boolean).join(' ');
