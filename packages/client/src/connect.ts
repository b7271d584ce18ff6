/**
 * Entry points: `connect()` finds the host transport registered for the trtype, brings the
 * controller up and returns it; `discover()` reads a discovery controller's log.
 */
import { DISCOVERY_NQN, nqnProblem } from '@nvmu/nvme-spec';

import { Controller, type ControllerOptions, resolveOptions } from './controller.js';
import { defaultHostIdentity } from './hostid.js';
import { type DiscoveryLog, type DiscoveryLogEntry, withDiscoveryHeader } from './identify.js';
import { getHostTransport } from './transport.js';
import type { TransportId } from './transport.js';
import { type TransportIdInput, parseTransportId } from './trid.js';

/** No host transport is registered for a trid's trtype. */
export class NoHostTransportError extends Error {
  override readonly name = 'NoHostTransportError';
  readonly code = 'ERR_NVMU_NO_TRANSPORT';
  constructor(readonly trtype: string) {
    super(`no host transport registered for trtype '${trtype}' (import '@nvmu/transport-${trtype}/host' first)`);
  }
}

/**
 * Connects to the controller at `trid` (SPDK notation or an object) and brings it up: Connect,
 * enable, Identify, queues, namespaces, AER, keep-alive. The transport must be registered (import
 * its `./host` entry).
 */
export async function connect(trid: TransportIdInput, opts: ControllerOptions = {}): Promise<Controller> {
  const parsed = parseTransportId(trid);
  const factory = getHostTransport(parsed.trtype);
  if (factory === undefined) throw new NoHostTransportError(parsed.trtype);
  // A pcie-kind address (vfio-user) reaches one controller and no Connect names a subsystem, so
  // no subnqn means that controller, not discovery: SPDK users write `trtype:vfiouser
  // traddr:<dir>` alone. Its subsystem is then known from Identify (`ctrl.subnqn` stays '').
  const t = factory.kind === 'pcie' && parsed.subnqn === undefined ? { ...parsed, subnqn: '' } : parsed;
  const needDefault = (opts.hostnqn ?? t.hostnqn) === undefined || (opts.hostid ?? t.hostid) === undefined;
  const identity = needDefault ? await defaultHostIdentity() : { hostnqn: '', hostid: '' };
  const resolved = resolveOptions(t, opts, identity);
  // The pcie placeholder '' is never sent (no Connect on pcie); a subnqn that was given is checked.
  if (t.subnqn !== undefined && t === parsed) checkNqn('subnqn', t.subnqn);
  // '' is the one exception: an all-zero HOSTNQN, as SPDK's initiator sends by default.
  if (resolved.hostnqn !== '') checkNqn('hostnqn', resolved.hostnqn);
  const ctrl = new Controller(factory, t, resolved);
  await ctrl.init();
  return ctrl;
}

/** An NQN the host is about to send must be one (NVMe Base 2.0 §4.5, checked by @nvmu/nvme-spec). */
function checkNqn(field: string, nqn: string): void {
  const problem = nqnProblem(nqn);
  if (problem !== undefined) throw new TypeError(`${field} "${nqn}" is not a valid NQN: ${problem}`);
}

/** A discovery log entry with the transport ID to pass to `connect()`. */
export interface DiscoveredSubsystem extends DiscoveryLogEntry {
  /** `connect()`-ready transport ID (trtype name from the TRTYPE code; host keys from the query). */
  readonly trid: TransportId;
}

const TRTYPE_NAMES: Readonly<Record<number, string>> = { 1: 'rdma', 2: 'fc', 3: 'tcp', 0xfe: 'loopback' };
const ADRFAM_NAMES = { 1: 'ipv4', 2: 'ipv6', 3: 'ib', 4: 'fc', 0xfe: 'intra-host' } as const;

/**
 * Connects to the discovery controller at `trid` (its subnqn defaults to the well-known discovery
 * NQN), reads the whole Discovery Log Page and disconnects. The entries come as an array that
 * also carries the log's `genctr` and `recfmt` (see {@link DiscoveryLog}).
 */
export async function discover(trid: TransportIdInput, opts: ControllerOptions = {}): Promise<DiscoveryLog<DiscoveredSubsystem>> {
  const t = parseTransportId(trid);
  const ctrl = await connect({ ...t, subnqn: t.subnqn ?? DISCOVERY_NQN }, { reconnect: false, ...opts });
  try {
    const entries = await ctrl.discoveryLog();
    const found = entries.map((e): DiscoveredSubsystem => {
      const adrfam = (ADRFAM_NAMES as Record<number, TransportId['adrfam']>)[e.adrfam];
      const entryTrid: TransportId = {
        trtype: TRTYPE_NAMES[e.trtype] ?? `trtype-${e.trtype}`,
        traddr: e.traddr,
        ...(adrfam !== undefined && { adrfam }),
        ...(e.trsvcid !== '' && { trsvcid: e.trsvcid }),
        subnqn: e.subnqn,
        ...(t.hostnqn !== undefined && { hostnqn: t.hostnqn }),
        ...(t.hostid !== undefined && { hostid: t.hostid }),
      };
      return { ...e, trid: entryTrid };
    });
    return withDiscoveryHeader(found, entries);
  } finally {
    await ctrl.close();
  }
}
