/** The client's error classes: status decoding and the command they name. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NvmeStatusError, makeStatus } from '@nvmu/nvme-spec';
import { NvmeCommandError, NvmeControllerStatusError, commandInfo } from '../src/errors.js';

describe('NvmeCommandError', () => {
  it('is an NvmeStatusError carrying every status field and the command (property)', () => {
    fc.assert(
      fc.property(
        fc.record({ sct: fc.integer({ min: 0, max: 7 }), sc: fc.integer({ min: 0, max: 255 }), dnr: fc.boolean(), more: fc.boolean(), crd: fc.integer({ min: 0, max: 3 }) }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        (f, cid, qid) => {
          const status = makeStatus(f.sct, f.sc, f.dnr, f.more, f.crd);
          const sqe = new Uint8Array(64);
          sqe[0] = 0x02; // Read
          sqe[2] = cid & 0xff;
          sqe[3] = cid >> 8;
          sqe.set([7, 0, 0, 0], 4); // nsid 7
          const e = new NvmeCommandError(status, commandInfo(sqe, 'nvm', qid), 0x1234);
          expect(e).toBeInstanceOf(NvmeStatusError);
          expect(e).toBeInstanceOf(Error);
          expect(e.name).toBe('NvmeCommandError');
          expect(e.code).toBe('ERR_NVME_STATUS');
          expect([e.sct, e.sc, e.dnr, e.more, e.crd]).toEqual([f.sct, f.sc, f.dnr, f.more, f.crd]);
          expect(e.status).toBe(status);
          expect(e.statusName).toBe(NvmeStatusError.fromStatus(status, 0x02).statusName);
          expect(e.command).toEqual({ opcode: 0x02, fctype: undefined, opcodeName: 'Read', cid, nsid: 7, qid });
          expect(e.dw0).toBe(0x1234);
          expect(e.message).toContain(`Read (qid ${qid}, cid ${cid}, nsid 7) failed: ${e.statusName}`);
        },
      ),
    );
  });

  it('names a Fabrics command by its FCTYPE and reports no nsid for it', () => {
    const sqe = new Uint8Array(64);
    sqe[0] = 0x7f;
    sqe[4] = 0x01; // Connect
    const e = new NvmeCommandError(makeStatus(1, 0x82, true, false, 0), commandInfo(sqe, 'admin', 0));
    expect(e.command.opcodeName).toBe('Fabrics.Connect');
    expect(e.command.fctype).toBe(1);
    expect(e.command.nsid).toBe(0);
    expect(e.dnr).toBe(true);
    expect(e.message).toMatch(/^Fabrics\.Connect \(qid 0, cid 0\) failed: .*\(sct 0x1, sc 0x82, dnr\)$/);
  });
});

describe('NvmeControllerStatusError', () => {
  it('says what was waited for, how long, and the last CSTS', () => {
    const t = new NvmeControllerStatusError('timeout', 'CSTS.RDY=1', 0x0, 7500);
    expect(t).toBeInstanceOf(Error);
    expect([t.name, t.code, t.reason, t.waitingFor, t.csts, t.timeoutMs]).toEqual(['NvmeControllerStatusError', 'ERR_NVME_CONTROLLER_STATUS', 'timeout', 'CSTS.RDY=1', 0, 7500]);
    expect(t.message).toBe('timed out after 7500 ms waiting for CSTS.RDY=1 (CSTS 0x0)');
    const f = new NvmeControllerStatusError('fatal', 'CSTS.SHST=10b', 0x3, 5000);
    expect(f.message).toBe('controller fatal status (CSTS.CFS, CSTS 0x3) while waiting for CSTS.SHST=10b');
  });
});
