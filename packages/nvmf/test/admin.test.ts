import { describe, it, expect, afterEach } from 'vitest';
import { MallocBdev, NullBdev, Target } from '../src/index.js';
import { LOOP_ADDR, TestHost, TestTransport, getLogCmd, ioCmd, sqe, settle } from './harness.js';
import { NQN, fixture, type Fixture } from './setup.js';

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

async function up(opts = {}): Promise<Fixture> {
  const f = await fixture(opts);
  target = f.target;
  await f.host.bringUp(2);
  return f;
}

describe('Identify', () => {
  it('controller: identity strings, MDTS, ONCS, VWC, OAES, AERL, NN, SQES/CQES', async () => {
    const f = await up({ serial: 'SER123', model: 'Model X', firmwareRevision: '1.2' });
    const d = (await f.host.identify(1)).data;
    expect(d.toString('ascii', 4, 24)).toBe('SER123'.padEnd(20));
    expect(d.toString('ascii', 24, 64)).toBe('Model X'.padEnd(40));
    expect(d.toString('ascii', 64, 72)).toBe('1.2'.padEnd(8));
    expect(d[77]).toBe(5); // MDTS: 128 KiB / 4 KiB = 2^5
    expect(d.readUInt32LE(80)).toBe(0x10400);
    expect(d.readUInt32LE(92) & (1 << 8)).not.toBe(0); // OAES namespace attribute notices
    expect(d[259]).toBe(3); // AERL
    expect(d[261]! & 0x04).toBe(0x04); // LPA extended data
    expect(d[512]).toBe(0x66);
    expect(d[513]).toBe(0x44);
    expect(d.readUInt32LE(516)).toBe(32); // NN
    expect(d.readUInt16LE(520)).toBe(0x1d); // ONCS: Compare, DSM, Write Zeroes, Save/Select
    expect(d[525]).toBe(0x07); // VWC present + broadcast flush
    expect(d.readUInt32LE(536)).toBe(1 | (1 << 20)); // SGLS: core + transport bits
    expect(d[76]! & 0x2).toBe(0x2); // CMIC multi-controller
  });

  it('namespace DLFEAT promises zeros after deallocate only when the bdev reads zeros', async () => {
    const f = await up();
    f.sub.addNamespace({ bdev: new NullBdev({ name: 'null-untouched', blockSize: 512, numBlocks: 64 }), nsid: 4 });
    f.sub.addNamespace({ bdev: new NullBdev({ name: 'null-zeros', blockSize: 512, numBlocks: 64, zeroReads: true }), nsid: 5 });
    expect((await f.host.identify(0, 1)).data[33]).toBe(0x09); // malloc: 001b + Write Zeroes may deallocate
    expect((await f.host.identify(0, 4)).data[33]).toBe(0x08); // null bdev leaving buffers as they are: 000b
    expect((await f.host.identify(0, 5)).data[33]).toBe(0x09);
  });

  it('namespace: size, LBA format, identifiers; inactive NSID is zeros; NSID 0 and > NN are invalid', async () => {
    const f = await up();
    const bdev = new MallocBdev({ name: 'm4k', blockSize: 4096, numBlocks: 300 });
    f.sub.addNamespace({ bdev, nsid: 3, nguid: '00112233445566778899aabbccddeeff', eui64: '0102030405060708' });
    const d = (await f.host.identify(0, 3)).data;
    expect(d.readBigUInt64LE(0)).toBe(300n); // NSZE
    expect(d.readBigUInt64LE(8)).toBe(300n); // NCAP
    expect(d[130]).toBe(12); // LBAF0.LBADS = log2(4096)
    expect(d.subarray(104, 120).toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect(d.subarray(120, 128).toString('hex')).toBe('0102030405060708');
    expect(d[33]).toBe(0x09); // DLFEAT
    const d1 = (await f.host.identify(0, 1)).data;
    expect(d1[130]).toBe(9);
    const inactive = await f.host.identify(0, 7);
    expect(inactive.status).toBe(0);
    expect(inactive.data.every((b) => b === 0)).toBe(true);
    for (const nsid of [0, 33, 0xffffffff]) {
      const r = await f.host.identify(0, nsid);
      expect([r.sct, r.sc]).toEqual([0, 0x0b]);
    }
  });

  it('active namespace list (CNS 02h) lists NSIDs above NSID, ascending', async () => {
    const f = await up();
    for (const nsid of [5, 3]) f.sub.addNamespace({ bdev: new MallocBdev({ name: `m${nsid}`, blockSize: 512, numBlocks: 8 }), nsid });
    const all = (await f.host.identify(2, 0)).data;
    expect([all.readUInt32LE(0), all.readUInt32LE(4), all.readUInt32LE(8), all.readUInt32LE(12)]).toEqual([1, 3, 5, 0]);
    const after3 = (await f.host.identify(2, 3)).data;
    expect([after3.readUInt32LE(0), after3.readUInt32LE(4)]).toEqual([5, 0]);
    expect((await f.host.identify(2, 0xfffffffe)).sc).toBe(0x0b);
  });

  it('namespace identification descriptors (CNS 03h): NGUID, UUID, CSI; EUI64 when set', async () => {
    const f = await up();
    const uuid = '12345678-9abc-4def-8123-456789abcdef';
    f.sub.addNamespace({ bdev: new MallocBdev({ name: 'mu', blockSize: 512, numBlocks: 8 }), nsid: 2, uuid, eui64: 'a1a2a3a4a5a6a7a8' });
    const d = (await f.host.identify(3, 2)).data;
    const descs: [number, string][] = [];
    for (let o = 0; d[o] !== 0; ) {
      const len = d[o + 1]!;
      descs.push([d[o]!, d.subarray(o + 4, o + 4 + len).toString('hex')]);
      o += 4 + len;
    }
    expect(descs).toEqual([
      [1, 'a1a2a3a4a5a6a7a8'],
      [2, uuid.replaceAll('-', '')],
      [3, uuid.replaceAll('-', '')],
      [4, '00'],
    ]);
    expect((await f.host.identify(3, 9)).sc).toBe(0x0b);
  });

  it('CNS 05h/06h answer for CSI 0 and reject other command sets; unknown CNS is Invalid Field', async () => {
    const f = await up();
    expect((await f.host.identify(6, 0, 0)).status).toBe(0);
    expect((await f.host.identify(6, 0, 2 << 24)).sc).toBe(0x02);
    expect((await f.host.identify(5, 1, 0)).status).toBe(0);
    expect((await f.host.identify(5, 1, 2 << 24)).sc).toBe(0x02);
    expect((await f.host.identify(0x10)).sc).toBe(0x02);
    // CNS 08h (I/O Command Set Independent Identify Namespace) is not offered (VS 1.4, CAP.CSS
    // without bit 6, so hosts do not ask): Invalid Field, never a timeout.
    const cns8 = await f.host.identify(0x08, 1);
    expect([cns8.sct, cns8.sc, cns8.dnr]).toEqual([0, 0x02, true]);
  });

  it('MDTS is the largest power of two of 4 KiB pages within maxIoSize, and is what I/O is held to', async () => {
    const target1 = new Target();
    target = target1;
    const tr = new TestTransport({ maxIoSize: 192 * 1024 }); // not a power of two
    await target1.addTransport(tr);
    const sub = target1.createSubsystem({ nqn: NQN, allowAnyHost: true });
    sub.addNamespace({ bdev: new MallocBdev({ name: 'm', blockSize: 4096, numBlocks: 256 }), nsid: 1 });
    await sub.addListener(LOOP_ADDR);
    sub.start();
    const h = new TestHost(tr, NQN);
    await h.bringUp(1);
    const id = (await h.identify(1)).data;
    expect(id[77]).toBe(5); // 2^5 × 4 KiB (CAP.MPSMIN = 0) = 128 KiB <= 192 KiB
    const cap = await h.prop(0x00, true);
    expect(Number((cap >> 48n) & 0xfn)).toBe(0); // MPSMIN: 4 KiB
    expect((await h.read(1, 1, 0, 32, 4096)).status).toBe(0); // exactly 128 KiB
    const over = await h.read(1, 1, 0, 33, 4096);
    expect([over.sct, over.sc, over.dnr]).toEqual([0, 0x02, true]);
    // Write Zeroes is not held to MDTS (WZSL 0 in Identify CNS 06h).
    expect((await h.io[1]!.submit(ioCmd(0x08, 1, 0, 200))).status).toBe(0);
    // 4 KiB cannot be advertised (MDTS 0 means "no limit"): such a transport is refused.
    const tiny = Object.assign(new TestTransport({ maxIoSize: 4096 }), { trtype: 'tiny' });
    await expect(target1.addTransport(tiny)).rejects.toThrow(/maxIoSize/);
  });

  it('a PRP-only transport gets SGLS exactly as it reports it', async () => {
    const f = await up();
    f.tr.identifyOverride = { prpOnly: true, sgls: 0, ioccsz: 0, iorcsz: 0 };
    const d = (await f.host.identify(1)).data;
    expect(d.readUInt32LE(536)).toBe(0);
    f.tr.identifyOverride = {};
    expect((await f.host.identify(1)).data.readUInt32LE(536) & 3).toBe(1);
  });

  it('fails with Data SGL Length Invalid when the host gives less than 4 KiB', async () => {
    const f = await up();
    const r = await f.host.a.submit(sqe(0x06, 0, { 10: 1 }), { readLen: 1024 });
    expect([r.sct, r.sc]).toEqual([0, 0x0f]);
  });
});

describe('admin dispatch', () => {
  it('rejects admin commands before CC.EN with Command Sequence Error', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.connectAdmin();
    const r = await f.host.identify(1);
    expect([r.sct, r.sc]).toEqual([0, 0x0c]);
  });

  it('Namespace Management / Attachment, unknown and vendor opcodes are Invalid Opcode; fused is Invalid Field', async () => {
    const f = await up();
    for (const op of [0x0d, 0x15, 0x80, 0xc0, 0x01]) {
      const r = await f.host.a.submit(sqe(op, 1));
      expect([op, r.sct, r.sc, r.dnr]).toEqual([op, 0, 0x01, true]);
    }
    const fused = sqe(0x18);
    fused[1] = 1;
    expect((await f.host.a.submit(fused)).sc).toBe(0x02);
  });
});

describe('Get Log Page', () => {
  it('Error Information records failed commands, newest first', async () => {
    const f = await up();
    await f.host.io[1]!.submit(ioCmd(0x02, 1, 1 << 20, 1), { readLen: 512 }); // LBA out of range
    await f.host.a.submit(sqe(0xc1)); // invalid opcode
    const log = (await f.host.getLog(0x01, 1024)).data;
    expect(log.readBigUInt64LE(0)).toBe(2n);
    expect(log.readUInt16LE(8)).toBe(0); // SQID of the newest: admin
    expect(log.readUInt16LE(12) >> 1).toBe(0x4001);
    expect(log.readBigUInt64LE(64)).toBe(1n);
    expect(log.readUInt16LE(64 + 8)).toBe(1);
    expect(log.readUInt16LE(64 + 12) >> 1).toBe(0x4080);
    expect(log.readBigUInt64LE(64 + 16)).toBe(BigInt(1 << 20)); // LBA
    expect(log.readUInt32LE(64 + 24)).toBe(1); // NSID
  });

  it('Error Information before any error: ELPE + 1 zeroed entries, at any offset inside', async () => {
    // spdk_nvme_identify reads (ELPE + 1) × 64 bytes right after bring-up; an empty log once
    // made the handler throw (a zero-length view) and the host saw Internal Error.
    const f = await up();
    const log = await f.host.getLog(0x01, 1024);
    expect(log.status).toBe(0);
    expect(log.data.length).toBe(1024);
    expect(log.data.every((x) => x === 0)).toBe(true);
    const tail = await f.host.getLog(0x01, 64, 960); // the last of the 16 entries
    expect(tail.status).toBe(0);
    expect((await f.host.getLog(0x01, 64, 1088)).sc).toBe(0x02); // past the 1024-byte log
  });

  it('SMART counts reads and writes; Firmware Slot shows the revision; Commands Effects lists Read', async () => {
    const f = await up({ firmwareRevision: 'FW9' });
    await f.host.write(1, 1, 0, Buffer.alloc(4096, 1), 512);
    await f.host.read(1, 1, 0, 8, 512);
    await f.host.read(2, 1, 0, 8, 512);
    const smart = (await f.host.getLog(0x02, 512)).data;
    expect(smart.readBigUInt64LE(64)).toBe(2n); // host read commands
    expect(smart.readBigUInt64LE(80)).toBe(1n); // host write commands
    expect(smart.readBigUInt64LE(32)).toBe(1n); // data units read (rounded up)
    const fw = (await f.host.getLog(0x03, 512)).data;
    expect(fw[0]).toBe(1);
    expect(fw.toString('ascii', 8, 11)).toBe('FW9');
    const eff = (await f.host.getLog(0x05, 4096)).data;
    expect(eff.readUInt32LE(1024 + 0x02 * 4) & 1).toBe(1);
    expect(eff.readUInt32LE(0x06 * 4) & 1).toBe(1);
    expect(eff.readUInt32LE(0x0d * 4)).toBe(0);
  });

  it('validates LID, offset and length', async () => {
    const f = await up();
    const bad = await f.host.getLog(0x42, 512);
    expect([bad.sct, bad.sc]).toEqual([1, 0x09]);
    const ana = await f.host.getLog(0x0c, 512); // ANA not reported by this subsystem
    expect([ana.sct, ana.sc]).toEqual([1, 0x09]);
    expect((await f.host.getLog(0x02, 512, 1024)).sc).toBe(0x02); // offset past the end
    // An offset equal to the size is not past it (NVMe Base 2.0 §5.16: Invalid Field only when
    // greater); what lies beyond the log reads as zeros, also when NUMD asks for more than the log.
    const atEnd = await f.host.getLog(0x02, 512, 512);
    expect(atEnd.status).toBe(0);
    expect(atEnd.data.every((x) => x === 0)).toBe(true);
    const longer = await f.host.getLog(0x03, 1024);
    expect(longer.status).toBe(0);
    expect(longer.data.subarray(512).every((x) => x === 0)).toBe(true);
    expect((await f.host.getLog(0x02, 512, 2)).sc).toBe(0x02); // not dword aligned
    const short = await f.host.a.submit(getLogCmd(0x02, 512), { readLen: 256 });
    expect(short.sc).toBe(0x0f);
    // Reading by offset returns the tail.
    const whole = (await f.host.getLog(0x03, 512)).data;
    const tail = (await f.host.getLog(0x03, 256, 8)).data;
    expect(tail.subarray(0, 8).equals(whole.subarray(8, 16))).toBe(true);
  });

  it('ANA log lists groups and their namespaces when ANA reporting is on', async () => {
    const f = await up({ anaReporting: true });
    f.sub.setAnaState(2, 'inaccessible');
    f.sub.addNamespace({ bdev: new MallocBdev({ name: 'a2', blockSize: 512, numBlocks: 8 }), nsid: 4, anaGroupId: 2 });
    const log = (await f.host.getLog(0x0c, 4096)).data;
    expect(log.readUInt16LE(8)).toBe(2); // groups
    expect(log.readUInt32LE(16)).toBe(1); // group 1
    expect(log.readUInt32LE(20)).toBe(1); // one namespace
    expect(log[32]).toBe(0x01); // optimized
    expect(log.readUInt32LE(48)).toBe(1); // nsid 1
    expect(log.readUInt32LE(52)).toBe(2); // group 2
    expect(log[52 + 16]).toBe(0x03); // inaccessible
    expect(log.readUInt32LE(52 + 32)).toBe(4);
    const id = (await f.host.identify(1)).data;
    expect(id[76]! & 0x08).toBe(0x08);
  });
});

describe('Set / Get Features', () => {
  it('Number of Queues grants at most what the transport serves, once before I/O queues exist', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.connectAdmin();
    await f.host.enable();
    const r = await f.host.setFeature(0x07, (15 << 16) | 15);
    expect(r.dw0).toBe((3 << 16) | 3); // 4 queues
    expect((await f.host.getFeature(0x07)).dw0).toBe((3 << 16) | 3);
    expect((await f.host.setFeature(0x07, 0xffff)).sc).toBe(0x02);
    await f.host.connectIo(1);
    expect((await f.host.setFeature(0x07, 0)).sc).toBe(0x0c);
  });

  it('stores values, reports defaults and capabilities, refuses saving and unknown features', async () => {
    const f = await up();
    const h = f.host;
    expect((await h.setFeature(0x01, 0x0a0b0c03)).status).toBe(0);
    expect((await h.getFeature(0x01)).dw0).toBe(0x0a0b0c03);
    expect((await h.getFeature(0x01, 1)).dw0).toBe(0); // default
    expect((await h.getFeature(0x01, 2)).dw0).toBe(0); // saved = default
    expect((await h.getFeature(0x01, 3)).dw0).toBe(1 << 2); // changeable
    expect((await h.setFeature(0x06, 0)).status).toBe(0);
    expect((await h.getFeature(0x06)).dw0).toBe(0);
    expect((await h.setFeature(0x04, (0 << 20) | 0x160)).status).toBe(0);
    expect((await h.getFeature(0x04, 0, 0)).dw0 & 0xffff).toBe(0x160);
    expect((await h.setFeature(0x04, (3 << 20) | 0x160)).sc).toBe(0x02);
    expect((await h.setFeature(0x02, 1)).sc).toBe(0x02); // no power state 1
    expect((await h.setFeature(0x0f, 4000)).status).toBe(0);
    expect((await h.getFeature(0x0f)).dw0).toBe(4000);
    // KATO is reported as enforced: rounded up to the KAS granularity (1 s), as SPDK and nvmet.
    expect((await h.setFeature(0x0f, 4200)).status).toBe(0);
    expect((await h.getFeature(0x0f)).dw0).toBe(5000);
    const sv = await h.a.submit(sqe(0x09, 0, { 10: 0x01 | (1 << 31), 11: 0 }));
    expect([sv.sct, sv.sc]).toEqual([1, 0x0d]);
    expect((await h.setFeature(0x7e, 0)).sc).toBe(0x02);
    expect((await h.getFeature(0x7e)).sc).toBe(0x02);
    expect((await h.getFeature(0x01, 4)).sc).toBe(0x02);
  });

  it('Host Identifier returns Connect\'s 128-bit HOSTID and cannot be set', async () => {
    const f = await up();
    const r = await f.host.getFeature(0x81, 0, 1);
    expect(r.data.toString('hex')).toBe('00112233445566778899aabbccddeeff');
    expect((await f.host.getFeature(0x81, 0, 0)).sc).toBe(0x02);
    expect((await f.host.setFeature(0x81, 1)).sc).toBe(0x0c);
  });
});

describe('Asynchronous Event Request', () => {
  it('a namespace add, resize and remove raise Namespace Attribute Changed; masked until log 04h is read', async () => {
    const f = await up();
    const h = f.host;
    await h.setFeature(0x0b, 1 << 8);
    const aer1 = h.a.submit(sqe(0x0c));
    const bdev = new MallocBdev({ name: 'hot', blockSize: 512, numBlocks: 64 });
    f.sub.addNamespace({ bdev, nsid: 2 });
    const e1 = await aer1;
    expect(e1.status).toBe(0);
    expect(e1.dw0).toBe(0x02 | (0x00 << 8) | (0x04 << 16));
    // Masked: a resize before the log is read does not complete the next AER.
    let fired = false;
    const aer2 = h.a.submit(sqe(0x0c)).then((c) => {
      fired = true;
      return c;
    });
    bdev.resize(128);
    await settle();
    expect(fired).toBe(false);
    // RAE=1 keeps the mask.
    const keep = (await h.getLog(0x04, 4096, 0, true)).data;
    expect([keep.readUInt32LE(0), keep.readUInt32LE(4)]).toEqual([2, 0]);
    await settle();
    expect(fired).toBe(false);
    // RAE=0 clears the list and the mask; the next change fires.
    await h.getLog(0x04, 4096);
    await f.sub.removeNamespace(2);
    const e2 = await aer2;
    expect(e2.dw0).toBe(0x040002);
    const list = (await h.getLog(0x04, 4096)).data;
    expect([list.readUInt32LE(0), list.readUInt32LE(4)]).toEqual([2, 0]);
    expect((await h.identify(0, 2)).data.every((b) => b === 0)).toBe(true);
  });

  it('a namespace resize alone raises the notice and lists the NSID in log 04h', async () => {
    const f = await up();
    const h = f.host;
    await h.setFeature(0x0b, 1 << 8);
    await h.getLog(0x04, 4096); // nothing pending
    const aer = h.a.submit(sqe(0x0c));
    const bdev = f.bdev;
    bdev.resize(bdev.numBlocks * 2);
    expect((await aer).dw0).toBe(0x040002);
    const list = (await h.getLog(0x04, 4096)).data;
    expect([list.readUInt32LE(0), list.readUInt32LE(4)]).toEqual([1, 0]);
    expect((await h.identify(0, 1)).data.readBigUInt64LE(0)).toBe(BigInt(bdev.numBlocks));
  });

  it('an event with no AER outstanding is delivered by the next AER; disabled events are not', async () => {
    const f = await up();
    const h = f.host;
    f.sub.addNamespace({ bdev: new MallocBdev({ name: 'x', blockSize: 512, numBlocks: 8 }), nsid: 2 }); // AEC 0: not reported
    await h.setFeature(0x0b, 1 << 8);
    f.sub.addNamespace({ bdev: new MallocBdev({ name: 'y', blockSize: 512, numBlocks: 8 }), nsid: 3 });
    const e = await h.a.submit(sqe(0x0c));
    expect(e.dw0).toBe(0x040002);
  });

  it('more than AERL+1 outstanding fails with Asynchronous Event Request Limit Exceeded', async () => {
    const f = await up();
    for (let i = 0; i < 4; i++) void f.host.a.submit(sqe(0x0c));
    const r = await f.host.a.submit(sqe(0x0c));
    expect([r.sct, r.sc]).toEqual([1, 0x05]);
  });

  it('Abort aborts a held AER (DW0 bit 0 = 0) and reports others as not aborted', async () => {
    const f = await up();
    const aerSqe = sqe(0x0c);
    aerSqe.writeUInt16LE(0x777, 2);
    const aer = f.host.a.submit(aerSqe, { keepCid: true });
    const r = await f.host.a.submit(sqe(0x08, 0, { 10: (0x777 << 16) | 0 }));
    expect([r.status, r.dw0]).toEqual([0, 0]);
    const a = await aer;
    expect([a.sct, a.sc]).toEqual([0, 0x07]);
    const r2 = await f.host.a.submit(sqe(0x08, 0, { 10: (0x999 << 16) | 1 }));
    expect([r2.status, r2.dw0]).toEqual([0, 1]);
  });
});

describe('Keep Alive', () => {
  it('KATO from Connect tears the controller down when no Keep Alive arrives', async () => {
    const f = await fixture();
    target = f.target;
    await f.host.connectAdmin(30);
    await f.host.enable();
    for (let i = 0; i < 200 && f.sub.controllers.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.sub.controllers.size).toBe(0);
    expect(f.host.a.closeReasons).toContain('keep-alive-timeout');
  });

  // Keep Alive restarting the timer, Set Features KAT and re-enable after shutdown run on a fake
  // clock in keep-alive.test.ts (a real-clock version depends on how busy the machine is).
});
