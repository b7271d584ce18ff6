/**
 * The published package works alone: pack it, install the tarball into an empty project
 * outside the workspace, run the README's example there with this Node, and check it prints
 * what the README says it prints.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const pkgDir = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'vfio-user-codec-pack-'));

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The fenced block of `lang` that follows `marker` in the README. */
function block(readme: string, marker: string, lang: string): string {
  const at = readme.indexOf(marker);
  expect(at, `README has ${marker}`).toBeGreaterThanOrEqual(0);
  const open = readme.indexOf('```' + lang + '\n', at);
  const start = open + 4 + lang.length;
  const end = readme.indexOf('```', start);
  expect(open).toBeGreaterThan(at);
  return readme.slice(start, end);
}

describe('packed package', () => {
  it('installs alone and runs the README example', () => {
    // Build so the tarball holds the current code.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: pkgDir, stdio: 'pipe' });

    execFileSync('npx', ['pnpm@10.34.8', 'pack', '--pack-destination', work], { cwd: pkgDir, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    const consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // No runtime dependencies: nothing comes from the registry.
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, tarball!)], { cwd: consumer, stdio: 'pipe' });
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules/@nvmu/vfio-user-codec/package.json'), 'utf8')) as { dependencies?: object };
    expect(Object.keys(installed.dependencies ?? {})).toEqual([]);

    const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
    const example = block(readme, '<!-- runnable-example -->', 'js');
    expect(example).toContain("from '@nvmu/vfio-user-codec'");
    writeFileSync(join(consumer, 'example.mjs'), example);
    const output = execFileSync(process.execPath, ['example.mjs'], { cwd: consumer, encoding: 'utf8' });

    expect(output).toBe(block(readme, '<!-- runnable-example-output -->', 'text'));
    expect(output).toContain('server got VERSION 0.0');
    expect(output).toContain('client: server takes 8 fds and 1048576 bytes per transfer');
    expect(output).toContain('server: DMA_MAP 0x100000000 +0x40000000, fds allowed: 0 or 1');
    expect(output).toContain('server: REGION_WRITE region 0 offset 0x1000 data 01000000');
    expect(output).toContain('BAD_ARGSZ in argsz: reply EINVAL');
  }, 120_000);
});
