/**
 * The transport's malloc_trim after connections close (`releaseMemory`, memory-release.ts):
 * called after the full GC that follows connections closing, never while none closes, not at
 * all when turned off. The trim is a counting function here; memory-return.test.ts runs the
 * real one.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { afterEach, describe, expect, it } from 'vitest';

import { PduType } from '@nvmu/nvme-spec';

import { RawConn } from './helpers/raw.js';
import { startTarget, type RealTarget } from './helpers/target.js';

// A full GC on demand in this process (what `--expose-gc` gives), for the GC the trim waits for.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let t: RealTarget | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

/** Opens `n` connections that send an ICReq, then closes them all. */
async function openAndClose(port: number, n: number, tcp: RealTarget['tcp']): Promise<void> {
  const conns: RawConn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await RawConn.open(port);
    expect((await c.icreq()).type).toBe(PduType.ICResp);
    conns.push(c);
  }
  for (const c of conns) c.destroy();
  await until(() => tcp.stats().connections === 0, 'every connection to close');
}

describe('releaseMemory', () => {
  it('trims after connections close and a full GC, and not before', async () => {
    let calls = 0;
    t = await startTarget('127.0.0.1', {
      releaseMemory: () => {
        calls++;
        return true;
      },
      releaseMemoryDelayMs: 20,
    });
    const tcp = t.tcp;
    const c = await RawConn.open(t.port);
    expect((await c.icreq()).type).toBe(PduType.ICResp);
    await new Promise((r) => setTimeout(r, 100));
    // A connection open, none closed: nothing to give back.
    expect(calls).toBe(0);
    gc();
    await new Promise((r) => setTimeout(r, 100));
    // A full GC, still no close: nothing.
    expect(calls).toBe(0);
    c.destroy();
    await openAndClose(t.port, 3, tcp);
    gc();
    await until(() => calls > 0, 'a trim');
    expect(tcp.stats().memoryTrims).toBe(calls);
    expect(tcp.stats().memoryTrimUs).toBeGreaterThanOrEqual(0);
  }, 30_000);

  it('does nothing when turned off', async () => {
    t = await startTarget('127.0.0.1', { releaseMemory: false, releaseMemoryDelayMs: 20 });
    await openAndClose(t.port, 3, t.tcp);
    gc();
    await new Promise((r) => setTimeout(r, 200));
    expect(t.tcp.stats().memoryTrims).toBe(0);
  }, 30_000);

  it('rejects a negative delay', async () => {
    const { TcpTargetTransport } = await import('../src/target/transport.js');
    expect(() => new TcpTargetTransport({ releaseMemoryDelayMs: -1 })).toThrow(RangeError);
  });
});
