/**
 * An NVM subsystem (NVMe Base 2.0 §1.5, §3.2): an NQN, identity strings, namespaces, the hosts
 * allowed to connect, the listeners it is reachable on, ANA groups, and its controllers.
 * State machine as SPDK's: inactive → active ⇄ paused → inactive.
 */
import { AnaState as AnaStateCode } from '@nvmu/nvme-spec';
import type { Bdev } from './bdev/bdev.js';
import { Controller, AecBit, AsyncEvent, type ControllerSubsystem } from './controller.js';
import { IoCounters } from './io-stats.js';
import { Namespace, type NamespaceOptions } from './namespace.js';
import { DISCOVERY_NQN, assertNqn } from './nqn.js';
import type { CoreRequest } from './qpair.js';
import type { ListenAddress } from './request.js';
import type { TargetTransport, TransportLogger } from './transport.js';

/** 'inactive': no Connects; 'active': serving; 'paused': I/O queued until resume. */
export type SubsystemState = 'inactive' | 'active' | 'paused';

/** ANA states (NVMe Base 2.0 §8.1.3, Figure 203 codes). */
export type AnaState = 'optimized' | 'non-optimized' | 'inaccessible' | 'persistent-loss' | 'change';

/** The names above as nvme-spec's ANA state codes. */
const ANA_CODES: Record<AnaState, number> = {
  optimized: AnaStateCode.Optimized,
  'non-optimized': AnaStateCode.NonOptimized,
  inaccessible: AnaStateCode.Inaccessible,
  'persistent-loss': AnaStateCode.PersistentLoss,
  change: AnaStateCode.Change,
};

export interface SubsystemOptions {
  /** Subsystem NQN (validated, NVMe Base 2.0 §4.5). */
  nqn: string;
  /** Serial number, ASCII, up to 20 characters. Default derived from the NQN. */
  serial?: string;
  /** Model number, ASCII, up to 40 characters. Default 'nvmu'. */
  model?: string;
  /** Firmware revision, ASCII, up to 8 characters. Default '0.1.0'. */
  firmwareRevision?: string;
  /** Highest NSID (Identify NN / MNAN). Default 32. */
  maxNamespaces?: number;
  /** Let any host connect. Default false: only hosts added with `addHost`. */
  allowAnyHost?: boolean;
  /** Host NQNs allowed to connect. */
  hosts?: readonly string[];
  /**
   * Controller ID model (NVMe-oF 1.1 §3.3.1): 'dynamic' (Connect asks for FFFFh and gets a free
   * cntlid) or 'static' (Connect names a cntlid, or FFFEh for any). Default 'dynamic'.
   */
  cntlidModel?: 'dynamic' | 'static';
  /** Range of cntlids handed out. Default 1 .. FFEFh. */
  minCntlid?: number;
  maxCntlid?: number;
  /** Report ANA (CMIC bit 3, log page 0Ch). Default false. */
  anaReporting?: boolean;
}

/** What a subsystem needs from its target (implemented by Target). */
export interface SubsystemHost {
  /** Make sure the target listens on `addr` (through the transport of `addr.trtype`); idempotent. */
  listen(addr: ListenAddress): Promise<void>;
  /** Something the discovery log shows changed: bump GENCTR and notify discovery controllers. */
  discoveryChanged(): void;
  /** Re-run a request that was queued while the subsystem was paused. */
  redispatch(req: CoreRequest): void;
  /** Flush every bdev of the subsystem's namespaces (shutdown). */
  readonly logger: TransportLogger;
}

/** A subsystem as SPDK's `nvmf_get_subsystems` JSON-RPC lists it (same field names). */
export interface SubsystemDescription {
  nqn: string;
  subtype: 'NVMe' | 'Discovery';
  state: SubsystemState;
  listen_addresses: { trtype: string; adrfam: string; traddr: string; trsvcid: string }[];
  allow_any_host: boolean;
  hosts: { nqn: string }[];
  serial_number: string;
  model_number: string;
  max_namespaces: number;
  min_cntlid: number;
  max_cntlid: number;
  ana_reporting: boolean;
  namespaces: { nsid: number; bdev_name: string; name: string; nguid: string; uuid: string; eui64: string; anagrpid: number }[];
  controllers: number;
}

/**
 * The one spelling of a transport type the core compares: lower case, without '-' and '_'. Users
 * type SPDK's names (`VFIOUSER`, `TCP`, case-insensitive in SPDK) as well as nvmu's
 * (`vfio-user`, `tcp`); all name one transport. Management paths only, never per I/O.
 */
export function trtypeKey(trtype: string): string {
  return trtype.toLowerCase().replace(/[-_]/g, '');
}

/** True when two listen addresses are the same (all four fields; the trtype by `trtypeKey`). */
export function sameAddress(a: ListenAddress, b: ListenAddress): boolean {
  return a.adrfam === b.adrfam && a.traddr === b.traddr && a.trsvcid === b.trsvcid && trtypeKey(a.trtype) === trtypeKey(b.trtype);
}

/** Thrown by management calls given bad arguments (for JSON-RPC: code and message). */
export class NvmfConfigError extends Error {
  override readonly name = 'NvmfConfigError';
  readonly code = 'ERR_NVMF_CONFIG';
}

export class Subsystem implements ControllerSubsystem {
  readonly nqn: string;
  readonly kind: 'nvm' | 'discovery';
  readonly serial: string;
  readonly model: string;
  readonly firmwareRevision: string;
  readonly maxNamespaces: number;
  readonly cntlidModel: 'dynamic' | 'static';
  readonly minCntlid: number;
  readonly maxCntlid: number;
  readonly anaReporting: boolean;
  state: SubsystemState = 'inactive';
  private _allowAnyHost: boolean;
  private readonly _hosts = new Set<string>();
  private readonly _listeners: ListenAddress[] = [];
  private readonly _namespaces = new Map<number, Namespace>();
  private readonly _controllers = new Map<number, Controller>();
  private readonly _anaGroups = new Map<number, number>([[1, ANA_CODES.optimized]]);
  anaChangeCount = 0;
  private nextCntlid: number;
  private readonly host: SubsystemHost;
  private readonly bdevUnsubscribe = new Map<number, () => void>();
  private readonly closedControllersIo = new IoCounters();

  // Pause bookkeeping (SPDK spdk_nvmf_subsystem_pause): I/O in flight and I/O queued while paused.
  ioInflight = 0;
  private readonly queued: CoreRequest[] = [];
  private drainWaiters: (() => void)[] = [];

  constructor(opts: SubsystemOptions, host: SubsystemHost, kind: 'nvm' | 'discovery' = 'nvm') {
    assertNqn(opts.nqn);
    if (kind === 'nvm' && opts.nqn === DISCOVERY_NQN) throw new NvmfConfigError('the discovery NQN is reserved for the discovery subsystem');
    this.nqn = opts.nqn;
    this.kind = kind;
    this.serial = checkAscii(opts.serial ?? defaultSerial(opts.nqn), 20, 'serial');
    this.model = checkAscii(opts.model ?? 'nvmu', 40, 'model');
    this.firmwareRevision = checkAscii(opts.firmwareRevision ?? '0.1.0', 8, 'firmwareRevision');
    this.maxNamespaces = opts.maxNamespaces ?? 32;
    if (!Number.isInteger(this.maxNamespaces) || this.maxNamespaces < 1 || this.maxNamespaces > 0xfffffffe) {
      throw new NvmfConfigError(`maxNamespaces ${this.maxNamespaces} out of range`);
    }
    this._allowAnyHost = opts.allowAnyHost ?? kind === 'discovery';
    for (const h of opts.hosts ?? []) {
      assertNqn(h);
      this._hosts.add(h);
    }
    this.cntlidModel = opts.cntlidModel ?? 'dynamic';
    this.minCntlid = opts.minCntlid ?? 1;
    this.maxCntlid = opts.maxCntlid ?? 0xffef;
    if (this.minCntlid < 1 || this.maxCntlid > 0xffef || this.minCntlid > this.maxCntlid) {
      throw new NvmfConfigError(`cntlid range ${this.minCntlid}..${this.maxCntlid} invalid (1..FFEFh)`);
    }
    this.nextCntlid = this.minCntlid;
    this.anaReporting = opts.anaReporting ?? false;
    this.host = host;
  }

  /** SPDK-style description (`nvmf_get_subsystems`). */
  describe(): SubsystemDescription {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();
    return {
      nqn: this.nqn,
      subtype: this.kind === 'discovery' ? 'Discovery' : 'NVMe',
      state: this.state,
      listen_addresses: this._listeners.map((l) => ({ trtype: l.trtype, adrfam: l.adrfam, traddr: l.traddr, trsvcid: l.trsvcid })),
      allow_any_host: this._allowAnyHost,
      hosts: [...this._hosts].map((nqn) => ({ nqn })),
      serial_number: this.serial,
      model_number: this.model,
      max_namespaces: this.maxNamespaces,
      min_cntlid: this.minCntlid,
      max_cntlid: this.maxCntlid,
      ana_reporting: this.anaReporting,
      namespaces: [...this._namespaces.values()]
        .sort((a, b) => a.nsid - b.nsid)
        .map((n) => ({
          nsid: n.nsid,
          bdev_name: n.bdev.name,
          name: n.bdev.name,
          nguid: hex(n.nguid),
          uuid: n.uuid,
          eui64: hex(n.eui64),
          anagrpid: n.anaGroupId,
        })),
      controllers: this._controllers.size,
    };
  }

  // ---- state ----

  /** inactive → active: accept Connects. */
  start(): void {
    if (this.state === 'inactive') {
      this.state = 'active';
      this.host.discoveryChanged();
    }
  }

  /**
   * → inactive: tear down every controller (hosts see their connections close), then wait for
   * the I/O still in the bdevs, at most `drainTimeoutMs` (a lost bdev completion must not hang
   * a shutdown).
   */
  async stop(drainTimeoutMs = 5000): Promise<void> {
    if (this.state === 'inactive') return;
    if (this.state === 'paused') this.resume();
    this.state = 'inactive';
    for (const c of [...this._controllers.values()]) c.destroy('controller-destroyed');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainTimeoutMs);
      timer.unref();
    });
    await Promise.race([this.drainIo(), timeout]);
    clearTimeout(timer);
    if (this.ioInflight > 0) this.host.logger.warn('subsystem stopped with I/O still in flight', { nqn: this.nqn, ioInflight: this.ioInflight });
    this.host.discoveryChanged();
  }

  /**
   * active → paused: new I/O commands wait in a queue; resolves when the I/O in flight has
   * completed. Admin commands keep running (keep-alive must not time out).
   */
  async pause(): Promise<void> {
    if (this.state !== 'active') throw new NvmfConfigError(`cannot pause a subsystem that is ${this.state}`);
    this.state = 'paused';
    await this.drainIo();
  }

  /** paused → active: run the queued I/O. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'active';
    const q = this.queued.splice(0);
    for (const req of q) this.host.redispatch(req);
  }

  /** Queue an I/O while paused (called by the I/O dispatcher). */
  queueWhilePaused(req: CoreRequest): void {
    this.queued.push(req);
  }

  unqueue(req: CoreRequest): boolean {
    const i = this.queued.indexOf(req);
    if (i < 0) return false;
    this.queued.splice(i, 1);
    return true;
  }

  /** Count I/O in and out for pause. */
  ioStart(req: CoreRequest): void {
    req.subsysCounted = true;
    this.ioInflight++;
  }

  ioDone(req: CoreRequest): void {
    if (!req.subsysCounted) return;
    req.subsysCounted = false;
    this.ioInflight--;
    if (this.ioInflight === 0 && this.drainWaiters.length > 0) {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const fn of w) fn();
    }
  }

  private drainIo(): Promise<void> {
    if (this.ioInflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  // ---- hosts ----

  get allowAnyHost(): boolean {
    return this._allowAnyHost;
  }

  set allowAnyHost(v: boolean) {
    if (v === this._allowAnyHost) return;
    this._allowAnyHost = v;
    if (!v) this.disconnectDisallowedHosts();
    this.host.discoveryChanged();
  }

  get hosts(): readonly string[] {
    return [...this._hosts];
  }

  addHost(hostnqn: string): void {
    assertNqn(hostnqn);
    if (this._hosts.has(hostnqn)) return;
    this._hosts.add(hostnqn);
    this.host.discoveryChanged();
  }

  /** Remove a host; its controllers are torn down (as SPDK's nvmf_subsystem_remove_host). */
  removeHost(hostnqn: string): void {
    if (!this._hosts.delete(hostnqn)) return;
    this.disconnectDisallowedHosts();
    this.host.discoveryChanged();
  }

  /** May `hostnqn` connect? */
  hostAllowed(hostnqn: string): boolean {
    return this._allowAnyHost || this._hosts.has(hostnqn);
  }

  private disconnectDisallowedHosts(): void {
    for (const c of [...this._controllers.values()]) if (!this.hostAllowed(c.hostnqn)) c.destroy('controller-destroyed');
  }

  // ---- listeners ----

  get listeners(): readonly ListenAddress[] {
    return this._listeners;
  }

  /** Make the subsystem reachable on `addr`; the target starts listening there if needed. */
  async addListener(addr: ListenAddress): Promise<void> {
    if (this._listeners.some((l) => sameAddress(l, addr))) return;
    await this.host.listen(addr);
    this._listeners.push({ trtype: addr.trtype, adrfam: addr.adrfam, traddr: addr.traddr, trsvcid: addr.trsvcid });
    this.host.discoveryChanged();
  }

  /** Stop being reachable on `addr`; controllers that connected through it are torn down. */
  removeListener(addr: ListenAddress): void {
    const i = this._listeners.findIndex((l) => sameAddress(l, addr));
    if (i < 0) return;
    this._listeners.splice(i, 1);
    for (const c of [...this._controllers.values()]) {
      const qp = c.adminQPair;
      if (qp !== undefined && sameAddress(qp.listenAddress, addr)) c.destroy('controller-destroyed');
    }
    this.host.discoveryChanged();
  }

  /** May a host reach this subsystem through listener `addr`? The discovery subsystem: any. */
  listenerAllowed(addr: ListenAddress): boolean {
    return this.kind === 'discovery' || this._listeners.some((l) => sameAddress(l, addr));
  }

  // ---- namespaces ----

  get namespaces(): ReadonlyMap<number, Namespace> {
    return this._namespaces;
  }

  getNamespace(nsid: number): Namespace | undefined {
    return this._namespaces.get(nsid);
  }

  /**
   * Add a namespace (hot add): every controller gets a Namespace Attribute Changed notice and the
   * NSID in its Changed Namespace List.
   */
  addNamespace(opts: NamespaceOptions): Namespace {
    if (this.kind === 'discovery') throw new NvmfConfigError('the discovery subsystem has no namespaces');
    let nsid = opts.nsid;
    if (nsid === undefined) {
      nsid = 1;
      while (this._namespaces.has(nsid)) nsid++;
    }
    if (!Number.isInteger(nsid) || nsid < 1 || nsid > this.maxNamespaces) {
      throw new NvmfConfigError(`nsid ${nsid} out of range 1..${this.maxNamespaces}`);
    }
    if (this._namespaces.has(nsid)) throw new NvmfConfigError(`nsid ${nsid} already in use in ${this.nqn}`);
    const anaGroupId = opts.anaGroupId ?? 1;
    if (!this._anaGroups.has(anaGroupId)) throw new NvmfConfigError(`ANA group ${anaGroupId} does not exist`);
    const ns = new Namespace(nsid, opts);
    this._namespaces.set(nsid, ns);
    const id = nsid;
    this.bdevUnsubscribe.set(
      nsid,
      ns.bdev.on('resize', () => {
        this.notifyNamespaceChanged(id);
      }),
    );
    this.notifyNamespaceChanged(nsid);
    return ns;
  }

  /**
   * Remove a namespace (hot remove): new I/O to it fails with Invalid Namespace or Format, I/O in
   * flight completes with its own status, controllers get the notice. Resolves when the
   * namespace's in-flight I/O has drained.
   */
  async removeNamespace(nsid: number): Promise<void> {
    const ns = this._namespaces.get(nsid);
    if (ns === undefined) throw new NvmfConfigError(`no namespace ${nsid} in ${this.nqn}`);
    this._namespaces.delete(nsid);
    this.bdevUnsubscribe.get(nsid)?.();
    this.bdevUnsubscribe.delete(nsid);
    ns.state = 'removing';
    this.notifyNamespaceChanged(nsid);
    await ns.drain();
    ns.state = 'removed';
  }

  /** Namespaces on `bdev` (for bdev removal). */
  namespacesOn(bdev: Bdev): Namespace[] {
    return [...this._namespaces.values()].filter((n) => n.bdev === bdev);
  }

  private notifyNamespaceChanged(nsid: number): void {
    for (const c of this._controllers.values()) c.namespaceChanged(nsid);
  }

  // ---- ANA groups ----

  get anaGroups(): ReadonlyMap<number, number> {
    return this._anaGroups;
  }

  /** Create an ANA group (ids 1..), or change its state; controllers get an ANA Change notice. */
  setAnaState(groupId: number, state: AnaState): void {
    if (!Number.isInteger(groupId) || groupId < 1 || groupId > 0xffffffff) throw new NvmfConfigError(`ANA group id ${groupId} invalid`);
    this._anaGroups.set(groupId, ANA_CODES[state]);
    this.anaChangeCount++;
    for (const c of this._controllers.values()) c.raiseEvent(AsyncEvent.AnaChange, AecBit.AnaChange);
  }

  // ---- controllers ----

  /** I/O statistics of this subsystem: its controllers' that have gone plus its live ones'. */
  ioStats(): IoCounters {
    const sum = new IoCounters().add(this.closedControllersIo);
    for (const c of this._controllers.values()) sum.add(c.ioStats());
    return sum;
  }

  get controllers(): ReadonlyMap<number, Controller> {
    return this._controllers;
  }

  /**
   * Pick a cntlid for an admin Connect (NVMe-oF 1.1 §3.3.1). `requested` is the Connect data's
   * CNTLID. Returns the cntlid, or 'invalid' (bad value for the model) or 'busy' (taken / none free).
   */
  allocateCntlid(requested: number): number | 'invalid' | 'busy' {
    if (this.cntlidModel === 'dynamic') {
      if (requested !== 0xffff) return 'invalid';
    } else if (requested !== 0xfffe) {
      if (requested < this.minCntlid || requested > this.maxCntlid) return 'invalid';
      return this._controllers.has(requested) ? 'busy' : requested;
    }
    const span = this.maxCntlid - this.minCntlid + 1;
    for (let i = 0; i < span; i++) {
      const id = this.nextCntlid;
      this.nextCntlid = id >= this.maxCntlid ? this.minCntlid : id + 1;
      if (!this._controllers.has(id)) return id;
    }
    return 'busy';
  }

  /** Create and register a controller (called by Connect). */
  createController(cntlid: number, hostnqn: string, hostid: Uint8Array, kato: number, transport: TargetTransport): Controller {
    const c = new Controller({ cntlid, subsystem: this, hostnqn, hostid, kato, transport, logger: this.host.logger });
    this._controllers.set(cntlid, c);
    return c;
  }

  controllerDestroyed(ctrlr: Controller): void {
    if (this._controllers.get(ctrlr.cntlid) === ctrlr) {
      this._controllers.delete(ctrlr.cntlid);
      this.closedControllersIo.add(ctrlr.ioStats());
    }
  }
}

function checkAscii(v: string, max: number, what: string): string {
  if (v.length > max) throw new NvmfConfigError(`${what} longer than ${max} characters`);
  if (!/^[\x20-\x7e]*$/.test(v)) throw new NvmfConfigError(`${what} must be printable ASCII`);
  return v;
}

/** A stable 20-character serial from the NQN (FNV-1a), so restarts keep the host's view. */
function defaultSerial(nqn: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < nqn.length; i++) {
    h ^= nqn.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let h2 = 0x12345678;
  for (let i = nqn.length - 1; i >= 0; i--) {
    h2 ^= nqn.charCodeAt(i);
    h2 = Math.imul(h2, 0x01000193) >>> 0;
  }
  return ('NVMU' + h.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).slice(0, 20);
}
