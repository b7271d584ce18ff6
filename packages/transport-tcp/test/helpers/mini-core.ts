/**
 * A small in-memory stand-in for the target core, used by the transport's protocol tests: it
 * pools @nvmu/nvmf `Request`s exactly as the QPair contract says, accepts Fabrics Connect, and
 * executes NVM Read/Write against a RAM disk (512-byte blocks), Flush and "Identify" (4 KiB of a
 * known pattern). Its point is to exercise every transport path (in-capsule, R2T, C2HData,
 * SUCCESS) independently of the real core; the end-to-end tests use @nvmu/nvmf itself.
 */
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
    const c = req.cqeBytes;
    c.fill(0);
    c.writeUInt16LE(this.sqFlowControlDisabled ? 0xffff : 0, 8);
    c.writeUInt16LE(Math.max(this.qid, 0), 10);
    c.writeUInt16LE(req.cid, 12);
    c.writeUInt16LE((status << 1) & 0xfffe, 14);
    if (req.opcode === 0x7f && req.fctype === 0x01 && status === 0) c.writeUInt16LE(1, 0); // CNTLID
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
    const sqe = req.sqeBytes;
    const op = req.opcode;
    if (op === 0x7f) {
      if (req.fctype === 0x01) {
        // Fabrics Connect (NVMe-oF 1.1 §3.3): QID at 42, SQSIZE at 44, CATTR at 46.
        if (req.length < 1024) return 0x02;
        this.qid = sqe.readUInt16LE(42);
        this.sqsize = sqe.readUInt16LE(44);
        this.sqFlowControlDisabled = (sqe.readUInt8(46) & 0x04) !== 0;
        this.cntlid = 1;
        this.state = 'active';
        const data = Buffer.alloc(1024);
        this.copyIn(req, data, 0);
        this.hostnqn = data.toString('latin1', 512, 768).replace(/\0.*$/s, '');
        this.subnqn = data.toString('latin1', 256, 512).replace(/\0.*$/s, '');
        this.ops.connected?.(this);
        return 0;
      }
      return 0x01;
    }
    if (this.state !== 'active') return 0x0c; // Command Sequence Error before Connect
    const disk = this.core.disk;
    if (op === 0x01 || op === 0x02) {
      const slba = sqe.readUInt32LE(40) + sqe.readUInt32LE(44) * 0x1_0000_0000;
      const nlb = sqe.readUInt16LE(48) + 1;
      const bytes = nlb * BLOCK;
      const off = slba * BLOCK;
      if (off + bytes > disk.length) return 0x80; // LBA Out of Range
      if (req.length < bytes) return 0x0f; // Data SGL Length Invalid
      if (op === 0x01) {
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
    if (op === 0x00) return 0; // Flush
    if (op === 0x06) {
      // "Identify": 4 KiB pattern the test can check (byte i = i * 7 & 0xff), cut to the length.
      const v = req.iov[0]!;
      const n = Math.min(4096, req.length);
      for (let i = 0; i < n; i++) v[i] = (i * 7) & 0xff;
      req.dataLength = n;
      return 0;
    }
    return 0x01;
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
