import type { Command } from 'commander';
import { resolve } from 'node:path';
import { CrabboxError } from '../../domain/errors.ts';
import type { Logger } from '../../coordinator/deps.ts';
import type { CliContext } from '../context.ts';
import { printJson, write } from '../output.ts';
import { schemaId } from '../../api/schema-id.ts';

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new CrabboxError('bad_request', `--port must be 0-65535, got ${JSON.stringify(value.slice(0, 20))}`);
  return Number(value);
}

function stderrLogger(ctx: CliContext): Logger {
  const line = (level: string) => (message: string, data?: Record<string, unknown>) => ctx.info(`${level} ${message}${data ? ` ${JSON.stringify(data)}` : ''}`);
  return { info: ctx.debug ? line('info') : () => {}, warn: line('warn'), error: line('error') };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$/;

function parseName(flag: string): (value: string) => string {
  return (value) => {
    if (!NAME.test(value)) throw new CrabboxError('bad_request', `${flag} must be letters, digits and . _ @ + - (at most 100), got ${JSON.stringify(value.slice(0, 40))}`);
    return value;
  };
}

export function register(program: Command, ctx: CliContext): void {
  const coordinator = program.command('coordinator').description('Run the shared coordinator (HTTP API, lease lifecycle, sweeper): init-secrets, serve, issue-token, deploy (Cloudflare Workers)');
  coordinator
    .command('issue-token')
    .description('Sign a user token with the session secret from CRABBOX_SESSION_SECRET(_FILE) (operators; `crabbox login` issues them for users)')
    .requiredOption('--login <login>', 'the login roles are matched on (admins/maintainers allowlists)', parseName('--login'))
    .option('--owner <owner>', 'owner the token acts as (default: the login)', parseName('--owner'))
    .option('--org <org>', 'org (default: the owner)', parseName('--org'))
    .option('--ttl <duration>', 'how long the token is valid, e.g. 12h, 30d', '12h')
    .action(async (opts: { login: string; owner?: string; org?: string; ttl: string }) => {
      const [{ readSecret }, { signUserToken }, { parseDuration }, { newToken }] = await Promise.all([
        import('../../coordinator/load-config.ts'), import('../../auth/user-token.ts'), import('../../domain/duration.ts'), import('../../domain/ids.ts'),
      ]);
      const secret = readSecret(ctx.env, 'CRABBOX_SESSION_SECRET');
      if (!secret) throw new CrabboxError('invalid_config', 'set CRABBOX_SESSION_SECRET or CRABBOX_SESSION_SECRET_FILE to the coordinator\'s session secret');
      if (secret.length < 32) throw new CrabboxError('invalid_config', 'the session secret must be at least 32 characters');
      let seconds: number;
      try {
        seconds = parseDuration(opts.ttl);
      } catch {
        throw new CrabboxError('bad_request', `--ttl must be a duration such as 12h or 30d, got ${JSON.stringify(opts.ttl.slice(0, 20))}`);
      }
      if (seconds <= 0 || seconds > 90 * 86_400) throw new CrabboxError('bad_request', '--ttl must be between 1s and 90d');
      const owner = opts.owner ?? opts.login;
      const iat = Math.floor(ctx.clock.now() / 1000);
      const token = await signUserToken({ owner, org: opts.org ?? owner, login: opts.login, iat, exp: iat + seconds, jti: newToken(12) }, secret);
      // The token is the output: stdout only, never stderr or a log.
      if (ctx.json) ctx.stdout.write(`${JSON.stringify({ schema: schemaId('issued-token'), token, owner, org: opts.org ?? owner, login: opts.login, expiresAt: new Date((iat + seconds) * 1000).toISOString() })}\n`);
      else ctx.stdout.write(`${token}\n`);
    });
  coordinator
    .command('init-secrets')
    .description('Create the shared operator token and the session secret as two 0600 files and print `export ..._FILE=` lines for them (never the values)')
    .option('--dir <dir>', 'where to write shared-token and session-secret (default: <config dir>/coordinator)')
    .option('--force', 'replace existing secret files (every issued token and user login stops working)')
    .action(async (opts: { dir?: string; force?: boolean }) => {
      const { defaultSecretsDir, initCoordinatorSecrets, shellQuote } = await import('../coordinator-secrets.ts');
      const files = initCoordinatorSecrets({ dir: opts.dir ? resolve(ctx.cwd, opts.dir) : defaultSecretsDir(ctx.env), force: opts.force });
      if (ctx.json) return printJson(ctx.stdout, { schema: schemaId('coordinator-secrets'), sharedTokenFile: files.sharedTokenFile, sessionSecretFile: files.sessionSecretFile, created: files.created });
      write(ctx.stdout, `export CRABBOX_SHARED_TOKEN_FILE=${shellQuote(files.sharedTokenFile)}\nexport CRABBOX_SESSION_SECRET_FILE=${shellQuote(files.sessionSecretFile)}\n`);
      ctx.info(files.created
        ? `wrote a shared operator token and a different session secret to ${files.dir} (files 0600; the values are not printed)`
        : `kept the existing secrets in ${files.dir} (--force makes new ones)`);
    });
  coordinator
    .command('deploy')
    .description('Deploy the coordinator to Cloudflare Workers with wrangler: check the wrangler config, stage the prebuilt Worker, check its secrets are set, upload (docs/cloudflare.md)')
    .option('--config <file>', 'the wrangler config (a copy of deploy/wrangler.jsonc)', 'wrangler.jsonc')
    .option('--dry-run', 'check and build the upload without network: no secrets check, nothing uploaded')
    .option('--outdir <dir>', 'stage the upload here and keep it (default: a temporary directory, removed afterwards)')
    .action(async (opts: { config: string; dryRun?: boolean; outdir?: string }) => {
      const { deployCoordinator } = await import('../coordinator-deploy.ts');
      const result = await deployCoordinator({ config: opts.config, dryRun: !!opts.dryRun, outdir: opts.outdir, cwd: ctx.cwd, env: ctx.env });
      if (ctx.json) return printJson(ctx.stdout, { schema: schemaId('coordinator-deploy'), ...result, wranglerOutput: undefined });
      const secrets = result.secrets.map((s) => s.join(' or ')).join(', ');
      write(ctx.stdout, [
        `${result.dryRun ? 'checked (dry run, nothing uploaded)' : 'deployed'}: providers ${result.providers.join(', ')}, Worker bundle ${Math.round(result.bundleBytes / 1024)} KiB`,
        ...(opts.outdir ? [`staged in ${result.staged}`] : []),
        result.dryRun ? `secrets it will need: ${secrets}` : `secrets present: ${secrets}`,
      ].join('\n') + '\n');
    });
  coordinator
    .command('serve')
    .description('Serve the coordinator API until SIGTERM/SIGINT (secrets from CRABBOX_SHARED_TOKEN / CRABBOX_SESSION_SECRET or their _FILE variants)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on; 0 picks a free port and prints it', parsePort)
    .option('--db <path>', 'SQLite database file (default: <state dir>/coordinator.sqlite); PostgreSQL: CRABBOX_DATABASE_URL(_FILE)')
    .option('--config <file>', 'coordinator YAML config file (or CRABBOX_COORDINATOR_CONFIG)')
    .option('--providers <names>', 'comma-separated providers to serve (or CRABBOX_COORDINATOR_PROVIDERS; default: local)')
    .action(async (opts: { host?: string; port?: number; db?: string; config?: string; providers?: string }) => {
      const { serveCoordinator } = await import('../../coordinator/entry/serve.ts');
      const served = await serveCoordinator({ env: ctx.env, cwd: ctx.cwd, clock: ctx.clock, logger: stderrLogger(ctx), warn: (line) => ctx.info(line), flags: opts });
      const { running } = served;
      if (ctx.json) printJson(ctx.stdout, { schema: schemaId('coordinator-serve'), url: running.url, host: running.host, port: running.port, installation: running.deps.config.installation });
      else write(ctx.stdout, `listening ${running.url}\n`);
      const durability = await running.deps.store.durability();
      ctx.info(`coordinator: installation ${running.deps.config.installation}, providers ${served.providers.join(', ')}, database ${served.database} (${durability})`);
      if (/synchronous_commit=off/.test(durability)) ctx.info('warning: the PostgreSQL server has synchronous_commit=off: a crash can lose lease records the coordinator already acknowledged');
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      ctx.info('coordinator: shutting down');
      await running.close();
    });
}
