/**
 * Numbers of the vfio-user protocol (QEMU docs/interop/vfio-user.rst, "Commands", "Header",
 * and the per-command sections). Linux VFIO constants reused by the protocol come from
 * <linux/vfio.h>, which the spec names for them.
 */

/** Size of the header in front of every message (vfio-user §Header). */
export const HEADER_SIZE = 16;

/** Command numbers (vfio-user §Commands). 14 was VFIO_USER_DIRTY_PAGES in older drafts and is gone. */
export const Command = {
  VERSION: 1,
  DMA_MAP: 2,
  DMA_UNMAP: 3,
  DEVICE_GET_INFO: 4,
  DEVICE_GET_REGION_INFO: 5,
  DEVICE_GET_REGION_IO_FDS: 6,
  DEVICE_GET_IRQ_INFO: 7,
  DEVICE_SET_IRQS: 8,
  REGION_READ: 9,
  REGION_WRITE: 10,
  DMA_READ: 11,
  DMA_WRITE: 12,
  DEVICE_RESET: 13,
  REGION_WRITE_MULTI: 15,
  DEVICE_FEATURE: 16,
  MIG_DATA_READ: 17,
  MIG_DATA_WRITE: 18,
} as const;
export type CommandName = keyof typeof Command;
export type CommandNumber = (typeof Command)[CommandName];

const commandNames = new Map<number, CommandName>(
  (Object.keys(Command) as CommandName[]).map((name) => [Command[name], name]),
);

/** The spec's name of a command number, or undefined for a number the spec does not define. */
export function commandName(command: number): CommandName | undefined {
  return commandNames.get(command);
}

/** Header flags (vfio-user §Header: bits 0-3 type, bit 4 No_reply, bit 5 Error). */
export const HeaderFlags = {
  TYPE_MASK: 0xf,
  TYPE_COMMAND: 0x0,
  TYPE_REPLY: 0x1,
  NO_REPLY: 0x10,
  ERROR: 0x20,
} as const;

/** Linux errno values (x86-64 / arm64) that vfio-user peers put in the header's error field. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  ENOMSG: 42,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ECONNRESET: 104,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
} as const;
export type ErrnoName = keyof typeof Errno;

const errnoNames = new Map<number, ErrnoName>(
  (Object.keys(Errno) as ErrnoName[]).map((name) => [Errno[name], name]),
);

/** The Linux name of an errno value ("EINVAL"), or undefined when this package does not list it. */
export function errnoName(errno: number): ErrnoName | undefined {
  return errnoNames.get(errno);
}

/** VFIO_USER_DMA_MAP flags (vfio-user §VFIO_USER_DMA_MAP; bits 2-3 are libvfio-user extensions). */
export const DmaMapFlags = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  /** libvfio-user only (VFIO_USER_F_DMA_REGION_MMAP); not in the QEMU spec. */
  MMAP: 1 << 2,
  /** libvfio-user only (VFIO_USER_F_DMA_REGION_FILE_IO); not in the QEMU spec. */
  FILE_IO: 1 << 3,
} as const;

/**
 * VFIO_USER_DMA_UNMAP flags. The QEMU spec says flags are unused; libvfio-user and QEMU's
 * client use the kernel's VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP and VFIO_DMA_UNMAP_FLAG_ALL.
 */
export const DmaUnmapFlags = {
  GET_DIRTY_BITMAP: 1 << 0,
  ALL: 1 << 1,
} as const;

/** VFIO_DEVICE_FLAGS_* (vfio-user §VFIO_USER_DEVICE_GET_INFO). */
export const DeviceInfoFlags = {
  RESET: 1 << 0,
  PCI: 1 << 1,
} as const;

/** VFIO_REGION_INFO_FLAG_* (vfio-user §VFIO_USER_DEVICE_GET_REGION_INFO). */
export const RegionInfoFlags = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  MMAP: 1 << 2,
  CAPS: 1 << 3,
} as const;

/** Region capability ids (<linux/vfio.h> VFIO_REGION_INFO_CAP_*). */
export const RegionCapId = {
  SPARSE_MMAP: 1,
  TYPE: 2,
  MSIX_MAPPABLE: 3,
} as const;

/** PCI region indexes (<linux/vfio.h> VFIO_PCI_*_REGION_INDEX). */
export const PciRegion = {
  BAR0: 0,
  BAR1: 1,
  BAR2: 2,
  BAR3: 3,
  BAR4: 4,
  BAR5: 5,
  ROM: 6,
  CONFIG: 7,
  VGA: 8,
  /** VFIO_PCI_NUM_REGIONS */
  NUM_REGIONS: 9,
} as const;

/** PCI IRQ indexes (<linux/vfio.h> VFIO_PCI_*_IRQ_INDEX). */
export const PciIrq = {
  INTX: 0,
  MSI: 1,
  MSIX: 2,
  ERR: 3,
  REQ: 4,
  NUM_IRQS: 5,
} as const;

/** VFIO_USER_IO_FD_TYPE_* (vfio-user §VFIO_USER_DEVICE_GET_REGION_IO_FDS; SHADOW is libvfio-user only). */
export const IoFdType = {
  IOEVENTFD: 0,
  IOREGIONFD: 1,
  IOEVENTFD_SHADOW: 2,
} as const;

/** VFIO_IRQ_INFO_* (vfio-user §VFIO_USER_DEVICE_GET_IRQ_INFO). */
export const IrqInfoFlags = {
  EVENTFD: 1 << 0,
  MASKABLE: 1 << 1,
  AUTOMASKED: 1 << 2,
  NORESIZE: 1 << 3,
} as const;

/** VFIO_IRQ_SET_* (vfio-user §VFIO_USER_DEVICE_SET_IRQS). */
export const IrqSetFlags = {
  DATA_NONE: 1 << 0,
  DATA_BOOL: 1 << 1,
  DATA_EVENTFD: 1 << 2,
  ACTION_MASK: 1 << 3,
  ACTION_UNMASK: 1 << 4,
  ACTION_TRIGGER: 1 << 5,
  DATA_TYPE_MASK: 0x7,
  ACTION_TYPE_MASK: 0x38,
} as const;

/** VFIO_DEVICE_FEATURE_* flag bits (vfio-user §VFIO_USER_DEVICE_FEATURE). */
export const DeviceFeatureFlags = {
  MASK: 0xffff,
  GET: 1 << 16,
  SET: 1 << 17,
  PROBE: 1 << 18,
} as const;

/** Feature indexes (vfio-user §Device Features). */
export const DeviceFeature = {
  MIGRATION: 1,
  MIG_DEVICE_STATE: 2,
  DMA_LOGGING_START: 6,
  DMA_LOGGING_STOP: 7,
  DMA_LOGGING_REPORT: 8,
} as const;

/** VFIO_MIGRATION_* flags of VFIO_DEVICE_FEATURE_MIGRATION. */
export const MigrationFlags = {
  STOP_COPY: 1n << 0n,
  P2P: 1n << 1n,
  PRE_COPY: 1n << 2n,
} as const;

/** enum vfio_device_mig_state (vfio-user §VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE). */
export const DeviceState = {
  ERROR: 0,
  STOP: 1,
  RUNNING: 2,
  STOP_COPY: 3,
  RESUMING: 4,
  RUNNING_P2P: 5,
  PRE_COPY: 6,
  PRE_COPY_P2P: 7,
} as const;

/** Defaults the spec gives for capabilities a peer leaves out (vfio-user §VFIO_USER_VERSION). */
export const CapabilityDefaults = {
  maxMsgFds: 1,
  maxDataXferSize: 1048576,
  maxDmaMaps: 65535,
  pgsizes: 4096,
} as const;

/** VFIO_USER_MULTI_DATA: every REGION_WRITE_MULTI entry carries 8 data bytes. */
export const WRITE_MULTI_DATA_SIZE = 8;
/** Size of one REGION_WRITE_MULTI entry (offset 8 + region 4 + count 4 + data 8; QEMU VFIOUserWROne). */
export const WRITE_MULTI_ENTRY_SIZE = 24;
