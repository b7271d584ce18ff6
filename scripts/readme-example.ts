/**
 * Runs a README's code as written, for the packages' `readme.test.ts` files: the fenced blocks
 * are read from the README itself (never copied by hand), written to a module file inside the
 * package (so it resolves the package's dependencies and its own name, as a user's code would)
 * and run by Node, which strips the TypeScript types. The module imports the built packages
 * (dist/), which the test command builds first.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The fenced blocks of `lang` (```ts, ```sh, ...) in the README, in order. */
export function readmeBlocks(readme: string, lang: string): string[] {
  const text = readFileSync(readme, 'utf8');
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm');
  return Array.from(text.matchAll(re), (m) => m[1] ?? '');
}

/**
 * Replaces each `from` with `to` in `code`, failing when one does not occur: a README that stops
 * containing what a test substitutes (a port, a path) must fail the test, not run unchanged.
 */
export function substitute(code: string, replacements: readonly (readonly [string, string])[]): string {
  let out = code;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`the README example no longer contains ${JSON.stringify(from)}`);
    out = out.split(from).join(to);
  }
  return out;
}

export interface ExampleRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `code` as an ES module (TypeScript, types stripped by Node) in a file inside `packageDir`.
 * Asynchronous, so servers the test runs in its own process keep serving meanwhile.
 */
export async function runExample(code: string, packageDir: string, opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExampleRun> {
  const file = join(packageDir, `.readme-example-${process.pid}.ts`);
  writeFileSync(file, code);
  try {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', file], {
      cwd: packageDir,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, sig) => {
        resolve([code, sig]);
      });
    });
    return { status, signal, stdout, stderr };
  } finally {
    rmSync(file, { force: true });
  }
}
