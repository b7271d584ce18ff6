/** The README's example, read from the README and run as written (on a free port). */
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { readmeBlocks, runExample, substitute } from '../../../scripts/readme-example.js';
import { freePort } from './helpers/setup.js';

const pkg = join(import.meta.dirname, '..');

// The example runs in a fresh Node process, as a user would run it: Node's start-up, stripping
// the TypeScript types, and loading @nvmu/nvmf, this package, @nvmu/client and the native addon
// are about 0.5 s of CPU on a quiet machine (the example's own I/O is a few ms; measured with
// --cpu-prof), and nothing in it waits on a timer. That start-up is all CPU, so it stretches
// with the machine's load: 2.5 s with this package's other test files running at load average 8,
// past vitest's default 5 s under the whole suite. So this test gets its own limit, above
// runExample's 30 s kill of the child: a hung example still fails, with its output.
const EXAMPLE_LIMIT_MS = 30_000;

it('runs the README example', async () => {
  const blocks = readmeBlocks(join(pkg, 'README.md'), 'ts');
  expect(blocks.length).toBeGreaterThan(0);
  const port = String(await freePort());
  const code = substitute(blocks[0]!, [
    ["trsvcid: '4420'", `trsvcid: '${port}'`],
    ['trsvcid:4420', `trsvcid:${port}`],
  ]);
  const r = await runExample(code, pkg, { timeoutMs: EXAMPLE_LIMIT_MS });
  expect(r.stderr).toBe('');
  expect(r.signal).toBeNull();
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('true\n');
}, EXAMPLE_LIMIT_MS + 10_000);
