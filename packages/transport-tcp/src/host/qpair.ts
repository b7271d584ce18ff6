/**
 * One NVMe/TCP connection on the host side (NVMe/TCP 1.0 §3): ICReq/ICResp, then CapsuleCmd
 * out (with in-capsule data up to the granted size), H2CData in answer to R2T, C2HData
 * reassembled straight into the caller's buffer, CapsuleResp or a SUCCESS-flagged C2HData
 * completing each command.
 *
 * Per-CID state (header slots, digest slots) is preallocated when the qpair opens (the client
 * guarantees CID < queueSize); H2CData header slots are made on a CID's first R2T and kept.
 * The socket is read with `onread` into one reused buffer, so receiving allocates nothing.
 */

import { connect, type Socket } from 'node:net';

import { CapsuleCmdView, CapsuleRespView, H2CDataView, IcReqView, IcRespView, R2TView, TermReqView } from '@nvmu/nvme-spec';
import type { HostDataDirection, HostQPair, HostQPairHandler } from '@nvmu/client';

import {
  CAPSULE_CMD_HLEN,
  CH_FLAGS,
  D_CCCID,
  D_LENGTH,
  D_OFFSET,
  DATA_HLEN,
  DigestEnable,
  DIGEST_LEN,
  GenericStatus,
  ICREQ_LEN,
  MIN_MAXH2CDATA,
  PFV_1_0,
  PduFlags,
  PduType,
  SGL_DATA_BLOCK_OFFSET,
  SGL_TRANSPORT_DATA_BLOCK,
  SQE_PSDT_SGL,
  SQE_SGL_ADDR,
  SQE_SGL_ID,
  SQE_SGL_LEN,
  TERM_REQ_HLEN,
  TermReqFes,
  alignUp,
  at,
  type Crc32c,
} from '../pdu.js';
import { SocketPoller, type BusyPollNative, type BusyPollStats } from '../busy-poll.js';
import { PduReceiver, RX_FATAL, RX_OK, type PduHandler, type RxVerdict } from '../receiver.js';
import { TxBatch } from '../tx.js';

/** Settings of one host connection. */
export interface TcpHostQPairConfig {
  readonly host: string;
  readonly port: number;
  readonly qid: number;
  readonly queueSize: number;
  readonly inCapsuleDataSize: number;
  readonly maxTransferSize: number;
  readonly hdgst: boolean;
  readonly ddgst: boolean;
  /** HPDA sent in ICReq (0's based dwords). */
  readonly hpda: number;
  /** MAXR2T sent in ICReq (0's based). */
  readonly maxr2t: number;
  readonly connectTimeoutMs: number;
  readonly crc32c: Crc32c;
  readonly handler: HostQPairHandler;
  readonly onClosed?: (qp: TcpHostQPair) => void;
  /** The low-latency mode (`busypoll:<us>`), or undefined when it is off. */
  readonly busyPoll?: HostBusyPoll;
}

/** What a host connection needs for the low-latency mode (see busy-poll.ts). */
export interface HostBusyPoll {
  readonly native: BusyPollNative;
  /** Microseconds to poll for the controller's answer after submitting, and after a completion while commands are outstanding. */
  readonly windowUs: number;
  readonly stats: BusyPollStats;
}

/** An NVMe/TCP protocol violation seen by the host, or a TermReq from the controller. */
export class NvmeTcpError extends Error {
  override readonly name = 'NvmeTcpError';
  constructor(
    message: string,
    readonly code: string,
    readonly fes?: number,
  ) {
    super(message);
  }
}

const DIR_NONE = 0;
const DIR_H2C = 1;
const DIR_C2H = 2;

/** Per-command state, one per CID, built at open. */
interface CidState {
  active: boolean;
  dir: number;
  data: Uint8Array;
  off: number;
  len: number;
  inCapsule: boolean;
  /** C2H: bytes received; H2C: end of the data already queued for R2Ts. */
  done: number;
  /** C2H: a C2HData PDU of this command had a wrong data digest (the command fails). */
  ddgstBad: boolean;
  /** CapsuleCmd header slot: HLEN 72, header digest, padding to CPDA (zeroed). */
  readonly capsule: Buffer;
  /** `capsule[0, 72)`: the bytes a header digest covers. */
  readonly capsuleHdr: Buffer;
  /** `capsule[0, 72 + hd)`: what goes on the wire for a capsule without data. */
  readonly capsuleNoData: Buffer;
  /** Cached `capsule[0, n)` of the last in-capsule command sent. */
  txView: Buffer;
  /** nvme-spec view over `capsule` (made once). */
  readonly capsuleView: CapsuleCmdView;
  /** H2CData header slots (lazily made on the first R2T, then reused round-robin). */
  h2c: Buffer[] | undefined;
  h2cHdr: Buffer[] | undefined;
  h2cDd: Buffer[] | undefined;
  h2cViews: H2CDataView[] | undefined;
  h2cNext: number;
}

type QpState = 'connecting' | 'live' | 'closed';

const READ_BUFFER_SIZE = 256 * 1024;
const EMPTY = new Uint8Array(0);

export class TcpHostQPair implements HostQPair, PduHandler {
  readonly qid: number;
  readonly queueSize: number;
  readonly inCapsuleDataSize: number;
  private state: QpState = 'connecting';
  private readonly socket: Socket;
  private readonly rx: PduReceiver;
  private readonly tx: TxBatch;
  /** Busy-polls the socket while commands are outstanding (low-latency mode), or undefined. */
  private readonly poller: SocketPoller | undefined;
  /** Commands submitted and not completed. */
  private outstanding = 0;
  private readonly cids: CidState[] = [];
  private cpdaAlign = 4;
  private cpda = 0;
  private maxh2cdata = MIN_MAXH2CDATA;
  private capsulePdo = 0;
  private h2cStride = 0;
  private h2cSlots = 0;
  private sqhd = 0;
  /** Where CQEs are handed to the client: a view of the receiver's header. */
  private readonly cqeView: Buffer;
  /** The receiver's header as each PDU type the host reads (views made once). */
  private readonly r2tView: R2TView;
  private readonly respView: CapsuleRespView;
  /** A CQE synthesised for SUCCESS-flagged C2HData (NVMe/TCP 1.0 §3.3.3). */
  private readonly synthCqe = Buffer.alloc(16);
  private readonly icreq = Buffer.alloc(ICREQ_LEN);
  private opened: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private pendingCid = 0;
  private closeWaiters: (() => void)[] = [];
  private error: Error | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: TcpHostQPairConfig) {
    this.qid = cfg.qid;
    this.queueSize = cfg.queueSize;
    this.inCapsuleDataSize = cfg.inCapsuleDataSize;
    this.rx = new PduReceiver('host', this, cfg.crc32c);
    // A wrong data digest fails the command, not the connection: the header (and so which
    // command and where) was sound. Linux's host does the same (NVME_SC_DATA_XFER_ERROR).
    this.rx.ddgstErrorsFatal = false;
    this.cqeView = this.rx.hdr.subarray(8, 24);
    // C2HData headers (the read path) are read where they arrived; the other PDUs are staged in
    // `rx.hdr` (rx.header()) for the views over it.
    this.rx.inPlaceHeaders = true;
    this.r2tView = new R2TView(this.rx.hdr);
    this.respView = new CapsuleRespView(this.rx.hdr);
    const readBuf = Buffer.allocUnsafe(READ_BUFFER_SIZE);
    this.socket = connect({
      host: cfg.host,
      port: cfg.port,
      noDelay: true,
      onread: {
        buffer: readBuf,
        callback: (n: number, buf: Uint8Array) => {
          this.rx.pushFrom(buf as Buffer, n);
          return true;
        },
      },
    });
    const bp = cfg.busyPoll;
    // Spins read into the socket's own read buffer: both run on this thread, never at once.
    const poller =
      bp === undefined
        ? undefined
        : new SocketPoller(
            bp.native,
            { socket: this.socket, rx: this.rx, canPoll: () => this.state === 'live' && this.outstanding > 0 && !this.rx.holding },
            readBuf,
            bp.windowUs,
            bp.stats,
          );
    this.poller = poller;
    this.tx = new TxBatch(
      this.socket,
      poller === undefined
        ? undefined
        : () => {
            // Low-latency mode: commands just went out; their answers may be close. After one
            // came, poll on once the caller had its turn if others are still outstanding (a
            // submit from the caller starts a spin of its own sooner).
            if (poller.spin() && this.outstanding > 0) poller.spinLater();
          },
    );
    this.socket.on('error', (err: Error) => {
      this.error ??= err;
    });
    this.socket.on('close', () => {
      this.onSocketClosed();
    });
  }

  /** Connect the socket and exchange ICReq/ICResp; resolves when Connect may be sent. */
  open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.opened = { resolve, reject };
      this.timer = setTimeout(() => {
        this.failOpen(new NvmeTcpError(`NVMe/TCP connection to ${this.cfg.host}:${this.cfg.port} timed out`, 'ETIMEDOUT'));
      }, this.cfg.connectTimeoutMs);
      this.socket.once('connect', () => {
        const v = new IcReqView(this.icreq).init();
        v.pfv = PFV_1_0;
        v.hpda = this.cfg.hpda;
        v.dgst = (this.cfg.hdgst ? DigestEnable.HDGST : 0) | (this.cfg.ddgst ? DigestEnable.DDGST : 0);
        v.maxr2t = this.cfg.maxr2t;
        this.socket.write(this.icreq);
      });
    });
  }

  private failOpen(err: Error): void {
    const o = this.opened;
    this.opened = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.state = 'closed';
    this.socket.destroy();
    o?.reject(err);
  }

  // -------------------------------------------------------------------------------- submit

  submit(sqe: Uint8Array, data: Uint8Array | undefined, dataOffset: number, dataLength: number, direction: HostDataDirection): void {
    if (this.state !== 'live') throw new NvmeTcpError(`qpair ${this.qid} is not connected`, 'ERR_NVMU_TCP_CLOSED');
    const cid = (sqe[2] ?? 0) | ((sqe[3] ?? 0) << 8);
    const st = this.cids[cid];
    if (st === undefined) throw new RangeError(`CID ${cid} out of range (queue size ${this.queueSize})`);
    if (st.active) throw new NvmeTcpError(`CID ${cid} is already outstanding`, 'ERR_NVMU_TCP_CID');
    if (dataLength > this.cfg.maxTransferSize) {
      throw new RangeError(`transfer of ${dataLength} bytes exceeds the transport limit ${this.cfg.maxTransferSize}`);
    }
    const dir = direction === 'none' || dataLength === 0 ? DIR_NONE : direction === 'h2c' ? DIR_H2C : DIR_C2H;
    st.active = true;
    this.outstanding++;
    st.dir = dir;
    st.data = dir === DIR_NONE || data === undefined ? EMPTY : data;
    st.off = dataOffset;
    st.len = dir === DIR_NONE ? 0 : dataLength;
    st.done = 0;
    st.ddgstBad = false;
    st.inCapsule = dir === DIR_H2C && dataLength <= this.inCapsuleDataSize;

    const c = st.capsule;
    c.set(sqe.length === 64 ? sqe : sqe.subarray(0, 64), 8);
    // PSDT 01b (SGL) and SGL1 (NVMe/TCP 1.0 §3.3: Data Block/Offset for in-capsule data, else a
    // Transport SGL Data Block with address 0; length 0 when there is no data).
    c[8 + 1] = (c.readUInt8(8 + 1) & 0x3f) | SQE_PSDT_SGL;
    c.writeUInt32LE(0, 8 + SQE_SGL_ADDR);
    c.writeUInt32LE(0, 8 + SQE_SGL_ADDR + 4);
    c.writeUInt32LE(st.len, 8 + SQE_SGL_LEN);
    c[8 + SQE_SGL_LEN + 4] = 0;
    c[8 + SQE_SGL_LEN + 5] = 0;
    c[8 + SQE_SGL_LEN + 6] = 0;
    c[8 + SQE_SGL_ID] = st.inCapsule ? SGL_DATA_BLOCK_OFFSET : SGL_TRANSPORT_DATA_BLOCK;

    const hd = this.cfg.hdgst;
    const dd = this.cfg.ddgst && st.inCapsule;
    // PDO = HLEN + header digest, padded to CPDA; PLEN covers data and its digest.
    st.capsuleView.init(hd, this.cfg.ddgst, st.inCapsule ? st.len : 0, this.cpda);
    if (hd) c.writeUInt32LE(this.cfg.crc32c(st.capsuleHdr) >>> 0, CAPSULE_CMD_HLEN);
    if (!st.inCapsule) {
      this.tx.write(st.capsuleNoData);
      return;
    }
    // In-capsule data is copied behind the header (at most the granted in-capsule size) so the
    // whole capsule is one contiguous write.
    const view = this.dataView(st, 0, st.len);
    const pdo = this.capsulePdo;
    c.set(view, pdo);
    let end = pdo + st.len;
    if (dd) {
      c.writeUInt32LE(this.cfg.crc32c(view) >>> 0, end);
      end += DIGEST_LEN;
    }
    if (st.txView.length !== end) st.txView = c.subarray(0, end);
    this.tx.write(st.txView);
  }

  private dataView(st: CidState, from: number, len: number): Uint8Array {
    const d = st.data;
    const start = st.off + from;
    return start === 0 && len === d.length ? d : d.subarray(start, start + len);
  }

  // ----------------------------------------------------------------------------- receive

  onHeader(rx: PduReceiver): RxVerdict {
    if (rx.type === PduType.C2HData) {
      const hb = rx.hdrBuf;
      const ho = rx.hdrOff;
      const cid = hb.readUInt16LE(ho + D_CCCID);
      const st = this.cids[cid];
      if (st?.active !== true || st.dir !== DIR_C2H) {
        rx.fail(TermReqFes.InvalidHeaderField, D_CCCID);
        return RX_FATAL;
      }
      const datao = hb.readUInt32LE(ho + D_OFFSET);
      const datal = hb.readUInt32LE(ho + D_LENGTH);
      if (datal !== rx.dataLen) {
        rx.fail(TermReqFes.InvalidHeaderField, D_LENGTH);
        return RX_FATAL;
      }
      if (datao !== st.done || datao + datal > st.len) {
        rx.fail(TermReqFes.DataTransferOutOfRange, D_OFFSET);
        return RX_FATAL;
      }
      if ((rx.flags & PduFlags.SUCCESS) !== 0 && (rx.flags & PduFlags.LAST_PDU) === 0) {
        // TCP 1.0 §3.3.3: SUCCESS only on the last data PDU.
        rx.fail(TermReqFes.InvalidHeaderField, CH_FLAGS);
        return RX_FATAL;
      }
      rx.dst = st.data;
      rx.dstOff = st.off + datao;
      this.pendingCid = cid;
    }
    return RX_OK;
  }

  onPdu(rx: PduReceiver): void {
    switch (rx.type) {
      case PduType.ICResp:
        this.onICResp(rx);
        return;
      case PduType.CapsuleResp:
        this.onCapsuleResp(rx);
        return;
      case PduType.C2HData:
        this.onC2HData(rx);
        return;
      case PduType.R2T:
        this.onR2T(rx);
        return;
      case PduType.C2HTermReq: {
        const fes = new TermReqView(rx.header()).fes;
        const err = new NvmeTcpError(`controller terminated the connection (C2HTermReq FES ${fes})`, 'ERR_NVMU_TCP_TERMREQ', fes);
        this.error = err;
        if (this.opened !== undefined) this.failOpen(err);
        else this.socket.destroy();
        return;
      }
      default:
        return;
    }
  }

  onFatal(fes: TermReqFes, fei: number, rx: PduReceiver): void {
    this.error ??= new NvmeTcpError(`NVMe/TCP protocol error from controller (FES ${fes}, field ${fei})`, 'ERR_NVMU_TCP_PROTOCOL', fes);
    if (this.opened !== undefined) {
      this.failOpen(this.error);
      return;
    }
    // TCP 1.0 §3.6.2.8: tell the controller why, then close.
    const n = Math.min(rx.headerBytes, 128);
    const b = Buffer.alloc(TERM_REQ_HLEN + n);
    new TermReqView(b).init(PduType.H2CTermReq, fes, fei, n);
    rx.hdr.copy(b, TERM_REQ_HLEN, 0, n);
    this.socket.end(b);
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onICResp(rx: PduReceiver): void {
    const h = new IcRespView(rx.header());
    const want = (this.cfg.hdgst ? DigestEnable.HDGST : 0) | (this.cfg.ddgst ? DigestEnable.DDGST : 0);
    if (h.pfv !== PFV_1_0) {
      this.failOpen(new NvmeTcpError('ICResp: unsupported PFV', 'ERR_NVMU_TCP_ICRESP'));
      return;
    }
    const cpda = h.cpda;
    const dgst = h.dgst & (DigestEnable.HDGST | DigestEnable.DDGST);
    const maxh2c = h.maxh2cdata;
    if (cpda > 31) {
      this.failOpen(new NvmeTcpError(`ICResp: bad CPDA ${cpda}`, 'ERR_NVMU_TCP_ICRESP'));
      return;
    }
    if (dgst !== want) {
      this.failOpen(new NvmeTcpError(`ICResp: digests ${dgst} differ from requested ${want}`, 'ERR_NVMU_TCP_ICRESP'));
      return;
    }
    if (maxh2c < MIN_MAXH2CDATA || maxh2c % 4 !== 0) {
      this.failOpen(new NvmeTcpError(`ICResp: bad MAXH2CDATA ${maxh2c}`, 'ERR_NVMU_TCP_ICRESP'));
      return;
    }
    this.cpda = cpda;
    this.cpdaAlign = (cpda + 1) * 4;
    this.maxh2cdata = maxh2c;
    const hd = this.cfg.hdgst ? DIGEST_LEN : 0;
    this.capsulePdo = alignUp(CAPSULE_CMD_HLEN + hd, this.cpdaAlign);
    this.h2cStride = alignUp(DATA_HLEN + hd, this.cpdaAlign);
    this.h2cSlots = Math.ceil(this.cfg.maxTransferSize / maxh2c) + this.cfg.maxr2t + 2;
    for (let i = 0; i < this.queueSize; i++) {
      const capsule = Buffer.alloc(this.capsulePdo + this.inCapsuleDataSize + DIGEST_LEN);
      this.cids.push({
        active: false,
        dir: DIR_NONE,
        data: EMPTY,
        off: 0,
        len: 0,
        inCapsule: false,
        done: 0,
        ddgstBad: false,
        capsule,
        capsuleHdr: capsule.subarray(0, CAPSULE_CMD_HLEN),
        capsuleNoData: capsule.subarray(0, CAPSULE_CMD_HLEN + hd),
        txView: capsule,
        capsuleView: new CapsuleCmdView(capsule),
        h2c: undefined,
        h2cHdr: undefined,
        h2cDd: undefined,
        h2cViews: undefined,
        h2cNext: 0,
      });
    }
    rx.connected = true;
    rx.hdgst = this.cfg.hdgst;
    rx.ddgst = this.cfg.ddgst;
    rx.maxDataPdu = this.cfg.maxTransferSize;
    rx.maxCapsuleData = 0;
    rx.pdoAlign = (this.cfg.hpda + 1) * 4;
    this.state = 'live';
    const o = this.opened;
    this.opened = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    o?.resolve();
  }

  private onCapsuleResp(rx: PduReceiver): void {
    rx.header(); // respView and cqeView are views over rx.hdr
    const cqe = this.respView.cqe;
    const cid = cqe.cid;
    const st = this.cids[cid];
    if (st?.active !== true) {
      rx.fail(TermReqFes.InvalidHeaderField, 8 + 12);
      return;
    }
    this.sqhd = cqe.sqhd;
    st.active = false;
    this.outstanding--;
    st.data = EMPTY;
    // Data that arrived damaged makes a successful command a Transient Transport Error (22h).
    if (st.ddgstBad && cqe.status === 0) this.cqeView.writeUInt16LE(GenericStatus.TransientTransportError << 1, 14);
    if (this.state === 'live') this.cfg.handler.completion(this.cqeView);
  }

  private onC2HData(rx: PduReceiver): void {
    const cid = this.pendingCid;
    const st = at(this.cids, cid);
    st.done += rx.dataLen;
    if (rx.ddgstError) st.ddgstBad = true;
    if ((rx.flags & PduFlags.SUCCESS) === 0) return;
    // TCP 1.0 §3.3.3: SUCCESS completes the command; no CapsuleResp follows. Synthesise the CQE.
    const q = this.synthCqe;
    q.fill(0);
    q.writeUInt16LE(this.sqhd, 8);
    q.writeUInt16LE(this.qid, 10);
    q.writeUInt16LE(cid, 12);
    if (st.ddgstBad) q.writeUInt16LE(GenericStatus.TransientTransportError << 1, 14);
    st.active = false;
    this.outstanding--;
    st.data = EMPTY;
    if (this.state === 'live') this.cfg.handler.completion(q);
  }

  /** TCP 1.0 §3.3.2: send the asked-for range as H2CData PDUs of at most MAXH2CDATA bytes. */
  private onR2T(rx: PduReceiver): void {
    rx.header(); // r2tView is a view over rx.hdr
    const h = this.r2tView;
    const cid = h.cccid;
    const st = this.cids[cid];
    if (st?.active !== true || st.dir !== DIR_H2C || st.inCapsule) {
      rx.fail(TermReqFes.InvalidHeaderField, D_CCCID);
      return;
    }
    const ttag = h.ttag;
    const r2to = h.r2to;
    const r2tl = h.r2tl;
    if (r2tl === 0 || r2to < st.done || r2to + r2tl > st.len) {
      rx.fail(TermReqFes.DataTransferOutOfRange, D_OFFSET);
      return;
    }
    const slots = st.h2c ?? this.makeH2CSlots(st);
    const hdrs = st.h2cHdr ?? slots;
    const dds = st.h2cDd ?? slots;
    const views = st.h2cViews ?? [];
    const hd = this.cfg.hdgst;
    const dd = this.cfg.ddgst;
    let off = r2to;
    const end = r2to + r2tl;
    while (off < end) {
      const len = Math.min(this.maxh2cdata, end - off);
      const last = off + len === end;
      const i = st.h2cNext;
      st.h2cNext = (i + 1) % slots.length;
      const s = at(slots, i);
      const v = at(views, i);
      v.init(hd, dd, len, last, this.cpda);
      v.cccid = cid;
      v.ttag = ttag;
      v.datao = off;
      v.datal = len;
      if (hd) s.writeUInt32LE(this.cfg.crc32c(at(hdrs, i)) >>> 0, DATA_HLEN);
      this.tx.write(s);
      const view = this.dataView(st, off, len);
      this.tx.write(view);
      if (dd) {
        const d = at(dds, i);
        d.writeUInt32LE(this.cfg.crc32c(view) >>> 0, 0);
        this.tx.write(d);
      }
      off += len;
    }
    st.done = end;
  }

  private makeH2CSlots(st: CidState): Buffer[] {
    const n = this.h2cSlots;
    const stride = this.h2cStride;
    const slab = Buffer.alloc(n * (stride + DIGEST_LEN));
    const slots: Buffer[] = [];
    const hdrs: Buffer[] = [];
    const dds: Buffer[] = [];
    const views: H2CDataView[] = [];
    for (let i = 0; i < n; i++) {
      const s = slab.subarray(i * stride, (i + 1) * stride);
      slots.push(s);
      views.push(new H2CDataView(s));
      hdrs.push(s.subarray(0, DATA_HLEN));
      dds.push(slab.subarray(n * stride + i * DIGEST_LEN, n * stride + (i + 1) * DIGEST_LEN));
    }
    st.h2c = slots;
    st.h2cHdr = hdrs;
    st.h2cDd = dds;
    st.h2cViews = views;
    return slots;
  }

  // ------------------------------------------------------------------------------- close

  close(): Promise<void> {
    if (this.state === 'closed' && this.socket.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
      if (this.state !== 'closed') {
        this.state = 'closed';
        this.socket.end();
        setTimeout(() => this.socket.destroy(), 1000).unref();
      }
    });
  }

  private onSocketClosed(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.opened !== undefined) {
      this.failOpen(this.error ?? new NvmeTcpError(`connection to ${this.cfg.host}:${this.cfg.port} closed during ICReq`, 'ECONNRESET'));
    }
    const wasLive = this.state === 'live';
    this.state = 'closed';
    for (const st of this.cids) {
      st.active = false;
      st.data = EMPTY;
    }
    this.outstanding = 0;
    if (wasLive) this.cfg.handler.disconnected(this.error ?? new NvmeTcpError('controller closed the connection', 'ECONNRESET'));
    const w = this.closeWaiters;
    this.closeWaiters = [];
    for (const f of w) f();
    this.cfg.onClosed?.(this);
  }
}
