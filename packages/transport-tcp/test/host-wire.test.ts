/**
 * The host transport against a fake controller on a raw socket: ICResp checks, CPDA alignment,
 * R2T answered with H2CData no larger than MAXH2CDATA, SUCCESS handling, and protocol
 * violations answered with an H2CTermReq and a reported disconnect.
 */
import { createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { crc32c } from '@node-rs/crc32';
import { C2HDataView, CapsuleRespView, IcRespView, PduFlags, PduType, R2TView, TermReqFes, TermReqView, pduDataOffset, writeHeaderDigest } from '@nvmu/nvme-spec';

import { createTcpHostTransportFactory, type TcpHostOptions } from '../src/host/transport.js';
import { RawConn, pattern, sqeRw } from './helpers/raw.js';
import { Collector, cqeStatus } from './helpers/setup.js';

let server: Server | undefined;
afterEach(async () => {
  const s = server;
  if (s !== undefined) await new Promise<void>((r) => s.close(() => { r(); }));
  server = undefined;
});

interface Fake {
  port: number;
  conn: Promise<RawConn>;
}

function fakeController(): Promise<Fake> {
  return new Promise((resolve) => {
    let accept: (c: RawConn) => void = () => undefined;
    const conn = new Promise<RawConn>((r) => (accept = r));
    server = createServer((s) => { accept(RawConn.wrap(s)); });
    server.listen(0, '127.0.0.1', () => {
      const a = server!.address();
      resolve({ port: typeof a === 'object' && a !== null ? a.port : 0, conn });
    });
  });
}

async function icresp(raw: RawConn, o: { cpda?: number; dgst?: number; maxh2c?: number } = {}): Promise<{ hpda: number; dgst: number; maxr2t: number }> {
  const req = await raw.readPdu();
  expect(req.type).toBe(PduType.ICReq);
  expect(req.plen).toBe(128);
  const b = Buffer.alloc(128);
  const v = new IcRespView(b).init();
  v.cpda = o.cpda ?? 0;
  v.dgst = o.dgst ?? req.bytes[11]!;
  v.maxh2cdata = o.maxh2c ?? 8192;
  raw.send(b);
  raw.hdgst = (v.dgst & 1) !== 0;
  raw.ddgst = (v.dgst & 2) !== 0;
  return { hpda: req.bytes[10]!, dgst: req.bytes[11]!, maxr2t: req.bytes.readUInt32LE(12) };
}

async function open(port: number, opts: TcpHostOptions = {}, queueSize = 16) {
  const t = await createTcpHostTransportFactory(opts).open(
    { trtype: 'tcp', traddr: '127.0.0.1', trsvcid: String(port) },
    { hostnqn: 'nqn.test:host', hostid: new Uint8Array(16), connectTimeoutMs: 2000 },
  );
  const col = new Collector();
  const qp = t.connectQPair({ qid: 1, queueSize, maxInCapsuleDataSize: 4096, handler: col });
  return { t, col, qp };
}

function capsuleResp(raw: RawConn, cid: number, status = 0): Buffer {
  const b = Buffer.alloc(24 + (raw.hdgst ? 4 : 0));
  const v = new CapsuleRespView(b).init(raw.hdgst);
  v.cqe.cid = cid;
  b.writeUInt16LE(status << 1, 8 + 14);
  if (raw.hdgst) writeHeaderDigest(crc32c, b);
  return b;
}

function c2h(raw: RawConn, cid: number, off: number, data: Buffer, flags: number): Buffer {
  const pdo = pduDataOffset(24, raw.hdgst);
  const b = Buffer.alloc(pdo + data.length + (raw.ddgst ? 4 : 0));
  const v = new C2HDataView(b).init(raw.hdgst, raw.ddgst, data.length, (flags & PduFlags.LAST_PDU) !== 0, 0, (flags & PduFlags.SUCCESS) !== 0);
  v.cccid = cid;
  v.datao = off;
  v.datal = data.length;
  if (raw.hdgst) writeHeaderDigest(crc32c, b);
  data.copy(b, pdo);
  if (raw.ddgst) b.writeUInt32LE(crc32c(data) >>> 0, b.length - 4);
  return b;
}

function r2t(raw: RawConn, cid: number, ttag: number, off: number, len: number): Buffer {
  const b = Buffer.alloc(24 + (raw.hdgst ? 4 : 0));
  const v = new R2TView(b).init(raw.hdgst);
  v.cccid = cid;
  v.ttag = ttag;
  v.r2to = off;
  v.r2tl = len;
  if (raw.hdgst) writeHeaderDigest(crc32c, b);
  return b;
}

describe('host ICReq / ICResp', () => {
  it('sends PFV 0, its HPDA, digests and MAXR2T, and rejects an ICResp that changes the digests', async () => {
    const f = await fakeController();
    const { qp } = await open(f.port, { hdgst: true, maxr2t: 5, hpda: 2 });
    const raw = await f.conn;
    const seen = await icresp(raw, { dgst: 0 });
    expect(seen).toEqual({ hpda: 2, dgst: 1, maxr2t: 5 });
    await expect(qp).rejects.toThrow(/digests/);
  });

  it('rejects MAXH2CDATA below 4096', async () => {
    const f = await fakeController();
    const { qp } = await open(f.port);
    await icresp(await f.conn, { maxh2c: 1024 });
    await expect(qp).rejects.toThrow(/MAXH2CDATA/);
  });
});

describe('host data paths against a fake controller', () => {
  it('aligns in-capsule data and H2CData to CPDA, splits R2Ts at MAXH2CDATA, and reassembles C2HData', async () => {
    const f = await fakeController();
    const h = await open(f.port, { hdgst: true, ddgst: true });
    const raw = await f.conn;
    await icresp(raw, { cpda: 3, maxh2c: 4096 }); // 16-byte alignment
    const qp = await h.qp;
    // In-capsule write (2 KiB <= 4096): PDO 80 = align(72 + 4, 16).
    const small = pattern(2048, 1);
    const p1 = h.col.wait(1);
    qp.submit(sqeRw(0x01, 1, 0, 4), small, 0, 2048, 'h2c');
    const cap = await raw.readPdu();
    expect(cap.type).toBe(PduType.CapsuleCmd);
    expect(cap.pdo).toBe(80);
    expect(cap.bytes[8 + 39]).toBe(0x01); // Data Block, Offset subtype
    expect(cap.bytes.readUInt32LE(8 + 32)).toBe(2048);
    expect(cap.bytes.subarray(80, 80 + 2048).equals(small)).toBe(true);
    expect(cap.bytes.readUInt32LE(cap.plen - 4)).toBe(crc32c(small) >>> 0);
    raw.send(capsuleResp(raw, 1));
    expect(cqeStatus(await p1)).toBe(0);

    // A 10 KiB write: Transport SGL, then one R2T for all of it answered in 4 KiB H2CData.
    const big = pattern(10240, 2);
    const p2 = h.col.wait(2);
    qp.submit(sqeRw(0x01, 2, 0, 20), big, 0, 10240, 'h2c');
    const cap2 = await raw.readPdu();
    expect(cap2.plen).toBe(76);
    expect(cap2.bytes[8 + 39]).toBe(0x5a);
    expect(cap2.bytes.readUInt32LE(8 + 32)).toBe(10240);
    raw.send(r2t(raw, 2, 77, 0, 10240));
    const got = Buffer.alloc(10240);
    for (const [off, len, last] of [
      [0, 4096, false],
      [4096, 4096, false],
      [8192, 2048, true],
    ] as const) {
      const d = await raw.readPdu();
      expect(d.type).toBe(PduType.H2CData);
      expect(d.pdo).toBe(32); // align(24 + 4, 16)
      expect(d.bytes.readUInt16LE(8)).toBe(2);
      expect(d.bytes.readUInt16LE(10)).toBe(77);
      expect(d.bytes.readUInt32LE(12)).toBe(off);
      expect(d.bytes.readUInt32LE(16)).toBe(len);
      expect((d.flags & PduFlags.LAST_PDU) !== 0).toBe(last);
      expect(d.bytes.readUInt32LE(24)).toBe(crc32c(d.bytes.subarray(0, 24)) >>> 0);
      d.bytes.copy(got, off, 32, 32 + len);
    }
    expect(got.equals(big)).toBe(true);
    raw.send(capsuleResp(raw, 2));
    expect(cqeStatus(await p2)).toBe(0);

    // A read answered with two C2HData, the last with SUCCESS: no CapsuleResp needed.
    const out = Buffer.alloc(6000);
    const p3 = h.col.wait(3);
    qp.submit(sqeRw(0x02, 3, 0, 12), out, 0, 6000, 'c2h');
    await raw.readPdu();
    const src = pattern(6000, 3);
    raw.send(c2h(raw, 3, 0, src.subarray(0, 4000), 0));
    raw.send(c2h(raw, 3, 4000, src.subarray(4000), PduFlags.LAST_PDU | PduFlags.SUCCESS));
    const cqe = await p3;
    expect(cqeStatus(cqe)).toBe(0);
    expect(cqe.readUInt16LE(12)).toBe(3);
    expect(out.equals(src)).toBe(true);
    await h.t.close();
  });

  it('sends writes up to IOCCSZ in-capsule and one byte more through R2T', async () => {
    const f = await fakeController();
    const h = await open(f.port); // maxInCapsuleDataSize 4096
    const raw = await f.conn;
    await icresp(raw);
    const qp = await h.qp;
    const at = pattern(4096, 5);
    const p1 = h.col.wait(1);
    qp.submit(sqeRw(0x01, 1, 0, 8), at, 0, 4096, 'h2c');
    const c1 = await raw.readPdu();
    expect(c1.bytes[8 + 39]).toBe(0x01);
    expect(c1.plen).toBe(72 + 4096);
    expect(c1.bytes.subarray(72).equals(at)).toBe(true);
    raw.send(capsuleResp(raw, 1));
    expect(cqeStatus(await p1)).toBe(0);
    const over = pattern(4097, 6);
    const p2 = h.col.wait(2);
    qp.submit(sqeRw(0x01, 2, 0, 9), over, 0, 4097, 'h2c');
    const c2 = await raw.readPdu();
    expect(c2.bytes[8 + 39]).toBe(0x5a);
    expect(c2.bytes.readUInt32LE(8 + 24)).toBe(0); // Transport SGL address 0
    expect(c2.plen).toBe(72);
    raw.send(r2t(raw, 2, 5, 0, 4097));
    const d = await raw.readPdu();
    expect(d.type).toBe(PduType.H2CData);
    expect(d.bytes.subarray(d.pdo, d.pdo + 4097).equals(over)).toBe(true);
    raw.send(capsuleResp(raw, 2));
    expect(cqeStatus(await p2)).toBe(0);
    await h.t.close();
  });

  it('answers several outstanding R2Ts of one command, each with its TTAG and range', async () => {
    const f = await fakeController();
    const h = await open(f.port, { maxr2t: 2 });
    const raw = await f.conn;
    const seen = await icresp(raw, { maxh2c: 4096 });
    expect(seen.maxr2t).toBe(2); // 0's based: three R2Ts may be outstanding
    const qp = await h.qp;
    const data = pattern(12288, 7);
    const p = h.col.wait(3);
    qp.submit(sqeRw(0x01, 3, 0, 24), data, 0, 12288, 'h2c');
    await raw.readPdu();
    // Three R2Ts at once, before any data, with distinct TTAGs.
    raw.send(Buffer.concat([r2t(raw, 3, 10, 0, 4096), r2t(raw, 3, 11, 4096, 4096), r2t(raw, 3, 12, 8192, 4096)]));
    const got = Buffer.alloc(12288);
    const ttags = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const d = await raw.readPdu();
      expect(d.type).toBe(PduType.H2CData);
      const off = d.bytes.readUInt32LE(12);
      const ttag = d.bytes.readUInt16LE(10);
      expect(ttag).toBe(10 + off / 4096);
      expect((d.flags & PduFlags.LAST_PDU) !== 0).toBe(true); // last PDU of its R2T
      ttags.add(ttag);
      d.bytes.copy(got, off, d.pdo, d.pdo + 4096);
    }
    expect(ttags.size).toBe(3);
    expect(got.equals(data)).toBe(true);
    raw.send(capsuleResp(raw, 3));
    expect(cqeStatus(await p)).toBe(0);
    await h.t.close();
  });

  it('completes a read on SUCCESS-flagged C2HData (no CapsuleResp) and keeps serving the next commands', async () => {
    const f = await fakeController();
    const h = await open(f.port, { ddgst: true });
    const raw = await f.conn;
    await icresp(raw);
    const qp = await h.qp;
    for (let cid = 1; cid <= 3; cid++) {
      const out = Buffer.alloc(4096);
      const p = h.col.wait(cid);
      qp.submit(sqeRw(0x02, cid, 0, 8), out, 0, 4096, 'c2h');
      await raw.readPdu();
      raw.send(c2h(raw, cid, 0, pattern(4096, 40 + cid), PduFlags.LAST_PDU | PduFlags.SUCCESS));
      const cqe = await p;
      expect(cqeStatus(cqe)).toBe(0);
      expect(cqe.readUInt16LE(12)).toBe(cid);
      expect(out.equals(pattern(4096, 40 + cid))).toBe(true);
    }
    // The same CID again after SUCCESS: a new command, answered normally.
    const p = h.col.wait(1);
    qp.submit(sqeRw(0x01, 1, 0, 1), pattern(512, 9), 0, 512, 'h2c');
    await raw.readPdu();
    raw.send(capsuleResp(raw, 1));
    expect(cqeStatus(await p)).toBe(0);
    expect(h.col.disconnectedWith).toBeNull();
    await h.t.close();
  });

  it('treats a CapsuleResp after a SUCCESS-completed command as a protocol error (never completes twice)', async () => {
    const f = await fakeController();
    const h = await open(f.port);
    const raw = await f.conn;
    await icresp(raw);
    const qp = await h.qp;
    let completions = 0;
    const p = h.col.wait(4);
    void p.then(() => completions++);
    qp.submit(sqeRw(0x02, 4, 0, 8), Buffer.alloc(4096), 0, 4096, 'c2h');
    await raw.readPdu();
    raw.send(c2h(raw, 4, 0, pattern(4096, 1), PduFlags.LAST_PDU | PduFlags.SUCCESS));
    expect(cqeStatus(await p)).toBe(0);
    raw.send(capsuleResp(raw, 4));
    const term = await raw.readPdu();
    expect(term.type).toBe(PduType.H2CTermReq);
    expect(new TermReqView(term.bytes).fes).toBe(TermReqFes.InvalidHeaderField);
    await raw.waitClosed();
    expect(completions).toBe(1);
    await h.t.close();
  });

  it('fails a read whose C2HData had a wrong data digest with Transient Transport Error, and keeps the connection', async () => {
    const f = await fakeController();
    const h = await open(f.port, { ddgst: true });
    const raw = await f.conn;
    await icresp(raw);
    const qp = await h.qp;
    for (const [cid, flags] of [
      [1, PduFlags.LAST_PDU],
      [2, PduFlags.LAST_PDU | PduFlags.SUCCESS],
    ] as const) {
      const p = h.col.wait(cid);
      qp.submit(sqeRw(0x02, cid, 0, 8), Buffer.alloc(4096), 0, 4096, 'c2h');
      await raw.readPdu();
      const d = c2h(raw, cid, 0, pattern(4096, cid), flags);
      d[40]! ^= 0x5a; // damage the data, keep its digest
      raw.send(d);
      if ((flags & PduFlags.SUCCESS) === 0) raw.send(capsuleResp(raw, cid));
      expect(cqeStatus(await p)).toBe(0x22);
    }
    // The connection still serves: a clean read completes.
    const out = Buffer.alloc(4096);
    const p = h.col.wait(3);
    qp.submit(sqeRw(0x02, 3, 0, 8), out, 0, 4096, 'c2h');
    await raw.readPdu();
    raw.send(c2h(raw, 3, 0, pattern(4096, 3), PduFlags.LAST_PDU));
    raw.send(capsuleResp(raw, 3));
    expect(cqeStatus(await p)).toBe(0);
    expect(out.equals(pattern(4096, 3))).toBe(true);
    expect(h.col.disconnectedWith).toBeNull();
    await h.t.close();
  });

  async function violation(send: (raw: RawConn) => void, fes: number, submitRead = true): Promise<void> {
    const f = await fakeController();
    const h = await open(f.port);
    const raw = await f.conn;
    await icresp(raw);
    const qp = await h.qp;
    if (submitRead) qp.submit(sqeRw(0x02, 4, 0, 8), Buffer.alloc(4096), 0, 4096, 'c2h');
    else qp.submit(sqeRw(0x01, 4, 0, 16), Buffer.alloc(8192), 0, 8192, 'h2c');
    await raw.readPdu();
    send(raw);
    const term = await raw.readPdu();
    expect(term.type).toBe(PduType.H2CTermReq);
    expect(new TermReqView(term.bytes).fes).toBe(fes);
    await raw.waitClosed();
    expect(await h.col.disconnectedEvent).toBeInstanceOf(Error);
    await h.t.close();
  }

  it('answers SUCCESS without LAST_PDU with an H2CTermReq and reports the disconnect', async () => {
    await violation((raw) => { raw.send(c2h(raw, 4, 0, Buffer.alloc(4096), PduFlags.SUCCESS)); }, TermReqFes.InvalidHeaderField);
  });

  it('answers C2HData beyond the command data with FES Data Transfer Out of Range', async () => {
    await violation((raw) => { raw.send(c2h(raw, 4, 1024, Buffer.alloc(4096), PduFlags.LAST_PDU)); }, TermReqFes.DataTransferOutOfRange);
  });

  it('answers an R2T for a read with an H2CTermReq', async () => {
    await violation((raw) => { raw.send(r2t(raw, 4, 1, 0, 4096)); }, TermReqFes.InvalidHeaderField);
  });

  it('answers an R2T outside the write data with FES Data Transfer Out of Range', async () => {
    await violation((raw) => { raw.send(r2t(raw, 4, 1, 4096, 8192)); }, TermReqFes.DataTransferOutOfRange, false);
  });

  it('answers a CapsuleResp for an unknown CID with an H2CTermReq', async () => {
    await violation((raw) => { raw.send(capsuleResp(raw, 9)); }, TermReqFes.InvalidHeaderField);
  });

  it('reports a C2HTermReq from the controller as a disconnect with its FES', async () => {
    const f = await fakeController();
    const h = await open(f.port);
    const raw = await f.conn;
    await icresp(raw);
    await h.qp;
    const b = Buffer.alloc(24);
    new TermReqView(b).init(PduType.C2HTermReq, TermReqFes.PduSequenceError, 0);
    raw.send(b);
    await raw.waitClosed();
    expect((await h.col.disconnectedEvent)?.message).toMatch(/C2HTermReq FES 2/);
    await h.t.close();
  });
});
