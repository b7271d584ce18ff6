/**
 * Property Get / Property Set (NVMe-oF 1.1 §3.4, §3.5; NVMe Base 2.0 §6.6, §6.7): the fabrics
 * way to read and write controller registers. SQE: ATTRIB byte 40 (bits 2:0: 0 = 4 bytes,
 * 1 = 8 bytes), OFST bytes 47:44, VALUE bytes 55:48 (Set). Get returns the value in DW0/DW1.
 *
 * Every register of NVMe Base 2.0 Figure 35 up to CMBSTS answers; 4-byte accesses to either half
 * of an 8-byte register are allowed (a PCIe-style transport turns 32-bit MMIO into properties).
 */
import { PropertyGetCommandView, PropertySetCommandView, PropertySize, Register } from '@nvmu/nvme-spec';
import { type Controller, requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';

/** 8-byte registers by offset. */
const WIDE = new Set<number>([Register.CAP, Register.ASQ, Register.ACQ, Register.BPMBL, Register.CMBMSC]);
/** Registers that exist (read as their value or 0) in this controller. */
const KNOWN = new Set<number>([
  Register.CAP,
  Register.VS,
  Register.INTMS,
  Register.INTMC,
  Register.CC,
  Register.CSTS,
  Register.NSSR,
  Register.AQA,
  Register.ASQ,
  Register.ACQ,
  Register.CMBLOC,
  Register.CMBSZ,
  Register.BPINFO,
  Register.BPRSEL,
  Register.BPMBL,
  Register.CMBMSC,
  Register.CMBSTS,
]);

/** Which register and half an access hits: { base, high } or undefined when invalid. */
function locate(ofst: number, size8: boolean): { base: number; high: boolean } | undefined {
  if (size8) return WIDE.has(ofst) ? { base: ofst, high: false } : undefined;
  if (KNOWN.has(ofst)) return { base: ofst, high: false };
  if (WIDE.has(ofst - 4)) return { base: ofst - 4, high: true };
  return undefined;
}

function read64(c: Controller, base: number): bigint {
  switch (base) {
    case Register.CAP:
      return c.cap;
    case Register.VS:
      return BigInt(c.vs);
    case Register.INTMS:
    case Register.INTMC:
      return BigInt(c.intms);
    case Register.CC:
      return BigInt(c.cc);
    case Register.CSTS:
      return BigInt(c.csts);
    case Register.AQA:
      return BigInt(c.aqa);
    case Register.ASQ:
      return c.asq;
    case Register.ACQ:
      return c.acq;
    default:
      return 0n; // NSSR reads 0 (NSSRS=0); CMB and boot partitions not supported.
  }
}

function parse(req: CoreRequest): { size8: boolean; ofst: number } | number {
  const cmd = new PropertyGetCommandView(req.sqeBytes);
  const attrib = cmd.attrib & 7;
  if (attrib > PropertySize.Eight) return CommandStatus.InvalidField;
  return { size8: attrib === PropertySize.Eight, ofst: cmd.ofst };
}

export function propertyGet(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const p = parse(req);
  if (typeof p === 'number') return p;
  const loc = locate(p.ofst, p.size8);
  if (loc === undefined) return CommandStatus.InvalidField;
  const v = read64(requireController(qp), loc.base);
  const out = p.size8 ? v : loc.high ? v >> 32n : v & 0xffffffffn;
  req.cqe.resultBig = out;
  return CommandStatus.Success;
}

export function propertySet(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const p = parse(req);
  if (typeof p === 'number') return p;
  const loc = locate(p.ofst, p.size8);
  if (loc === undefined) return CommandStatus.InvalidField;
  const c = requireController(qp);
  const value = new PropertySetCommandView(req.sqeBytes).valueBig & (p.size8 ? 0xffffffffffffffffn : 0xffffffffn);
  const v32 = Number(value & 0xffffffffn);
  switch (loc.base) {
    case Register.CC:
      c.writeCc(v32, () => env.flushController(c));
      return CommandStatus.Success;
    case Register.INTMS:
      c.intms = (c.intms | v32) >>> 0; // write 1 to set mask bits (NVMe Base 2.0 §3.1.3.3)
      return CommandStatus.Success;
    case Register.INTMC:
      c.intms = (c.intms & ~v32) >>> 0; // write 1 to clear mask bits
      return CommandStatus.Success;
    case Register.AQA:
      c.aqa = v32 & 0x0fff0fff;
      return CommandStatus.Success;
    case Register.ASQ:
    case Register.ACQ: {
      const cur = loc.base === Register.ASQ ? c.asq : c.acq;
      let next: bigint;
      if (p.size8) next = value;
      else if (loc.high) next = (cur & 0xffffffffn) | (value << 32n);
      else next = (cur & ~0xffffffffn) | value;
      next &= ~0xfffn; // 4 KiB aligned (bits 11:0 reserved)
      if (loc.base === Register.ASQ) c.asq = next;
      else c.acq = next;
      return CommandStatus.Success;
    }
    case Register.NSSR:
      return CommandStatus.Success; // NVM Subsystem Reset not supported (CAP.NSSRS = 0): writes are ignored.
    case Register.CSTS:
      // CSTS.NSSRO (bit 4) is write-1-to-clear; never set here. Other bits are read-only.
      return CommandStatus.Success;
    default:
      return CommandStatus.InvalidField; // read-only (CAP, VS) or unsupported
  }
}
