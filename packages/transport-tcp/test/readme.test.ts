/** The README's example, read from the README and run as written (on a free port). */
import { join } from 'node:path';

import { expect, it } from 'vitest';

import { readmeBlocks, runExample, substitute } from '../../../scripts/readme-example.js';
import { freePort } from './helpers/setup.js';

const pkg = join(import.meta.dirname, '..');

it('runs the README example', async () => {
  const blocks = readmeBlocks(join(pkg, 'README.md'), 'ts');
  expect(blocks.length).toBeGreaterThan(0);
  const port = String(await freePort());
  const code = substitute(blocks[0]!, [
    ["trsvcid: '4420'", `trsvcid: '${port}'`],
    ['trsvcid:4420', `trsvcid:${port}`],
  ]);
  const r = await runExample(code, pkg);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('true\n');
});
