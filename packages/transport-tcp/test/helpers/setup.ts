import { createServer } from 'node:net';

import type { HostQPair, HostQPairHandler, HostTransport } from '@nvmu/client';

import { createTcpHostTransportFactory, type TcpHostOptions } from '../../src/host/transport.js';
import { TcpTargetTransport, type TcpTargetTransportOptions } from '../../src/target/transport.js';
import { MiniCore } from './mini-core.js';
import { connectData, sqeConnect } from './raw.js';

/** A free TCP port on `host` (bind 0, read, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => { resolve(port); });
    });
  });
}

export interface MiniTarget {
  core: MiniCore;
  transport: TcpTargetTransport;
  port: number;
  host: string;
  close(): Promise<void>;
}

export async function startMiniTarget(host = '127.0.0.1', opts: TcpTargetTransportOptions = {}): Promise<MiniTarget> {
  const core = new MiniCore();
  const transport = new TcpTargetTransport(opts);
  transport.attach(core);
  const port = await freePort(host);
  await transport.listen({ trtype: 'tcp', adrfam: host.includes(':') ? 'ipv6' : 'ipv4', traddr: host, trsvcid: String(port) });
  return { core, transport, port, host, close: () => transport.close() };
}

/** Collects completions of one host qpair; resolves per-CID waiters. */
export class Collector implements HostQPairHandler {
  readonly waiters = new Map<number, (cqe: Buffer) => void>();
  disconnectedWith: Error | undefined | null = null;
  private onDisconnect: ((error: Error | undefined) => void) | undefined;
  /** Resolves with the error once the transport reported the disconnect (at once if it did). */
  readonly disconnectedEvent = new Promise<Error | undefined>((resolve) => {
    this.onDisconnect = resolve;
  });
  completion(cqe: Uint8Array): void {
    const b = Buffer.from(cqe); // tests copy; the transport reuses the view
    const cid = b.readUInt16LE(12);
    const w = this.waiters.get(cid);
    if (w === undefined) throw new Error(`unexpected completion for CID ${cid}`);
    this.waiters.delete(cid);
    w(b);
  }
  disconnected(error: Error | undefined): void {
    this.disconnectedWith = error;
    this.onDisconnect?.(error);
    for (const [cid, w] of this.waiters) {
      this.waiters.delete(cid);
      const fake = Buffer.alloc(16);
      fake.writeUInt16LE(cid, 12);
      fake.writeUInt16LE(0x7fff << 1, 14); // marks "disconnected" for the tests
      w(fake);
    }
  }
  wait(cid: number): Promise<Buffer> {
    return new Promise((resolve) => this.waiters.set(cid, resolve));
  }
}

export function cqeStatus(cqe: Buffer): number {
  return cqe.readUInt16LE(14) >>> 1;
}

export interface HostConn {
  transport: HostTransport;
  qp: HostQPair;
  col: Collector;
  /** Submit and await the CQE. */
  cmd(sqe: Buffer, data: Uint8Array | undefined, dir: 'none' | 'h2c' | 'c2h', len?: number, off?: number): Promise<Buffer>;
}

/** Open a host qpair with the TCP host transport directly (no client) and send Connect. */
export async function hostConnect(
  port: number,
  host = '127.0.0.1',
  opts: { qid?: number; queueSize?: number; icd?: number; cattr?: number; host?: TcpHostOptions; params?: Record<string, string> } = {},
): Promise<HostConn> {
  const factory = createTcpHostTransportFactory(opts.host ?? {});
  const transport = await factory.open(
    { trtype: 'tcp', traddr: host, trsvcid: String(port), params: opts.params },
    { hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:test', hostid: new Uint8Array(16), connectTimeoutMs: 3000 },
  );
  const col = new Collector();
  const qid = opts.qid ?? 0;
  const queueSize = opts.queueSize ?? 32;
  const qp = await transport.connectQPair({ qid, queueSize, maxInCapsuleDataSize: opts.icd ?? (qid === 0 ? 8192 : 8192), handler: col });
  const cmd = (sqe: Buffer, data: Uint8Array | undefined, dir: 'none' | 'h2c' | 'c2h', len?: number, off = 0): Promise<Buffer> => {
    const cid = sqe.readUInt16LE(2);
    const p = col.wait(cid);
    qp.submit(sqe, data, off, len ?? (data === undefined ? 0 : data.length - off), dir);
    return p;
  };
  const conn = { transport, qp, col, cmd };
  const cqe = await cmd(sqeConnect(0xffff & (queueSize - 1), qid, queueSize - 1, opts.cattr ?? 0), connectData('nqn.test:sub', 'nqn.test:host'), 'h2c');
  if (cqeStatus(cqe) !== 0) throw new Error(`Connect failed: status ${cqeStatus(cqe)}`);
  return conn;
}
