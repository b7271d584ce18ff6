/**
 * One-line descriptions of SQEs and CQEs for logs and error messages (not for the hot path:
 * they allocate strings).
 */
import type { CqeView } from './cqe.js';
import { FABRICS_OPCODE, NvmOpcode, opcodeName } from './opcodes.js';
import type { OpcodeSet } from './opcodes.js';
import type { SqeView } from './sqe.js';
import { statusName } from './status.js';

const hex = (v: number): string => `0x${v.toString(16)}`;

/**
 * Describe a command, e.g. `Read cid=3 nsid=1 slba=0x10 nlb=8` (NLB printed 1's based).
 * `set` says which queue it came from: 'admin' for qid 0, 'nvm' otherwise.
 */
export function describeSqe(sqe: SqeView, set: OpcodeSet): string {
  const op = sqe.opcode;
  if (op === FABRICS_OPCODE) return `${opcodeName(set, op, sqe.fctype)} cid=${sqe.cid}`;
  const name = opcodeName(set, op);
  let s = `${name} cid=${sqe.cid} nsid=${sqe.nsid}`;
  if (set === 'nvm') {
    if (op === NvmOpcode.Read || op === NvmOpcode.Write || op === NvmOpcode.Compare || op === NvmOpcode.WriteZeroes || op === NvmOpcode.Verify || op === NvmOpcode.WriteUncorrectable) {
      s += ` slba=${hex(sqe.slba)} nlb=${sqe.nlb + 1}`;
      if (sqe.fua) s += ' fua';
    } else if (op === NvmOpcode.DatasetManagement) {
      s += ` nr=${sqe.dsmNr + 1}${sqe.dsmAd ? ' ad' : ''}`;
    }
  } else {
    s += ` cdw10=${hex(sqe.cdw10)} cdw11=${hex(sqe.cdw11)}`;
  }
  return s;
}

/** Describe a completion, e.g. `cid=3 sqhd=4 ok` or `cid=3 sqhd=4 LbaOutOfRange (sct 0 sc 0x80) dnr`. */
export function describeCqe(cqe: CqeView, opcode?: number): string {
  const head = `cid=${cqe.cid} sqhd=${cqe.sqhd}`;
  if (cqe.ok) return `${head} ok dw0=${hex(cqe.dw0)}`;
  return `${head} ${statusName(cqe.sct, cqe.sc, opcode)} (sct ${cqe.sct} sc ${hex(cqe.sc)})${cqe.dnr ? ' dnr' : ''}${cqe.more ? ' more' : ''}`;
}
