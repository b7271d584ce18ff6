/**
 * One emulated device as the server holds it: config space, regions, interrupts, the DMA table
 * and the device's hooks. It outlives clients; between two clients it goes back to power-on.
 */
import type { DeviceContext, DeviceHooks, PciDeviceSpec } from './device.js';
import { DmaTable } from './dma.js';
import { IrqState } from './irq.js';
import type { VfioUserLogger } from './log.js';
import { PciConfigSpace } from './pci-config.js';
import { DeviceRegions } from './regions.js';

export class DeviceState implements DeviceContext {
  readonly spec: PciDeviceSpec;
  readonly config: PciConfigSpace;
  readonly irq: IrqState;
  readonly regions: DeviceRegions;
  readonly dma: DmaTable;
  hooks: DeviceHooks = {};
  attached = false;
  readonly #log: VfioUserLogger;

  constructor(spec: PciDeviceSpec, maxDmaMaps: number, log: VfioUserLogger) {
    this.spec = spec;
    this.#log = log;
    this.config = new PciConfigSpace(spec);
    this.irq = new IrqState(spec, this.config, () => {
      this.callHook('irqStateChanged');
    });
    this.regions = new DeviceRegions(spec, this.config, this.irq, (effects) => {
      if (effects.msixChanged || effects.intxDisableChanged) this.irq.configChanged();
    });
    this.dma = new DmaTable(maxDmaMaps);
  }

  get msixEnabled(): boolean {
    return this.config.msixEnabled;
  }

  barMemory(index: number): Uint8Array | undefined {
    return this.regions.barMemory(index);
  }

  triggerIrq(vector: number): void {
    this.irq.trigger(vector);
  }

  /** Calls a synchronous hook; an exception is logged, never thrown into the protocol. */
  callHook(name: 'attached' | 'reset' | 'irqStateChanged'): void {
    try {
      this.hooks[name]?.();
    } catch (err) {
      this.#log('error', `device hook ${name} threw: ${describe(err)}`);
    }
  }

  /** VFIO_USER_DEVICE_RESET: config space and interrupt state to power-on; the client's eventfds stay. */
  reset(): void {
    this.config.reset();
    this.irq.resetState();
    this.callHook('reset');
  }

  /**
   * The client went away: the device tears down, then the client's mappings and eventfds go.
   * Config space and the MSI-X table stay (vfio-user §Client Disconnection: "the device state
   * should otherwise be retained"); a new QEMU resets the device when it starts the machine.
   */
  async detach(): Promise<void> {
    try {
      await this.hooks.detached?.();
    } catch (err) {
      this.#log('error', `device hook detached threw: ${describe(err)}`);
    }
    this.attached = false;
    this.dma.setTransfer(undefined);
    this.dma.clear();
    this.irq.closeEventfds();
  }

  close(): void {
    this.dma.clear();
    this.irq.reset();
    this.regions.close();
  }
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
