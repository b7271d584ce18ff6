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
    expect(lines[1]).toBe('false UnrecoveredReadError true');
    expect(lines[2]).toContain('UnrecoveredReadError');
    expect(lines[3]).toMatch(/^true \{"type":4,"hlen":72,"hdgstOffset":72,"dataOffset":76,"dataLength":1024/);
    expect(lines[4]).toBe('true');
  });
});
