import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { z } from 'zod';
import type { CoordinatorClient } from '../../api/client.ts';
import type { loginPollAnswer } from '../../api/answers.ts';
import type { TimerHandle } from '../../domain/clock.ts';
import { CrabboxError } from '../../domain/errors.ts';
import type { CliContext } from '../context.ts';
import { openBrowser } from './browser.ts';
import { startLoopback } from './loopback.ts';

const LOGIN_WAIT_MS = 10 * 60 * 1000;

type Approved = Extract<z.infer<typeof loginPollAnswer>, { status: 'approved' }>;

const minutes = (ms: number) => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** The first line typed on stdin (the code the browser shows), or undefined at end of input. */
function readCodeLine(ctx: CliContext): { line: Promise<string | undefined>; close(): void } {
  const rl = createInterface({ input: ctx.stdin, terminal: false });
  const line = new Promise<string | undefined>((resolve) => {
    rl.once('line', (text) => resolve(text.trim()));
    rl.once('close', () => resolve(undefined));
  });
  return { line, close: () => rl.close() };
}

/**
 * The browser half of `crabbox login`: keep a secret, send its hash, open (or print) the authorize URL, then poll
 * until the login is approved and the one-time code is known, and collect the token with secret + code. With a
 * loopback listener the code arrives by the browser's redirect; with --no-browser (browser maybe on another
 * machine) the person types the code the page shows. Polling meanwhile reports a denial or expiry at once.
 */
export async function browserLogin(ctx: CliContext, client: CoordinatorClient, options: { noBrowser: boolean }): Promise<Approved> {
  const secret = randomBytes(32).toString('base64url');
  const secretHash = createHash('sha256').update(secret).digest('hex');
  const loopback = options.noBrowser ? undefined : await startLoopback();
  const typed = options.noBrowser ? readCodeLine(ctx) : undefined;
  const countdown = ctx.stderr.isTTY === true && !typed;
  let ticker: TimerHandle | undefined;
  try {
    const started = await client.call('loginStart', { body: { secretHash, ...(loopback ? { port: loopback.port } : {}) } });
    loopback?.expect(started.loginId);
    // The coordinator's clock decides expiry; with clock skew (or a nonsense answer) fall back to its 10 minutes.
    const remaining = Date.parse(started.expiresAt) - ctx.clock.now();
    const deadline = ctx.clock.now() + (remaining > 0 && remaining <= LOGIN_WAIT_MS ? remaining : LOGIN_WAIT_MS);
    const left = () => minutes(deadline - ctx.clock.now());
    const opened = !options.noBrowser && openBrowser(started.authorizeUrl, ctx.env, (why) => ctx.info(`\nCould not open a browser (${why}); open the URL above in a browser to sign in.`));
    ctx.info(opened ? `Opening your browser to sign in with GitHub. If nothing happens, open:\n  ${started.authorizeUrl}` : `Open this URL in a browser to sign in with GitHub:\n  ${started.authorizeUrl}`);
    // The page the link opens shows the phrase of the login it belongs to: a link someone else sent shows theirs.
    if (started.phrase) ctx.info(`The page asks you to confirm this login's phrase: ${started.phrase}\nContinue there only if it shows exactly that phrase.`);
    if (typed) ctx.info(`Then type the code the browser shows here and press Enter (expires in ${left()}):`);
    else if (countdown) ticker = ctx.clock.setInterval(() => ctx.stderr.write(`\rWaiting for the browser login... ${left()} left `), 1000, { unref: true });
    else ctx.info(`Waiting up to ${left()} for the browser login...`);

    const source = loopback?.arrived ?? typed!.line;
    let code: string | undefined;
    let ended = false;
    let codeWaits = 0;
    void source.then((value) => (value === undefined ? (ended = true) : (code = value)));
    for (;;) {
      const answer = await client.call('loginPoll', { body: { loginId: started.loginId, secret, ...(code !== undefined ? { code } : {}) } });
      if (answer.status === 'approved') return answer;
      // Approved, but the browser's redirect never reached this machine's listener: it runs somewhere else.
      if (answer.status === 'code-required' && loopback && ++codeWaits === 3) ctx.info('\nThe browser finished signing in but could not reach this machine; if it runs elsewhere, stop this and use `crabbox login --no-browser`.');
      if (ended && code === undefined) throw new CrabboxError('bad_request', 'no code was entered', { hint: 'run `crabbox login --no-browser` again and type the code the browser shows' });
      if (ctx.clock.now() >= deadline) throw new CrabboxError('login_expired', 'the browser login did not finish within 10 minutes', { hint: 'run `crabbox login` again' });
      const wait = ctx.clock.sleep(started.pollIntervalSeconds * 1000);
      await (code === undefined && !ended ? Promise.race([wait, source]) : wait);
    }
  } finally {
    if (ticker) {
      ticker.cancel();
      ctx.stderr.write('\r\x1b[K');
    }
    typed?.close();
    await loopback?.close();
  }
}
