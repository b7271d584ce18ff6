/**
 * What a connection costs and how long it may stay without connecting (issue 12): memory is
 * sized by Connect's SQSIZE, not at ICReq; a connection that does not connect in time is closed
 * and logged; the number of connections is bounded; ICReq fields nvmet ignores are ignored here
 * too, with a warning.
 */
import { afterEach, describe, expect, it } from 'vitest';

import { IcReqView, IcRespView, PduType, TermReqFes, TermReqView } from '@nvmu/nvme-spec';

import { RawConn, connectData, sqeConnect } from './helpers/raw.js';
import { cqeStatus } from './helpers/setup.js';
import { NQN, startTarget, type RealTarget } from './helpers/target.js';

const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:0c4e1a3b-5d6f-4a8b-9c0d-1e2f3a4b5c6d';

let t: RealTarget | undefined;
const conns: RawConn[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) c.destroy();
  await t?.close();
  t = undefined;
});

async function open(port: number): Promise<RawConn> {
  const c = await RawConn.open(port);
  conns.push(c);
  return c;
}

/** Connect on a raw connection; returns the CQE status and CNTLID. */
async function rawConnect(c: RawConn, qid: number, sqsize: number, cntlid = 0xffff): Promise<{ status: number; cntlid: number }> {
  const d = connectData(NQN, HOSTNQN);
  d.writeUInt16LE(cntlid, 16);
  const sqe = sqeConnect(7, qid, sqsize);
  sqe[1] = 0x40;
  sqe.writeUInt32LE(1024, 32);
  sqe[39] = 0x01; // Data Block, Offset: in-capsule
  c.send(c.capsule(sqe, d));
  const r = await c.readPdu();
  expect(r.type).toBe(PduType.CapsuleResp);
  const cqe = r.bytes.subarray(8, 24);
  return { status: cqeStatus(cqe), cntlid: cqe.readUInt16LE(0) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('memory per connection', () => {
  it('costs a few KiB between ICReq and Connect, SQSIZE + 1 requests after, nothing once closed', async () => {
    t = await startTarget();
    const idle: RawConn[] = [];
    for (let i = 0; i < 8; i++) {
      const c = await open(t.port);
      expect((await c.icreq()).type).toBe(PduType.ICResp);
      idle.push(c);
    }
    const perIdle = t.tcp.stats().connectionBytes / idle.length;
    // One request with room for Connect's 1 KiB (the old code reserved 128 × 8 KiB here).
    expect(perIdle).toBeGreaterThan(1024);
    expect(perIdle).toBeLessThan(4096);

    const admin = idle[0]!;
    const a = await rawConnect(admin, 0, 31);
    expect(a.status).toBe(0);
    const afterAdmin = t.tcp.stats().connectionBytes - 7 * perIdle;
    // 32 requests, each with an in-capsule-sized (8 KiB) buffer.
    expect(afterAdmin).toBeGreaterThan(32 * 8192);
    expect(afterAdmin).toBeLessThan(33 * 10 * 1024);

    for (const c of idle) c.destroy();
    await until(() => t?.tcp.stats().connections === 0, 'every connection to close');
    expect(t.tcp.stats().connectionBytes).toBe(0);
  });

  it('refuses more in-capsule data than Connect carries before Connect (C2HTermReq)', async () => {
    t = await startTarget();
    const c = await open(t.port);
    await c.icreq();
    const sqe = sqeConnect(1, 0, 31);
    sqe[1] = 0x40;
    sqe.writeUInt32LE(4096, 32);
    sqe[39] = 0x01;
    c.send(c.capsule(sqe, Buffer.alloc(4096)));
    const r = await c.readPdu();
    expect(r.type).toBe(PduType.C2HTermReq);
    expect(new TermReqView(r.bytes).fes).toBe(TermReqFes.DataTransferLimitExceeded);
    await c.waitClosed();
  });
});

describe('connections that do not connect', () => {
  it('are closed after connectTimeoutMs, with a log line naming the peer', async () => {
    t = await startTarget('127.0.0.1', { connectTimeoutMs: 200 });
    const withIcreq = await open(t.port);
    await withIcreq.icreq();
    const silent = await open(t.port);
    await withIcreq.waitClosed();
    await silent.waitClosed();
    expect(t.tcp.stats().connectTimeouts).toBe(2);
    const lines = t.log.filter((l) => l.includes('no successful Connect in time'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/"peer":"127\.0\.0\.1:\d+"/);
  });

  it('leaves a connected queue alone', async () => {
    t = await startTarget('127.0.0.1', { connectTimeoutMs: 200 });
    const c = await open(t.port);
    await c.icreq();
    expect((await rawConnect(c, 0, 31)).status).toBe(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(c.closed).toBe(false);
    expect(t.tcp.stats().connectTimeouts).toBe(0);
  });
});

describe('the connection limit', () => {
  it('closes a connection above maxConnections at once, logs it, and accepts again below it', async () => {
    t = await startTarget('127.0.0.1', { maxConnections: 2 });
    const a = await open(t.port);
    await a.icreq();
    const b = await open(t.port);
    await b.icreq();
    const c = await open(t.port);
    await c.waitClosed();
    expect(t.tcp.stats().refusedConnections).toBe(1);
    expect(t.log.some((l) => l.includes('connection refused: at the connection limit') && l.includes('"maxConnections":2'))).toBe(true);
    a.destroy();
    await until(() => t?.tcp.stats().connections === 1, 'the first connection to close');
    const d = await open(t.port);
    expect((await d.icreq()).type).toBe(PduType.ICResp);
  });
});

describe('ICReq fields the binding reserves (as Linux nvmet: ignored)', () => {
  function icreqBytes(dgst: number, flags: number): Buffer {
    const b = Buffer.alloc(128);
    new IcReqView(b).init();
    b[1] = flags; // common header FLAGS
    b[11] = dgst; // DGST: bit 0 HDGST_ENABLE, bit 1 DDGST_ENABLE, bits 7:2 reserved
    return b;
  }

  it('answers reserved DGST bits with only the digests it enables, and warns', async () => {
    t = await startTarget();
    const c = await open(t.port);
    c.send(icreqBytes(0xfd, 0));
    const r = await c.readPdu();
    expect(r.type).toBe(PduType.ICResp);
    expect(new IcRespView(r.bytes).dgst).toBe(0x01);
    expect(t.log.some((l) => l.includes('reserved DGST bits') && l.includes('"dgst":253'))).toBe(true);
  });

  it('accepts an ICReq with FLAGS set, and warns', async () => {
    t = await startTarget();
    const c = await open(t.port);
    c.send(icreqBytes(0, 0x0c));
    const r = await c.readPdu();
    expect(r.type).toBe(PduType.ICResp);
    expect(new IcRespView(r.bytes).dgst).toBe(0);
    expect((await rawConnect(c, 0, 31)).status).toBe(0);
    expect(t.log.some((l) => l.includes('reserved DGST bits or FLAGS') && l.includes('"flags":12'))).toBe(true);
  });
});
