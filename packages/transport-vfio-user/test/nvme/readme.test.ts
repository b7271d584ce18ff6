/** The README's NVMe target example is test/nvme/readme-example.ts, and it prints what the README says. */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

const readme = (): string => readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = (): string => readme().slice(readme().indexOf('## The NVMe target'));

describe('README NVMe target example', () => {
  it('is the same code as test/nvme/readme-example.ts (import path aside)', () => {
    const s = section();
    const start = s.indexOf('```ts\n') + 6;
    const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
    expect(example.replace("from '../../src/target.js';", "from '@nvmu/transport-vfio-user/target';")).toBe(s.slice(start, s.indexOf('```', start)));
  });

  it('runs and prints what the README says', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      await import('./readme-example.js');
    } finally {
      spy.mockRestore();
    }
    const s = section();
    const open = s.indexOf('```text\n', s.indexOf('It prints:')) + 8;
    expect(lines.join('\n') + '\n').toBe(s.slice(open, s.indexOf('```', open)));
  });
});
