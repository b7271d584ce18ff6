/**
 * What the method handlers share: the target, the transport registry, and what the target does not
 * keep itself but `save_config` must write back: the parameters each bdev and transport was
 * created with, and the listeners added for the discovery subsystem alone.
 */
import type { ListenAddress, Target, TransportLogger } from '@nvmu/nvmf';
import type { TransportRegistry } from '../transports.js';
import type { JsonObject } from './methods.js';

/** One entry of an SPDK JSON config: a method and its params. */
export interface ConfigEntry {
  method: string;
  params?: JsonObject;
}

export interface RpcContext {
  readonly target: Target;
  readonly transports: TransportRegistry;
  readonly logger: TransportLogger;
  /** Bdev name → the call that created it, in creation order. */
  readonly bdevConfig: Map<string, ConfigEntry>;
  /** nvmu trtype → the `nvmf_create_transport` params it was created with (SPDK names). */
  readonly transportParams: Map<string, JsonObject>;
  /** Listeners added with nqn 'discovery' (or the discovery NQN). */
  readonly discoveryListeners: ListenAddress[];
  /** SPDK's `tgt_name` of the one target ('nvmf_tgt'). */
  readonly targetName: string;
}

export function createContext(target: Target, transports: TransportRegistry, logger: TransportLogger): RpcContext {
  return { target, transports, logger, bdevConfig: new Map(), transportParams: new Map(), discoveryListeners: [], targetName: 'nvmf_tgt' };
}
