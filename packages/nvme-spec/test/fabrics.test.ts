import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  ConnectCommandView,
  ConnectDataView,
  ConnectResponseView,
  PropertyGetCommandView,
  PropertySetCommandView,
  DisconnectCommandView,
  connectInvalidParam,
  ConnectInvalidOffset,
  FabricsCommandType,
  FABRICS_OPCODE,
  SglDescriptorType,
  SglSubtype,
  Register,
  StatusCodeType,
  FabricsStatus,
  statusName,
} from '../src/index.js';
import { bytesAt, hex } from './helpers.js';

describe('Connect (NVMe-oF 1.1 Figs. 20-22)', () => {
  it('encodes the command at the SPDK/Linux offsets', () => {
    const c = new ConnectCommandView(new Uint8Array(64)).init(0x0a);
    c.sgl1.set(SglDescriptorType.DataBlock, SglSubtype.Offset, 0, 1024);
    c.qid = 1;
    c.sqsize = 127;
    c.cattr = 0;
    c.kato = 0;
    expect(hex(c.bytes())).toBe(
      hex(
        bytesAt(64, [
          [0, [0x7f, 0x00, 0x0a, 0x00, 0x01]], // opcode, rsvd, CID, FCTYPE Connect
          [32, [0x00, 0x04, 0, 0]], // SGL1 length 1024
          [39, [0x01]], // SGL1 Data Block / Offset
          [40, [0x00, 0x00]], // RECFMT
          [42, [0x01, 0x00]], // QID 1
          [44, [0x7f, 0x00]], // SQSIZE 127
        ]),
      ),
    );
    expect(c.opcode).toBe(FABRICS_OPCODE);
    expect(c.fctype).toBe(FabricsCommandType.Connect);
  });

  it('decodes KATO and CATTR', () => {
    const b = bytesAt(64, [
      [0, [0x7f, 0, 1, 0, 0x01]],
      [46, [0x04]], // CATTR: SQ flow control disable
      [48, [0x30, 0x75, 0, 0]], // KATO 30000 ms
    ]);
    const c = new ConnectCommandView(b);
    expect(c.kato).toBe(30000);
    expect(c.cattr).toBe(4);
    expect(c.qid).toBe(0);
  });

  it('encodes and decodes Connect data', () => {
    const d = new ConnectDataView(new Uint8Array(1024));
    const hostid = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    d.hostid = hostid;
    d.cntlid = 0xffff;
    d.subnqn = 'nqn.2016-06.io.spdk:cnode1';
    d.hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:0f0e0d0c-0b0a-0908-0706-050403020100';
    const b = d.bytes();
    expect(b.subarray(0, 16)).toEqual(hostid);
    expect([b[16], b[17]]).toEqual([0xff, 0xff]);
    expect(Buffer.from(b.subarray(256, 256 + 26)).toString('latin1')).toBe('nqn.2016-06.io.spdk:cnode1');
    expect(b[256 + 26]).toBe(0); // NUL padded
    expect(Buffer.from(b.subarray(512, 512 + 5)).toString('latin1')).toBe('nqn.2');
    const again = new ConnectDataView(b);
    expect(again.hostid).toEqual(hostid);
    expect(again.cntlid).toBe(0xffff);
    expect(again.subnqn).toBe('nqn.2016-06.io.spdk:cnode1');
    expect(again.hostnqn).toBe(d.hostnqn);
    expect(() => (d.subnqn = 'x'.repeat(257))).toThrow(RangeError);
    expect(() => (d.hostid = new Uint8Array(15))).toThrow(RangeError);
  });

  it('reads an NQN that fills all 256 bytes and stops at the first NUL', () => {
    const d = new ConnectDataView(new Uint8Array(1024));
    d.subnqn = 'n'.repeat(256);
    expect(d.subnqn).toBe('n'.repeat(256));
    d.bytes()[256 + 3] = 0;
    expect(d.subnqn).toBe('nnn');
  });

  it('encodes the response: cntlid on success, IPO/IATTR on invalid parameters', () => {
    const r = new ConnectResponseView(new Uint8Array(16));
    r.cntlid = 1;
    r.cid = 0x0a;
    expect(hex(r.bytes())).toBe(hex(bytesAt(16, [[0, [0x01, 0x00]], [12, [0x0a, 0x00]]])));
    r.dw0 = connectInvalidParam(1, ConnectInvalidOffset.subnqn);
    r.setStatus(StatusCodeType.CommandSpecific, FabricsStatus.ConnectInvalidParameters, true);
    expect(hex(r.bytes())).toBe(
      hex(
        bytesAt(16, [
          [0, [0x00, 0x01, 0x01, 0x00]], // IPO 256, IATTR 1
          [12, [0x0a, 0x00]],
          [14, [0x04, 0x83]], // (DNR | SCT 1 | SC 0x82) << 1
        ]),
      ),
    );
    expect(r.ipo).toBe(256);
    expect(r.iattr).toBe(1);
    expect(statusName(r.sct, r.sc, FABRICS_OPCODE)).toBe('ConnectInvalidParameters');
  });
});

describe('Property Get / Set and Disconnect', () => {
  it('encodes Property Get of CAP (8 bytes)', () => {
    const p = new PropertyGetCommandView(new Uint8Array(64)).init(3, Register.CAP, true);
    expect(hex(p.bytes())).toBe(hex(bytesAt(64, [[0, [0x7f, 0, 3, 0, 0x04]], [40, [0x01]]])));
    expect(p.size).toBe(8);
  });

  it('encodes Property Set of CC', () => {
    const p = new PropertySetCommandView(new Uint8Array(64)).init(4, Register.CC, false);
    p.value = 0x00460001;
    expect(hex(p.bytes())).toBe(
      hex(
        bytesAt(64, [
          [0, [0x7f, 0, 4, 0, 0x00]],
          [40, [0x00]], // ATTRIB size 4 bytes
          [44, [0x14, 0, 0, 0]], // OFST CC
          [48, [0x01, 0x00, 0x46, 0x00]], // VALUE
        ]),
      ),
    );
    expect(p.size).toBe(4);
    expect(p.ofst).toBe(0x14);
    p.valueBig = 0xffff_0000_0000_0001n;
    expect(p.valueBig).toBe(0xffff_0000_0000_0001n);
  });

  it('encodes Disconnect', () => {
    const d = new DisconnectCommandView(new Uint8Array(64)).init(9);
    expect(hex(d.bytes())).toBe(hex(bytesAt(64, [[0, [0x7f, 0, 9, 0, 0x08]]])));
    expect(d.recfmt).toBe(0);
  });

  it('round-trips Connect fields (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), (qid, sqsize, cattr, kato, cid) => {
        const c = new ConnectCommandView(new Uint8Array(64)).init(cid);
        c.qid = qid;
        c.sqsize = sqsize;
        c.cattr = cattr;
        c.kato = kato;
        expect([c.cid, c.qid, c.sqsize, c.cattr, c.kato, c.fctype]).toEqual([cid, qid, sqsize, cattr, kato, 1]);
      }),
    );
  });
});
