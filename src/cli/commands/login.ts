import type { Command } from 'commander';
import { USER_TOKEN_PREFIX } from '../../auth/user-token.ts';
import { CrabboxError } from '../../domain/errors.ts';
import { registerSecret } from '../../redact/redact.ts';
import { coordinatorClient } from '../../app/coordinator-session.ts';
import { whoamiDocument } from '../../app/whoami.ts';
import type { CliContext } from '../context.ts';
import { browserLogin } from '../login/flow.ts';
import { saveCoordinatorToken } from '../login/token-store.ts';
import { showWhoami } from './whoami.ts';

const MAX_TOKEN = 4096;

async function readStdin(ctx: CliContext): Promise<string> {
  if (ctx.stdin.isTTY) ctx.info('Paste the token, then press Enter and Ctrl-D:');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_TOKEN + 2) throw new CrabboxError('bad_request', 'the token on stdin is too long');
    chunks.push(b);
  }
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (!token) throw new CrabboxError('bad_request', 'no token on stdin', { hint: 'pipe it in: crabbox login --url URL --token-stdin < token-file' });
  if (!/^[\x21-\x7e]+$/.test(token)) throw new CrabboxError('bad_request', 'the token on stdin must be one line of printable characters');
  return token;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('Sign in with GitHub in the browser (or store the shared operator token with --token-stdin)')
    .option('--url <url>', 'coordinator URL (default: from config)')
    .option('--no-browser', 'do not open a browser; print the URL (the browser may be on another machine)')
    .option('--token-stdin', 'read the shared operator token from stdin instead of signing in with GitHub')
    .action(async (opts: { url?: string; browser: boolean; tokenStdin?: boolean }) => {
      if (opts.tokenStdin) {
        const token = await readStdin(ctx);
        registerSecret(token);
        const tokenKind = token.startsWith(USER_TOKEN_PREFIX) ? 'user' : 'shared';
        const { client, url } = coordinatorClient(ctx, { url: opts.url, token, tokenKind });
        const who = await client.whoami();
        const path = saveCoordinatorToken(ctx.env, { url, token, tokenKind });
        ctx.info(`Token checked and stored in ${path}`);
        return showWhoami(ctx, whoamiDocument(who, url));
      }
      const { client, url } = coordinatorClient(ctx, { url: opts.url, token: '' });
      const approved = await browserLogin(ctx, client, { noBrowser: !opts.browser });
      registerSecret(approved.token);
      const path = saveCoordinatorToken(ctx.env, { url, token: approved.token, tokenKind: 'user' });
      ctx.info(`Logged in as ${approved.login} (${approved.org}); token stored in ${path}`);
      const { client: authed } = coordinatorClient(ctx, { url, token: approved.token, tokenKind: 'user' });
      showWhoami(ctx, whoamiDocument(await authed.whoami(), url));
    });
}
