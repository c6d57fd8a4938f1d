import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// The function handed to addInitScript runs in the page; its globals (the project is typed for Node, without the DOM).
declare const document: any, window: any;

/**
 * Headless Chromium for dashboard tests (the system's /usr/bin/chromium through playwright-core, as the login test
 * runs it), a page that records every CSP violation, console error and uncaught exception, and a real HTTP server for
 * an app whose URL must be known before the app is built (the public URL GitHub sends browsers back to).
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Fails (never skips) without Chromium, saying how to get it. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard tests need Chromium at ${CHROMIUM}: run bash scripts/setup.sh --test (it installs Debian's chromium package)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface WatchedPage {
  page: Page;
  /** CSP violations, console errors and page errors seen so far (each names the URL it happened at). */
  problems: string[];
}

/** A new page that reports `securitypolicyviolation` events, console errors and uncaught errors into `problems`. */
export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const problems: string[] = [];
  await context.exposeBinding('__cspViolation', (_source, text: string) => void problems.push(`CSP: ${text}`)).catch(() => undefined);
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e: any) => {
      (window as unknown as { __cspViolation(text: string): void }).__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} in ${e.documentURI}`);
    });
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console (${message.location().url || page.url()}): ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error (${page.url()}): ${error.message}`));
  return { page, problems };
}

export interface AppServer {
  url: string;
  /** Serves this fetch handler from now on. */
  serve(fetch: (request: Request, env?: unknown) => Response | Promise<Response>): void;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 whose handler is set later (once the app that needs the URL exists). */
export async function appServer(): Promise<AppServer> {
  let listener: ReturnType<typeof getRequestListener> | undefined;
  const server: Server = createServer((req, res) => {
    if (!listener) {
      res.writeHead(503).end();
      return;
    }
    void listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: (fetch) => void (listener = getRequestListener(fetch)),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Signs a page in the way a person does: sign-in page, GitHub's authorize page, back to the dashboard. */
export async function signInWithGitHub(page: Page, url: string, github: { url: string; signInAs(login: string): void }, login: string): Promise<void> {
  github.signInAs(login);
  await page.goto(`${url}/login`);
  await page.click('#sign-in');
  await page.waitForURL((u) => u.href.startsWith(`${github.url}/login/oauth/authorize`));
  await page.click('#authorize');
  await page.waitForURL(`${url}/`);
}
