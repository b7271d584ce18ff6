import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  SqeView,
  CqeView,
  NvmOpcode,
  AdminOpcode,
  FABRICS_OPCODE,
  FabricsCommandType,
  describeSqe,
  describeCqe,
  decodeFormatNvm,
  encodeFormatNvm,
  decodeFirmwareCommit,
  encodeFirmwareCommit,
  shadowDoorbellOffset,
  GenericStatus,
} from '../src/index.js';

describe('describeSqe / describeCqe', () => {
  it('describes I/O, admin and fabrics commands', () => {
    const s = new SqeView(new Uint8Array(64));
    s.opcode = NvmOpcode.Write;
    s.cid = 3;
    s.nsid = 1;
    s.slba = 0x10;
    s.nlb = 7;
    s.fua = true;
    expect(describeSqe(s, 'nvm')).toBe('Write cid=3 nsid=1 slba=0x10 nlb=8 fua');
    s.clear();
    s.opcode = AdminOpcode.Identify;
    s.cdw10 = 1;
    expect(describeSqe(s, 'admin')).toBe('Identify cid=0 nsid=0 cdw10=0x1 cdw11=0x0');
    s.opcode = FABRICS_OPCODE;
    s.fctype = FabricsCommandType.Connect;
    expect(describeSqe(s, 'admin')).toBe('Fabrics.Connect cid=0');
  });

  it('describes success and errors', () => {
    const c = new CqeView(new Uint8Array(16));
    c.cid = 3;
    c.sqhd = 4;
    expect(describeCqe(c)).toBe('cid=3 sqhd=4 ok dw0=0x0');
    c.setStatus(0, GenericStatus.LbaOutOfRange, true);
    expect(describeCqe(c)).toBe('cid=3 sqhd=4 LbaOutOfRange (sct 0 sc 0x80) dnr');
  });
});

describe('Format NVM / Firmware Commit / shadow doorbells', () => {
  it('encodes Format NVM CDW10 with the split LBAF index', () => {
    expect(encodeFormatNvm({ lbaf: 0x12, ses: 1, pi: 1, pil: true, mset: true })).toBe(0x2 | 0x10 | 0x20 | 0x100 | 0x200 | 0x1000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (dw) => {
        expect(encodeFormatNvm(decodeFormatNvm(dw))).toBe(dw & 0x3fff);
        expect(encodeFirmwareCommit(decodeFirmwareCommit(dw))).toBe((dw & 0x8000003f) >>> 0);
      }),
    );
  });

  it('lays out the shadow doorbell buffer like the doorbell registers', () => {
    expect(shadowDoorbellOffset(0, false, 0)).toBe(0);
    expect(shadowDoorbellOffset(0, true, 0)).toBe(4);
    expect(shadowDoorbellOffset(2, true, 1)).toBe(5 * 8);
  });
});
