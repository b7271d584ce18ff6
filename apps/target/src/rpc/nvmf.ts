/**
 * SPDK's nvmf methods (lib/nvmf/nvmf_rpc.c): names, parameters, result shapes and error codes.
 * SPDK answers most failures with -32602 "Invalid parameters" or -32603 and a fixed text; nvmu
 * keeps the codes and says what was wrong after the text.
 */
import { DISCOVERY_NQN, NvmfConfigError, sameAddress, type ListenAddress, type Subsystem, type TargetTransport, type TransportParamValue } from '@nvmu/nvmf';
import { TransportUnavailableError, pathListener } from '../transports.js';
import type { ConfigEntry, RpcContext } from './context.js';
import { Errno, RpcCode, RpcError } from './errors.js';
import { decodeParams, type Decoded, type JsonObject, type JsonValue, type RpcMethods } from './methods.js';

const TGT = { tgt_name: { type: 'string' } } as const;

/**
 * Every member SPDK's nvmf_create_transport decodes; those nvmu has no use for are accepted and
 * ignored. A transport's own parameters (TCP's `busy_poll_us`) come from the transports
 * registered (their `params`): see {@link decodeCreateTransport}.
 */
const CREATE_TRANSPORT = {
  trtype: { type: 'string', required: true },
  ...TGT,
  max_queue_depth: { type: 'uint', max: 0xffff },
  max_io_qpairs_per_ctrlr: { type: 'uint', max: 0xffff },
  /** SPDK's older name, admin queue included: max_io_qpairs_per_ctrlr + 1. */
  max_qpairs_per_ctrlr: { type: 'uint', max: 0xffff },
  in_capsule_data_size: { type: 'uint' },
  max_io_size: { type: 'uint' },
  io_unit_size: { type: 'uint' },
  max_aq_depth: { type: 'uint' },
  num_shared_buffers: { type: 'uint' },
  c2h_success: { type: 'boolean' },
  buf_cache_size: { type: 'uint' },
  iobuf_small_cache_size: { type: 'uint' },
  iobuf_large_cache_size: { type: 'uint' },
  zcopy: { type: 'boolean' },
  num_cqe: { type: 'int' },
  max_srq_depth: { type: 'uint' },
  no_srq: { type: 'boolean' },
  dif_insert_or_strip: { type: 'boolean' },
  sock_priority: { type: 'uint' },
  acceptor_backlog: { type: 'int' },
  abort_timeout_sec: { type: 'uint' },
  no_wr_batching: { type: 'boolean' },
  control_msg_num: { type: 'uint' },
  disable_adaptive_irq: { type: 'boolean' },
  disable_shadow_doorbells: { type: 'boolean' },
  acceptor_poll_rate: { type: 'uint' },
  ack_timeout: { type: 'uint' },
  data_wr_pool_size: { type: 'uint' },
  disable_command_passthru: { type: 'boolean' },
  kas: { type: 'uint' },
  min_kato: { type: 'uint' },
  masked_oncs: { type: 'string' },
  masked_fuses: { type: 'string' },
} as const;

const CREATE_SUBSYSTEM = {
  nqn: { type: 'string', required: true },
  ...TGT,
  serial_number: { type: 'string' },
  model_number: { type: 'string' },
  admin_label: { type: 'string' },
  max_namespaces: { type: 'uint' },
  allow_any_host: { type: 'boolean' },
  ana_reporting: { type: 'boolean' },
  min_cntlid: { type: 'uint', max: 0xffff },
  max_cntlid: { type: 'uint', max: 0xffff },
  dmrsl: { type: 'uint' },
  wzsl: { type: 'uint' },
  passthrough: { type: 'boolean' },
  enable_nssr: { type: 'boolean' },
} as const;

const LISTEN_ADDRESS = {
  trtype: { type: 'string', required: true },
  adrfam: { type: 'string' },
  traddr: { type: 'string', required: true },
  trsvcid: { type: 'string' },
} as const;

const LISTENER = {
  nqn: { type: 'string', required: true },
  ...TGT,
  listen_address: { type: 'object', required: true },
  secure_channel: { type: 'boolean' },
  ana_state: { type: 'string' },
  sock_impl: { type: 'string' },
  numa_id: { type: 'int' },
} as const;

const NAMESPACE = {
  nsid: { type: 'uint' },
  bdev_name: { type: 'string', required: true },
  nguid: { type: 'string' },
  eui64: { type: 'string' },
  uuid: { type: 'string' },
  ptpl_file: { type: 'string' },
  anagrpid: { type: 'uint' },
  no_auto_visible: { type: 'boolean' },
  hide_metadata: { type: 'boolean' },
} as const;

const NQN_ONLY = { nqn: { type: 'string', required: true }, ...TGT } as const;

/** SPDK's spelling of address families (spdk_nvme_transport_id_adrfam_str). */
const ADRFAM_OUT: Readonly<Record<string, string>> = { ipv4: 'IPv4', ipv6: 'IPv6', ib: 'IB', fc: 'FC', 'intra-host': 'INTRA_HOST' };
const ADRFAM_IN: Readonly<Record<string, ListenAddress['adrfam']>> = { ipv4: 'ipv4', ipv6: 'ipv6', ib: 'ib', fc: 'fc', intra_host: 'intra-host', 'intra-host': 'intra-host' };

function checkTarget(ctx: RpcContext, tgtName: string | undefined): void {
  if (tgtName !== undefined && tgtName !== ctx.targetName) throw RpcError.internal(`Unable to find target ${tgtName}`);
}

function findSubsystem(ctx: RpcContext, nqn: string): Subsystem {
  const s = ctx.target.getSubsystem(nqn);
  if (s === undefined) throw new RpcError(RpcCode.InvalidParams, `Subsystem with NQN '${nqn}' not found`);
  return s;
}

function isDiscovery(nqn: string): boolean {
  return nqn === 'discovery' || nqn === DISCOVERY_NQN;
}

/** A listen address as SPDK writes it (trtype 'TCP', adrfam 'IPv4'). */
export function dumpAddress(ctx: RpcContext, a: ListenAddress): JsonObject {
  return { trtype: ctx.transports.spdkName(a.trtype), adrfam: ADRFAM_OUT[a.adrfam] ?? 'unknown', traddr: a.traddr, trsvcid: a.trsvcid };
}

function parseAddress(ctx: RpcContext, raw: JsonObject): ListenAddress {
  const a = decodeParams(raw, LISTEN_ADDRESS, RpcCode.InvalidParams, 'listen_address.');
  const trtype = ctx.transports.trtypeOf(a.trtype);
  if (trtype === undefined) throw RpcError.invalidParams(`listen_address.trtype '${a.trtype}' is not a transport type nvmu knows (${ctx.transports.names().join(', ')})`);
  if (ctx.transports.addressKind(a.trtype) === 'path') {
    if (a.traddr === '') throw RpcError.invalidParams(`listen_address.traddr: the socket directory of the ${ctx.transports.spdkName(trtype)} listener is empty`);
    return pathListener(trtype, a.traddr);
  }
  const adrfam = a.adrfam === undefined ? ctx.transports.defaultAdrfam(a.trtype, a.traddr) : ADRFAM_IN[a.adrfam.toLowerCase()];
  if (adrfam === undefined) throw RpcError.invalidParams(`listen_address.adrfam '${a.adrfam ?? ''}' is not one of IPv4, IPv6, IB, FC, INTRA_HOST`);
  if (trtype === 'tcp' && (a.trsvcid === undefined || a.trsvcid === '')) throw RpcError.invalidParams('listen_address.trsvcid (the port) is required for TCP');
  return { trtype, adrfam, traddr: a.traddr, trsvcid: a.trsvcid ?? '' };
}

/** A listener for messages: `127.0.0.1:4420`, `[::1]:4420`, or a vfio-user socket directory. */
function where(addr: ListenAddress): string {
  return addr.trsvcid === '' ? addr.traddr : `${addr.traddr.includes(':') ? `[${addr.traddr}]` : addr.traddr}:${addr.trsvcid}`;
}

function transportFor(ctx: RpcContext, addr: ListenAddress): TargetTransport {
  const t = ctx.target.getTransport(addr.trtype);
  if (t === undefined) {
    const name = ctx.transports.spdkName(addr.trtype);
    throw RpcError.invalidParams(`no ${name} transport; create it first with nvmf_create_transport -t ${name}`);
  }
  return t;
}

/** True when some subsystem (or the discovery listener list) still uses `addr`. */
function addressInUse(ctx: RpcContext, addr: ListenAddress): boolean {
  if (ctx.discoveryListeners.some((l) => sameAddress(l, addr))) return true;
  for (const s of ctx.target.subsystems()) if (s.listeners.some((l) => sameAddress(l, addr))) return true;
  return false;
}

/** Turn the core's configuration errors into -32602 with their text; rethrow anything else. */
function asParams(e: unknown): never {
  if (e instanceof NvmfConfigError || e instanceof RangeError || e instanceof TypeError) throw RpcError.invalidParams(e.message);
  if (e instanceof Error && e.name === 'InvalidNqnError') throw RpcError.invalidParams(e.message);
  throw e;
}

/** `nvmf_create_transport` params as SPDK's save_config writes them (nvmf_transport_dump_opts). */
function dumpTransport(ctx: RpcContext, t: TargetTransport): JsonObject {
  const o = t.options;
  const given = ctx.transportParams.get(t.trtype) ?? {};
  const out: JsonObject = {
    trtype: ctx.transports.spdkName(t.trtype),
    max_queue_depth: o.maxQueueDepth,
    max_io_qpairs_per_ctrlr: o.maxIoQueues,
    in_capsule_data_size: o.inCapsuleDataSize,
    max_io_size: o.maxIoSize,
    io_unit_size: o.ioUnitSize,
    max_aq_depth: o.maxAdminQueueDepth,
  };
  if (given.num_shared_buffers !== undefined) out.num_shared_buffers = given.num_shared_buffers;
  if (given.c2h_success !== undefined) out.c2h_success = given.c2h_success;
  // The transport's own parameters, read back from the transport itself: a config shows what it
  // runs with, and leaves out what is at its default.
  for (const [key, p] of Object.entries(t.params ?? {})) {
    const v = p.value(t);
    if (v !== p.default) out[key] = v;
  }
  return out;
}

/**
 * Decodes nvmf_create_transport's params: SPDK's common members against CREATE_TRANSPORT, the
 * members the registered transports declare as their own against those declarations.
 */
function decodeCreateTransport(ctx: RpcContext, params: JsonValue | undefined): { p: Decoded<typeof CREATE_TRANSPORT>; own: Record<string, TransportParamValue | undefined> } {
  const fields = ctx.transports.ownParamFields();
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return { p: decodeParams(params, CREATE_TRANSPORT), own: {} };
  const common: JsonObject = {};
  const ownRaw: JsonObject = {};
  for (const [k, v] of Object.entries(params)) {
    if (fields.has(k)) ownRaw[k] = v;
    else common[k] = v;
  }
  const p = decodeParams(common, CREATE_TRANSPORT);
  const own = decodeParams(ownRaw, Object.fromEntries(fields)) as Record<string, TransportParamValue | undefined>;
  return { p, own };
}

/** The nvmf subsystem's part of `save_config`, in SPDK's order (spdk_nvmf_tgt_write_config_json). */
export function nvmfConfig(ctx: RpcContext): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const t of ctx.target.transports) out.push({ method: 'nvmf_create_transport', params: dumpTransport(ctx, t) });
  const subs = [...ctx.target.subsystems()];
  for (const s of subs) {
    const params: JsonObject = {
      nqn: s.nqn,
      allow_any_host: s.allowAnyHost,
      serial_number: s.serial,
      model_number: s.model,
      max_namespaces: s.maxNamespaces,
      min_cntlid: s.minCntlid,
      max_cntlid: s.maxCntlid,
      ana_reporting: s.anaReporting,
    };
    out.push({ method: 'nvmf_create_subsystem', params });
  }
  for (const s of subs) for (const host of s.hosts) out.push({ method: 'nvmf_subsystem_add_host', params: { nqn: s.nqn, host } });
  for (const s of subs) {
    for (const ns of [...s.namespaces.values()].sort((a, b) => a.nsid - b.nsid)) {
      const n: JsonObject = { nsid: ns.nsid, bdev_name: ns.bdev.name, nguid: hex(ns.nguid), uuid: ns.uuid };
      if (ns.eui64.some((x) => x !== 0)) n.eui64 = hex(ns.eui64);
      if (s.anaReporting) n.anagrpid = ns.anaGroupId;
      n.no_auto_visible = false;
      out.push({ method: 'nvmf_subsystem_add_ns', params: { nqn: s.nqn, namespace: n } });
    }
  }
  for (const a of ctx.discoveryListeners) {
    out.push({ method: 'nvmf_subsystem_add_listener', params: { nqn: DISCOVERY_NQN, listen_address: dumpAddress(ctx, a), secure_channel: false } });
  }
  for (const s of subs) {
    for (const a of s.listeners) out.push({ method: 'nvmf_subsystem_add_listener', params: { nqn: s.nqn, listen_address: dumpAddress(ctx, a), secure_channel: false } });
  }
  return out;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

/** A hostid as SPDK prints it (a UUID string). */
function uuidString(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function describeSubsystem(ctx: RpcContext, s: Subsystem): JsonObject {
  const d = s.describe();
  const out: JsonObject = {
    nqn: d.nqn,
    subtype: d.subtype,
    listen_addresses: (s.kind === 'discovery' ? ctx.discoveryListeners : s.listeners).map((a) => dumpAddress(ctx, a)),
    allow_any_host: d.allow_any_host,
    hosts: d.hosts.map((h) => ({ nqn: h.nqn })),
  };
  if (s.kind === 'discovery') return out;
  Object.assign(out, {
    serial_number: d.serial_number,
    model_number: d.model_number,
    max_namespaces: d.max_namespaces,
    passthrough: false,
    min_cntlid: d.min_cntlid,
    max_cntlid: d.max_cntlid,
    dmrsl: 0,
    wzsl: 0,
    namespaces: d.namespaces.map((n) => {
      const ns: JsonObject = { nsid: n.nsid, bdev_name: n.bdev_name, name: n.name, nguid: n.nguid, uuid: n.uuid };
      if (/[1-9A-F]/i.test(n.eui64)) ns.eui64 = n.eui64;
      if (d.ana_reporting) ns.anagrpid = n.anagrpid;
      return ns;
    }),
  });
  return out;
}

export function registerNvmfMethods(m: RpcMethods, ctx: RpcContext): void {
  const { target } = ctx;

  m.register('nvmf_create_transport', async (params) => {
    const { p, own } = decodeCreateTransport(ctx, params);
    checkTarget(ctx, p.tgt_name);
    const trtype = ctx.transports.trtypeOf(p.trtype);
    if (trtype === undefined) throw new RpcError(RpcCode.InvalidParams, `Invalid transport type '${p.trtype}' (nvmu knows ${ctx.transports.names().join(', ')})`);
    const name = ctx.transports.spdkName(trtype);
    if (target.getTransport(trtype) !== undefined) throw RpcError.internal(`Transport type '${name}' already exists`);
    let t: TargetTransport;
    try {
      t = ctx.transports.create(name, {
        maxQueueDepth: p.max_queue_depth,
        maxIoQpairsPerCtrlr: p.max_io_qpairs_per_ctrlr ?? (p.max_qpairs_per_ctrlr === undefined ? undefined : Math.max(1, p.max_qpairs_per_ctrlr - 1)),
        inCapsuleDataSize: p.in_capsule_data_size,
        maxIoSize: p.max_io_size,
        ioUnitSize: p.io_unit_size,
        maxAqDepth: p.max_aq_depth,
        numSharedBuffers: p.num_shared_buffers,
        c2hSuccess: p.c2h_success,
      }, own);
      await target.addTransport(t);
    } catch (e) {
      const why = e instanceof TransportUnavailableError || e instanceof Error ? e.message : String(e);
      throw RpcError.internal(`Transport type '${name}' create failed: ${why}`);
    }
    const given: JsonObject = {};
    if (p.num_shared_buffers !== undefined) given.num_shared_buffers = p.num_shared_buffers;
    if (p.c2h_success !== undefined) given.c2h_success = p.c2h_success;
    ctx.transportParams.set(trtype, given);
    ctx.logger.info('transport created', { trtype: name, ...t.options });
    return true;
  });

  m.register('nvmf_get_transports', (params) => {
    const p = decodeParams(params, { ...TGT, trtype: { type: 'string' } });
    checkTarget(ctx, p.tgt_name);
    let list = target.transports;
    if (p.trtype !== undefined) {
      const want = ctx.transports.trtypeOf(p.trtype);
      list = list.filter((t) => t.trtype === want);
      if (list.length === 0) throw RpcError.errno(Errno.ENODEV, `no ${p.trtype.toUpperCase()} transport`);
    }
    return list.map((t) => dumpTransport(ctx, t));
  });

  m.register('nvmf_create_subsystem', (params) => {
    const p = decodeParams(params, CREATE_SUBSYSTEM);
    checkTarget(ctx, p.tgt_name);
    if (p.passthrough === true) throw RpcError.invalidParams('passthrough subsystems are not supported by nvmu');
    if (p.enable_nssr === true) throw RpcError.invalidParams('enable_nssr (NVM subsystem reset) is not supported by nvmu');
    if (target.getSubsystem(p.nqn) !== undefined || isDiscovery(p.nqn)) throw RpcError.internal(`Unable to create subsystem ${p.nqn}: it already exists`);
    const min = p.min_cntlid ?? 1;
    const max = p.max_cntlid ?? 0xffef;
    if (min < 1 || max > 0xffef || min > max) throw RpcError.invalidParams(`Invalid cntlid range [${min}-${max}] (1..65519)`);
    let s: Subsystem;
    try {
      s = target.createSubsystem({
        nqn: p.nqn,
        serial: p.serial_number ?? '00000000000000000000',
        model: p.model_number ?? 'nvmu Controller',
        maxNamespaces: p.max_namespaces === undefined || p.max_namespaces === 0 ? 32 : p.max_namespaces,
        allowAnyHost: p.allow_any_host ?? false,
        anaReporting: p.ana_reporting ?? false,
        minCntlid: min,
        maxCntlid: max,
      });
    } catch (e) {
      if (e instanceof Error) throw RpcError.internal(`Unable to create subsystem ${p.nqn}: ${e.message}`);
      throw e;
    }
    // SPDK's subsystems are active once created; namespaces and listeners come and go while they serve.
    s.start();
    ctx.logger.info('subsystem created', { nqn: s.nqn });
    return true;
  });

  m.register('nvmf_delete_subsystem', async (params) => {
    const p = decodeParams(params, NQN_ONLY);
    checkTarget(ctx, p.tgt_name);
    const s = findSubsystem(ctx, p.nqn);
    const addrs = [...s.listeners];
    await target.removeSubsystem(s.nqn);
    for (const a of addrs) if (!addressInUse(ctx, a)) await target.stopListen(a);
    ctx.logger.info('subsystem deleted', { nqn: p.nqn });
    return true;
  });

  m.register('nvmf_get_subsystems', (params) => {
    const p = decodeParams(params, { nqn: { type: 'string' }, ...TGT });
    checkTarget(ctx, p.tgt_name);
    const all = [target.discovery, ...target.subsystems()];
    if (p.nqn === undefined) return all.map((s) => describeSubsystem(ctx, s));
    const s = all.find((x) => x.nqn === p.nqn);
    if (s === undefined) throw new RpcError(RpcCode.InvalidParams, `Subsystem with NQN '${p.nqn}' not found`);
    return [describeSubsystem(ctx, s)];
  });

  m.register('nvmf_subsystem_add_ns', (params) => {
    const p = decodeParams(params, { nqn: { type: 'string', required: true }, namespace: { type: 'object', required: true }, ...TGT });
    checkTarget(ctx, p.tgt_name);
    const n = decodeParams(p.namespace, NAMESPACE, RpcCode.InvalidParams, 'namespace.');
    const s = findSubsystem(ctx, p.nqn);
    if (n.ptpl_file !== undefined) throw RpcError.invalidParams('namespace.ptpl_file: reservations are not supported by nvmu');
    if (n.no_auto_visible === true) throw RpcError.invalidParams('namespace.no_auto_visible: per-host namespace visibility is not supported by nvmu');
    const bdev = target.getBdev(n.bdev_name);
    if (bdev === undefined) throw RpcError.invalidParams(`namespace.bdev_name: no bdev named ${n.bdev_name}`);
    for (const other of target.subsystems()) {
      if (other.namespacesOn(bdev).length > 0) throw RpcError.invalidParams(`bdev ${bdev.name} is already a namespace of ${other.nqn}`);
    }
    try {
      const ns = s.addNamespace({ bdev, nsid: n.nsid === 0 ? undefined : n.nsid, nguid: n.nguid, eui64: n.eui64, uuid: n.uuid, anaGroupId: n.anagrpid });
      ctx.logger.info('namespace added', { nqn: s.nqn, nsid: ns.nsid, bdev: bdev.name, controllers: s.controllers.size });
      return ns.nsid;
    } catch (e) {
      return asParams(e);
    }
  });

  m.register('nvmf_subsystem_remove_ns', async (params) => {
    const p = decodeParams(params, { nqn: { type: 'string', required: true }, nsid: { type: 'uint', required: true }, ...TGT });
    checkTarget(ctx, p.tgt_name);
    const s = findSubsystem(ctx, p.nqn);
    if (s.getNamespace(p.nsid) === undefined) throw RpcError.invalidParams(`no namespace ${p.nsid} in ${p.nqn}`);
    await s.removeNamespace(p.nsid);
    ctx.logger.info('namespace removed', { nqn: s.nqn, nsid: p.nsid, controllers: s.controllers.size });
    return true;
  });

  m.register('nvmf_subsystem_add_listener', async (params) => {
    const p = decodeParams(params, LISTENER);
    checkTarget(ctx, p.tgt_name);
    const addr = parseAddress(ctx, p.listen_address);
    if (p.secure_channel === true) throw RpcError.invalidParams('secure_channel: TLS is not supported by nvmu yet');
    transportFor(ctx, addr);
    const listen = async (): Promise<void> => {
      try {
        await target.listen(addr);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EADDRINUSE' ? (addr.trsvcid === '' ? 'another server is listening there' : 'the port is in use') : code === 'EADDRNOTAVAIL' ? 'no such local address' : e instanceof Error ? e.message : String(e);
        throw RpcError.internal(`Unable to listen on ${where(addr)}: ${why}`);
      }
    };
    if (isDiscovery(p.nqn)) {
      if (ctx.discoveryListeners.some((l) => sameAddress(l, addr))) throw RpcError.invalidParams('the discovery subsystem already has this listener');
      await listen();
      ctx.discoveryListeners.push(addr);
    } else {
      const s = findSubsystem(ctx, p.nqn);
      if (s.listeners.some((l) => sameAddress(l, addr))) throw RpcError.invalidParams(`${p.nqn} already has listener ${where(addr)}`);
      await listen();
      await s.addListener(addr);
    }
    ctx.logger.info('listener added', { nqn: p.nqn, trtype: addr.trtype, traddr: addr.traddr, trsvcid: addr.trsvcid });
    return true;
  });

  m.register('nvmf_subsystem_remove_listener', async (params) => {
    const p = decodeParams(params, { nqn: { type: 'string', required: true }, listen_address: { type: 'object', required: true }, ...TGT });
    checkTarget(ctx, p.tgt_name);
    const addr = parseAddress(ctx, p.listen_address);
    if (isDiscovery(p.nqn)) {
      const i = ctx.discoveryListeners.findIndex((l) => sameAddress(l, addr));
      if (i < 0) throw RpcError.invalidParams('the discovery subsystem has no such listener');
      ctx.discoveryListeners.splice(i, 1);
    } else {
      const s = findSubsystem(ctx, p.nqn);
      if (!s.listeners.some((l) => sameAddress(l, addr))) throw RpcError.invalidParams(`${p.nqn} has no listener ${where(addr)}`);
      s.removeListener(addr);
    }
    if (!addressInUse(ctx, addr)) await target.stopListen(addr);
    ctx.logger.info('listener removed', { nqn: p.nqn, trtype: addr.trtype, traddr: addr.traddr, trsvcid: addr.trsvcid });
    return true;
  });

  m.register('nvmf_subsystem_get_listeners', (params) => {
    const p = decodeParams(params, NQN_ONLY);
    checkTarget(ctx, p.tgt_name);
    const list = isDiscovery(p.nqn) ? ctx.discoveryListeners : findSubsystem(ctx, p.nqn).listeners;
    return list.map((a) => ({ address: dumpAddress(ctx, a) }));
  });

  const HOST = { nqn: { type: 'string', required: true }, host: { type: 'string', required: true }, ...TGT } as const;
  m.register('nvmf_subsystem_add_host', (params) => {
    const p = decodeParams(params, { ...HOST, psk: { type: 'string' }, dhchap_key: { type: 'string' }, dhchap_ctrlr_key: { type: 'string' } });
    checkTarget(ctx, p.tgt_name);
    if (p.psk !== undefined || p.dhchap_key !== undefined || p.dhchap_ctrlr_key !== undefined) {
      throw RpcError.invalidParams('psk / dhchap keys: authentication is not supported by nvmu yet');
    }
    const s = findSubsystem(ctx, p.nqn);
    if (s.hosts.includes(p.host)) throw RpcError.invalidParams(`host ${p.host} is already allowed on ${p.nqn}`);
    try {
      s.addHost(p.host);
    } catch (e) {
      return asParams(e);
    }
    ctx.logger.info('host added', { nqn: p.nqn, host: p.host });
    return true;
  });

  m.register('nvmf_subsystem_remove_host', (params) => {
    const p = decodeParams(params, { ...HOST, timeout_ms: { type: 'uint' } });
    checkTarget(ctx, p.tgt_name);
    const s = findSubsystem(ctx, p.nqn);
    if (!s.hosts.includes(p.host)) throw RpcError.invalidParams(`host ${p.host} is not on the allowed list of ${p.nqn}`);
    s.removeHost(p.host);
    ctx.logger.info('host removed', { nqn: p.nqn, host: p.host });
    return true;
  });

  m.register('nvmf_subsystem_allow_any_host', (params) => {
    const p = decodeParams(params, { nqn: { type: 'string', required: true }, allow_any_host: { type: 'boolean', required: true }, ...TGT });
    checkTarget(ctx, p.tgt_name);
    findSubsystem(ctx, p.nqn).allowAnyHost = p.allow_any_host;
    return true;
  });

  m.register('nvmf_subsystem_get_controllers', (params) => {
    const p = decodeParams(params, NQN_ONLY);
    checkTarget(ctx, p.tgt_name);
    const s = isDiscovery(p.nqn) ? target.discovery : findSubsystem(ctx, p.nqn);
    return [...s.controllers.values()].map((c) => ({
      cntlid: c.cntlid,
      cntrltype: c.isDiscovery ? 'discovery' : 'io',
      hostnqn: c.hostnqn,
      hostid: uuidString(c.hostid),
      num_io_qpairs: c.ioQPairCount,
    }));
  });

  m.register('nvmf_subsystem_get_qpairs', (params) => {
    const p = decodeParams(params, NQN_ONLY);
    checkTarget(ctx, p.tgt_name);
    const s = isDiscovery(p.nqn) ? target.discovery : findSubsystem(ctx, p.nqn);
    const out: JsonValue[] = [];
    for (const c of s.controllers.values()) {
      for (const qp of c.qpairs) {
        if (qp === undefined) continue;
        const q: JsonObject = {
          cntlid: c.cntlid,
          qid: qp.qid,
          state: qp.state === 'active' ? 'enabled' : qp.state === 'connecting' ? 'connecting' : 'deactivating',
          thread: 'nvmf_tgt_poll_group_000',
          hostnqn: c.hostnqn,
          listen_address: dumpAddress(ctx, qp.listenAddress),
        };
        if (qp.peerAddress !== undefined) q.peer_address = dumpAddress(ctx, qp.peerAddress);
        out.push(q);
      }
    }
    return out;
  });
}
