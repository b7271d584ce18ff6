/**
 * Host side of the loopback transport: a @nvmu/client `HostTransportFactory` of kind 'fabrics'.
 * Each qpair is one in-process connection to a listener of the same process; the client sends
 * Connect over it like over any fabric. Imports the client as types only, but for the registry
 * functions of its dependency-free `@nvmu/client/transport` module.
 */
import type {
  HostQPair,
  HostQPairOptions,
  HostTransport,
  HostTransportFactory,
  HostTransportOpenOptions,
  TransportId,
} from '@nvmu/client';
import { registerHostTransport } from '@nvmu/client/transport';
import type { LoopbackConnection } from './connection.js';
import { loopbackListeners } from './listeners.js';

class LoopbackHostTransport implements HostTransport {
  readonly kind = 'fabrics';
  readonly trid: TransportId;
  readonly maxTransferSize: number;
  private readonly qpairs = new Set<LoopbackConnection>();

  constructor(trid: TransportId, maxTransferSize: number) {
    this.trid = trid;
    this.maxTransferSize = maxTransferSize;
  }

  connectQPair(opts: HostQPairOptions): Promise<HostQPair> {
    const listener = loopbackListeners().get(this.trid.traddr);
    if (listener === undefined) return Promise.reject(new Error(`no loopback listener named '${this.trid.traddr}'`));
    try {
      const conn = listener.connect(opts);
      this.qpairs.add(conn);
      return Promise.resolve(conn);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  async close(): Promise<void> {
    const all = [...this.qpairs];
    this.qpairs.clear();
    await Promise.all(all.map((q) => q.close()));
  }
}

/** The factory the `./host` entry registers under trtype 'loopback'. */
export const loopbackHostTransportFactory: HostTransportFactory = {
  trtype: 'loopback',
  kind: 'fabrics',
  open(trid: TransportId, _opts: HostTransportOpenOptions): Promise<HostTransport> {
    const listener = loopbackListeners().get(trid.traddr);
    if (listener === undefined) return Promise.reject(new Error(`no loopback listener named '${trid.traddr}'`));
    const normalised: TransportId = { ...trid, trtype: 'loopback', adrfam: trid.adrfam ?? 'intra-host' };
    return Promise.resolve(new LoopbackHostTransport(normalised, listener.maxTransferSize));
  },
};

/**
 * Puts the loopback factory into @nvmu/client's registry through `@nvmu/client/transport`, the
 * client's dependency-free contract module (the client's main entry is not loaded). The `./host`
 * entry calls it on import; calling it again is harmless.
 */
export function registerLoopbackHostTransport(): void {
  registerHostTransport(loopbackHostTransportFactory);
}
