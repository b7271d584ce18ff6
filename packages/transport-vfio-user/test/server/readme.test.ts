/** The README's example is this folder's readme-example.ts, and it prints what the README says. */
import { readFileSync } from 'node:fs';

import { describe, expect, it, vi } from 'vitest';

import { ourFds } from './helpers.js';

describe('README example', () => {
  it('is the same code as test/server/readme-example.ts (import path aside)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('```ts\n') + 6;
    const block = readme.slice(start, readme.indexOf('```', start));
    const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
    expect(example.replace("from '../../src/server.js';", "from '@nvmu/transport-vfio-user/server';")).toBe(block);
  });

  it('runs and prints what the README says, leaving no descriptor open', async () => {
    const before = ourFds();
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
    });
    try {
      await import('./readme-example.js');
    } finally {
      spy.mockRestore();
    }
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const marker = readme.indexOf('It prints:');
    expect(marker).toBeGreaterThan(0);
    const open = readme.indexOf('```text\n', marker) + 8;
    expect(lines.join('\n') + '\n').toBe(readme.slice(open, readme.indexOf('```', open)));
    expect(ourFds()).toEqual(before);
  });
});
