/**
 * The NVMe PCI function this transport emulates, described as data in one place (libvfio-user's
 * vfu_pci_init / vfu_setup_region calls under SPDK's lib/nvmf/vfio_user.c, as a table):
 *
 * - Class code 01:08:02: mass storage, non-volatile memory controller, NVM Express interface
 *   (PCI Code and ID Assignment §1.2; NVMe Base 2.0 §2.1.5).
 * - Vendor / device / subsystem ids: Nutanix's 4E58h, device 0001h, as SPDK's vfio-user target
 *   uses (libvfio-user is Nutanix's; Linux binds nvme by class, not by id).
 * - BAR0 (64-bit, MLBAR/MUBAR per NVMe Base 2.0 §2.1.10): controller registers at 0h-FFFh,
 *   doorbells from 1000h with CAP.DSTRD = 0 (4-byte stride, two a queue pair). The doorbell
 *   page is a sparse-mmap area, so the guest's doorbell writes land in memory shared with the
 *   target and never become messages; the registers stay trapped (REGION_READ/WRITE). In
 *   interrupt mode the page is not offered (SPDK's disable_mappable_bar0): doorbells are
 *   messages too, which is what wakes a sleeping target.
 *   16 KiB as SPDK (NVME_REG_BAR0_MIN_SIZE).
 * - MSI-X table in BAR4 and PBA in BAR5 (SPDK's NVMF_VFIO_USER_MSIX_TABLE_BIR / _PBA_BIR), INTx
 *   as the fallback; power management and PCI Express capabilities.
 */
import type { BarSpec, PciDeviceSpec, RegionAccessHandler } from '../server/device.js';

/** PCI ids (SPDK vfio_user.c: SPDK_PCI_VID_NUTANIX, device 0x0001, subsystem 0x4e58:0x0000). */
export const NVME_PCI_IDS = {
  vendorId: 0x4e58,
  deviceId: 0x0001,
  subsystemVendorId: 0x4e58,
  subsystemId: 0x0000,
  revisionId: 0x00,
  /** Base class 01h, subclass 08h, programming interface 02h (NVM Express). */
  classCode: 0x010802,
} as const;

/** BAR0 layout (NVMe Base 2.0 §3.1.3, Figure 35). */
export const BAR0 = {
  /** Register file: CAP .. CMBSTS, PMR registers up to E1Fh; the rest reads 0. */
  registersSize: 0x1000,
  /** First doorbell (SQ0TDBL); NVMe Base 2.0 Figure 35. */
  doorbellsOffset: 0x1000,
  /** The doorbell page, mmap-able: 512 doorbells, so up to 255 queue pairs with DSTRD 0. */
  doorbellsSize: 0x1000,
  /** Whole BAR: a power of two (SPDK: max(0x4000, 0x1000 + doorbells)). */
  size: 0x4000,
} as const;

/** Doorbell stride exponent reported in CAP.DSTRD (4 << DSTRD bytes between doorbells). */
export const DSTRD = 0;

/** Queue pairs the doorbell page can address: 0 (admin) .. this-1. */
export const MAX_QUEUE_PAIRS = BAR0.doorbellsSize / (2 * (4 << DSTRD));

/** MSI-X placement (SPDK: table in BAR4, PBA in BAR5, each at offset 0). */
export const MSIX = {
  tableBar: 4,
  pbaBar: 5,
} as const;

/** Offset in BAR0's doorbell page of queue `qid`'s SQ tail (cq false) or CQ head (cq true) doorbell, in 32-bit words. */
export function doorbellIndex(qid: number, cq: boolean): number {
  return 2 * qid + (cq ? 1 : 0);
}

/** MSI-X vectors for `maxIoQueues` I/O queues: one a queue plus the admin queue, at least 8 (SPDK: MAX(CHAR_BIT, qpairs)). */
export function msixVectorsFor(maxIoQueues: number): number {
  return Math.min(2048, Math.max(8, maxIoQueues + 1));
}

/** A BAR the server emulates entirely (MSI-X table or PBA): anything else in it reads 0, writes are dropped. */
const emptyBarAccess: RegionAccessHandler = (_offset, data, isWrite) => {
  if (!isWrite) data.fill(0);
};

export interface NvmePciOptions {
  /**
   * Offer BAR0's doorbell page as a sparse-mmap area. Default true; false in interrupt mode
   * (SPDK's `disable_mappable_bar0`): every doorbell write is then a REGION_WRITE message.
   */
  readonly mmapDoorbells?: boolean;
}

/**
 * The NVMe function as a `PciDeviceSpec`: `bar0` handles register accesses (and doorbell
 * writes that arrive as messages when the client did not mmap the doorbell page).
 */
export function nvmePciDeviceSpec(bar0: RegionAccessHandler, msixVectors: number, opts: NvmePciOptions = {}): PciDeviceSpec {
  const tableBytes = msixVectors * 16;
  const pbaBytes = Math.ceil(msixVectors / 64) * 8;
  const bars: BarSpec[] = [
    {
      index: 0,
      size: BAR0.size,
      is64Bit: true,
      access: bar0,
      ...((opts.mmapDoorbells ?? true) ? { mmapAreas: [{ offset: BAR0.doorbellsOffset, size: BAR0.doorbellsSize }] } : {}),
    },
    { index: MSIX.tableBar, size: pow2AtLeast(tableBytes, 0x1000), access: emptyBarAccess },
    { index: MSIX.pbaBar, size: pow2AtLeast(pbaBytes, 0x1000), access: emptyBarAccess },
  ];
  return {
    ...NVME_PCI_IDS,
    bars,
    msix: { vectors: msixVectors, tableBar: MSIX.tableBar, tableOffset: 0, pbaBar: MSIX.pbaBar, pbaOffset: 0 },
    intx: true,
    pcie: true,
    powerManagement: true,
  };
}

function pow2AtLeast(n: number, min: number): number {
  let v = min;
  while (v < n) v *= 2;
  return v;
}
