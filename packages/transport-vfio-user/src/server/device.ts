/**
 * The seam between the device-agnostic vfio-user server and a device emulation built on it
 * (libvfio-user's vfu_ctx, in TypeScript): a device is described as data — PCI identity, BARs
 * with their mmap-able areas, MSI-X and INTx — plus callbacks for region accesses and DMA
 * events. The server owns the protocol, PCI config space, the MSI-X table and PBA, the DMA
 * mapping table and the IRQ eventfds; the device sees a {@link DeviceContext}.
 *
 * Nothing here names NVMe: `@nvmu/transport-vfio-user/target` is one device on this layer.
 */
import { Errno, errnoName } from '@nvmu/vfio-user-codec';

/**
 * An error carrying the Linux errno a vfio-user reply reports (vfio-user §Header, Error
 * field). Throw it from a {@link RegionAccessHandler} to fail the access with that errno;
 * {@link DmaSpace} rejects with it (EFAULT for guest memory not mapped).
 */
export class VfioUserErrnoError extends Error {
  override readonly name = 'VfioUserErrnoError';
  /** The errno put in the error reply (22 = EINVAL, 14 = EFAULT, ...). */
  readonly errno: number;
  /** Its Linux name, or `errno <n>` for one the codec does not list. */
  readonly errnoName: string;

  constructor(errno: number, message?: string) {
    const name = errnoName(errno) ?? `errno ${errno}`;
    super(message === undefined ? name : `${message} (${name})`);
    this.errno = errno;
    this.errnoName = name;
  }
}

/** Shorthand for the errnos a device handler usually throws. */
export const DeviceErrno = {
  EINVAL: Errno.EINVAL,
  EFAULT: Errno.EFAULT,
  EIO: Errno.EIO,
  ENOTSUP: Errno.ENOTSUP,
} as const;

/**
 * A device's handler for accesses to one BAR: register reads and writes the client sends as
 * REGION_READ / REGION_WRITE / REGION_WRITE_MULTI. Called for accesses outside the MSI-X table
 * and PBA (the server emulates those), including accesses inside the BAR's mmap areas when the
 * client uses messages instead of its mapping (the handler decides whether that reaches
 * {@link DeviceContext.barMemory}).
 *
 * `offset` is relative to the start of the BAR; `data` is the bytes written (isWrite) or the
 * buffer to fill (read, zeroed before the call). The view is only valid during the call.
 * Throw {@link VfioUserErrnoError} to fail the access with its errno; any other exception
 * fails it with EIO.
 */
export type RegionAccessHandler = (offset: number, data: Uint8Array, isWrite: boolean) => void;

/** One mmap-able area of a BAR (vfio-user §Region capabilities, sparse mmap). */
export interface MmapArea {
  /** Offset from the start of the BAR; a multiple of 4096. */
  readonly offset: number;
  /** Bytes; a multiple of 4096. */
  readonly size: number;
}

/** A memory BAR (PCI Local Bus 3.0 §6.2.5.1). I/O BARs are not supported. */
export interface BarSpec {
  /** 0..5. A 64-bit BAR also takes index + 1. */
  readonly index: number;
  /** Bytes; a power of two, at least 16 (4096 when it has mmap areas). */
  readonly size: number;
  /** A 64-bit memory BAR (type 10b), taking two BAR registers. Default false. */
  readonly is64Bit?: boolean;
  /** Prefetchable bit. Default false. */
  readonly prefetchable?: boolean;
  /** Accesses that reach the device (see {@link RegionAccessHandler}). */
  readonly access: RegionAccessHandler;
  /**
   * Sparse-mmap areas, backed by one shared memfd the server creates per BAR (of the BAR's
   * size): the client may mmap them (DEVICE_GET_REGION_INFO returns the fd), the device sees
   * the same bytes through {@link DeviceContext.barMemory}. Must not overlap the MSI-X table
   * or PBA.
   */
  readonly mmapAreas?: readonly MmapArea[];
}

/** MSI-X (PCI Local Bus 3.0 §6.8.2): where the table and the PBA live. */
export interface MsixSpec {
  /** 1..2048. */
  readonly vectors: number;
  /** BAR index holding the table (16 bytes a vector). */
  readonly tableBar: number;
  /** Offset in that BAR; 8-byte aligned. */
  readonly tableOffset: number;
  /** BAR index holding the pending bit array (one bit a vector, in qwords). */
  readonly pbaBar: number;
  /** Offset in that BAR; 8-byte aligned. */
  readonly pbaOffset: number;
}

/** A PCI function described as data; the server emulates its configuration space. */
export interface PciDeviceSpec {
  readonly vendorId: number;
  readonly deviceId: number;
  readonly subsystemVendorId: number;
  readonly subsystemId: number;
  readonly revisionId: number;
  /** 24 bits: base class, subclass, programming interface (NVMe: 0x010802). */
  readonly classCode: number;
  readonly bars: readonly BarSpec[];
  readonly msix?: MsixSpec;
  /** An INTx pin (INTA#) and the INTx IRQ index with one interrupt. Default false. */
  readonly intx?: boolean;
  /** A PCI Express capability (endpoint, version 2). Default false. */
  readonly pcie?: boolean;
  /** A power management capability (D0 only). Default false. */
  readonly powerManagement?: boolean;
}

/** One DMA mapping of guest memory (vfio-user §VFIO_USER_DMA_MAP). */
export interface DmaRange {
  /** Guest I/O virtual address. */
  readonly iova: number;
  readonly length: number;
  readonly readable: boolean;
  readonly writable: boolean;
  /** The mapping came with an fd and is mmapped: {@link DmaSpace.view} reaches it. */
  readonly shared: boolean;
}

/**
 * Callbacks from the server to the device. All are optional; all run on the server's event
 * loop. An exception thrown by a hook is logged and does not stop the server.
 */
export interface DeviceHooks {
  /** A client connected (after VERSION negotiation). */
  attached?(): void;
  /** A DMA mapping was added; {@link DeviceContext.dma} already sees it. */
  dmaMapped?(range: DmaRange): void;
  /**
   * A mapping is about to go (DMA_UNMAP, or DMA_UNMAP with the ALL flag: once per mapping).
   * Resolve when no in-flight I/O uses the range; the server then unmaps it and replies.
   */
  dmaUnmapping?(range: DmaRange): void | Promise<void>;
  /** VFIO_USER_DEVICE_RESET. The server has already reset config space and disabled MSI-X / INTx. */
  reset?(): void;
  /**
   * The client went away (clean close, killed, or a protocol error the server could not recover
   * from). Tear down; every DMA mapping is released after this resolves, then the next client
   * may connect.
   */
  detached?(): void | Promise<void>;
  /** MSI-X enable, the function mask or a vector mask changed, or INTx was (un)configured. */
  irqStateChanged?(): void;
}

/** Guest memory as the client mapped it. */
export interface DmaSpace {
  /**
   * A zero-copy view of [iova, iova+length) inside one fd-backed mapping, or undefined when
   * the range is not shared, spans mappings, or is not mapped. The view stays valid until the
   * range's {@link DeviceHooks.dmaUnmapping} resolves. Allocates only the view.
   *
   * `write` (default false) asks for a writable mapping: never write through a view obtained
   * without it, as a read-only mapping is mmapped PROT_READ and a store to it kills the process.
   */
  view(iova: number, length: number, write?: boolean): Uint8Array | undefined;
  /** True when [iova, iova+length) is covered by mappings that allow the access (shared or not). */
  covers(iova: number, length: number, write: boolean): boolean;
  /**
   * Copies guest memory into `dst`: from the mapping when shared, else by DMA_READ requests to
   * the client (chunks of its max_data_xfer_size). Rejects with {@link VfioUserErrnoError}
   * EFAULT when the range is not covered by readable mappings.
   */
  read(iova: number, dst: Uint8Array): Promise<void>;
  /** Copies `src` into guest memory (DMA_WRITE for mappings without an fd); EFAULT as {@link read}. */
  write(iova: number, src: Uint8Array): Promise<void>;
  /** The mappings, in iova order. */
  ranges(): readonly DmaRange[];
}

/** What the server gives the device. */
export interface DeviceContext {
  readonly dma: DmaSpace;
  /** The shared memory behind a BAR's mmap areas (the whole BAR, same offsets), or undefined for a BAR without mmap areas. */
  barMemory(index: number): Uint8Array | undefined;
  /**
   * Raises MSI-X vector `vector` when MSI-X is enabled: a masked vector (vector mask or function
   * mask) gets its PBA bit set instead and fires when unmasked. Raises INTx when MSI-X is off
   * (vector ignored). Nothing happens without a client eventfd for it.
   */
  triggerIrq(vector: number): void;
  /** MSI-X Enable in the capability's Message Control. */
  readonly msixEnabled: boolean;
  /** A client is connected. */
  readonly attached: boolean;
}
