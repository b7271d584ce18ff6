/** The README's in-process example, read from the README and run as written. */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readmeBlocks, runExample } from '../../../scripts/readme-example.js';

const pkg = join(import.meta.dirname, '..');

it('runs the README example', async () => {
  const blocks = readmeBlocks(join(pkg, 'README.md'), 'ts');
  expect(blocks.length).toBe(1);
  const r = await runExample(blocks[0]!, pkg);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const m = /^(\d+) IOPS, p99 (\d+\.\d) us, ok=(true|false)\n$/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  expect(Number(m![1])).toBeGreaterThan(0);
  expect(m![3]).toBe('true');
}, 60_000);
