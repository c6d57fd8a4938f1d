import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { CoordinatorClient, loginPollAnswer, loginStartAnswer } from '../../api/client.ts';
import { CrabboxError } from '../../domain/errors.ts';
import type { CliContext } from '../context.ts';
import { openBrowser } from './browser.ts';
import { startLoopback } from './loopback.ts';

const LOGIN_WAIT_MS = 10 * 60 * 1000;

type Approved = Extract<z.infer<typeof loginPollAnswer>, { status: 'approved' }>;

const clock = (ms: number) => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/**
 * The browser half of `crabbox login`: keep a secret, send its hash, open (or print) the authorize URL, then wait
 * for the loopback hit or the next poll tick, and collect the token with the secret. The loopback listener is
 * skipped with --no-browser, where the browser may be on another machine and polling does the work.
 */
export async function browserLogin(ctx: CliContext, client: CoordinatorClient, options: { noBrowser: boolean }): Promise<Approved> {
  const secret = randomBytes(32).toString('base64url');
  const secretHash = createHash('sha256').update(secret).digest('hex');
  const loopback = options.noBrowser ? undefined : await startLoopback();
  const countdown = ctx.stderr.isTTY === true;
  try {
    const started = await client.request('POST', '/v1/login/start', loginStartAnswer, { secretHash, ...(loopback ? { port: loopback.port } : {}) });
    loopback?.expect(started.loginId);
    const opened = !options.noBrowser && openBrowser(started.authorizeUrl, ctx.env);
    ctx.info(opened ? `Opened your browser to sign in with GitHub. If nothing happened, open:\n  ${started.authorizeUrl}` : `Open this URL in a browser to sign in with GitHub:\n  ${started.authorizeUrl}`);
    // The coordinator's clock decides expiry; with clock skew (or a nonsense answer) fall back to its 10 minutes.
    const remaining = started.expiresAt - ctx.clock.now();
    const deadline = Date.now() + (remaining > 0 && remaining <= LOGIN_WAIT_MS ? remaining : LOGIN_WAIT_MS);
    if (!countdown) ctx.info(`Waiting up to ${clock(deadline - Date.now())} for the browser login...`);
    const ticker = countdown ? setInterval(() => ctx.stderr.write(`\rWaiting for the browser login... ${clock(deadline - Date.now())} left `), 1000) : undefined;
    try {
      let arrived = false;
      loopback?.arrived.then(() => (arrived = true));
      for (;;) {
        const answer = await client.request('POST', '/v1/login/poll', loginPollAnswer, { loginId: started.loginId, secret });
        if (answer.status === 'approved') return answer;
        if (Date.now() >= deadline) throw new CrabboxError('login_expired', 'the browser login did not finish within 10 minutes', { hint: 'run `crabbox login` again' });
        const wait = sleep(started.pollIntervalSeconds * 1000, undefined, { ref: true });
        await (loopback && !arrived ? Promise.race([wait, loopback.arrived]) : wait);
      }
    } finally {
      if (ticker) {
        clearInterval(ticker);
        ctx.stderr.write('\r\x1b[K');
      }
    }
  } finally {
    await loopback?.close();
  }
}
