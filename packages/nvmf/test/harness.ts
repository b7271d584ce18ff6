/**
 * Test-only in-process transport and a tiny host: builds SQEs, submits them through the core's
 * QPair API exactly as a transport would (allocRequest, sqeBytes, iov, submit), and collects the
 * completions `ops.complete` hands back.
 */
import { inCapsuleIdentifyFields } from '@nvmu/nvme-spec';
import type {
  DiscoveryEntryFields,
  ListenAddress,
  QPair,
  QPairCloseReason,
  Request,
  TargetTransport,
  TransportCore,
  TransportIdentifyFields,
  TransportOptions,
} from '../src/index.js';

export interface Completion {
  status: number;
  sc: number;
  sct: number;
  dnr: boolean;
  dw0: number;
  dw1: number;
  sqhd: number;
  sqid: number;
  cid: number;
  /** Controller-to-host data (dataLength bytes). */
  data: Buffer;
}

interface Slot {
  resolve: (c: Completion) => void;
  buf: Buffer | undefined;
}

export const LOOP_ADDR: ListenAddress = { trtype: 'test', adrfam: 'intra-host', traddr: 'loop0', trsvcid: '' };

export class TestTransport implements TargetTransport {
  readonly trtype: string = 'test';
  readonly options: TransportOptions;
  core: TransportCore | undefined;
  readonly listening: ListenAddress[] = [];
  readonly connections = new Set<TestConnection>();
  /**
   * Overrides of the Identify fields (e.g. prpOnly for a PCIe-style transport). Undefined: the
   * transport has no `identifyFields()` and the core uses its in-capsule default.
   */
  identifyOverride: Partial<TransportIdentifyFields> | undefined = undefined;

  constructor(opts: Partial<TransportOptions> = {}) {
    this.options = {
      maxQueueDepth: 64,
      maxAdminQueueDepth: 32,
      maxIoQueues: 4,
      maxIoSize: 128 * 1024,
      inCapsuleDataSize: 8192,
      ioUnitSize: 8192,
      ...opts,
    };
  }

  attach(core: TransportCore): void {
    this.core = core;
  }

  listen(addr: ListenAddress): Promise<void> {
    this.listening.push(addr);
    return Promise.resolve();
  }

  stopListen(addr: ListenAddress): Promise<void> {
    const i = this.listening.findIndex((l) => l.traddr === addr.traddr && l.trsvcid === addr.trsvcid);
    if (i >= 0) this.listening.splice(i, 1);
    return Promise.resolve();
  }

  get identifyFields(): (() => TransportIdentifyFields) | undefined {
    const override = this.identifyOverride;
    if (override === undefined) return undefined;
    return () => ({ ...inCapsuleIdentifyFields(this.options.inCapsuleDataSize), ...override });
  }

  discoveryEntry(addr: ListenAddress, via: QPair | undefined): DiscoveryEntryFields {
    const traddr = addr.traddr === '*' ? (via?.localAddress?.traddr ?? addr.traddr) : addr.traddr;
    return { trtype: 0xfe, adrfam: 0xfe, treq: 0, traddr, trsvcid: addr.trsvcid, tsas: new Uint8Array(256) };
  }

  close(): Promise<void> {
    for (const c of this.connections) c.wireClosed();
    return Promise.resolve();
  }

  /** Open a "connection" (one qpair) through listener `addr`. */
  connect(addr: ListenAddress = LOOP_ADDR, depth = 64): TestConnection {
    if (this.core === undefined) throw new Error('not attached');
    const c = new TestConnection(this, this.core, addr, depth);
    this.connections.add(c);
    return c;
  }
}

export class TestConnection {
  readonly qp: QPair<Slot>;
  closeReasons: QPairCloseReason[] = [];
  closed = false;
  /** Completions the core handed to this transport (`ops.complete` calls), whatever their request. */
  completions = 0;
  private nextCid = 1;

  constructor(
    private readonly transport: TestTransport,
    core: TransportCore,
    addr: ListenAddress,
    depth: number,
  ) {
    this.qp = core.createQPair<Slot>(
      {
        complete: (req) => {
          this.onComplete(req);
        },
        close: (reason) => {
          this.closeReasons.push(reason);
          // Like a real transport: finish sending queued completions, then close the wire.
          queueMicrotask(() => {
            this.wireClosed();
          });
        },
        initRequest: () => ({ resolve: () => undefined, buf: undefined }),
      },
      { depth, listenAddress: addr, localAddress: { ...addr, traddr: 'local0' }, peerAddress: { ...addr, traddr: 'peer0' } },
    );
  }

  wireClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.qp.disconnected();
    this.transport.connections.delete(this);
  }

  /**
   * Submit a 64-byte SQE (CID is overwritten unless `keepCid`). `data` is host-to-controller data;
   * `readLen` the controller-to-host buffer size. Resolves on completion.
   */
  submit(sqe: Buffer, opts: { data?: Uint8Array; readLen?: number; keepCid?: boolean; iovSplit?: number } = {}): Promise<Completion> {
    const req = this.qp.allocRequest();
    if (req === undefined) return Promise.reject(new Error('queue full'));
    req.sqeBytes.set(sqe.subarray(0, 64));
    if (opts.keepCid !== true) {
      req.sqeBytes.writeUInt16LE(this.nextCid, 2);
      this.nextCid = (this.nextCid + 1) & 0xffff || 1;
    }
    let buf: Buffer | undefined;
    if (opts.data !== undefined) buf = Buffer.from(opts.data);
    else if (opts.readLen !== undefined && opts.readLen > 0) buf = Buffer.alloc(opts.readLen, 0xee);
    if (buf === undefined) req.clearData();
    else if (opts.iovSplit !== undefined && buf.byteLength > opts.iovSplit) {
      // Describe the buffer as several iovecs to exercise scatter-gather paths.
      let n = 0;
      for (let off = 0; off < buf.byteLength; off += opts.iovSplit) req.iov[n++] = buf.subarray(off, Math.min(off + opts.iovSplit, buf.byteLength));
      req.iovcnt = n;
      req.length = buf.byteLength;
    } else req.setData(buf);
    let resolve: (c: Completion) => void = () => undefined;
    const done = new Promise<Completion>((r) => {
      resolve = r;
    });
    req.transportData = { resolve, buf };
    // Outside the promise executor: an error the core throws after completing (a double
    // completion) reaches the caller instead of vanishing behind the already-resolved promise.
    this.qp.submit(req);
    return done;
  }

  private onComplete(req: Request<Slot>): void {
    this.completions++;
    const cqe = req.cqeBytes;
    const raw = cqe.readUInt16LE(14) >> 1;
    const slot = req.transportData;
    const data = slot.buf === undefined ? Buffer.alloc(0) : Buffer.from(slot.buf.subarray(0, req.dataLength));
    const c: Completion = {
      status: raw,
      sc: raw & 0xff,
      sct: (raw >> 8) & 7,
      dnr: (raw & (1 << 14)) !== 0,
      dw0: cqe.readUInt32LE(0),
      dw1: cqe.readUInt32LE(4),
      sqhd: cqe.readUInt16LE(8),
      sqid: cqe.readUInt16LE(10),
      cid: cqe.readUInt16LE(12),
      data,
    };
    this.qp.freeRequest(req);
    slot.resolve(c);
  }
}

// ---- SQE builders (host side) ----

export function sqe(opcode: number, nsid = 0, cdw: Partial<Record<10 | 11 | 12 | 13 | 14 | 15, number>> = {}): Buffer {
  const b = Buffer.alloc(64);
  b[0] = opcode;
  b.writeUInt32LE(nsid >>> 0, 4);
  for (const [k, v] of Object.entries(cdw)) b.writeUInt32LE(v >>> 0, Number(k) * 4);
  return b;
}

export function fabrics(fctype: number): Buffer {
  const b = Buffer.alloc(64);
  b[0] = 0x7f;
  b[4] = fctype;
  return b;
}

export const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555';
export const HOSTID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

export interface ConnectArgs {
  qid: number;
  sqsize?: number;
  kato?: number;
  cattr?: number;
  recfmt?: number;
  cntlid?: number;
  subnqn: string;
  hostnqn?: string;
  hostid?: Buffer;
}

export function connectCmd(a: ConnectArgs): { sqe: Buffer; data: Buffer } {
  const s = fabrics(0x01);
  s.writeUInt16LE(a.recfmt ?? 0, 40);
  s.writeUInt16LE(a.qid, 42);
  s.writeUInt16LE(a.sqsize ?? (a.qid === 0 ? 31 : 63), 44);
  s[46] = a.cattr ?? 0;
  s.writeUInt32LE(a.kato ?? 0, 48);
  const d = Buffer.alloc(1024);
  (a.hostid ?? HOSTID).copy(d, 0);
  d.writeUInt16LE(a.cntlid ?? 0xffff, 16);
  d.write(a.subnqn, 256, 'ascii');
  d.write(a.hostnqn ?? HOSTNQN, 512, 'ascii');
  return { sqe: s, data: d };
}

export function propGet(ofst: number, size8: boolean): Buffer {
  const s = fabrics(0x04);
  s[40] = size8 ? 1 : 0;
  s.writeUInt32LE(ofst, 44);
  return s;
}

export function propSet(ofst: number, value: bigint | number, size8 = false): Buffer {
  const s = fabrics(0x00);
  s[40] = size8 ? 1 : 0;
  s.writeUInt32LE(ofst, 44);
  s.writeBigUInt64LE(BigInt(value), 48);
  return s;
}

/** CC for enable: EN=1, CSS=0, MPS=0, IOSQES=6, IOCQES=4. */
export const CC_ENABLE = 1 | (6 << 16) | (4 << 20);

export function ioCmd(opcode: number, nsid: number, slba: number, nlb: number, cdw12Extra = 0): Buffer {
  return sqe(opcode, nsid, { 10: slba % 0x1_0000_0000, 11: Math.floor(slba / 0x1_0000_0000), 12: ((nlb - 1) & 0xffff) | cdw12Extra });
}

export function getLogCmd(lid: number, bytes: number, offset = 0, rae = false, nsid = 0xffffffff, lsp = 0): Buffer {
  const numd = bytes / 4 - 1;
  return sqe(0x02, nsid, {
    10: lid | (lsp << 8) | (rae ? 1 << 15 : 0) | ((numd & 0xffff) << 16),
    11: numd >>> 16,
    12: offset % 0x1_0000_0000,
    13: Math.floor(offset / 0x1_0000_0000),
  });
}

/** Wait for pending microtasks and immediate callbacks (file I/O completes on the thread pool). */
export async function settle(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setImmediate(r));
}

/** Host-side bring-up as the Linux host does it (drivers/nvme/host/fabrics.c + core.c). */
export class TestHost {
  admin: TestConnection | undefined;
  cntlid = -1;
  readonly io: TestConnection[] = [];

  constructor(
    readonly transport: TestTransport,
    readonly subnqn: string,
    readonly hostnqn = HOSTNQN,
    readonly addr: ListenAddress = LOOP_ADDR,
  ) {}

  get a(): TestConnection {
    if (this.admin === undefined) throw new Error('no admin queue');
    return this.admin;
  }

  async connectAdmin(kato = 0, cntlid = 0xffff): Promise<Completion> {
    this.admin = this.transport.connect(this.addr, 32);
    const c = connectCmd({ qid: 0, sqsize: 31, kato, subnqn: this.subnqn, hostnqn: this.hostnqn, cntlid });
    const r = await this.a.submit(c.sqe, { data: c.data });
    if (r.status === 0) this.cntlid = r.dw0 & 0xffff;
    return r;
  }

  async prop(ofst: number, size8 = false): Promise<bigint> {
    const r = await this.a.submit(propGet(ofst, size8));
    if (r.status !== 0) throw new Error(`property get ${ofst} failed: ${r.status.toString(16)}`);
    return BigInt(r.dw0) | (BigInt(r.dw1) << 32n);
  }

  async setProp(ofst: number, v: number | bigint, size8 = false): Promise<Completion> {
    return this.a.submit(propSet(ofst, v, size8));
  }

  /** CC.EN = 1 and wait for CSTS.RDY. */
  async enable(): Promise<void> {
    const r = await this.setProp(0x14, CC_ENABLE);
    if (r.status !== 0) throw new Error('CC write failed');
    for (let i = 0; i < 100; i++) {
      if (((await this.prop(0x1c)) & 1n) === 1n) return;
      await settle(1);
    }
    throw new Error('CSTS.RDY never set');
  }

  async identify(cns: number, nsid = 0, cdw11 = 0): Promise<Completion> {
    return this.a.submit(sqe(0x06, nsid, { 10: cns, 11: cdw11 }), { readLen: 4096 });
  }

  async setFeature(fid: number, cdw11: number, nsid = 0): Promise<Completion> {
    return this.a.submit(sqe(0x09, nsid, { 10: fid, 11: cdw11 }));
  }

  async getFeature(fid: number, sel = 0, cdw11 = 0): Promise<Completion> {
    return this.a.submit(sqe(0x0a, 0, { 10: fid | (sel << 8), 11: cdw11 }), { readLen: 4096 });
  }

  async getLog(lid: number, bytes: number, offset = 0, rae = false): Promise<Completion> {
    return this.a.submit(getLogCmd(lid, bytes, offset, rae), { readLen: bytes });
  }

  async connectIo(qid: number, sqsize = 63): Promise<{ conn: TestConnection; r: Completion }> {
    const conn = this.transport.connect(this.addr, 64);
    const c = connectCmd({ qid, sqsize, subnqn: this.subnqn, hostnqn: this.hostnqn, cntlid: this.cntlid });
    const r = await conn.submit(c.sqe, { data: c.data });
    if (r.status === 0) this.io[qid] = conn;
    return { conn, r };
  }

  /** Connect, CAP/VS, enable, Identify, Number of Queues, I/O queue Connects (Linux order). */
  async bringUp(ioQueues = 2, kato = 0): Promise<void> {
    const r = await this.connectAdmin(kato);
    if (r.status !== 0) throw new Error(`admin connect failed: ${r.status.toString(16)}`);
    await this.prop(0x00, true); // CAP
    await this.prop(0x08); // VS
    await this.enable();
    const id = await this.identify(1);
    if (id.status !== 0) throw new Error('identify failed');
    const nq = await this.setFeature(0x07, ((ioQueues - 1) << 16) | (ioQueues - 1));
    const granted = (nq.dw0 & 0xffff) + 1;
    for (let q = 1; q <= Math.min(ioQueues, granted); q++) {
      const { r: cr } = await this.connectIo(q);
      if (cr.status !== 0) throw new Error(`io connect ${q} failed: ${cr.status.toString(16)}`);
    }
  }

  async read(qid: number, nsid: number, slba: number, nlb: number, bs: number, iovSplit?: number): Promise<Completion> {
    const conn = this.io[qid];
    if (conn === undefined) throw new Error(`no io queue ${qid}`);
    return conn.submit(ioCmd(0x02, nsid, slba, nlb), { readLen: nlb * bs, ...(iovSplit === undefined ? {} : { iovSplit }) });
  }

  async write(qid: number, nsid: number, slba: number, data: Uint8Array, bs: number, fua = false, iovSplit?: number): Promise<Completion> {
    const conn = this.io[qid];
    if (conn === undefined) throw new Error(`no io queue ${qid}`);
    return conn.submit(ioCmd(0x01, nsid, slba, data.byteLength / bs, fua ? 1 << 30 : 0), {
      data,
      ...(iovSplit === undefined ? {} : { iovSplit }),
    });
  }

  /**
   * CC.SHN = 01b and wait for CSTS.SHST = 10b. A file bdev's fdatasync can take a while on a busy
   * disk: poll a few event-loop turns, then every 10 ms for up to 20 s (a bound, not a timing).
   */
  async shutdown(): Promise<void> {
    await this.setProp(0x14, CC_ENABLE | (1 << 14));
    const done = async (): Promise<boolean> => (((await this.prop(0x1c)) >> 2n) & 3n) === 2n;
    for (let i = 0; i < 50; i++) {
      if (await done()) return;
      await settle(1);
    }
    for (let i = 0; i < 2000; i++) {
      if (await done()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('shutdown never completed');
  }
}
