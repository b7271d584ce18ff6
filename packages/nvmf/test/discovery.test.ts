import { describe, it, expect, afterEach } from 'vitest';
import { DISCOVERY_NQN, Target } from '../src/index.js';
import { HOSTNQN, LOOP_ADDR, TestHost, TestTransport, getLogCmd, settle, sqe } from './harness.js';

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

const WILDCARD = { trtype: 'test', adrfam: 'intra-host', traddr: '*', trsvcid: '4420' } as const;

async function setup(): Promise<{ t: Target; tr: TestTransport; disc: TestHost }> {
  const t = new Target();
  target = t;
  const tr = new TestTransport();
  await t.addTransport(tr);
  await t.listen(LOOP_ADDR);
  const disc = new TestHost(tr, DISCOVERY_NQN);
  const r = await disc.connectAdmin(0);
  expect(r.status).toBe(0);
  await disc.enable();
  return { t, tr, disc };
}

interface Entry {
  trtype: number;
  adrfam: number;
  subtype: number;
  treq: number;
  portid: number;
  cntlid: number;
  asqsz: number;
  trsvcid: string;
  subnqn: string;
  traddr: string;
}

async function readLog(h: TestHost): Promise<{ genctr: bigint; numrec: number; entries: Entry[] }> {
  // Like libnvme: the 1024-byte header first, then the entries by offset in 4 KiB pieces.
  const hdr = (await h.getLog(0x70, 1024, 0, true)).data;
  const numrec = Number(hdr.readBigUInt64LE(8));
  const total = numrec * 1024;
  const body = Buffer.alloc(total);
  for (let off = 0; off < total; off += 4096) {
    const n = Math.min(4096, total - off);
    const r = await h.getLog(0x70, n, 1024 + off, true);
    expect(r.status).toBe(0);
    r.data.copy(body, off);
  }
  const entries: Entry[] = [];
  for (let i = 0; i < numrec; i++) {
    const e = body.subarray(i * 1024, (i + 1) * 1024);
    entries.push({
      trtype: e[0]!,
      adrfam: e[1]!,
      subtype: e[2]!,
      treq: e[3]!,
      portid: e.readUInt16LE(4),
      cntlid: e.readUInt16LE(6),
      asqsz: e.readUInt16LE(8),
      trsvcid: e.toString('ascii', 32, 64).trimEnd(),
      subnqn: e.toString('ascii', 256, 512).replace(/\0+$/, ''),
      traddr: e.toString('ascii', 512, 768).trimEnd(),
    });
  }
  return { genctr: hdr.readBigUInt64LE(0), numrec, entries };
}

describe('discovery controller', () => {
  it('identifies as a discovery controller (CNTRLTYPE 2) and refuses I/O features', async () => {
    const { disc } = await setup();
    const id = (await disc.identify(1)).data;
    expect(id[111]).toBe(2);
    expect(id.toString('ascii', 768, 768 + DISCOVERY_NQN.length)).toBe(DISCOVERY_NQN);
    expect(id.readUInt16LE(320)).toBeGreaterThan(0); // KAS
    expect(id.readUInt16LE(514)).toBeGreaterThan(0); // MAXCMD
    expect(id.readUInt16LE(78)).toBe(disc.cntlid);
    expect(id.readUInt32LE(92) >>> 31).toBe(1); // OAES discovery log change
    expect(id[261]).toBe(0x04); // LPA: no Commands Effects log on a discovery controller
    expect((await disc.identify(0, 1)).sc).toBe(0x02);
    expect((await disc.getLog(0x02, 512)).sc).toBe(0x09);
    expect((await disc.setFeature(0x07, 0)).sc).toBe(0x02);
    expect((await disc.a.submit(sqe(0x08))).sc).toBe(0x01);
    const io = await disc.connectIo(1);
    expect([io.r.sct, io.r.sc, io.r.dw0]).toEqual([1, 0x82, 42]);
  });

  it('lists the subsystems the host may see on their listeners, with 1024-byte entries', async () => {
    const { t, disc } = await setup();
    const a = t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:a', allowAnyHost: true });
    await a.addListener(LOOP_ADDR);
    a.start();
    const b = t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:b', hosts: ['nqn.2026-11.org.example:someone-else'] });
    await b.addListener(LOOP_ADDR);
    b.start();
    const c = t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:c', hosts: [HOSTNQN] });
    await c.addListener(LOOP_ADDR);
    await c.addListener(WILDCARD);
    c.start();
    const log = await readLog(disc);
    expect(log.numrec).toBe(4);
    expect(log.entries.map((e) => [e.subtype, e.subnqn, e.traddr])).toEqual([
      [3, DISCOVERY_NQN, 'loop0'],
      [2, 'nqn.2026-11.io.nvmu:a', 'loop0'],
      [2, 'nqn.2026-11.io.nvmu:c', 'loop0'],
      [2, 'nqn.2026-11.io.nvmu:c', 'local0'], // wildcard replaced with the connection's local address
    ]);
    for (const e of log.entries) {
      expect([e.trtype, e.adrfam, e.treq, e.cntlid, e.asqsz]).toEqual([0xfe, 0xfe, 0, 0xffff, 32]);
      expect(e.portid).toBeGreaterThan(0);
    }
    expect(log.entries[3]!.trsvcid).toBe('4420');
  });

  it('GENCTR changes on every change; the Discovery Log Change AER fires when enabled', async () => {
    const { t, disc } = await setup();
    const g0 = (await readLog(disc)).genctr;
    const s = t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:g' });
    const g1 = (await readLog(disc)).genctr;
    expect(g1).not.toBe(g0);
    await disc.setFeature(0x0b, (1 << 31) >>> 0);
    const aer = disc.a.submit(sqe(0x0c));
    s.allowAnyHost = true;
    const e = await aer;
    expect(e.dw0).toBe(0x02 | (0xf0 << 8) | (0x70 << 16));
    const g2 = (await readLog(disc)).genctr;
    expect(g2).not.toBe(g1);
    await s.addListener(LOOP_ADDR);
    s.start();
    const g3 = await readLog(disc);
    expect(g3.genctr).not.toBe(g2);
    expect(g3.numrec).toBe(2);
    s.removeListener(LOOP_ADDR);
    expect((await readLog(disc)).numrec).toBe(1);
    await t.removeSubsystem(s.nqn);
    expect((await readLog(disc)).genctr).not.toBe(g3.genctr);
  });

  it('reading log 70h with RAE=0 re-arms the Discovery Log Change notice; RAE=1 keeps it masked', async () => {
    const { t, disc } = await setup();
    await disc.setFeature(0x0b, (1 << 31) >>> 0);
    const first = disc.a.submit(sqe(0x0c));
    t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:r1' });
    expect((await first).dw0).toBe(0x70f002);
    let fired = false;
    const second = disc.a.submit(sqe(0x0c)).then((c) => {
      fired = true;
      return c;
    });
    t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:r2' }); // masked: the log was not read yet
    await disc.getLog(0x70, 1024, 0, true); // RAE=1: still masked
    t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:r3' });
    await settle();
    expect(fired).toBe(false);
    await disc.getLog(0x70, 1024, 0, false); // RAE=0: the event is cleared
    t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:r4' });
    expect((await second).dw0).toBe(0x70f002);
  });

  it('KATO 0 on a discovery controller means the 2-minute default; a non-zero KATO is kept', async () => {
    const { t, tr, disc } = await setup();
    expect((await disc.getFeature(0x0f)).dw0).toBe(120_000);
    expect(t.discovery.controllers.get(disc.cntlid)?.katoEnforced).toBe(120_000);
    const persistent = new TestHost(tr, DISCOVERY_NQN);
    expect((await persistent.connectAdmin(30_000)).status).toBe(0);
    await persistent.enable();
    expect((await persistent.getFeature(0x0f)).dw0).toBe(30_000);
  });

  it('reads at any dword offset; past the end is Invalid Field', async () => {
    const { t, disc } = await setup();
    const s = t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:o', allowAnyHost: true });
    await s.addListener(LOOP_ADDR);
    s.start();
    const all = (await disc.getLog(0x70, 3072)).data;
    const part = (await disc.getLog(0x70, 512, 1024 + 256)).data;
    expect(part.equals(all.subarray(1280, 1792))).toBe(true);
    expect((await disc.a.submit(getLogCmd(0x70, 512, 8192, false, 0), { readLen: 512 })).sc).toBe(0x02);
  });
});
