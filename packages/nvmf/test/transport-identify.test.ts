/**
 * The Identify fields a transport does not report itself: one default in the core
 * (`transportIdentifyFields`), the in-capsule fields of NVMe-oF 1.1 §4.1 for the transport's
 * `options.inCapsuleDataSize`; a transport that reports its own (vfio-user: PRPs only) wins.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Target, transportIdentifyFields, type TransportOptions } from '../src/index.js';
import { fixture } from './setup.js';

const OPTIONS: TransportOptions = { maxQueueDepth: 128, maxAdminQueueDepth: 32, maxIoQueues: 4, maxIoSize: 131072, inCapsuleDataSize: 4096, ioUnitSize: 8192 };

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

describe('transportIdentifyFields', () => {
  it('gives a transport without identifyFields() the in-capsule fields of its inCapsuleDataSize', () => {
    // IOCCSZ (64 + 4096) / 16, IORCSZ 1 (a bare CQE), ICDOFF 0, SGLS bit 20 (Address as Offset;
    // the core adds bits 1:0), one descriptor (MSDBD 1), dynamic controllers (FCATT 0).
    expect(transportIdentifyFields({ options: OPTIONS })).toEqual({ ioccsz: 260, iorcsz: 1, icdoff: 0, sgls: 1 << 20, msdbd: 1, fcatt: 0 });
    expect(transportIdentifyFields({ options: { ...OPTIONS, inCapsuleDataSize: 0 } }).ioccsz).toBe(4);
  });

  it("uses the transport's own fields when it reports them", () => {
    const pcie = { ioccsz: 4, iorcsz: 1, icdoff: 0, sgls: 0, msdbd: 0, fcatt: 0, prpOnly: true };
    expect(transportIdentifyFields({ options: OPTIONS, identifyFields: () => pcie })).toBe(pcie);
  });

  it('is what Identify Controller shows for a transport without identifyFields()', async () => {
    const f = await fixture({});
    target = f.target;
    f.tr.identifyOverride = undefined;
    expect(f.tr.identifyFields).toBeUndefined();
    await f.host.bringUp(1);
    const d = (await f.host.identify(1)).data;
    // Identify Controller (NVMe Base 2.0 Figure 275 / NVMe-oF 1.1 Figure 23): IOCCSZ at 1792,
    // IORCSZ 1796, ICDOFF 1800 (16 bits), FCATT 1802, MSDBD 1803, SGLS 536.
    expect(d.readUInt32LE(1792)).toBe((64 + f.tr.options.inCapsuleDataSize) / 16);
    expect(d.readUInt32LE(1796)).toBe(1);
    expect(d.readUInt16LE(1800)).toBe(0);
    expect(d[1802]).toBe(0);
    expect(d[1803]).toBe(1);
    expect(d.readUInt32LE(536)).toBe((1 << 20) | 1);
  });
});
