/**
 * The memory bench's connections are bounded: a target that closes a connection before its
 * ICResp, or never answers, makes the connection count as failed (with the reason), never
 * hang the bench (the idle phase used to wait forever for such a connection's ICResp).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { closeAll, openIdleConnections } from '../src/memory-conns.js';
import { buildPackage } from './build.js';

let server: Server | undefined;
const accepted: Socket[] = [];
afterEach(async () => {
  for (const s of accepted.splice(0)) s.destroy();
  if (server !== undefined) await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A fake target on loopback: `onConnection` decides what each accepted socket gets. */
async function fakeTarget(onConnection: (s: Socket, index: number) => void): Promise<number> {
  let index = 0;
  server = createServer((s) => {
    s.on('error', () => undefined);
    accepted.push(s);
    onConnection(s, index++);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

/** Answers the 128-byte ICReq with 128 bytes (what the bench waits for; the content is not checked). */
function answerIcReq(s: Socket): void {
  let got = 0;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (got >= 128) s.write(Buffer.alloc(128));
  });
}

describe('memory bench connections', () => {
  it('counts connections the target closes at once, before ICResp, and finishes', async () => {
    const port = await fakeTarget((s) => {
      s.destroy();
    });
    // All in one batch with a bound far above a loopback close: a regression (waiting for an ICResp that
    // never comes) fails on the reasons below, not on the test's timeout.
    const r = await openIdleConnections(port, 25, { batch: 25, timeoutMs: 30_000 });
    expect(r.open).toHaveLength(0);
    expect(r.failures.count).toBe(25);
    // Closed (FIN) or reset, depending on whether the ICReq arrived before the close.
    for (const reason of r.failures.byReason.keys()) expect(['closed before ICResp', 'ECONNRESET', 'EPIPE']).toContain(reason);
  });

  it('keeps the ones that got an ICResp and counts the others', async () => {
    const port = await fakeTarget((s, i) => {
      if (i % 2 === 0) answerIcReq(s);
      else s.destroy();
    });
    const r = await openIdleConnections(port, 20, { batch: 20, timeoutMs: 60_000 });
    expect(r.open).toHaveLength(10);
    expect(r.failures.count).toBe(10);
    expect(await closeAll(r.open)).toBe(0);
    for (const s of r.open) expect(s.closed).toBe(true);
  });

  it('counts a connection that never gets an ICResp once its bound passed', async () => {
    const port = await fakeTarget(() => undefined);
    const r = await openIdleConnections(port, 3, { timeoutMs: 200 });
    expect(r.open).toHaveLength(0);
    expect(Object.fromEntries(r.failures.byReason)).toEqual({ 'no ICResp within 200 ms': 3 });
  });

  it('closes the ones the target closed first without waiting for a second close', async () => {
    const port = await fakeTarget(answerIcReq);
    const r = await openIdleConnections(port, 4, { timeoutMs: 60_000 });
    expect(r.open).toHaveLength(4);
    // The target closes two of them after the ICResp (as at its Connect deadline).
    const gone = r.open.slice(0, 2).map((s) => once(s, 'close'));
    for (const s of accepted.slice(0, 2)) s.destroy();
    await Promise.all(gone);
    expect(await closeAll(r.open)).toBe(2);
  });
});

describe('memory bench against a target that refuses connections', () => {
  beforeAll(buildPackage);

  it('finishes and reports the refused connections', async () => {
    // The real target child at a connection limit of 6: of 12 idle connections, 6 are closed
    // before their ICResp; of 6 controllers × 2 queues, at most 3 controllers can connect.
    const memoryJs = join(import.meta.dirname, '../dist/memory.js');
    const { stdout } = await promisify(execFile)(process.execPath, [memoryJs], {
      env: {
        ...process.env,
        NVMU_MEM_CONNECTIONS: '12',
        NVMU_MEM_QUEUES_PER_CONTROLLER: '2',
        NVMU_MEM_CYCLES: '1',
        NVMU_BENCH_TARGET_MAX_CONNECTIONS: '6',
      },
      maxBuffer: 16 * 2 ** 20,
    });
    const json = stdout.trimEnd().split('\n').at(-1) ?? '';
    const r = JSON.parse(json) as {
      variants: { idle: { opened: number; failed: number }; cycles: { controllers: number; failed: number; failures: Record<string, number> }[] }[];
    };
    const v = r.variants[0];
    expect(v?.idle).toMatchObject({ opened: 6, failed: 6 });
    expect(v?.cycles).toHaveLength(1);
    const c = v?.cycles[0];
    expect(c?.controllers).toBeLessThanOrEqual(3);
    // Every controller asked for either connected or is counted as failed to connect.
    const connectFailures = Object.entries(c?.failures ?? {}).filter(([k]) => k.startsWith('connect: ')).reduce((n, [, x]) => n + x, 0);
    expect((c?.controllers ?? 0) + connectFailures).toBe(6);
    expect(stdout).toContain('Failed connections and controllers, all phases:');
  });
});
