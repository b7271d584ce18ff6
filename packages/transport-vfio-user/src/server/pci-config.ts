/**
 * PCI configuration space of a type 0 function, emulated from a {@link PciDeviceSpec}
 * (PCI Local Bus 3.0 §6.1-6.2, PCI Express Base 4.0 §7.5): header, memory BARs with sizing,
 * and a capability list of power management, MSI-X and PCI Express. libvfio-user's lib/pci.c
 * and pci_caps.c play this role for C devices.
 *
 * Every byte has a write mask: a write changes only the writable bits, so BAR sizing (write
 * all-ones, read back the size mask) falls out of the BAR's mask. Side effects (MSI-X enable and
 * function mask, Interrupt Disable) are reported to the owner after each write.
 */
import type { BarSpec, PciDeviceSpec } from './device.js';

/** Config space offsets (PCI Local Bus 3.0 §6.1, Figure 6-1). */
export const PciCfg = {
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  STATUS: 0x06,
  REVISION_ID: 0x08,
  CLASS_PROG: 0x09,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BAR0: 0x10,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  ROM_ADDRESS: 0x30,
  CAPABILITY_LIST: 0x34,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
} as const;

/** Command register bits (PCI Local Bus 3.0 §6.2.2). */
export const PciCommand = {
  MEMORY: 1 << 1,
  MASTER: 1 << 2,
  PARITY: 1 << 6,
  SERR: 1 << 8,
  INTX_DISABLE: 1 << 10,
} as const;

/** Status register bits. */
export const PciStatus = {
  INTERRUPT: 1 << 3,
  CAP_LIST: 1 << 4,
} as const;

/** Capability ids (PCI Code and ID Assignment §2). */
export const PciCapId = {
  PM: 0x01,
  EXP: 0x10,
  MSIX: 0x11,
} as const;

/** MSI-X Message Control bits (PCI Local Bus 3.0 §6.8.2.3). */
export const MsixControl = {
  TABLE_SIZE_MASK: 0x07ff,
  FUNCTION_MASK: 1 << 14,
  ENABLE: 1 << 15,
} as const;

/** Where each capability sits; fixed so a reader of a dump knows what to expect. */
export const CapOffset = {
  PM: 0x40,
  MSIX: 0x50,
  EXP: 0x60,
} as const;

/** PCI Express capability structure v2 is 0x3c bytes (PCIe Base 4.0 §7.5.3). */
const EXP_SIZE = 0x3c;
/** Config space size: 256 for conventional PCI, 4096 with PCI Express (extended space, empty). */
export const PCI_CONFIG_SIZE = 256;
export const PCIE_CONFIG_SIZE = 4096;

/** What a write changed that the server acts on. */
export interface ConfigWriteEffects {
  msixChanged: boolean;
  intxDisableChanged: boolean;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}

/** Checks a spec the way a device author wants to hear about mistakes: at construction. */
export function validateDeviceSpec(spec: PciDeviceSpec): void {
  const used = new Set<number>();
  for (const bar of spec.bars) {
    if (!Number.isInteger(bar.index) || bar.index < 0 || bar.index > 5) throw new RangeError(`BAR index ${bar.index} is not 0..5`);
    const slots = bar.is64Bit === true ? [bar.index, bar.index + 1] : [bar.index];
    if (bar.is64Bit === true && bar.index === 5) throw new RangeError('a 64-bit BAR cannot start at BAR5');
    for (const s of slots) {
      if (used.has(s)) throw new RangeError(`BAR register ${s} is used twice`);
      used.add(s);
    }
    if (!isPowerOfTwo(bar.size) || bar.size < 16) throw new RangeError(`BAR${bar.index} size ${bar.size} is not a power of two >= 16`);
    if (bar.is64Bit !== true && bar.size > 0x8000_0000) throw new RangeError(`BAR${bar.index}: a 32-bit BAR of ${bar.size} bytes`);
    for (const area of bar.mmapAreas ?? []) {
      if (area.offset % 4096 !== 0 || area.size % 4096 !== 0 || area.size === 0 || area.offset + area.size > bar.size) {
        throw new RangeError(`BAR${bar.index}: mmap area ${area.offset}+${area.size} is not page-aligned inside the BAR`);
      }
    }
  }
  const msix = spec.msix;
  if (msix !== undefined) {
    if (!Number.isInteger(msix.vectors) || msix.vectors < 1 || msix.vectors > 2048) throw new RangeError(`MSI-X vectors ${msix.vectors} not 1..2048`);
    const check = (what: string, barIndex: number, offset: number, size: number): void => {
      const bar = spec.bars.find((b) => b.index === barIndex);
      if (bar === undefined) throw new RangeError(`MSI-X ${what} in BAR${barIndex}, which the device does not have`);
      if (offset % 8 !== 0 || offset + size > bar.size) throw new RangeError(`MSI-X ${what} at ${offset}+${size} does not fit BAR${barIndex}`);
      for (const area of bar.mmapAreas ?? []) {
        if (offset < area.offset + area.size && area.offset < offset + size) {
          throw new RangeError(`MSI-X ${what} overlaps an mmap area of BAR${barIndex}`);
        }
      }
    };
    check('table', msix.tableBar, msix.tableOffset, msix.vectors * 16);
    check('PBA', msix.pbaBar, msix.pbaOffset, msixPbaSize(msix.vectors));
    if (msix.tableBar === msix.pbaBar && msix.tableOffset < msix.pbaOffset + msixPbaSize(msix.vectors) && msix.pbaOffset < msix.tableOffset + msix.vectors * 16) {
      throw new RangeError('MSI-X table and PBA overlap');
    }
  }
}

/** PBA bytes for `vectors` (one bit a vector, whole qwords; PCI Local Bus 3.0 §6.8.2.10). */
export function msixPbaSize(vectors: number): number {
  return Math.ceil(vectors / 64) * 8;
}

/** The emulated configuration space of one function. */
export class PciConfigSpace {
  /** The bytes a REGION_READ of the config region returns. */
  readonly bytes: Uint8Array;
  readonly #wmask: Uint8Array;
  readonly #initial: Uint8Array;
  readonly #dv: DataView;
  readonly #spec: PciDeviceSpec;

  constructor(spec: PciDeviceSpec) {
    validateDeviceSpec(spec);
    this.#spec = spec;
    const size = spec.pcie === true ? PCIE_CONFIG_SIZE : PCI_CONFIG_SIZE;
    this.bytes = new Uint8Array(size);
    this.#wmask = new Uint8Array(size);
    this.#dv = new DataView(this.bytes.buffer);
    this.#build();
    this.#initial = this.bytes.slice();
  }

  get size(): number {
    return this.bytes.length;
  }

  /** Back to the power-on values (DEVICE_RESET). */
  reset(): void {
    this.bytes.set(this.#initial);
  }

  get command(): number {
    return this.#dv.getUint16(PciCfg.COMMAND, true);
  }

  /** MSI-X Message Control, or 0 without MSI-X. */
  get msixControl(): number {
    return this.#spec.msix === undefined ? 0 : this.#dv.getUint16(CapOffset.MSIX + 2, true);
  }

  get msixEnabled(): boolean {
    return (this.msixControl & MsixControl.ENABLE) !== 0;
  }

  get msixFunctionMasked(): boolean {
    return (this.msixControl & MsixControl.FUNCTION_MASK) !== 0;
  }

  get intxDisabled(): boolean {
    return (this.command & PciCommand.INTX_DISABLE) !== 0;
  }

  /** Sets or clears Status.Interrupt (INTx asserted, PCI Local Bus 3.0 §6.2.3). */
  setInterruptStatus(on: boolean): void {
    const status = this.#dv.getUint16(PciCfg.STATUS, true);
    this.#dv.setUint16(PciCfg.STATUS, on ? status | PciStatus.INTERRUPT : status & ~PciStatus.INTERRUPT, true);
  }

  /** Copies [offset, offset + dst.length) into dst. The caller checked the range. */
  read(offset: number, dst: Uint8Array): void {
    dst.set(this.bytes.subarray(offset, offset + dst.length));
  }

  /** Applies a write through the write masks and reports what changed. The caller checked the range. */
  write(offset: number, src: Uint8Array): ConfigWriteEffects {
    const msixBefore = this.msixControl;
    const cmdBefore = this.command;
    const pmBefore = this.#spec.powerManagement === true ? this.#dv.getUint16(CapOffset.PM + 4, true) : 0;
    for (let i = 0; i < src.length; i++) {
      const at = offset + i;
      const m = this.#wmask[at] ?? 0;
      const cur = this.bytes[at] ?? 0;
      this.bytes[at] = (cur & ~m) | ((src[i] ?? 0) & m);
    }
    if (this.#spec.powerManagement === true) {
      // Only D0 and D3hot exist (PMC says no D1/D2): a write of D1/D2 leaves the state unchanged (PCI PM 1.2 §5.4.1).
      const pmcsr = this.#dv.getUint16(CapOffset.PM + 4, true);
      const state = pmcsr & 3;
      if (state === 1 || state === 2) this.#dv.setUint16(CapOffset.PM + 4, (pmcsr & ~3) | (pmBefore & 3), true);
    }
    return {
      msixChanged: this.msixControl !== msixBefore,
      intxDisableChanged: ((this.command ^ cmdBefore) & PciCommand.INTX_DISABLE) !== 0,
    };
  }

  #set16(offset: number, value: number, wmask = 0): void {
    this.#dv.setUint16(offset, value, true);
    this.#wmask[offset] = wmask & 0xff;
    this.#wmask[offset + 1] = (wmask >>> 8) & 0xff;
  }

  #set32(offset: number, value: number, wmask = 0): void {
    this.#dv.setUint32(offset, value >>> 0, true);
    for (let i = 0; i < 4; i++) this.#wmask[offset + i] = (wmask >>> (8 * i)) & 0xff;
  }

  #build(): void {
    const spec = this.#spec;
    this.#set16(PciCfg.VENDOR_ID, spec.vendorId);
    this.#set16(PciCfg.DEVICE_ID, spec.deviceId);
    this.#set16(
      PciCfg.COMMAND,
      0,
      PciCommand.MEMORY | PciCommand.MASTER | PciCommand.PARITY | PciCommand.SERR | (spec.intx === true ? PciCommand.INTX_DISABLE : 0),
    );
    const hasCaps = spec.powerManagement === true || spec.msix !== undefined || spec.pcie === true;
    this.#set16(PciCfg.STATUS, hasCaps ? PciStatus.CAP_LIST : 0);
    this.bytes[PciCfg.REVISION_ID] = spec.revisionId & 0xff;
    this.bytes[PciCfg.CLASS_PROG] = spec.classCode & 0xff;
    this.bytes[PciCfg.CLASS_PROG + 1] = (spec.classCode >>> 8) & 0xff;
    this.bytes[PciCfg.CLASS_PROG + 2] = (spec.classCode >>> 16) & 0xff;
    this.#wmask[PciCfg.CACHE_LINE_SIZE] = 0xff;
    this.bytes[PciCfg.HEADER_TYPE] = 0; // type 0, single function
    for (const bar of spec.bars) this.#buildBar(bar);
    this.#set16(PciCfg.SUBSYSTEM_VENDOR_ID, spec.subsystemVendorId);
    this.#set16(PciCfg.SUBSYSTEM_ID, spec.subsystemId);
    // Expansion ROM: none; the register reads 0 and ignores writes (sizing returns 0: not implemented).
    this.#wmask[PciCfg.INTERRUPT_LINE] = 0xff;
    this.bytes[PciCfg.INTERRUPT_PIN] = spec.intx === true ? 1 : 0; // INTA#

    const caps: { offset: number; build: () => void }[] = [];
    if (spec.powerManagement === true) caps.push({ offset: CapOffset.PM, build: () => { this.#buildPm(); } });
    if (spec.msix !== undefined) caps.push({ offset: CapOffset.MSIX, build: () => { this.#buildMsix(); } });
    if (spec.pcie === true) caps.push({ offset: CapOffset.EXP, build: () => { this.#buildExp(); } });
    this.bytes[PciCfg.CAPABILITY_LIST] = caps[0]?.offset ?? 0;
    caps.forEach((cap, i) => {
      cap.build();
      this.bytes[cap.offset + 1] = caps[i + 1]?.offset ?? 0;
    });
  }

  #buildBar(bar: BarSpec): void {
    const reg = PciCfg.BAR0 + 4 * bar.index;
    // Memory BAR: bit 0 = 0, bits 2:1 type (00 32-bit, 10 64-bit), bit 3 prefetchable (§6.2.5.1).
    const flags = (bar.is64Bit === true ? 0x4 : 0) | (bar.prefetchable === true ? 0x8 : 0);
    const low = bar.size >= 0x1_0000_0000 ? 0 : ~(bar.size - 1) & ~0xf;
    this.#set32(reg, flags, low);
    if (bar.is64Bit === true) {
      const highMask = bar.size > 0x1_0000_0000 ? ~(bar.size / 0x1_0000_0000 - 1) : 0xffff_ffff;
      this.#set32(reg + 4, 0, highMask);
    }
  }

  #buildPm(): void {
    const at = CapOffset.PM;
    this.bytes[at] = PciCapId.PM;
    // PMC: version 3 (PCI PM 1.2), no PME, no D1/D2 (PCI PM 1.2 §3.2.3).
    this.#set16(at + 2, 0x0003);
    // PMCSR: D0, No_Soft_Reset (D3hot -> D0 keeps the function's state); PowerState writable.
    this.#set16(at + 4, 0x0008, 0x0003);
  }

  #buildMsix(): void {
    const msix = this.#spec.msix;
    if (msix === undefined) return;
    const at = CapOffset.MSIX;
    this.bytes[at] = PciCapId.MSIX;
    this.#set16(at + 2, (msix.vectors - 1) & MsixControl.TABLE_SIZE_MASK, MsixControl.ENABLE | MsixControl.FUNCTION_MASK);
    this.#set32(at + 4, (msix.tableOffset | msix.tableBar) >>> 0);
    this.#set32(at + 8, (msix.pbaOffset | msix.pbaBar) >>> 0);
  }

  #buildExp(): void {
    const at = CapOffset.EXP;
    this.bytes[at] = PciCapId.EXP;
    // PCI Express Capabilities: version 2, device/port type 0 (PCI Express Endpoint) (PCIe 4.0 §7.5.3.2).
    this.#set16(at + 0x02, 0x0002);
    // Device Capabilities: 128-byte max payload, role-based error reporting (bit 15), no FLR.
    this.#set32(at + 0x04, 1 << 15);
    // Device Control: error reporting enables (bits 3:0), relaxed ordering (4), max payload (7:5),
    // extended tag (8), no snoop (11), max read request (14:12) are read-write; defaults per §7.5.3.4.
    this.#set16(at + 0x08, 0x2810, 0x7fff);
    // Link: 2.5 GT/s x1, trained (Link Capabilities, Link Status).
    this.#set32(at + 0x0c, 0x0000_0011);
    this.#set16(at + 0x10, 0, 0x0003 | (1 << 6));
    this.#set16(at + 0x12, 0x0011);
    // Device Capabilities 2: completion timeout ranges not supported; Device Control 2 writable timeout disable.
    this.#set16(at + 0x28, 0, 1 << 4);
    // Link Capabilities 2: supported speeds 2.5 GT/s; Link Control 2 target speed 2.5 GT/s.
    this.#set32(at + 0x2c, 0x0000_0002);
    this.#set16(at + 0x30, 0x0001);
    if (at + EXP_SIZE > PCI_CONFIG_SIZE) throw new Error('PCI Express capability beyond 256 bytes');
  }
}
