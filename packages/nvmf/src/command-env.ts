/**
 * What command handlers need from the target (implemented by Target; an interface so the
 * handlers do not import the target and the module graph stays acyclic).
 */
import type { Controller } from './controller.js';
import type { CoreQPair } from './qpair.js';
import type { Subsystem } from './subsystem.js';
import type { DiscoveryEntryFields, ListenAddress, TransportLogger } from './transport.js';

export interface CommandEnv {
  readonly logger: TransportLogger;
  /** The discovery subsystem. */
  readonly discovery: Subsystem;
  /** Discovery log generation counter (GENCTR): changes on every change. */
  readonly discoveryGeneration: number;
  /** A subsystem (or the discovery subsystem) by NQN. */
  getSubsystem(nqn: string): Subsystem | undefined;
  /** Every NVM subsystem (not the discovery one). */
  subsystems(): Iterable<Subsystem>;
  /** Addresses the target listens on. */
  listeners(): readonly ListenAddress[];
  /** Discovery entry fields for a listener as seen through `via`. */
  discoveryEntry(addr: ListenAddress, via: CoreQPair | undefined): DiscoveryEntryFields | undefined;
  /** Make every bdev under `ctrlr`'s subsystem durable (CC.SHN). */
  flushController(ctrlr: Controller): Promise<void>;
}
