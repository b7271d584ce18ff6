#!/usr/bin/env node
// `pnpm nvmu ...` and `pnpm perf ...` from the workspace root: run the built tool with the
// arguments given. A tool that was never built is built first (turbo, its output on stderr so
// the tool's stdout stays clean for pipes), so the commands the README and the daemon's banner
// show work on a fresh clone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const TOOLS = {
  nvmu: { main: 'tools/cli/dist/main.js', pkg: '@nvmu/cli' },
  perf: { main: 'tools/perf/dist/main.js', pkg: '@nvmu/perf' },
};

const [name, ...args] = process.argv.slice(2);
const tool = TOOLS[name ?? ''];
if (tool === undefined) {
  console.error(`scripts/tool.mjs: expected one of ${Object.keys(TOOLS).join(', ')}`);
  process.exit(2);
}
const main = join(root, tool.main);
if (!existsSync(main)) {
  console.error(`building ${tool.pkg} (first use) ...`);
  const b = spawnSync('turbo', ['run', 'build', `--filter=${tool.pkg}...`, '--output-logs=errors-only'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const r = spawnSync(process.execPath, [main, ...args], { stdio: 'inherit' });
process.exit(r.status ?? (r.signal === 'SIGINT' ? 130 : 1));
