import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { checkNoFdLeak } from './helpers.js';

describe('README example', () => {
  checkNoFdLeak();

  it('is the same code as examples/readme.ts (import path aside)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('```ts\n') + 6;
    const block = readme.slice(start, readme.indexOf('```', start));
    const example = readFileSync(new URL('../examples/readme.ts', import.meta.url), 'utf8');
    expect(example.replace("from '../src/index.js';", "from '@nvmu/native';")).toBe(block);
  });

  it('runs and prints what the README says', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
    });
    try {
      await import('../examples/readme.js');
    } finally {
      spy.mockRestore();
    }
    expect(lines).toEqual([
      'received 4 bytes and 2 descriptors',
      'hello from the guest',
      'cafe',
      'interrupt, events 1 count 1',
      'after munmap 0',
    ]);
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const marker = readme.indexOf('It prints:');
    expect(marker).toBeGreaterThan(0);
    const open = readme.indexOf('```text\n', marker) + 8;
    expect(readme.slice(open, readme.indexOf('```', open))).toBe(lines.join('\n') + '\n');
  });
});
