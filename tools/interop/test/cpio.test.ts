import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpioNewc } from '../src/cpio.js';

interface Parsed {
  name: string;
  mode: number;
  data: Buffer;
}

/** An independent reader of the newc layout (buffer-format.rst): 110-byte header, name, data, 4-byte padding. */
function parseNewc(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let off = 0;
  for (;;) {
    expect(buf.toString('ascii', off, off + 6)).toBe('070701');
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    expect(buf[off + 110 + nameSize - 1]).toBe(0);
    let p = off + 110 + nameSize;
    p += (4 - (p % 4)) % 4;
    const data = buf.subarray(p, p + size);
    p += size;
    p += (4 - (p % 4)) % 4;
    off = p;
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode, data });
  }
  expect(off).toBe(buf.length);
  return out;
}

describe('cpioNewc', () => {
  it('writes entries a newc reader reads back', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.stringMatching(/^[a-z][a-z0-9._-]{0,20}$/),
            data: fc.uint8Array({ maxLength: 70 }),
            mode: fc.constantFrom(0o644, 0o755, 0o600),
          }),
          { maxLength: 6 },
        ),
        (entries) => {
          const buf = cpioNewc(entries.map((e) => ({ name: `d/${e.name}`, data: Buffer.from(e.data), mode: e.mode })));
          expect(buf.length % 4).toBe(0);
          const parsed = parseNewc(buf);
          expect(parsed.map((p) => p.name)).toEqual(entries.map((e) => `d/${e.name}`));
          parsed.forEach((p, i) => {
            expect(p.mode).toBe(0o100000 | entries[i]!.mode);
            expect(Buffer.compare(p.data, Buffer.from(entries[i]!.data))).toBe(0);
          });
        },
      ),
    );
  });

  it('marks directories and rejects absolute names', () => {
    const [dir] = parseNewc(cpioNewc([{ name: 'nvmu' }]));
    expect(dir!.mode).toBe(0o040755);
    expect(() => cpioNewc([{ name: '/etc/x', data: 'x' }])).toThrow(/bad entry name/);
  });

  it.skipIf(spawnSync('cpio', ['--version']).error !== undefined)('is readable by GNU cpio', () => {
    const buf = cpioNewc([{ name: 'nvmu' }, { name: 'nvmu/script', data: 'echo hi\n', mode: 0o755 }]);
    const r = spawnSync('cpio', ['-t', '--quiet'], { input: buf, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['nvmu', 'nvmu/script']);
  });
});
