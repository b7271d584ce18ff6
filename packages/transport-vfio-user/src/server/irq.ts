/**
 * Interrupts: the client's eventfds per IRQ index (vfio-user §VFIO_USER_DEVICE_SET_IRQS, with
 * VFIO's semantics from <linux/vfio.h>), the MSI-X table and PBA (PCI Local Bus 3.0 §6.8.2),
 * and INTx with VFIO's automasking.
 *
 * A vector is masked by the capability's Function Mask, by its table entry's Mask bit, or by the
 * client (SET_IRQS ACTION_MASK). A masked vector's trigger sets its PBA bit; unmasking delivers
 * it. The table's mask bits only count once the client has written the table: a client that
 * emulates the table itself (QEMU's vfio-pci does, forwarding only PBA reads) never writes it,
 * and the power-on Mask bits (set, per §6.8.2.9) must not silence its interrupts.
 */
import { eventfdWrite, closeFd } from '@nvmu/native';
import { Errno, IrqInfoFlags, IrqSetFlags, PciIrq } from '@nvmu/vfio-user-codec';

import type { MsixSpec, PciDeviceSpec } from './device.js';
import { type PciConfigSpace, msixPbaSize } from './pci-config.js';

const ONE = 1n;
const ENTRY_SIZE = 16;
const VECTOR_CONTROL = 12;

/** What a SET_IRQS request asks for, after the codec checked its shape. */
export interface SetIrqsRequest {
  flags: number;
  index: number;
  start: number;
  count: number;
  data: Uint8Array | null;
}

/** The interrupt state of one device; outlives clients (reset between them). */
export class IrqState {
  /** Interrupts per index: INTx, MSI, MSI-X, ERR, REQ (DEVICE_GET_IRQ_INFO count). */
  readonly counts: readonly number[];
  readonly #efds: Int32Array[];
  readonly #msix: MsixSpec | undefined;
  readonly #config: PciConfigSpace;
  readonly #onChange: () => void;
  /** MSI-X table (16 bytes a vector) and PBA, as the device's BAR shows them. */
  readonly table: Uint8Array;
  readonly pba: Uint8Array;
  /** Vectors masked through SET_IRQS ACTION_MASK. */
  readonly #clientMask: Uint8Array;
  #tableWritten = false;
  #intxMasked = false;
  #intxPending = false;
  /** Interrupts dropped because nothing could take them (no fd, INTx disabled). */
  dropped = 0;

  constructor(spec: PciDeviceSpec, config: PciConfigSpace, onChange: () => void) {
    this.#msix = spec.msix;
    this.#config = config;
    this.#onChange = onChange;
    const vectors = spec.msix?.vectors ?? 0;
    this.counts = [spec.intx === true ? 1 : 0, 0, vectors, 1, 1];
    this.#efds = this.counts.map((n) => new Int32Array(n).fill(-1));
    this.table = new Uint8Array(vectors * ENTRY_SIZE);
    this.pba = new Uint8Array(vectors === 0 ? 0 : msixPbaSize(vectors));
    this.#clientMask = new Uint8Array(vectors);
    this.#resetTable();
  }

  /** DEVICE_GET_IRQ_INFO flags for an index (vfio-user §VFIO_USER_DEVICE_GET_IRQ_INFO). */
  infoFlags(index: number): number {
    const base = IrqInfoFlags.EVENTFD;
    if (index === PciIrq.INTX) return base | IrqInfoFlags.MASKABLE | IrqInfoFlags.AUTOMASKED;
    // No NORESIZE: an eventfd may be given to any vector at any time, so QEMU assigns a vector
    // alone instead of disabling MSI-X and re-enabling every vector (hw/vfio/pci.c noresize).
    if (index === PciIrq.MSIX) return base | IrqInfoFlags.MASKABLE;
    return base;
  }

  /** The eventfd of a vector, or -1 (tests and diagnostics). */
  eventfd(index: number, vector: number): number {
    return this.#efds[index]?.[vector] ?? -1;
  }

  get intxMasked(): boolean {
    return this.#intxMasked;
  }

  /** DeviceContext.triggerIrq. Allocates nothing. */
  trigger(vector: number): void {
    const config = this.#config;
    if (config.msixEnabled) {
      const msix = this.#msix;
      if (msix === undefined || vector < 0 || vector >= msix.vectors) {
        this.dropped++;
        return;
      }
      const fd = this.#efds[PciIrq.MSIX]?.[vector] ?? -1;
      if (fd < 0 || this.#vectorMasked(vector)) {
        this.#setPending(vector, true);
        return;
      }
      eventfdWrite(fd, ONE);
      return;
    }
    if (this.counts[PciIrq.INTX] === 0 || config.intxDisabled) {
      this.dropped++;
      return;
    }
    const fd = this.#efds[PciIrq.INTX]?.[0] ?? -1;
    if (this.#intxMasked || fd < 0) {
      this.#intxPending = true;
      return;
    }
    // VFIO INTx is automasked: one interrupt, then masked until the client unmasks it.
    this.#intxMasked = true;
    config.setInterruptStatus(true);
    eventfdWrite(fd, ONE);
  }

  /**
   * DEVICE_SET_IRQS. `fds` are the descriptors that came with the message: the ones kept are
   * replaced by -1 in the array (the caller closes the rest). Returns 0 or an errno.
   */
  setIrqs(req: SetIrqsRequest, fds: number[]): number {
    const errno = this.#validate(req, fds.length);
    if (errno !== 0) return errno;
    const data = req.flags & IrqSetFlags.DATA_TYPE_MASK;
    const action = req.flags & IrqSetFlags.ACTION_TYPE_MASK;
    const efds = this.#efds[req.index];
    if (efds === undefined) return Errno.EINVAL;
    const selected = (i: number): boolean => data !== IrqSetFlags.DATA_BOOL || req.data?.[i] === 1;

    if (action === IrqSetFlags.ACTION_TRIGGER) {
      if (data === IrqSetFlags.DATA_EVENTFD) {
        for (let i = 0; i < req.count; i++) {
          const v = req.start + i;
          const old = efds[v] ?? -1;
          if (old >= 0) closeFd(old);
          efds[v] = fds.length === 0 ? -1 : (fds[i] ?? -1);
          if (fds.length !== 0) fds[i] = -1;
        }
        this.#deliverPending();
        this.#onChange();
        return 0;
      }
      if (req.count === 0) {
        // DATA_NONE with count 0: disable the whole index (VFIO_DEVICE_SET_IRQS).
        this.#closeIndex(req.index);
        this.#onChange();
        return 0;
      }
      for (let i = 0; i < req.count; i++) {
        const fd = efds[req.start + i] ?? -1;
        if (fd >= 0 && selected(i)) eventfdWrite(fd, ONE);
      }
      return 0;
    }

    // ACTION_MASK / ACTION_UNMASK: MSI-X vectors or the INTx line.
    const mask = action === IrqSetFlags.ACTION_MASK;
    if (req.index === PciIrq.INTX) {
      if (selected(0)) this.#intxMasked = mask;
      if (!mask) this.#config.setInterruptStatus(false);
    } else {
      for (let i = 0; i < req.count; i++) if (selected(i)) this.#clientMask[req.start + i] = mask ? 1 : 0;
    }
    this.#deliverPending();
    this.#onChange();
    return 0;
  }

  #validate(req: SetIrqsRequest, nfds: number): number {
    const { index, start, count } = req;
    const data = req.flags & IrqSetFlags.DATA_TYPE_MASK;
    const action = req.flags & IrqSetFlags.ACTION_TYPE_MASK;
    const n = this.counts[index];
    if (n === undefined) return Errno.EINVAL;
    if (count === 0 ? start !== 0 || n === 0 : start >= n || start + count > n) return Errno.EINVAL;
    if ((index === PciIrq.ERR || index === PciIrq.REQ) && (action !== IrqSetFlags.ACTION_TRIGGER || count > 1)) return Errno.EINVAL;
    if (count === 0 && (action !== IrqSetFlags.ACTION_TRIGGER || data !== IrqSetFlags.DATA_NONE)) return Errno.EINVAL;
    if (data === IrqSetFlags.DATA_EVENTFD) {
      // An unmask eventfd (KVM's INTx resampler) is not offered; the client falls back to UNMASK messages.
      if (action !== IrqSetFlags.ACTION_TRIGGER) return Errno.ENOTSUP;
      if (nfds !== 0 && nfds !== count) return Errno.EINVAL;
    } else if (nfds !== 0) {
      return Errno.EINVAL;
    }
    return 0;
  }

  /** MSI-X Enable or Function Mask changed in config space, or Interrupt Disable. */
  configChanged(): void {
    this.#deliverPending();
    this.#onChange();
  }

  /** REGION_READ inside the MSI-X table; `offset` relative to the table. */
  readTable(offset: number, dst: Uint8Array): void {
    dst.set(this.table.subarray(offset, offset + dst.length));
  }

  /** REGION_WRITE inside the MSI-X table: address and data read-write, Vector Control bit 0 only. */
  writeTable(offset: number, src: Uint8Array): void {
    this.#tableWritten = true;
    let maskChanged = false;
    for (let i = 0; i < src.length; i++) {
      const at = offset + i;
      const byte = src[i] ?? 0;
      const field = at % ENTRY_SIZE;
      if (field < VECTOR_CONTROL) {
        this.table[at] = byte;
      } else if (field === VECTOR_CONTROL) {
        const old = this.table[at] ?? 0;
        this.table[at] = byte & 1;
        if ((old ^ byte) & 1) maskChanged = true;
      }
    }
    if (maskChanged) this.configChanged();
  }

  /** REGION_READ inside the PBA (read-only; writes are ignored, PCI Local Bus 3.0 §6.8.2.10). */
  readPba(offset: number, dst: Uint8Array): void {
    dst.set(this.pba.subarray(offset, offset + dst.length));
  }

  /** Server closing: eventfds closed, and the state of {@link resetState}. */
  reset(): void {
    this.closeEventfds();
    this.resetState();
  }

  /** Client gone: its eventfds are closed; masks and pending bits stay (a trigger now waits in the PBA). */
  closeEventfds(): void {
    for (let i = 0; i < this.#efds.length; i++) this.#closeIndex(i);
  }

  /** DEVICE_RESET: table masked, nothing pending, INTx unmasked; the client's eventfds stay (VFIO keeps them across a reset). */
  resetState(): void {
    this.#resetTable();
    this.#intxMasked = false;
    this.#intxPending = false;
  }

  #resetTable(): void {
    this.table.fill(0);
    for (let v = 0; v * ENTRY_SIZE < this.table.length; v++) this.table[v * ENTRY_SIZE + VECTOR_CONTROL] = 1;
    this.pba.fill(0);
    this.#clientMask.fill(0);
    this.#tableWritten = false;
  }

  #closeIndex(index: number): void {
    const efds = this.#efds[index];
    if (efds === undefined) return;
    for (let i = 0; i < efds.length; i++) {
      const fd = efds[i] ?? -1;
      if (fd >= 0) closeFd(fd);
      efds[i] = -1;
    }
  }

  #vectorMasked(vector: number): boolean {
    if (this.#config.msixFunctionMasked || this.#clientMask[vector] === 1) return true;
    return this.#tableWritten && ((this.table[vector * ENTRY_SIZE + VECTOR_CONTROL] ?? 0) & 1) === 1;
  }

  #setPending(vector: number, on: boolean): void {
    const byte = vector >>> 3;
    const bit = 1 << (vector & 7);
    const cur = this.pba[byte] ?? 0;
    this.pba[byte] = on ? cur | bit : cur & ~bit;
  }

  /** Fires what is pending and no longer masked. */
  #deliverPending(): void {
    const config = this.#config;
    if (config.msixEnabled) {
      const efds = this.#efds[PciIrq.MSIX];
      if (efds === undefined) return;
      for (let byte = 0; byte < this.pba.length; byte++) {
        if (this.pba[byte] === 0) continue;
        for (let bit = 0; bit < 8; bit++) {
          const v = byte * 8 + bit;
          if (((this.pba[byte] ?? 0) & (1 << bit)) === 0) continue;
          const fd = efds[v] ?? -1;
          if (fd < 0 || this.#vectorMasked(v)) continue;
          this.#setPending(v, false);
          eventfdWrite(fd, ONE);
        }
      }
      return;
    }
    if (this.#intxPending && !this.#intxMasked && !config.intxDisabled) {
      const fd = this.#efds[PciIrq.INTX]?.[0] ?? -1;
      if (fd < 0) return;
      this.#intxPending = false;
      this.#intxMasked = true;
      config.setInterruptStatus(true);
      eventfdWrite(fd, ONE);
    }
  }
}
