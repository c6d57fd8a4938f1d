import { CLIENT } from './client.ts';
import { ICON } from './icon.ts';
import { STYLE } from './style.ts';

/**
 * The dashboard's static files, bundled into the code (no file reads, so Node and Workers serve them alike). Each is
 * served at a name carrying a hash of its content, with a year-long immutable cache lifetime: a changed file gets a
 * new name, so a browser never runs yesterday's script against today's pages.
 */
export interface Asset {
  path: string;
  type: string;
  body: string;
}

/** 64-bit FNV-1a of the text's UTF-16 code units, as 16 hex digits: a cache key, not a security measure. */
export function contentHash(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

const asset = (name: string, ext: string, type: string, body: string): Asset => ({ path: `/assets/${name}.${contentHash(body)}.${ext}`, type, body });

export const ASSETS = {
  script: asset('dashboard', 'js', 'text/javascript; charset=utf-8', CLIENT),
  style: asset('dashboard', 'css', 'text/css; charset=utf-8', STYLE),
  icon: asset('icon', 'svg', 'image/svg+xml', ICON),
} as const;

export const ASSET_CACHE = 'public, max-age=31536000, immutable';
