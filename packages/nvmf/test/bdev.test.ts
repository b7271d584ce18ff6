import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorBdev, FileBdev, MallocBdev, NullBdev, type Bdev } from '../src/index.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'nvmf-bdev-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function io(run: (cb: (ctx: undefined, status: number) => void) => void): Promise<number> {
  return new Promise((resolve) => {
    run((_ctx, status) => {
      resolve(status);
    });
  });
}

const readv = (b: Bdev, iov: Uint8Array[], off: number, len: number): Promise<number> =>
  io((cb) => {
    b.readv(iov, iov.length, off, len, cb, undefined);
  });
const writev = (b: Bdev, iov: Uint8Array[], off: number, len: number, fua = false): Promise<number> =>
  io((cb) => {
    b.writev(iov, iov.length, off, len, fua, cb, undefined);
  });

/** Split a buffer into iovecs at the given cut points (as guest memory would be). */
function split(buf: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (buf.byteLength + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pts, buf.byteLength]) {
    if (p > prev) out.push(buf.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  return out.length > 0 ? out : [buf];
}

interface Op {
  write: boolean;
  lba: number;
  nlb: number;
  seed: number;
  cuts: number[];
}

/** Random writes and reads (scatter-gather), checked against a flat model of the device. */
async function integrity(make: () => Promise<Bdev>, blocks: number, runs = 15): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          write: fc.boolean(),
          lba: fc.nat({ max: blocks - 1 }),
          nlb: fc.integer({ min: 1, max: 8 }),
          seed: fc.nat({ max: 255 }),
          cuts: fc.array(fc.nat({ max: 40000 }), { maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 30 },
      ),
      async (ops: Op[]) => {
        const b = await make();
        const bs = b.blockSize;
        const model = new Uint8Array(blocks * bs);
        try {
          for (const op of ops) {
            const nlb = Math.min(op.nlb, blocks - op.lba);
            const len = nlb * bs;
            const off = op.lba * bs;
            if (op.write) {
              const data = new Uint8Array(len);
              for (let i = 0; i < len; i++) data[i] = (op.seed + i * 13) & 0xff;
              expect(await writev(b, split(data, op.cuts), off, len)).toBe(0);
              model.set(data, off);
            } else {
              const buf = new Uint8Array(len).fill(0xaa);
              expect(await readv(b, split(buf, op.cuts), off, len)).toBe(0);
              expect(Buffer.compare(buf, model.subarray(off, off + len))).toBe(0);
            }
          }
          const all = new Uint8Array(blocks * bs);
          expect(await readv(b, [all], 0, all.byteLength)).toBe(0);
          expect(Buffer.compare(all, model)).toBe(0);
        } finally {
          await b.close();
        }
      },
    ),
    { numRuns: runs },
  );
}

describe('bdevs: data integrity against a model', () => {
  it('malloc, 512-byte blocks', async () => {
    await integrity(() => Promise.resolve(new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 64 })), 64);
  });
  it('malloc, 4096-byte blocks, crossing 1 MiB chunk boundaries', async () => {
    await integrity(() => Promise.resolve(new MallocBdev({ name: 'm', blockSize: 4096, numBlocks: 300 })), 300);
  });
  it('file, 512 and 4096-byte blocks', async () => {
    const d = tmp();
    let n = 0;
    await integrity(() => FileBdev.open({ name: 'f', path: join(d, `a${n++}.img`), size: 64 * 512 }), 64);
    await integrity(() => FileBdev.open({ name: 'f', path: join(d, `b${n++}.img`), size: 32 * 4096, blockSize: 4096 }), 32);
  });
  it('error wrapper without injections passes through', async () => {
    await integrity(() => Promise.resolve(new ErrorBdev(new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 64 }))), 64, 5);
  });
});

describe('malloc bdev', () => {
  it('allocates memory only for written chunks and frees whole unmapped chunks', async () => {
    const b = new MallocBdev({ name: 'big', blockSize: 4096, numBlocks: 1 << 20 }); // 4 GiB
    expect(b.allocatedBytes).toBe(0);
    expect(await writev(b, [new Uint8Array(4096).fill(1)], 3 * 2 ** 30, 4096)).toBe(0);
    expect(b.allocatedBytes).toBe(1 << 20);
    const r = new Uint8Array(4096);
    expect(await readv(b, [r], 3 * 2 ** 30, 4096)).toBe(0);
    expect(r.every((x) => x === 1)).toBe(true);
    expect(await io((cb) => { b.unmap(3 * 2 ** 30, 1 << 20, cb, undefined); })).toBe(0);
    expect(b.allocatedBytes).toBe(0);
  });

  it('write zeroes, unmap of part of a chunk and resize', async () => {
    const b = new MallocBdev({ name: 'm', blockSize: 512, numBlocks: 16 });
    await writev(b, [new Uint8Array(8192).fill(7)], 0, 8192);
    await io((cb) => { b.writeZeroes(512, 1024, cb, undefined); });
    await io((cb) => { b.unmap(4096, 512, cb, undefined); });
    const r = new Uint8Array(8192);
    await readv(b, [r], 0, 8192);
    const expected = new Uint8Array(8192).fill(7);
    expected.fill(0, 512, 1536);
    expected.fill(0, 4096, 4608);
    expect(Buffer.compare(r, expected)).toBe(0);
    let resized = 0;
    b.on('resize', () => resized++);
    b.resize(8);
    expect([b.numBlocks, resized]).toEqual([8, 1]);
    b.resize(16);
    const r2 = new Uint8Array(4096);
    await readv(b, [r2], 4096, 4096);
    expect(r2.every((x) => x === 0)).toBe(true); // data past the shrink point is gone
  });

  it('rejects unsupported block sizes and empty sizes', () => {
    expect(() => new MallocBdev({ name: 'x', blockSize: 1024, numBlocks: 1 })).toThrow(RangeError);
    expect(() => new MallocBdev({ name: 'x', blockSize: 512, numBlocks: 0 })).toThrow(RangeError);
    expect(() => new MallocBdev({ name: '', blockSize: 512, numBlocks: 1 })).toThrow(TypeError);
  });
});

describe('null bdev', () => {
  it('leaves read buffers untouched by default (like SPDK), whatever was written', async () => {
    const b = new NullBdev({ name: 'n', blockSize: 4096, numBlocks: 10 });
    expect(b.zeroReads).toBe(false);
    expect(await writev(b, [new Uint8Array(4096).fill(9)], 0, 4096)).toBe(0);
    const r = new Uint8Array(4096).fill(5);
    expect(await readv(b, [r.subarray(0, 100), r.subarray(100)], 0, 4096)).toBe(0);
    expect(r.every((x) => x === 5)).toBe(true);
  });

  it('with zeroReads, reads zeros whatever was written', async () => {
    const b = new NullBdev({ name: 'n', blockSize: 4096, numBlocks: 10, zeroReads: true });
    expect(await writev(b, [new Uint8Array(4096).fill(9)], 0, 4096)).toBe(0);
    const r = new Uint8Array(4096).fill(9);
    expect(await readv(b, [r.subarray(0, 100), r.subarray(100)], 0, 4096)).toBe(0);
    expect(r.every((x) => x === 0)).toBe(true);
    expect(await io((cb) => { b.flush(cb, undefined); })).toBe(0);
  });
});

describe('file bdev', () => {
  it('creates a sparse image of the given size and reopens it with its data', async () => {
    const path = join(tmp(), 'disk.img');
    const b = await FileBdev.open({ name: 'f', path, size: 1 << 30 });
    expect(b.numBlocks).toBe((1 << 30) / 512);
    expect(statSync(path).blocks * 512).toBeLessThan(1 << 20); // sparse
    const data = new Uint8Array(4096).fill(0x5a);
    expect(await writev(b, [data], 1 << 29, 4096, true)).toBe(0);
    expect(await io((cb) => { b.flush(cb, undefined); })).toBe(0);
    await b.close();
    const again = await FileBdev.open({ name: 'f', path });
    const r = new Uint8Array(4096);
    expect(await readv(again, [r], 1 << 29, 4096)).toBe(0);
    expect(r.every((x) => x === 0x5a)).toBe(true);
    await again.close();
  });

  it('refuses a missing image without size, a size mismatch, and sizes not a block multiple', async () => {
    const d = tmp();
    await expect(FileBdev.open({ name: 'f', path: join(d, 'missing.img') })).rejects.toThrow(/does not exist/);
    const p = join(d, 'odd.img');
    writeFileSync(p, Buffer.alloc(1000));
    await expect(FileBdev.open({ name: 'f', path: p })).rejects.toThrow(/multiple/);
    const p2 = join(d, 'ok.img');
    writeFileSync(p2, Buffer.alloc(4096));
    await expect(FileBdev.open({ name: 'f', path: p2, size: 8192 })).rejects.toThrow(/not the 8192/);
  });

  it('write zeroes, unmap, resize and read-only mode', async () => {
    const path = join(tmp(), 'z.img');
    const b = await FileBdev.open({ name: 'f', path, size: 16 * 512 });
    await writev(b, [new Uint8Array(8192).fill(3)], 0, 8192);
    expect(await io((cb) => { b.writeZeroes(0, 1024, cb, undefined); })).toBe(0);
    expect(await io((cb) => { b.unmap(7680, 512, cb, undefined); })).toBe(0);
    const r = new Uint8Array(8192);
    await readv(b, [r], 0, 8192);
    const expected = new Uint8Array(8192).fill(3);
    expected.fill(0, 0, 1024);
    expected.fill(0, 7680);
    expect(Buffer.compare(r, expected)).toBe(0);
    let resized = false;
    b.on('resize', () => (resized = true));
    await b.resize(32);
    expect([b.numBlocks, resized, statSync(path).size]).toEqual([32, true, 32 * 512]);
    await b.close();
    const ro = await FileBdev.open({ name: 'f', path, readOnly: true });
    expect(await writev(ro, [new Uint8Array(512)], 0, 512)).toBe(0x0280);
    await ro.close();
  });
});

describe('file bdev I/O errors', () => {
  it('maps failing reads, writes and flushes to media error statuses', async () => {
    const b = await FileBdev.open({ name: 'f', path: join(tmp(), 'e.img'), size: 8192 });
    await b.close(); // the descriptor is gone: every call fails with EBADF
    expect(await readv(b, [new Uint8Array(512)], 0, 512)).toBe(0x0281);
    expect(await writev(b, [new Uint8Array(512)], 0, 512)).toBe(0x0280);
    expect(await io((cb) => { b.flush(cb, undefined); })).toBe(0x0280);
    expect(await io((cb) => { b.writeZeroes(0, 512, cb, undefined); })).toBe(0x0280);
  });
});

describe('error bdev', () => {
  it('fails, delays and drops matching I/O; counts and ranges limit rules', async () => {
    const base = new MallocBdev({ name: 'b', blockSize: 512, numBlocks: 64 });
    const e = new ErrorBdev(base);
    expect(e.name).toBe('EE_b');
    e.inject({ op: 'read', action: 'fail', count: 1, range: [4096, 8192] });
    expect(await readv(e, [new Uint8Array(512)], 0, 512)).toBe(0); // outside the range
    expect(await readv(e, [new Uint8Array(512)], 4096, 512)).toBe(0x0281);
    expect(await readv(e, [new Uint8Array(512)], 4096, 512)).toBe(0); // count used up
    e.inject({ op: 'flush', action: 'fail', status: 0x0006 });
    expect(await io((cb) => { e.flush(cb, undefined); })).toBe(0x0006);
    e.clearInjections();
    e.inject({ op: 'write', action: 'drop' });
    let done = false;
    void writev(e, [new Uint8Array(512).fill(1)], 0, 512).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 5));
    expect([done, e.droppedCount]).toEqual([false, 1]);
    e.clearInjections();
    e.releaseDropped();
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(true);
    const r = new Uint8Array(512);
    await readv(e, [r], 0, 512);
    expect(r[0]).toBe(1);
    e.inject({ op: 'any', action: 'delay', delayMs: 5, count: 1 });
    expect(await readv(e, [new Uint8Array(512)], 0, 512)).toBe(0);
    base.resize(128);
    expect(e.numBlocks).toBe(128);
  });
});
