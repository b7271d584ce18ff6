/**
 * A small in-memory stand-in for the target core, used by the transport's protocol tests: it
 * pools @nvmu/nvmf `Request`s exactly as the QPair contract says, accepts Fabrics Connect, and
 * executes NVM Read/Write against a RAM disk (512-byte blocks), Flush and "Identify" (4 KiB of a
 * known pattern). Its point is to exercise every transport path (in-capsule, R2T, C2HData,
 * SUCCESS) independently of the real core; the end-to-end tests use @nvmu/nvmf itself.
 */
import {
  AdminOpcode,
  ConnectAttr,
  ConnectCommandView,
  ConnectDataView,
  FABRICS_OPCODE,
  FabricsCommandType,
  GenericStatus,
  NvmOpcode,
  setCqeCompletion,
} from '@nvmu/nvme-spec';
import {
  Request,
  type QPair,
  type QPairCreateOptions,
  type QPairState,
  type QPairTransportOps,
  type TransportCore,
  type TransportLogger,
  type ListenAddress,
} from '@nvmu/nvmf';

export const BLOCK = 512;

export class MiniQPair<T> implements QPair<T> {
  qid = -1;
  sqsize = -1;
  cntlid = -1;
  state: QPairState = 'connecting';
  sqFlowControlDisabled = false;
  hostnqn = '';
  subnqn = '';
  readonly depth: number;
  readonly listenAddress: ListenAddress;
  readonly peerAddress: ListenAddress | undefined;
  readonly localAddress: ListenAddress | undefined;
  readonly pool: Request<T>[] = [];
  private readonly free: Request<T>[] = [];
  submitted = 0;
  disconnectedCalls = 0;

  constructor(
    private readonly core: MiniCore,
    private readonly ops: QPairTransportOps<T>,
    opts: QPairCreateOptions,
  ) {
    this.depth = opts.depth;
    this.listenAddress = opts.listenAddress;
    this.peerAddress = opts.peerAddress;
    this.localAddress = opts.localAddress;
    for (let i = 0; i < opts.depth; i++) {
      const r = new Request<T>(this, i, undefined as T);
      if (ops.initRequest) r.transportData = ops.initRequest(r);
      this.pool.push(r);
      this.free.push(r);
    }
  }

  allocRequest(): Request<T> | undefined {
    const r = this.free.pop();
    if (r !== undefined) r.state = 'new';
    return r;
  }

  submit(req: Request<T>): void {
    this.submitted++;
    req.state = 'executing';
    const status = this.execute(req);
    this.finish(req, status);
  }

  fail(req: Request<T>, status: number): void {
    req.state = 'executing';
    req.dataLength = 0;
    this.finish(req, status);
  }

  freeRequest(req: Request<T>): void {
    if (req.state === 'free') throw new Error(`double free of request ${req.index}`);
    req.state = 'free';
    this.free.push(req);
  }

  disconnected(): void {
    this.disconnectedCalls++;
    this.state = 'closed';
    this.core.qpairs.delete(this);
  }

  get freeCount(): number {
    return this.free.length;
  }

  private finish(req: Request<T>, status: number): void {
    req.cqe.clear();
    setCqeCompletion(req.cqeView, 0, this.sqFlowControlDisabled ? 0xffff : 0, Math.max(this.qid, 0), req.cid, status);
    if (req.opcode === FABRICS_OPCODE && req.fctype === FabricsCommandType.Connect && status === 0) req.cqe.dw0 = 1; // CNTLID
    const complete = (): void => {
      if (this.state === 'closed') return;
      req.state = 'completing';
      this.ops.complete(req);
    };
    // Complete asynchronously like a bdev would, sometimes on a microtask, sometimes later.
    if (this.core.asyncComplete) setImmediate(complete);
    else queueMicrotask(complete);
  }

  private copyIn(req: Request<T>, dst: Buffer, off: number): number {
    let n = 0;
    for (let i = 0; i < req.iovcnt; i++) {
      const v = req.iov[i]!;
      dst.set(v, off + n);
      n += v.length;
    }
    return n;
  }

  private execute(req: Request<T>): number {
    const op = req.opcode;
    if (op === FABRICS_OPCODE) {
      if (req.fctype === FabricsCommandType.Connect) {
        // Fabrics Connect (NVMe-oF 1.1 §3.3).
        if (req.length < ConnectDataView.SIZE) return GenericStatus.InvalidField;
        const c = new ConnectCommandView(req.sqeBytes);
        this.qid = c.qid;
        this.sqsize = c.sqsize;
        this.sqFlowControlDisabled = (c.cattr & ConnectAttr.SQ_FLOW_CONTROL_DISABLE) !== 0;
        this.cntlid = 1;
        this.state = 'active';
        const data = Buffer.alloc(ConnectDataView.SIZE);
        this.copyIn(req, data, 0);
        const cd = new ConnectDataView(data);
        this.hostnqn = cd.hostnqn;
        this.subnqn = cd.subnqn;
        this.ops.connected?.(this);
        return 0;
      }
      return GenericStatus.InvalidOpcode;
    }
    if (this.state !== 'active') return GenericStatus.CommandSequenceError; // before Connect
    const disk = this.core.disk;
    if (op === NvmOpcode.Write || op === NvmOpcode.Read) {
      const slba = req.sqe.slba;
      const nlb = req.sqe.nlb + 1;
      const bytes = nlb * BLOCK;
      const off = slba * BLOCK;
      if (off + bytes > disk.length) return GenericStatus.LbaOutOfRange;
      if (req.length < bytes) return GenericStatus.DataSglLengthInvalid;
      if (op === NvmOpcode.Write) {
        this.copyIn(req, disk, off);
      } else {
        let done = 0;
        for (let i = 0; i < req.iovcnt && done < bytes; i++) {
          const v = req.iov[i]!;
          const n = Math.min(v.length, bytes - done);
          disk.copy(v, 0, off + done, off + done + n);
          done += n;
        }
        req.dataLength = bytes;
      }
      return 0;
    }
    if (op === NvmOpcode.Flush) return 0;
    if (op === AdminOpcode.Identify) {
      // "Identify": 4 KiB pattern the test can check (byte i = i * 7 & 0xff), cut to the length.
      const v = req.iov[0]!;
      const n = Math.min(4096, req.length);
      for (let i = 0; i < n; i++) v[i] = (i * 7) & 0xff;
      req.dataLength = n;
      return 0;
    }
    return GenericStatus.InvalidOpcode;
  }
}

const ignore = (): void => undefined;
const silent: TransportLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

export class MiniCore implements TransportCore {
  readonly qpairs = new Set<MiniQPair<unknown>>();
  readonly disk: Buffer;
  asyncComplete = false;
  readonly logger: TransportLogger;
  readonly warnings: string[] = [];

  constructor(diskBytes = 16 * 1024 * 1024) {
    this.disk = Buffer.alloc(diskBytes);
    this.logger = {
      ...silent,
      warn: (msg: string) => {
        this.warnings.push(msg);
      },
    };
  }

  createQPair<TData = unknown>(ops: QPairTransportOps<TData>, opts: QPairCreateOptions): QPair<TData> {
    const qp = new MiniQPair<TData>(this, ops, opts);
    this.qpairs.add(qp);
    return qp;
  }
}
