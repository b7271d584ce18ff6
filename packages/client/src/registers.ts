/**
 * The controller registers from the host's side (NVMe Base 2.0 §3.1.3, §3.5.1, §3.6.2; SPDK's
 * nvme_ctrlr.c enable/disable states): one access interface over fabrics properties and PCIe
 * BAR0, and the CC/CSTS handshakes every transport shares — disable, enable, shutdown.
 */
import { type Cap, type Cc, Register, ShutdownNotification, ShutdownStatus, decodeCc, decodeCsts, encodeCc } from '@nvmu/nvme-spec';
import { NvmeControllerStatusError } from './errors.js';

/** Reads and writes controller registers: Property Get/Set on fabrics, BAR0 on pcie. */
export interface RegisterAccess {
  get(offset: number, size: 4 | 8): Promise<bigint>;
  set(offset: number, value: bigint, size: 4 | 8): Promise<void>;
}

/** The 4-byte register at `offset` as a number. */
export async function getRegister32(regs: RegisterAccess, offset: number): Promise<number> {
  return Number(await regs.get(offset, 4));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

/**
 * Polls CSTS until `ok`, backing off from 1 ms to 100 ms, up to `timeoutMs`; rejects with a
 * {@link NvmeControllerStatusError} on CSTS.CFS or when time is up.
 */
export async function waitCsts(regs: RegisterAccess, ok: (csts: number) => boolean, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    const v = await getRegister32(regs, Register.CSTS);
    if (decodeCsts(v).cfs) throw new NvmeControllerStatusError('fatal', what, v, timeoutMs);
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new NvmeControllerStatusError('timeout', what, v, timeoutMs);
    await sleep(delay);
    delay = Math.min(100, delay * 2);
  }
}

/** CAP.TO: worst-case time for CSTS.RDY to follow CC.EN, in 500 ms units; 0 is read as one unit. */
export function readyTimeoutMs(cap: Cap): number {
  return Math.max(1, cap.to) * 500;
}

/**
 * Leaves the controller disabled (CC.EN=0, CSTS.RDY=0), in SPDK's order (nvme_ctrlr.c,
 * DISABLE_WAIT_FOR_READY_1/0): with CC.EN=1 and CSTS.RDY=0 the controller is still enabling,
 * and clearing EN before RDY is 1 has undefined results (NVMe Base 2.0 §3.7.2 CC.EN), so wait
 * for RDY=1 first; with CC.EN=0 and CSTS.RDY=1 a disable is still in progress, so wait for RDY=0.
 */
export async function disableController(regs: RegisterAccess, cap: Cap): Promise<void> {
  const timeoutMs = readyTimeoutMs(cap);
  const cc = decodeCc(await getRegister32(regs, Register.CC));
  const rdy = decodeCsts(await getRegister32(regs, Register.CSTS)).rdy;
  if (cc.en) {
    if (!rdy) await waitCsts(regs, (v) => decodeCsts(v).rdy, timeoutMs, 'CSTS.RDY=1 (before disabling)');
    await regs.set(Register.CC, BigInt(encodeCc({ ...cc, en: false })), 4);
    await waitCsts(regs, (v) => !decodeCsts(v).rdy, timeoutMs, 'CSTS.RDY=0');
  } else if (rdy) {
    await waitCsts(regs, (v) => !decodeCsts(v).rdy, timeoutMs, 'CSTS.RDY=0');
  }
}

/**
 * Enables a disabled controller: CSS 0 (NVM command set), the smallest memory page it takes
 * (CAP.MPSMIN, 4 KiB on every fabric), 64-byte SQEs and 16-byte CQEs (2^6, 2^4); then waits for
 * CSTS.RDY within CAP.TO.
 */
export async function enableController(regs: RegisterAccess, cap: Cap): Promise<void> {
  const cc: Partial<Cc> = { en: true, css: 0, mps: cap.mpsmin, ams: 0, shn: 0, iosqes: 6, iocqes: 4 };
  await regs.set(Register.CC, BigInt(encodeCc(cc)), 4);
  await waitCsts(regs, (v) => decodeCsts(v).rdy, readyTimeoutMs(cap), 'CSTS.RDY=1');
}

/** Shutdown notification (NVMe Base 2.0 §3.6.2): CC.SHN = 01b, then CSTS.SHST = 10b within `timeoutMs`. */
export async function shutdownController(regs: RegisterAccess, timeoutMs: number): Promise<void> {
  const cc = decodeCc(await getRegister32(regs, Register.CC));
  await regs.set(Register.CC, BigInt(encodeCc({ ...cc, shn: ShutdownNotification.Normal })), 4);
  await waitCsts(regs, (v) => decodeCsts(v).shst === ShutdownStatus.Complete, timeoutMs, 'CSTS.SHST=10b');
}
