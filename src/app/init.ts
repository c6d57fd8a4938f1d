import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { join } from 'node:path';
import * as z from 'zod';
import { schemaId } from '../api/schema-id.ts';
import type { InitJson } from '../api/shapes-setup.ts';
import { REPO_CONFIG_FILE } from '../config/paths.ts';
import { CrabboxError } from '../domain/errors.ts';
import { detectProject } from '../init/detect.ts';
import { AGENTS_BEGIN, AGENTS_END, MCP_ENTRY, agentsSection, crabboxYaml } from '../init/templates.ts';
import { gitTopLevel } from '../sync/git.ts';
import { useCase } from './usecase.ts';

type FileAction = InitJson['files'][number];

/**
 * Writes a project file: a new one exclusively (a file that appeared meanwhile is not clobbered), an existing one
 * through a temp file and a rename, keeping its mode. Project files are shared, so a new one is 0644.
 */
function writeProjectFile(path: string, text: string, created: boolean): void {
  if (created) return writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: 'wx', mode: statSync(path).mode & 0o777 });
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CrabboxError('bad_request', `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** A whole file crabbox owns: created when missing, kept when it differs (replaced with force), else unchanged. */
function ownFile(path: string, name: string, text: string, force: boolean): { action: FileAction; write?: string } {
  const current = read(path);
  if (current === undefined) return { action: { path: name, action: 'created' }, write: text };
  if (current === text) return { action: { path: name, action: 'unchanged' } };
  if (!force) return { action: { path: name, action: 'kept', note: 'it differs from what init would write; --force replaces it' } };
  return { action: { path: name, action: 'replaced' }, write: text };
}

/** AGENTS.md: crabbox's section between its markers is added, or replaced with force; the rest of the file is never touched. */
function agentsFile(path: string, section: string, force: boolean): { action: FileAction; write?: string } {
  const name = 'AGENTS.md';
  const current = read(path);
  if (current === undefined) return { action: { path: name, action: 'created' }, write: `# Agent instructions\n\n${section}` };
  const begin = current.indexOf(AGENTS_BEGIN);
  const end = current.indexOf(AGENTS_END, begin);
  if (begin === -1 || end === -1) return { action: { path: name, action: 'updated', note: 'added the crabbox section at the end' }, write: `${current.replace(/\n*$/, '\n\n')}${section}` };
  const existing = current.slice(begin, end + AGENTS_END.length);
  if (`${existing}\n` === section) return { action: { path: name, action: 'unchanged' } };
  if (!force) return { action: { path: name, action: 'kept', note: 'its crabbox section differs (edited?); --force rewrites that section' } };
  return { action: { path: name, action: 'replaced', note: 'rewrote the crabbox section' }, write: `${current.slice(0, begin)}${section.replace(/\n$/, '')}${current.slice(end + AGENTS_END.length)}` };
}

/** .mcp.json: the `crabbox` server entry is added beside the others; a different crabbox entry is replaced only with force. */
function mcpFile(path: string, force: boolean): { action: FileAction; write?: string } {
  const name = '.mcp.json';
  const current = read(path);
  const render = (config: unknown): string => `${JSON.stringify(config, null, 2)}\n`;
  if (current === undefined) return { action: { path: name, action: 'created' }, write: render({ mcpServers: { crabbox: MCP_ENTRY } }) };
  let config: { mcpServers?: Record<string, unknown> } & Record<string, unknown>;
  try {
    config = JSON.parse(current) as typeof config;
    if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('not an object');
  } catch {
    return { action: { path: name, action: 'kept', note: 'it is not a JSON object; add {"mcpServers": {"crabbox": {"command": "crabbox", "args": ["mcp"]}}} by hand' } };
  }
  const servers = config.mcpServers && typeof config.mcpServers === 'object' ? config.mcpServers : {};
  const existing = servers.crabbox;
  if (JSON.stringify(existing) === JSON.stringify(MCP_ENTRY)) return { action: { path: name, action: 'unchanged' } };
  if (existing !== undefined && !force) return { action: { path: name, action: 'kept', note: 'its crabbox server entry differs; --force replaces that entry' } };
  return { action: { path: name, action: existing === undefined ? 'updated' : 'replaced' }, write: render({ ...config, mcpServers: { ...servers, crabbox: MCP_ENTRY } }) };
}

export const init = useCase({
  name: 'init',
  description: 'Set up the current project for crabbox and agents: detect the language, package manager and test command, write a commented .crabbox.yaml, an AGENTS.md section and a .mcp.json entry. Never overwrites without force.',
  input: z.strictObject({ force: z.boolean().optional().describe('Replace crabbox\'s own files and sections when they differ') }),
  output: () => import('../api/shapes-setup.ts').then((m) => m.initJson),
  annotations: { title: 'Set up a project', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(ctx, input) {
    const root = (await gitTopLevel(ctx.cwd)) ?? ctx.cwd;
    if (!existsSync(root)) throw new CrabboxError('bad_request', `${root} does not exist`);
    const project = detectProject(root);
    const force = input.force === true;
    const planned = [
      { path: join(root, REPO_CONFIG_FILE), ...ownFile(join(root, REPO_CONFIG_FILE), REPO_CONFIG_FILE, crabboxYaml(project), force) },
      { path: join(root, 'AGENTS.md'), ...agentsFile(join(root, 'AGENTS.md'), agentsSection(project), force) },
      { path: join(root, '.mcp.json'), ...mcpFile(join(root, '.mcp.json'), force) },
    ];
    for (const p of planned) if (p.write !== undefined) writeProjectFile(p.path, p.write, p.action.action === 'created');
    return {
      schema: schemaId('init'),
      root,
      project: { languages: project.languages, packageManager: project.packageManager, testCommand: project.testCommand, junit: project.junit },
      files: planned.map((p) => p.action),
    };
  },
});
