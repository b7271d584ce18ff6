/**
 * A raw NVMe/TCP host for tests: builds PDUs with @nvmu/nvme-spec's views (not with the
 * transport's own code, so the two cross-check), sends arbitrary bytes, and reads PDUs back.
 */
import { connect, type Socket } from 'node:net';

import { crc32c } from '@node-rs/crc32';
import {
  CapsuleCmdView,
  H2CDataView,
  IcReqView,
  PduType,
  dataDigest,
  pduDataOffset,
  writeHeaderDigest,
} from '@nvmu/nvme-spec';

export interface RawPdu {
  type: number;
  flags: number;
  hlen: number;
  pdo: number;
  plen: number;
  bytes: Buffer;
}

export class RawConn {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  hdgst = false;
  ddgst = false;

  private constructor(readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  /** Wrap an accepted socket (a fake controller in host-side tests). */
  static wrap(sock: Socket): RawConn {
    sock.setNoDelay(true);
    return new RawConn(sock);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, noDelay: true });
      s.once('connect', () => { resolve(new RawConn(s)); });
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { reject(new Error('timeout waiting for data')); }, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  send(b: Uint8Array): void {
    this.sock.write(b);
  }

  /** Read one PDU (by PLEN). */
  async readPdu(ms = 3000): Promise<RawPdu> {
    const deadline = Date.now() + ms;
    while (true) {
      if (this.buf.length >= 8) {
        const plen = this.buf.readUInt32LE(4);
        if (this.buf.length >= plen) {
          const bytes = this.buf.subarray(0, plen);
          this.buf = this.buf.subarray(plen);
          return { type: bytes[0]!, flags: bytes[1]!, hlen: bytes[2]!, pdo: bytes[3]!, plen, bytes };
        }
      }
      if (this.closed) throw new Error(`connection closed with ${this.buf.length} bytes pending`);
      await this.wait(Math.max(1, deadline - Date.now()));
    }
  }

  /** How many bytes arrived in total so far but were not consumed. */
  get pending(): number {
    return this.buf.length;
  }

  /** Wait for the peer to close the connection. */
  async waitClosed(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) await this.wait(Math.max(1, deadline - Date.now()));
  }

  /** ICReq → ICResp (as raw bytes; the caller checks them). */
  async icreq(opts: { hdgst?: boolean; ddgst?: boolean; hpda?: number; maxr2t?: number; pfv?: number } = {}): Promise<RawPdu> {
    const b = Buffer.alloc(128);
    const v = new IcReqView(b).init();
    v.pfv = opts.pfv ?? 0;
    v.hpda = opts.hpda ?? 0;
    v.hdgstEnable = opts.hdgst ?? false;
    v.ddgstEnable = opts.ddgst ?? false;
    v.maxr2t = opts.maxr2t ?? 0;
    this.hdgst = opts.hdgst ?? false;
    this.ddgst = opts.ddgst ?? false;
    this.send(b);
    return this.readPdu();
  }

  /** A CapsuleCmd PDU carrying `sqe` and optional in-capsule `data`. */
  capsule(sqe: Buffer, data?: Buffer): Buffer {
    const n = data?.length ?? 0;
    const pdo = n > 0 ? pduDataOffset(72, this.hdgst) : 0;
    const plen = n > 0 ? pdo + n + (this.ddgst ? 4 : 0) : 72 + (this.hdgst ? 4 : 0);
    const b = Buffer.alloc(plen);
    new CapsuleCmdView(b).init(this.hdgst, this.ddgst, n);
    sqe.copy(b, 8, 0, 64);
    if (this.hdgst) writeHeaderDigest(crc32c, b);
    if (data !== undefined && n > 0) {
      data.copy(b, pdo);
      if (this.ddgst) b.writeUInt32LE(dataDigest(crc32c, data), plen - 4);
    }
    return b;
  }

  /** An H2CData PDU. */
  h2cData(cccid: number, ttag: number, datao: number, data: Buffer, last = true): Buffer {
    const pdo = pduDataOffset(24, this.hdgst);
    const plen = pdo + data.length + (this.ddgst ? 4 : 0);
    const b = Buffer.alloc(plen);
    const v = new H2CDataView(b).init(this.hdgst, this.ddgst, data.length, last);
    v.cccid = cccid;
    v.ttag = ttag;
    v.datao = datao;
    v.datal = data.length;
    if (this.hdgst) writeHeaderDigest(crc32c, b);
    data.copy(b, pdo);
    if (this.ddgst) b.writeUInt32LE(dataDigest(crc32c, data), plen - 4);
    return b;
  }

  end(): void {
    this.sock.end();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** SQE builders (NVMe Base 2.0 §4.2; NVM Command Set §3.2; NVMe-oF 1.1 §3.3). */
export function sqeRw(opcode: 0x01 | 0x02, cid: number, slba: number, nlb: number, nsid = 1): Buffer {
  const s = Buffer.alloc(64);
  s[0] = opcode;
  s.writeUInt16LE(cid, 2);
  s.writeUInt32LE(nsid, 4);
  s.writeUInt32LE(slba, 40);
  s.writeUInt16LE(nlb - 1, 48);
  return s;
}

/** Fill SGL1 as the Linux host does: Data Block/Offset for in-capsule, Transport SGL otherwise. */
export function setSgl(sqe: Buffer, len: number, inCapsule: boolean): Buffer {
  sqe[1] = 0x40;
  sqe.writeUInt32LE(len, 32);
  sqe[39] = inCapsule ? 0x01 : 0x5a;
  return sqe;
}

export function sqeConnect(cid: number, qid: number, sqsize: number, cattr = 0): Buffer {
  const s = Buffer.alloc(64);
  s[0] = 0x7f;
  s.writeUInt16LE(cid, 2);
  s[4] = 0x01;
  s.writeUInt16LE(qid, 42);
  s.writeUInt16LE(sqsize, 44);
  s[46] = cattr;
  return s;
}

export function connectData(subnqn: string, hostnqn: string): Buffer {
  const d = Buffer.alloc(1024);
  d.writeUInt16LE(0xffff, 16); // CNTLID: dynamic
  d.write(subnqn, 256, 'latin1');
  d.write(hostnqn, 512, 'latin1');
  return d;
}

export const PDU = PduType;

export { pattern } from '@nvmu/test-kit';
