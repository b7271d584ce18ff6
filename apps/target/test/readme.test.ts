/**
 * The README's examples, run: the `pnpm nvmu rpc` lines against a daemon started as a user starts
 * it (`pnpm nvmu` is `node tools/cli/dist/main.js`, see scripts/tool.mjs), then a restart from
 * the config they saved; and the programmatic example as a program of its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { call, freePort, startDaemonProcess } from './process.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CLI = join(ROOT, 'tools', 'cli', 'dist', 'main.js');
const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'nvmu-readme-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The fenced block of `lang` that follows `heading`. */
function block(heading: string, lang: string): string {
  const at = README.indexOf(heading);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(README.slice(at));
  if (at < 0 || m?.[1] === undefined) throw new Error(`README: no ${lang} block after ${heading}`);
  return m[1];
}

describe('README', () => {
  it.skipIf(!existsSync(CLI))('the nvmu rpc lines build a subsystem; the saved config starts the daemon again', async () => {
    const lines = block("## Manage it as SPDK's nvmf_tgt", 'sh').split('\n').filter((l) => /^pnpm (-s )?nvmu rpc /.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(6);
    const port = String(await freePort());
    const runDir = join(dir, 'run');
    const env = { ...process.env, NVMU_RUN_DIR: runDir };
    const d = await startDaemonProcess(['--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '1M'], { NVMU_RUN_DIR: runDir });
    try {
      for (const line of lines) {
        const cmd = line.replace(/^pnpm (-s )?nvmu /, `'${process.execPath}' '${CLI}' `).replaceAll('4421', port).replaceAll('/tmp/nvmu-vm1', join(dir, 'vm1'));
        const r = spawnSync('sh', ['-c', cmd], { cwd: dir, env, encoding: 'utf8' });
        expect(r.status, `${line}\n${r.stderr}`).toBe(0);
      }
    } finally {
      await d.stop();
    }
    const saved = JSON.parse(readFileSync(join(dir, 'nvmu.json'), 'utf8')) as { subsystems: { subsystem: string }[] };
    expect(saved.subsystems.map((s) => s.subsystem)).toEqual(['bdev', 'nvmf']);
    const sock = join(dir, 'again.sock');
    const again = await startDaemonProcess(['--json', join(dir, 'nvmu.json'), '-r', sock]);
    try {
      const subs = await call<{ nqn: string; namespaces?: { bdev_name: string }[] }[]>(sock, 'nvmf_get_subsystems', { nqn: 'nqn.2016-06.io.spdk:cnode1' });
      expect(subs[0]?.namespaces?.map((n) => n.bdev_name)).toEqual(['Malloc0']);
      expect(existsSync(join(dir, 'vm1', 'cntrl'))).toBe(true);
    } finally {
      await again.stop();
    }
  }, 60_000);

  it('the programmatic example runs as a program and prints the saved config', async () => {
    const base = join(dir, 'prog');
    mkdirSync(base);
    const port = String(await freePort());
    const code = block('## Programmatic use', 'ts')
      .replace("from '@nvmu/target'", `from '${pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href}'`)
      .replaceAll('/tmp/nvmu', base)
      .replaceAll("'4421'", `'${port}'`);
    const file = join(base, 'example.mjs');
    writeFileSync(file, code);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const config = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { subsystems: { config: { method: string; params?: { name?: string } }[] }[] };
    expect(config.subsystems[0]?.config.map((e) => e.params?.name)).toContain('Null0');
    expect(existsSync(join(base, 'rpc.sock'))).toBe(false);
  }, 30_000);
});
