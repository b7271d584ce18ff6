import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The child processes run the built files (dist/target-child.js): build them first, unless every
 * source already has a newer build (the test command builds before testing). Several test files
 * call this at once; rebuilding a fresh dist/ under each other's feet only costs and races.
 */
export function buildPackage(): void {
  const pkg = join(import.meta.dirname, '..');
  const fresh = readdirSync(join(pkg, 'src'))
    .filter((f) => f.endsWith('.ts'))
    .every((f) => {
      const out = join(pkg, 'dist', f.replace(/\.ts$/, '.js'));
      return existsSync(out) && statSync(out).mtimeMs >= statSync(join(pkg, 'src', f)).mtimeMs;
    });
  if (fresh) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(import.meta.dirname, '../tsconfig.build.json')], { stdio: 'inherit' });
}
