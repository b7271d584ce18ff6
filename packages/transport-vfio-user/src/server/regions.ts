/**
 * The device's regions as vfio-user numbers them (<linux/vfio.h> VFIO_PCI_*_REGION_INDEX):
 * BAR0-5, ROM, CONFIG, VGA. BARs with mmap areas are backed by one memfd each; region accesses
 * are routed to config space, the MSI-X table / PBA, or the BAR's handler.
 */
import { closeFd, ftruncate, memfdCreate, mmap, munmap } from '@nvmu/native';
import { Errno, PciRegion, RegionInfoFlags, type RegionCap } from '@nvmu/vfio-user-codec';

import { type BarSpec, type PciDeviceSpec, VfioUserErrnoError } from './device.js';
import type { IrqState } from './irq.js';
import { type ConfigWriteEffects, type PciConfigSpace, msixPbaSize } from './pci-config.js';

/** Region info as DEVICE_GET_REGION_INFO reports it. */
export interface RegionDescription {
  flags: number;
  size: number;
  /** The fd the client mmaps (region offset 0 in it), or -1. */
  fd: number;
  caps: RegionCap[];
}

interface Bar {
  spec: BarSpec;
  fd: number;
  memory: Uint8Array | undefined;
}

const NO_REGION: RegionDescription = Object.freeze({ flags: 0, size: 0, fd: -1, caps: [] });

/** Regions of one device; the BAR memfds live as long as the server. */
export class DeviceRegions {
  readonly #bars: (Bar | undefined)[] = [];
  readonly #config: PciConfigSpace;
  readonly #irq: IrqState;
  readonly #spec: PciDeviceSpec;
  readonly #onConfigWrite: (effects: ConfigWriteEffects) => void;

  constructor(spec: PciDeviceSpec, config: PciConfigSpace, irq: IrqState, onConfigWrite: (effects: ConfigWriteEffects) => void) {
    this.#spec = spec;
    this.#config = config;
    this.#irq = irq;
    this.#onConfigWrite = onConfigWrite;
    try {
      for (const bar of spec.bars) {
        let fd = -1;
        let memory: Uint8Array | undefined;
        if ((bar.mmapAreas?.length ?? 0) > 0) {
          fd = memfdCreate(`nvmu-vfio-user-bar${bar.index}`);
          this.#bars[bar.index] = { spec: bar, fd, memory };
          ftruncate(fd, bar.size);
          memory = new Uint8Array(mmap(fd, 0, bar.size, { writable: true }));
        }
        this.#bars[bar.index] = { spec: bar, fd, memory };
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** The shared memory of a BAR with mmap areas (DeviceContext.barMemory). */
  barMemory(index: number): Uint8Array | undefined {
    return this.#bars[index]?.memory;
  }

  /** DEVICE_GET_REGION_INFO data for `index`; undefined for an index beyond VFIO_PCI_NUM_REGIONS. */
  describe(index: number): RegionDescription | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= PciRegion.NUM_REGIONS) return undefined;
    if (index === PciRegion.CONFIG) {
      return { flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE, size: this.#config.size, fd: -1, caps: [] };
    }
    const bar = this.#bars[index];
    if (bar === undefined) return NO_REGION;
    const areas = bar.spec.mmapAreas ?? [];
    if (bar.fd < 0) return { flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE, size: bar.spec.size, fd: -1, caps: [] };
    return {
      flags: RegionInfoFlags.READ | RegionInfoFlags.WRITE | RegionInfoFlags.MMAP,
      size: bar.spec.size,
      fd: bar.fd,
      caps: [{ kind: 'sparse-mmap', version: 1, areas: areas.map((a) => ({ offset: BigInt(a.offset), size: BigInt(a.size) })) }],
    };
  }

  /**
   * REGION_READ / REGION_WRITE of `data.length` bytes at `offset` of region `index`. Throws
   * VfioUserErrnoError (EINVAL for a bad region or range, the device's errno, EIO for a device
   * handler that threw something else).
   */
  access(index: number, offset: number, data: Uint8Array, isWrite: boolean): void {
    const count = data.length;
    if (index === PciRegion.CONFIG) {
      this.#checkRange(index, offset, count, this.#config.size);
      if (isWrite) this.#onConfigWrite(this.#config.write(offset, data));
      else this.#config.read(offset, data);
      return;
    }
    const bar = this.#bars[index];
    if (bar === undefined) throw new VfioUserErrnoError(Errno.EINVAL, `region ${index} is not implemented`);
    this.#checkRange(index, offset, count, bar.spec.size);
    const msix = this.#spec.msix;
    if (msix !== undefined) {
      if (msix.tableBar === index && this.#routeMsix(offset, count, msix.tableOffset, msix.vectors * 16, 'table', data, isWrite)) return;
      if (msix.pbaBar === index && this.#routeMsix(offset, count, msix.pbaOffset, msixPbaSize(msix.vectors), 'PBA', data, isWrite)) return;
    }
    if (!isWrite) data.fill(0);
    try {
      bar.spec.access(offset, data, isWrite);
    } catch (err) {
      if (err instanceof VfioUserErrnoError) throw err;
      throw new VfioUserErrnoError(Errno.EIO, `BAR${index} handler failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** True when the access was inside the MSI-X structure and served; throws when it straddles its edge. */
  #routeMsix(offset: number, count: number, start: number, size: number, what: 'table' | 'PBA', data: Uint8Array, isWrite: boolean): boolean {
    const end = offset + count;
    if (end <= start || offset >= start + size) return false;
    if (offset < start || end > start + size) {
      throw new VfioUserErrnoError(Errno.EINVAL, `access [${offset}, ${end}) straddles the MSI-X ${what}`);
    }
    if (what === 'table') {
      if (isWrite) this.#irq.writeTable(offset - start, data);
      else this.#irq.readTable(offset - start, data);
    } else if (!isWrite) {
      this.#irq.readPba(offset - start, data);
    }
    return true;
  }

  #checkRange(index: number, offset: number, count: number, size: number): void {
    if (count === 0 || offset < 0 || offset + count > size) {
      throw new VfioUserErrnoError(Errno.EINVAL, `region ${index}: access [${offset}, +${count}) outside its ${size} bytes`);
    }
  }

  /** Unmaps and closes the BAR memfds (server close). */
  close(): void {
    for (const bar of this.#bars) {
      if (bar === undefined) continue;
      if (bar.memory !== undefined) munmap(bar.memory.buffer as ArrayBuffer);
      bar.memory = undefined;
      if (bar.fd >= 0) closeFd(bar.fd);
      bar.fd = -1;
    }
  }
}
