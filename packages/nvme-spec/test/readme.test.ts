import { describe, it, expect, vi } from 'vitest';
import { readFileSync } from 'node:fs';

describe('README example', () => {
  it('is the same code as examples/readme.ts (import path aside)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('```ts\n') + 6;
    const block = readme.slice(start, readme.indexOf('```', start));
    const example = readFileSync(new URL('../examples/readme.ts', import.meta.url), 'utf8');
    expect(example.replace("from '../src/index.js';", "from '@nvmu/nvme-spec';")).toBe(block);
  });

  it('runs and prints what the README says', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
    try {
      await import('../examples/readme.js');
    } finally {
      spy.mockRestore();
    }
    expect(lines[0]).toMatch(/^02000100010000000{16}/);
    expect(lines[1]).toBe('Read 1 1 0x1000 8 0x100000');
    expect(lines[2]).toBe('false UnrecoveredReadError true');
    expect(lines[3]).toContain('UnrecoveredReadError');
    expect(lines[4]).toBe('true 76 1024 0 31 30000 ffff nqn.2014-08.org.nvmexpress.discovery');
    expect(lines[5]).toBe('true');
    // The README shows exactly what the example prints.
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const marker = readme.indexOf('It prints:');
    expect(marker).toBeGreaterThan(0);
    const open = readme.indexOf('```text\n', marker) + 8;
    expect(readme.slice(open, readme.indexOf('```', open))).toBe(lines.join('\n') + '\n');
  });
});
