import { Document, isCollection, isPair, isScalar, visit, type Pair, type Scalar } from 'yaml';
import { formatDuration, formatHours } from '../domain/duration.ts';
import { REDACTED } from '../redact/redact.ts';
import type { Config, Source } from './load.ts';

/** How `config show` names where a setting came from. */
export const SOURCE_LABELS: Record<Source, string> = {
  default: 'default',
  user: 'user file',
  repo: 'repo file',
  'user+repo': 'user file + repo file',
  env: 'env',
  flag: 'flag',
};

/** Bytes in the config file's own size form (`64KiB`, `2GiB`) when exact, else a number. */
function size(bytes: number): string | number {
  for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return bytes;
}

function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The resolved config in the config file's own keys and value forms (durations as `90m`, sizes as `64KiB`), secrets
 * redacted: any part of it can be copied into a config file. Unset optional settings are left out.
 */
export function fileShapedConfig(config: Config): Record<string, unknown> {
  const c = config;
  return defined({
    provider: c.provider,
    owner: c.owner,
    org: c.org,
    coordinator: c.coordinator ? defined({ url: c.coordinator.url, token: c.coordinator.token ? REDACTED : undefined, tokenKind: c.coordinator.tokenKind }) : undefined,
    lease: defined({ ttl: formatHours(c.lease.ttlSeconds), idleTimeout: formatHours(c.lease.idleTimeoutSeconds), keep: c.lease.keep, class: c.lease.class, type: c.lease.type }),
    ssh: { port: c.ssh.port, fallbackPorts: c.ssh.fallbackPorts, connectTimeout: formatDuration(c.ssh.connectTimeoutSeconds) },
    sync: {
      exclude: c.sync.exclude, warnFiles: c.sync.warnFiles, maxFiles: c.sync.maxFiles, warnBytes: size(c.sync.warnBytes), maxBytes: size(c.sync.maxBytes),
      deleteLimit: c.sync.deleteLimit, timeout: formatDuration(c.sync.timeoutSeconds), gitDepth: c.sync.gitDepth,
    },
    env: { allow: c.env.allow },
    run: { recordCommand: c.run.recordCommand, logTail: size(c.run.logTailBytes), junit: c.run.junit, historyLimit: c.run.historyLimit },
    artifacts: { paths: c.artifacts.paths, onFailure: c.artifacts.onFailure, maxFiles: c.artifacts.maxFiles, maxBytes: size(c.artifacts.maxBytes) },
    proxy: c.proxy?.kind === 'proxy-command' ? { command: c.proxy.command } : c.proxy?.kind === 'proxy-jump' ? { jump: c.proxy.jump } : undefined,
    local: c.local.workRoot ? { workRoot: c.local.workRoot } : undefined,
    static: c.static,
    hetzner: c.hetzner,
    aws: c.aws,
    classes: Object.keys(c.classes ?? {}).length ? c.classes : undefined,
  });
}

/** `config show` as YAML: the file-shaped config with each setting's source as a comment, the files used on top. */
export function configShowYaml(config: Config): string {
  const doc = new Document(JSON.parse(JSON.stringify(fileShapedConfig(config))));
  visit(doc, {
    Pair(_, pair, path) {
      const keyOf = (p: Pair): string => String((p.key as Scalar).value);
      const key = [...path.filter(isPair).map((p) => keyOf(p as Pair)), keyOf(pair as Pair)].join('.');
      const source = config.sources[key];
      if (!source) return;
      const value = pair.value;
      if (isCollection(value) && value.items.length === 0) value.flow = true;
      if (isScalar(value) || (isCollection(value) && value.items.length === 0)) value.comment = ` ${SOURCE_LABELS[source]}`;
      else (pair.key as Scalar).comment = ` ${SOURCE_LABELS[source]}`;
    },
  });
  const p = config.paths;
  const header = [`# user file: ${p.userConfig}`, `# repo file: ${p.repoConfig ?? '- (not in a git checkout)'}`, `# state:     ${p.stateDir}`, '# each setting says where it came from: default, user file, repo file, env or flag', ''];
  return `${header.join('\n')}${doc.toString({ lineWidth: 0 })}`;
}

/** `config show --json`: the file-shaped config, each setting's source by its dotted key, and the paths. */
export function configShowJson(config: Config): Record<string, unknown> {
  return { ...fileShapedConfig(config), sources: config.sources, paths: config.paths };
}
