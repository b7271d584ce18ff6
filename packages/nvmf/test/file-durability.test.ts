/**
 * The file bdev's durability promise, seen from the host: a Write with FUA, a Flush, a Write
 * with the volatile write cache disabled and a shutdown notification each reach fdatasync(2)
 * before their completion; a plain Write does not. fdatasync is counted through a wrapper of
 * node:fs (the real call still runs).
 */
import { describe, it, expect, vi, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const syncs = vi.hoisted(() => ({ done: 0, started: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void => {
    syncs.started++;
    real.fdatasync(fd, (err) => {
      syncs.done++;
      cb(err);
    });
  };
  return { ...real, default: { ...real, fdatasync }, fdatasync };
});

const { FileBdev, Target } = await import('../src/index.js');
const { LOOP_ADDR, TestHost, TestTransport, ioCmd, sqe } = await import('./harness.js');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('file bdev durability (FUA, Flush, write cache, shutdown → fdatasync)', () => {
  it('each durable command completes only after an fdatasync finished', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nvmf-fua-'));
    dirs.push(d);
    const target = new Target();
    try {
      const tr = new TestTransport();
      await target.addTransport(tr);
      const disk = await FileBdev.open({ name: 'f', path: join(d, 'img'), size: 1 << 20 });
      target.addBdev(disk);
      const sub = target.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:fua', allowAnyHost: true });
      sub.addNamespace({ bdev: disk, nsid: 1 });
      await sub.addListener(LOOP_ADDR);
      sub.start();
      const h = new TestHost(tr, sub.nqn);
      await h.bringUp(1);
      const data = Buffer.alloc(4096, 0xa5);

      const before = syncs.done;
      expect((await h.write(1, 1, 0, data, 512, false)).status).toBe(0);
      expect(syncs.done - before).toBe(0); // a plain write stays in the page cache

      let base = syncs.done;
      expect((await h.write(1, 1, 8, data, 512, true)).status).toBe(0);
      expect(syncs.done - base).toBe(1); // FUA

      base = syncs.done;
      expect((await h.io[1]!.submit(sqe(0x00, 1))).status).toBe(0);
      expect(syncs.done - base).toBe(1); // Flush

      base = syncs.done;
      expect((await h.io[1]!.submit(ioCmd(0x08, 1, 16, 8, 1 << 30))).status).toBe(0);
      expect(syncs.done - base).toBe(1); // Write Zeroes with FUA

      base = syncs.done;
      expect((await h.setFeature(0x06, 0)).status).toBe(0); // volatile write cache off
      expect((await h.write(1, 1, 0, data, 512, false)).status).toBe(0);
      expect(syncs.done - base).toBe(1); // write-through

      base = syncs.started;
      await h.shutdown();
      expect(syncs.started - base).toBeGreaterThanOrEqual(1); // CC.SHN flushes before SHST = 10b
    } finally {
      await target.close();
    }
  }, 30_000); // fdatasync on a busy disk: a generous bound, not a timing
});
