/**
 * One NVMe/TCP connection on the controller side: ICReq/ICResp, then command capsules in,
 * R2T / C2HData / CapsuleResp out (NVMe/TCP 1.0 §3). One connection carries one queue (admin
 * or I/O; which one is known only after the core handled Connect).
 *
 * A command's life here (`TcpReqState.phase`, after SPDK lib/nvmf/tcp.c's request states):
 *
 * ```
 *  idle ─CapsuleCmd header─▶ capsule ─PDU complete─▶ (in-capsule data or no data, or c2h) exec
 *                                                 └▶ (h2c, transport SGL) r2t ─all H2CData─▶ exec
 *    (data larger than the small buffer: capsule ─▶ need-buffer ─pool buffer─▶ r2t or exec)
 *  exec ─core complete()─▶ sending ─last write callback─▶ idle (qpair.freeRequest)
 * ```
 *
 * Memory per connection is sized by Connect, not by the ICReq: until Connect succeeds the
 * connection holds the receiver's header buffer and one request whose buffer fits the 1 KiB of
 * Connect data (a few KiB in all; more in-capsule data before Connect is a fatal error). When
 * Connect says the queue size, the core grows the pool to SQSIZE + 1 requests, each with a
 * small data buffer (sized for in-capsule data) and a slab of preallocated PDU header slots. A
 * connection that has not connected within `connectTimeoutMs` of its accept is closed. A command whose data does not fit the small buffer borrows a `maxIoSize` buffer from
 * the transport-wide `SharedBufferPool` for its lifetime, waiting in phase `need-buffer` while
 * none is free (SPDK's NEED_BUFFER), so large transfers never allocate and their memory is
 * bounded by the pool. The socket stops being read while the request pool is empty or its
 * write queue is above `txHighWater`.
 *
 * The data buffer is laid out as a whole response (`[C2HData header | data | DDGST |
 * CapsuleResp]`), so a read that fits one C2HData PDU leaves in one write; the lone
 * CapsuleResps of a turn (writes, errors) leave as one chunk (resp-batch.ts); every PDU written
 * in one event-loop turn goes out in one writev (tx.ts). The socket reads into the transport's
 * one read buffer (socket-read.ts), never into a Buffer allocated per read.
 */

import type { Socket } from 'node:net';

import { C2HDataView, CapsuleRespView, FABRICS_OPCODE, IcReqView, IcRespView, R2TView, TermReqView, writeC2HDataHeader } from '@nvmu/nvme-spec';
import type {
  ListenAddress,
  QPair,
  QPairCloseReason,
  QPairTransportOps,
  Request,
  TransportCore,
} from '@nvmu/nvmf';

import {
  ADMIN_IN_CAPSULE,
  CAPSULE_CMD_HLEN,
  CAPSULE_RESP_HLEN,
  CH_PLEN,
  COMMON_HDR_LEN,
  D_CCCID,
  D_LENGTH,
  D_OFFSET,
  D_TTAG,
  DATA_HLEN,
  DigestEnable,
  DIGEST_LEN,
  IC_PDA,
  IC_PFV,
  ICRESP_LEN,
  PFV_1_0,
  PduType,
  R2T_HLEN,
  SGL_DATA_BLOCK_OFFSET,
  SGL_TRANSPORT_DATA_BLOCK,
  SQE_SGL_ADDR,
  SQE_SGL_ID,
  SQE_SGL_LEN,
  GenericStatus,
  TERM_REQ_HLEN,
  TR_FES,
  TermReqFes,
  alignUp,
  at,
  type Crc32c,
} from '../pdu.js';
import { SocketPoller, type BusyPollNative, type BusyPollStats } from '../busy-poll.js';
import { PduReceiver, RX_FATAL, RX_OK, RX_STALL, type PduHandler, type RxVerdict } from '../receiver.js';
import { TxBatch } from '../tx.js';
import type { BufferOwner, BufferWaiter, DataBuf, SharedBufferPool } from './buffer-pool.js';
import { ResponseBatch } from './resp-batch.js';
import { readInto } from './socket-read.js';
import type { MemoryReleaseStats } from './memory-release.js';

/** Connect's data (NVMe-oF 1.1 Figure 20): all the in-capsule data accepted before Connect. */
const CONNECT_DATA_SIZE = 1024;
/** ICReq DGST bits other than HDGST_ENABLE and DDGST_ENABLE (TCP 1.0 Figure 26: reserved). */
const DGST_RESERVED = 0xfc;

/** Where a command is in this transport; see the module comment. */
export type TcpReqPhase = 'idle' | 'capsule' | 'need-buffer' | 'r2t' | 'exec' | 'sending';

/** The transport's per-request state (`Request.transportData`), built once per pooled request. */
export interface TcpReqState extends BufferWaiter {
  phase: TcpReqPhase;
  /**
   * The data buffer in use (`small` or one lent by the shared pool), laid out as one whole
   * response so a read that fits one C2HData PDU goes out in a single write:
   * `[C2HData header + digest + pad (dataOff)] [data] [DDGST] [CapsuleResp]`. Command data
   * always starts at `dataOff`. Its cached views make repeated I/O of one size allocate none.
   */
  data: DataBuf;
  /** The request's own buffer, sized for in-capsule data (the admin queue's 8 KiB at least; Connect's 1 KiB before Connect). */
  small: DataBuf;
  /** True while `data` is lent by the shared pool. */
  pooled: boolean;
  /** Transfer length of a command waiting for (or about to ask for) a pool buffer; else 0. */
  bigLen: number;
  /** Host-to-controller bytes received so far (H2CData) for an R2T transfer. */
  h2cOffset: number;
  /** End (exclusive) of the data covered by R2Ts sent so far. */
  r2tEnd: number;
  /** Status to fail the command with once its PDU is consumed (0: none). */
  failStatus: number;
  /** PDU header slots (R2T, C2HData, CapsuleResp), each `slotStride` bytes, pad pre-zeroed. */
  readonly slots: Buffer[];
  /** The first 24 bytes of each slot (the bytes a header digest covers). */
  readonly slotHdr: Buffer[];
  /** The first 28 bytes of each slot (a 24-byte header and its digest). */
  readonly slotHdr4: Buffer[];
  /** A 4-byte data digest slot per header slot. */
  readonly ddgst: Buffer[];
  /** nvme-spec views over the slots, made once: C2HData / R2T on every slot, CapsuleResp on the last. */
  readonly c2h: C2HDataView[];
  /** The first 24 bytes of `small.buf` (what the header digest of that header covers). */
  smallHdr: Buffer;
  /** DataView over `small.buf` (a whole response's C2HData header and CapsuleResp, by dwords). */
  smallDv: DataView;
  readonly r2t: R2TView[];
  readonly resp: CapsuleRespView;
  /** Write callback of the response's last buffer: gives the request back to the pool. */
  readonly onSent: (err?: Error | null) => void;
}

/** Connection-level settings, fixed by the transport options and the ICReq. */
export interface TcpTargetConnectionConfig {
  readonly core: TransportCore;
  readonly crc32c: Crc32c;
  readonly listenAddress: ListenAddress;
  readonly depth: number;
  readonly maxIoSize: number;
  readonly inCapsuleDataSize: number;
  readonly maxH2CData: number;
  readonly c2hDataSize: number;
  readonly r2tSize: number;
  readonly maxR2T: number;
  readonly c2hSuccess: boolean;
  readonly txHighWater: number;
  readonly icTimeoutMs: number;
  /** Milliseconds from accept to a successful Connect before the connection is closed. */
  readonly connectTimeoutMs: number;
  /** Transport-wide large data buffers (shared by every connection). */
  readonly pool: SharedBufferPool;
  /**
   * The transport's read buffer, shared by every connection (each read is consumed, or the
   * unconsumed rest copied, before the next read of any socket reuses it); undefined: read
   * with Node's per-read Buffers ('data' events).
   */
  readonly readBuffer: Buffer | undefined;
  readonly onClosed: (conn: TcpTargetConnection) => void;
  /** Counters shared by every connection of the transport. */
  readonly stats: TcpTargetStats;
  /** The low-latency mode (the transport's `busyPollUs`), or undefined when it is off. */
  readonly busyPoll: TargetBusyPoll | undefined;
}

/** What a connection needs for the low-latency mode (see busy-poll.ts). */
export interface TargetBusyPoll {
  readonly native: BusyPollNative;
  /** Microseconds to poll for the next PDU after writing a response. */
  readonly windowUs: number;
  /** The transport's spin read buffer (spins run one at a time on the event loop's thread). */
  readonly buf: Buffer;
  readonly stats: BusyPollStats;
}

type ConnState = 'ic' | 'live' | 'closing' | 'closed';

/** Transport-wide counters (see `TcpTargetTransport.stats`); the memory trims are memory-release.ts's. */
export interface TcpTargetStats extends MemoryReleaseStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections whose ICReq was accepted, and those with header / data digests. */
  icreqs: number;
  hdgstConnections: number;
  ddgstConnections: number;
  /** C2HTermReqs sent (fatal protocol errors), and H2CTermReqs received. */
  termReqsSent: number;
  termReqsReceived: number;
  /** Commands received, R2Ts and C2HData PDUs sent, completions sent with SUCCESS. */
  capsules: number;
  r2ts: number;
  c2hData: number;
  c2hSuccess: number;
  /** The most unsent bytes any connection's socket held after a flush (backpressure bound). */
  maxTxQueued: number;
  /** Times a connection stopped reading because its socket held more than txHighWater unsent bytes. */
  txStalls: number;
  /** Connections closed for sending no ICReq in time, and for not connecting in time. */
  icTimeouts: number;
  connectTimeouts: number;
  /** Connections refused at accept because `maxConnections` were open. */
  refusedConnections: number;
  /** Bytes of request buffers (data buffers, PDU header slots) open connections hold now. */
  connectionBytes: number;
  /** Socket reads (each a batch of bytes handed to a receiver) and the bytes they carried. */
  socketReads: number;
  bytesRead: number;
}

export class TcpTargetConnection implements PduHandler, QPairTransportOps<TcpReqState> {
  /** The connection's socket (the accepted one, or the one its handle moved to: socket-read.ts). */
  readonly socket: Socket;
  /** True when the socket reads into the transport's read buffer (no Buffer per read). */
  readonly userBufferReads: boolean;
  private state: ConnState = 'ic';
  /** Pool buffers this connection holds (capped by the pool). */
  private readonly poolOwner: BufferOwner = { held: 0 };
  private readonly rx: PduReceiver;
  private readonly tx: TxBatch;
  /** Busy-polls the socket after each flush of responses (low-latency mode), or undefined. */
  private readonly poller: SocketPoller | undefined;
  private qp: QPair<TcpReqState> | undefined;
  private readonly reqs: Request<TcpReqState>[] = [];
  private hdgst = false;
  private ddgst = false;
  /** Alignment of C2H data required by the host (HPDA, 0's based dwords). */
  private hpdaAlign = 4;
  private hpda = 0;
  /** How many R2Ts may be outstanding per command (the host's MAXR2T + 1, capped by ours). */
  private r2tMax = 1;
  /** Header slot size: the C2HData PDO (HLEN + header digest, padded to HPDA). */
  private slotStride = 0;
  private slotCount = 0;
  private stalledOnPool = false;
  private stalledOnTx = false;
  private icTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  /** Bytes of request buffers this connection holds (counted in `stats.connectionBytes`). */
  private bytes = 0;
  /** Lone CapsuleResps of a turn, written as one chunk (resp-batch.ts); made at Connect. */
  private resp: ResponseBatch<Request<TcpReqState>> | undefined;
  /** Each ring slot's first 24 bytes (what a header digest covers), with header digests on. */
  private respHdr: Buffer[] = [];
  private readonly onDrain = (): void => {
    this.stalledOnTx = false;
    this.maybeResume();
  };

  /** @param accepted a socket accepted with `pauseOnConnect` (not reading yet). */
  constructor(
    accepted: Socket,
    private readonly cfg: TcpTargetConnectionConfig,
  ) {
    const rx = new PduReceiver('controller', this, cfg.crc32c);
    this.rx = rx;
    const reader = readInto(
      accepted,
      cfg.readBuffer,
      true,
      (buf, n) => {
        const st = cfg.stats;
        st.socketReads++;
        st.bytesRead += n;
        // Once closing, input is read only to see the host's FIN, and dropped.
        if (this.state !== 'closing') rx.pushFrom(buf, n);
      },
      (chunk) => {
        const st = cfg.stats;
        st.socketReads++;
        st.bytesRead += chunk.length;
        if (this.state !== 'closing') rx.push(chunk);
      },
    );
    const socket = reader.socket;
    this.socket = socket;
    this.userBufferReads = reader.userBuffer;
    // A data digest error fails the command (Transient Transport Error), not the connection.
    this.rx.ddgstErrorsFatal = false;
    // Headers are read where they arrived (no staging copy); see onCapsuleHeader.
    this.rx.inPlaceHeaders = true;
    const bp = cfg.busyPoll;
    this.poller =
      bp === undefined
        ? undefined
        : new SocketPoller(bp.native, { socket, rx: this.rx, canPoll: () => this.canPoll() }, bp.buf, bp.windowUs, bp.stats);
    this.tx = new TxBatch(
      socket,
      () => {
        this.checkTxPressure();
        // Low-latency mode: the responses just went out; the host's next PDU may be close.
        this.poller?.spin();
      },
      () => {
        this.resp?.flush();
      },
    );
    socket.setNoDelay(true);
    socket.on('drain', this.onDrain);
    socket.on('end', () => {
      // The host closed its side. In the middle of a PDU that PDU is truncated: say so
      // (TermReq, PLEN promised more) before closing ours.
      if (this.rx.midPdu) this.rx.fail(TermReqFes.InvalidHeaderField, CH_PLEN);
      else this.shutdown(true);
    });
    socket.on('error', () => {
      // 'close' follows; nothing else to do (the peer reset or the socket broke).
    });
    socket.on('close', () => {
      this.onSocketClosed();
    });
    this.icTimer = setTimeout(() => {
      if (this.state !== 'ic') return;
      cfg.stats.icTimeouts++;
      cfg.core.logger.warn('nvme-tcp: no ICReq in time, closing the connection', { timeoutMs: cfg.icTimeoutMs, peer: this.peer });
      this.socket.destroy();
    }, cfg.icTimeoutMs);
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.state !== 'live' && this.state !== 'ic') return;
      cfg.stats.connectTimeouts++;
      cfg.core.logger.warn('nvme-tcp: no successful Connect in time, closing the connection', {
        timeoutMs: cfg.connectTimeoutMs,
        peer: this.peer,
        icreq: this.state === 'live',
      });
      this.shutdown(false);
    }, cfg.connectTimeoutMs);
  }

  /** The host's address and port, for logs. */
  private get peer(): string {
    const a = this.socket.remoteAddress ?? '?';
    return `${this.socket.remoteFamily === 'IPv6' ? `[${a}]` : a}:${String(this.socket.remotePort ?? '')}`;
  }

  /** The qpair once the ICReq was accepted. */
  get qpair(): QPair<TcpReqState> | undefined {
    return this.qp;
  }

  // ---------------------------------------------------------------- receiving (PduHandler)

  onHeader(rx: PduReceiver): RxVerdict {
    switch (rx.type) {
      case PduType.CapsuleCmd:
        return this.onCapsuleHeader(rx);
      case PduType.H2CData:
        return this.onH2CDataHeader(rx);
      default:
        return RX_OK; // ICReq: no data
    }
  }

  onPdu(rx: PduReceiver): void {
    switch (rx.type) {
      case PduType.ICReq:
        this.onICReq(rx);
        return;
      case PduType.CapsuleCmd:
        this.onCapsule();
        return;
      case PduType.H2CData:
        this.onH2CData(rx);
        return;
      case PduType.H2CTermReq:
        this.cfg.stats.termReqsReceived++;
        this.cfg.core.logger.warn('nvme-tcp: host sent H2CTermReq', {
          fes: rx.hdrBuf.readUInt16LE(rx.hdrOff + TR_FES),
          peer: this.socket.remoteAddress,
        });
        this.shutdown(false);
        return;
      default:
        // The receiver accepts no other type.
        return;
    }
  }

  onFatal(fes: TermReqFes, fei: number, rx: PduReceiver): void {
    this.cfg.core.logger.warn('nvme-tcp: fatal transport error, sending C2HTermReq', {
      fes,
      fei,
      pduType: rx.type,
      peer: this.socket.remoteAddress,
    });
    this.cfg.stats.termReqsSent++;
    this.sendTermReq(fes, fei, rx);
    this.shutdown(true);
  }

  /** NVMe/TCP 1.0 §3.6.2.2: check the ICReq and answer with exactly one 128-byte ICResp. */
  private onICReq(rx: PduReceiver): void {
    const h = new IcReqView(rx.hdrBuf, rx.hdrOff);
    if (h.pfv !== PFV_1_0) {
      rx.fail(TermReqFes.UnsupportedParameter, IC_PFV);
      return;
    }
    const hpda = h.hpda;
    if (hpda > 31) {
      rx.fail(TermReqFes.InvalidHeaderField, IC_PDA);
      return;
    }
    const dgst = h.dgst;
    const maxr2t = h.maxr2t; // 0's based
    if ((dgst & DGST_RESERVED) !== 0 || rx.flags !== 0) {
      // Reserved DGST bits and common-header FLAGS in an ICReq: Linux nvmet (tcp.c,
      // nvmet_tcp_handle_icreq) ignores both and answers with only the digests it enables;
      // do the same, but say so, so a host sending them is visible.
      this.cfg.core.logger.warn('nvme-tcp: ICReq with reserved DGST bits or FLAGS set; ignored as Linux nvmet does', {
        dgst,
        flags: rx.flags,
        peer: this.peer,
      });
    }
    this.hdgst = (dgst & DigestEnable.HDGST) !== 0;
    this.ddgst = (dgst & DigestEnable.DDGST) !== 0;
    this.hpda = hpda;
    this.hpdaAlign = (hpda + 1) * 4;
    this.r2tMax = Math.max(1, Math.min(this.cfg.maxR2T, maxr2t + 1));
    if (this.icTimer !== undefined) clearTimeout(this.icTimer);
    this.icTimer = undefined;

    // Header slots: as many as the most PDUs one command sends at once, plus the CapsuleResp.
    this.slotStride = alignUp(DATA_HLEN + (this.hdgst ? DIGEST_LEN : 0), this.hpdaAlign);
    this.slotCount = Math.max(Math.ceil(this.cfg.maxIoSize / this.cfg.c2hDataSize), this.r2tMax) + 1;

    const resp = Buffer.alloc(ICRESP_LEN);
    const rv = new IcRespView(resp).init();
    rv.pfv = PFV_1_0;
    rv.cpda = 0; // CPDA 0: the Linux host requires it (INTEROP.md)
    rv.dgst = dgst & (DigestEnable.HDGST | DigestEnable.DDGST); // exactly what the host asked for
    rv.maxh2cdata = this.cfg.maxH2CData;

    this.state = 'live';
    const st = this.cfg.stats;
    st.icreqs++;
    if (this.hdgst) st.hdgstConnections++;
    if (this.ddgst) st.ddgstConnections++;
    this.rx.connected = true;
    this.rx.hdgst = this.hdgst;
    this.rx.ddgst = this.ddgst;
    // Until Connect succeeds only Connect is valid, and its data is 1 KiB: the one request made
    // now has room for no more (connected() raises this to the queue's in-capsule size).
    this.rx.maxCapsuleData = CONNECT_DATA_SIZE;
    this.rx.maxDataPdu = this.cfg.maxH2CData;

    const local = this.socket.localAddress ?? '';
    const peer = this.socket.remoteAddress ?? '';
    this.qp = this.cfg.core.createQPair<TcpReqState>(this, {
      depth: this.cfg.depth,
      // One request until Connect says the queue size (then SQSIZE + 1, see connected()).
      preConnectDepth: 1,
      listenAddress: this.cfg.listenAddress,
      localAddress: {
        trtype: 'tcp',
        adrfam: this.socket.localFamily === 'IPv6' ? 'ipv6' : 'ipv4',
        traddr: local,
        trsvcid: String(this.socket.localPort ?? ''),
      },
      peerAddress: {
        trtype: 'tcp',
        adrfam: this.socket.remoteFamily === 'IPv6' ? 'ipv6' : 'ipv4',
        traddr: peer,
        trsvcid: String(this.socket.remotePort ?? ''),
      },
    });
    // One write of all 128 bytes: Linux 6.1 reads the ICResp with a single recvmsg.
    this.socket.write(resp);
  }

  /** TCP 1.0 §3.3: a command capsule; its data (if any) follows in the same PDU. */
  private onCapsuleHeader(rx: PduReceiver): RxVerdict {
    const qp = this.live();
    const req = qp.allocRequest();
    if (req === undefined) {
      // Every request is busy (some only until their last write callback): stop reading
      // until one comes back rather than failing the host.
      this.stalledOnPool = true;
      this.socket.pause();
      return RX_STALL;
    }
    const td = req.transportData;
    this.cfg.stats.capsules++;
    td.phase = 'capsule';
    td.failStatus = 0;
    td.h2cOffset = 0;
    td.r2tEnd = 0;
    td.bigLen = 0;
    // The SQE outlives the socket chunk its header may lie in (the receiver parses in place).
    rx.hdrBuf.copy(req.sqeBytes, 0, rx.hdrOff + COMMON_HDR_LEN, rx.hdrOff + CAPSULE_CMD_HLEN);
    this.capsuleReq = req;
    const sqe = req.sqeBytes;
    const sglId = sqe.readUInt8(SQE_SGL_ID);
    const sglLen = sqe.readUInt32LE(SQE_SGL_LEN);
    req.clearData();
    if (rx.dataLen > 0) {
      // In-capsule data: Data Block descriptor, Offset subtype; address = offset into the data.
      const sglOff = sqe.readUInt32LE(SQE_SGL_ADDR) + sqe.readUInt32LE(SQE_SGL_ADDR + 4) * 0x1_0000_0000;
      // The receiver never accepts more in-capsule data than the small buffer holds.
      rx.dst = td.data.buf;
      rx.dstOff = this.slotStride;
      if (sglId !== SGL_DATA_BLOCK_OFFSET) {
        td.failStatus = GenericStatus.SglDescriptorTypeInvalid;
      } else if (qp.qid > 0 && sqe[0] !== FABRICS_OPCODE && rx.dataLen > this.cfg.inCapsuleDataSize) {
        // More in-capsule data than IOCCSZ allows on an I/O queue (fabrics commands such as
        // Connect are accepted in-capsule whatever IOCCSZ says: recent Linux hosts send them so).
        // SPDK answers Data SGL Length Invalid.
        td.failStatus = GenericStatus.DataSglLengthInvalid;
      } else if (sglOff + sglLen > rx.dataLen) {
        td.failStatus = sglOff >= rx.dataLen ? GenericStatus.InvalidSglOffset : GenericStatus.DataSglLengthInvalid;
      } else if (sglLen > 0) {
        const at0 = this.slotStride + sglOff;
        req.setData(sglOff === 0 ? this.viewOf(td, sglLen) : td.data.buf.subarray(at0, at0 + sglLen));
      }
      return RX_OK;
    }
    if (sglId === SGL_TRANSPORT_DATA_BLOCK) {
      if (sglLen === 0) return RX_OK;
      if (sglLen > this.cfg.maxIoSize) {
        td.failStatus = GenericStatus.DataSglLengthInvalid;
        return RX_OK;
      }
      if (sglLen > this.smallCap) {
        // Needs a pool buffer: asked for once the PDU is consumed (onCapsule).
        td.bigLen = sglLen;
        return RX_OK;
      }
      req.setData(this.viewOf(td, sglLen));
      return RX_OK;
    }
    if (sglId === SGL_DATA_BLOCK_OFFSET && sglLen === 0) return RX_OK;
    td.failStatus = sglId === SGL_DATA_BLOCK_OFFSET ? GenericStatus.DataSglLengthInvalid : GenericStatus.SglDescriptorTypeInvalid;
    return RX_OK;
  }

  private capsuleReq: Request<TcpReqState> | undefined;

  private onCapsule(): void {
    const req = this.capsuleReq;
    this.capsuleReq = undefined;
    if (req === undefined) return;
    const td = req.transportData;
    const qp = this.live();
    // NVMe/TCP 1.0: in-capsule data with a wrong digest completes the command with Transient
    // Transport Error (the host may retry it); the header was sound, so the connection stays.
    if (this.rx.ddgstError && td.failStatus === 0) td.failStatus = GenericStatus.TransientTransportError;
    if (td.failStatus !== 0) {
      td.phase = 'exec';
      qp.fail(req, td.failStatus);
      return;
    }
    if (td.bigLen > 0) {
      const b = this.cfg.pool.get(td);
      if (b === undefined) {
        td.phase = 'need-buffer';
        return;
      }
      this.attachPooled(req, b);
    }
    this.proceed(req, this.rx.dataLen > 0);
  }

  /** Data has a place: ask for host data (R2T) or hand the command to the core. */
  private proceed(req: Request<TcpReqState>, inCapsule: boolean): void {
    const td = req.transportData;
    if (req.length > 0 && req.xfer === 'host-to-controller' && !inCapsule) {
      td.phase = 'r2t';
      this.sendR2Ts(req);
      return;
    }
    td.phase = 'exec';
    this.live().submit(req);
  }

  private attachPooled(req: Request<TcpReqState>, b: DataBuf): void {
    const td = req.transportData;
    td.data = b;
    td.pooled = true;
    req.setData(this.viewOf(td, td.bigLen));
  }

  /** The pool lent a buffer to a request in `need-buffer` (called from another request's release). */
  private onPoolBuffer(req: Request<TcpReqState>, b: DataBuf): void {
    this.attachPooled(req, b);
    // A closing connection keeps the buffer until onSocketClosed gives it back.
    if (this.state === 'live') this.proceed(req, false);
  }

  /** TCP 1.0 §3.3.2: ask for host data, up to r2tMax R2Ts outstanding per command. */
  private sendR2Ts(req: Request<TcpReqState>): void {
    const td = req.transportData;
    const size = this.cfg.r2tSize;
    const done = Math.floor(td.h2cOffset / size);
    while (td.r2tEnd < req.length) {
      const issued = Math.ceil(td.r2tEnd / size);
      if (issued - done >= this.r2tMax) break;
      const off = td.r2tEnd;
      const len = Math.min(size, req.length - off);
      const slot = issued % this.r2tMax;
      const v = at(td.r2t, slot);
      v.init(this.hdgst);
      v.cccid = req.cid;
      v.ttag = req.index;
      v.r2to = off;
      v.r2tl = len;
      if (this.hdgst) at(td.slots, slot).writeUInt32LE(this.cfg.crc32c(at(td.slotHdr, slot)) >>> 0, R2T_HLEN);
      td.r2tEnd = off + len;
      this.cfg.stats.r2ts++;
      this.tx.write(at(this.hdgst ? td.slotHdr4 : td.slotHdr, slot));
    }
  }

  /** TCP 1.0 §3.3.2: H2CData must answer an outstanding R2T, in order, inside its range. */
  private onH2CDataHeader(rx: PduReceiver): RxVerdict {
    // Read in place (TCP 1.0 Figure 29 offsets): the header may lie in the socket chunk.
    const hb = rx.hdrBuf;
    const ho = rx.hdrOff;
    const ttag = hb.readUInt16LE(ho + D_TTAG);
    const req = ttag < this.reqs.length ? this.reqs[ttag] : undefined;
    if (req?.transportData.phase !== 'r2t') {
      rx.fail(TermReqFes.InvalidHeaderField, D_TTAG);
      return RX_FATAL;
    }
    if (hb.readUInt16LE(ho + D_CCCID) !== req.cid) {
      rx.fail(TermReqFes.InvalidHeaderField, D_CCCID);
      return RX_FATAL;
    }
    const td = req.transportData;
    const datao = hb.readUInt32LE(ho + D_OFFSET);
    const datal = hb.readUInt32LE(ho + D_LENGTH);
    if (datal !== rx.dataLen) {
      rx.fail(TermReqFes.InvalidHeaderField, D_LENGTH);
      return RX_FATAL;
    }
    if (datao !== td.h2cOffset || datao + datal > td.r2tEnd) {
      rx.fail(TermReqFes.DataTransferOutOfRange, D_OFFSET);
      return RX_FATAL;
    }
    rx.dst = td.data.buf;
    rx.dstOff = this.slotStride + datao;
    this.h2cReq = req;
    return RX_OK;
  }

  private h2cReq: Request<TcpReqState> | undefined;

  private onH2CData(rx: PduReceiver): void {
    const req = this.h2cReq;
    this.h2cReq = undefined;
    if (req === undefined) return;
    const td = req.transportData;
    td.h2cOffset += rx.dataLen;
    // A wrong data digest: take the rest of the data as asked, then fail the command with
    // Transient Transport Error instead of executing it (NVMe/TCP 1.0; SPDK does the same).
    if (rx.ddgstError && td.failStatus === 0) td.failStatus = GenericStatus.TransientTransportError;
    if (td.h2cOffset === req.length) {
      td.phase = 'exec';
      if (td.failStatus !== 0) this.live().fail(req, td.failStatus);
      else this.live().submit(req);
    } else {
      this.sendR2Ts(req);
    }
  }

  // ------------------------------------------------------------- sending (QPairTransportOps)

  initRequest(req: Request<TcpReqState>): TcpReqState {
    this.reqs[req.index] = req;
    const stride = this.slotStride;
    const n = this.slotCount;
    const slab = this.carve(n * (stride + DIGEST_LEN), req.qpair.sqsize);
    slab.fill(0);
    // Before Connect, room for Connect's data only; after it, for the queue's in-capsule data.
    const slots: Buffer[] = [];
    const slotHdr: Buffer[] = [];
    const slotHdr4: Buffer[] = [];
    const ddgst: Buffer[] = [];
    const c2h: C2HDataView[] = [];
    const r2t: R2TView[] = [];
    for (let i = 0; i < n; i++) {
      const s = slab.subarray(i * stride, (i + 1) * stride);
      slots.push(s);
      c2h.push(new C2HDataView(s));
      r2t.push(new R2TView(s));
      slotHdr.push(s.subarray(0, DATA_HLEN));
      slotHdr4.push(s.subarray(0, DATA_HLEN + DIGEST_LEN));
      ddgst.push(slab.subarray(n * stride + i * DIGEST_LEN, n * stride + (i + 1) * DIGEST_LEN));
    }
    const small = this.newSmall(req.qpair.state === 'active' ? this.smallCap : CONNECT_DATA_SIZE, req.qpair.sqsize);
    const buf = small.buf;
    const td: TcpReqState = {
      phase: 'idle',
      data: small,
      small,
      pooled: false,
      bigLen: 0,
      owner: this.poolOwner,
      onBuffer: (b: DataBuf) => {
        this.onPoolBuffer(req, b);
      },
      h2cOffset: 0,
      r2tEnd: 0,
      failStatus: 0,
      slots,
      slotHdr,
      slotHdr4,
      ddgst,
      c2h,
      smallHdr: buf.subarray(0, DATA_HLEN),
      smallDv: new DataView(buf.buffer, buf.byteOffset, buf.length),
      r2t,
      resp: new CapsuleRespView(at(slots, n - 1)),
      onSent: (err?: Error | null) => {
        this.onResponseSent(req, err);
      },
    };
    return td;
  }

  complete(req: Request<TcpReqState>): void {
    if (this.state === 'closed') {
      this.release(req);
      return;
    }
    const td = req.transportData;
    td.phase = 'sending';
    const status = req.cqeBytes.readUInt16LE(14) >>> 1;
    let n = 0;
    if (req.xfer === 'controller-to-host') {
      n = Math.min(req.dataLength, req.length);
      if (status === 0 && n < req.length) {
        // The host asked for req.length bytes and Linux (mainline) treats a shorter C2H transfer
        // as a protocol error; nvmet and SPDK always send the whole length. Zero the rest.
        td.data.buf.fill(0, this.slotStride + n, this.slotStride + req.length);
        n = req.length;
      }
    }
    if (n > 0) {
      const success = status === 0 && this.cfg.c2hSuccess && this.live().sqFlowControlDisabled;
      if (n <= this.cfg.c2hDataSize) {
        this.sendWholeResponse(req, n, success);
        return;
      }
      this.sendC2HData(req, n, success);
      if (success) return;
    }
    this.sendCapsuleResp(req);
  }

  /**
   * A read whose data fits one C2HData PDU: header, data, digest and (unless SUCCESS) the
   * CapsuleResp are laid out back to back in the request's buffer (the data is already in
   * place: the core read into it), so the response is one write and one contiguous send.
   */
  private sendWholeResponse(req: Request<TcpReqState>, n: number, success: boolean): void {
    const td = req.transportData;
    const dd = this.ddgst;
    const stride = this.slotStride;
    const d = td.data;
    const buf = d.buf;
    if (d === td.small) {
      // The request's own buffer: write the header where it is sent from (no slot copy); PDO is
      // the slot stride (HLEN + HDGST padded to HPDA).
      writeC2HDataHeader(td.smallDv, 0, this.hdgst, dd, stride, req.cid, 0, n, true, success);
      if (this.hdgst) buf.writeUInt32LE(this.cfg.crc32c(td.smallHdr) >>> 0, DATA_HLEN);
    } else {
      // A pool buffer, shared by requests: build the header in slot 0 and copy it in.
      const h = at(td.slots, 0);
      at(td.c2h, 0).setWhole(this.hdgst, dd, this.hpda, req.cid, 0, n, true, success);
      if (this.hdgst) h.writeUInt32LE(this.cfg.crc32c(at(td.slotHdr, 0)) >>> 0, DATA_HLEN);
      h.copy(buf, 0, 0, stride);
    }
    let end = stride + n;
    if (dd) {
      buf.writeUInt32LE(this.cfg.crc32c(this.viewOf(td, n)) >>> 0, end);
      end += DIGEST_LEN;
    }
    this.cfg.stats.c2hData++;
    if (success) {
      this.cfg.stats.c2hSuccess++;
    } else if (d === td.small && !this.hdgst) {
      // The CapsuleResp straight after the data, by dword stores (cheaper than two 16-24 byte
      // copies): common header (TCP 1.0 Figure 28; no digest, so PLEN = HLEN) and the CQE.
      const dv = td.smallDv;
      const cqe = req.cqeView;
      dv.setUint32(end, PduType.CapsuleResp | (CAPSULE_RESP_HLEN << 16), true);
      dv.setUint32(end + 4, CAPSULE_RESP_HLEN, true);
      dv.setUint32(end + 8, cqe.getUint32(0, true), true);
      dv.setUint32(end + 12, cqe.getUint32(4, true), true);
      dv.setUint32(end + 16, cqe.getUint32(8, true), true);
      dv.setUint32(end + 20, cqe.getUint32(12, true), true);
      end += CAPSULE_RESP_HLEN;
    } else {
      const slot = this.slotCount - 1;
      const r = at(td.slots, slot);
      td.resp.init(this.hdgst);
      req.cqeBytes.copy(r, 8, 0, 16);
      const rlen = CAPSULE_RESP_HLEN + (this.hdgst ? DIGEST_LEN : 0);
      if (this.hdgst) r.writeUInt32LE(this.cfg.crc32c(at(td.slotHdr, slot)) >>> 0, CAPSULE_RESP_HLEN);
      r.copy(buf, end, 0, rlen);
      end += rlen;
    }
    if (d.txView.length !== end) d.txView = buf.subarray(0, end);
    this.tx.write(d.txView, td.onSent);
  }

  close(reason: QPairCloseReason): void {
    this.cfg.core.logger.debug('nvme-tcp: core closes qpair', { reason, peer: this.socket.remoteAddress });
    this.shutdown(true);
  }

  /**
   * Connect succeeded: the core has grown the pool to SQSIZE + 1 requests (made with full-size
   * buffers). Give the pre-Connect request its full-size buffer too (its Connect data was
   * already copied by the core), and accept the queue's in-capsule data size from now on.
   */
  connected(): void {
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const cap = this.smallCap;
    for (const req of this.reqs) {
      const td = req.transportData;
      if (td.small.buf.length >= this.bufSizeFor(cap)) continue;
      const old = td.small;
      this.account(-old.buf.length);
      const small = this.newSmall(cap, req.qpair.sqsize);
      td.small = small;
      if (td.data === old) td.data = small;
      td.smallHdr = small.buf.subarray(0, DATA_HLEN);
      td.smallDv = new DataView(small.buf.buffer, small.buf.byteOffset, small.buf.length);
    }
    this.rx.maxCapsuleData = cap;
    this.makeResponseBatch();
  }

  /** The CapsuleResp ring of this queue, every slot's common header written once. */
  private makeResponseBatch(): void {
    const hd = this.hdgst;
    const stride = CAPSULE_RESP_HLEN + (hd ? DIGEST_LEN : 0);
    const rb = new ResponseBatch<Request<TcpReqState>>(
      this.reqs.length,
      stride,
      (run, cb) => {
        this.socket.write(run, cb);
      },
      (req, err) => {
        this.onResponseSent(req, err);
      },
    );
    for (let i = 0; i < rb.capacity; i++) {
      new CapsuleRespView(rb.ring, i * stride).init(hd);
      if (hd) this.respHdr.push(rb.ring.subarray(i * stride, i * stride + CAPSULE_RESP_HLEN));
    }
    this.account(rb.ring.length);
    this.resp = rb;
  }

  /** A request's own data buffer for `cap` bytes of data, its header slot's pad zeroed. */
  private newSmall(cap: number, sqsize: number): DataBuf {
    const buf = this.carve(this.bufSizeFor(cap), sqsize);
    // The header slot's digest room and pad go out as they are: zero them once.
    buf.fill(0, 0, this.slotStride);
    return { buf, view: buf, txView: buf };
  }

  /** The slab request buffers are cut from once the queue size is known, and how much is used. */
  private slab: Buffer | undefined;
  private slabUsed = 0;

  /**
   * `n` bytes for a request's buffers. Before Connect (`sqsize` < 0): an allocation of its own
   * (one request, a few KiB). After: cut from one slab per connection sized for the whole queue
   * (SQSIZE + 2 requests: the pool and the pre-Connect request's new buffer). One large
   * allocation per queue instead of two small ones per request: the C allocator can give it
   * back to the system when the connection is gone (mmap), where hundreds of small ones
   * interleaved with other allocations keep its heap from shrinking.
   */
  private carve(n: number, sqsize: number): Buffer {
    const size = alignUp(n, 8);
    if (sqsize < 0) {
      this.account(size);
      return Buffer.allocUnsafeSlow(size);
    }
    let slab = this.slab;
    if (slab === undefined || this.slabUsed + size > slab.length) {
      const perRequest = alignUp(this.bufSizeFor(this.smallCap), 8) + alignUp(this.slotCount * (this.slotStride + DIGEST_LEN), 8);
      slab = Buffer.allocUnsafeSlow(Math.max(size, (sqsize + 2) * perRequest));
      this.account(slab.length);
      this.slab = slab;
      this.slabUsed = 0;
    }
    const b = slab.subarray(this.slabUsed, this.slabUsed + size);
    this.slabUsed += size;
    return b;
  }

  private account(n: number): void {
    this.bytes += n;
    this.cfg.stats.connectionBytes += n;
  }

  /** TCP 1.0 §3.3.3: C2HData PDUs of at most c2hDataSize bytes, HLEN 24, PDO per HPDA. */
  private sendC2HData(req: Request<TcpReqState>, n: number, success: boolean): void {
    const td = req.transportData;
    const chunk = this.cfg.c2hDataSize;
    const dd = this.ddgst;
    let off = 0;
    let i = 0;
    while (off < n) {
      const len = Math.min(chunk, n - off);
      const last = off + len === n;
      const h = at(td.slots, i);
      // HLEN 24 and PDO = HLEN + header digest, padded to HPDA (Linux 6.1 ignores both).
      at(td.c2h, i).setWhole(this.hdgst, dd, this.hpda, req.cid, off, len, last, last && success);
      if (this.hdgst) h.writeUInt32LE(this.cfg.crc32c(at(td.slotHdr, i)) >>> 0, DATA_HLEN);
      this.tx.write(h);
      const data = off === 0 && len === n ? this.viewOf(td, n) : td.data.buf.subarray(this.slotStride + off, this.slotStride + off + len);
      const endOfResponse = last && success;
      this.cfg.stats.c2hData++;
      if (endOfResponse) this.cfg.stats.c2hSuccess++;
      if (dd) {
        this.tx.write(data);
        const d = at(td.ddgst, i);
        d.writeUInt32LE(this.cfg.crc32c(data) >>> 0, 0);
        this.tx.write(d, endOfResponse ? td.onSent : undefined);
      } else {
        this.tx.write(data, endOfResponse ? td.onSent : undefined);
      }
      off += len;
      i++;
    }
  }

  /** TCP 1.0 §3.3.1: the CQE in a CapsuleResp (once connected, into this turn's response run). */
  private sendCapsuleResp(req: Request<TcpReqState>): void {
    const rb = this.resp;
    if (rb !== undefined) {
      this.tx.begin();
      const off = rb.add(req);
      req.cqeBytes.copy(rb.ring, off + 8, 0, 16);
      if (this.hdgst) rb.ring.writeUInt32LE(this.cfg.crc32c(at(this.respHdr, off / rb.stride)) >>> 0, off + CAPSULE_RESP_HLEN);
      return;
    }
    const td = req.transportData;
    const slot = this.slotCount - 1;
    const h = at(td.slots, slot);
    td.resp.init(this.hdgst);
    req.cqeBytes.copy(h, 8, 0, 16);
    if (this.hdgst) {
      h.writeUInt32LE(this.cfg.crc32c(at(td.slotHdr, slot)) >>> 0, CAPSULE_RESP_HLEN);
      this.tx.write(at(td.slotHdr4, slot), td.onSent);
    } else {
      this.tx.write(at(td.slotHdr, slot), td.onSent);
    }
  }

  private onResponseSent(req: Request<TcpReqState>, _err?: Error | null): void {
    this.release(req);
    if (this.stalledOnPool) {
      this.stalledOnPool = false;
      this.maybeResume();
    }
  }

  private release(req: Request<TcpReqState>): void {
    const td = req.transportData;
    if (td.phase === 'idle') return;
    td.phase = 'idle';
    if (req.state !== 'free') this.qp?.freeRequest(req);
    this.returnPooled(td);
  }

  /** Give a lent buffer back (possibly straight to a request waiting on another connection). */
  private returnPooled(td: TcpReqState): void {
    if (!td.pooled) return;
    const b = td.data;
    td.data = td.small;
    td.pooled = false;
    this.cfg.pool.put(b, this.poolOwner);
  }

  private sendTermReq(fes: TermReqFes, fei: number, rx: PduReceiver): void {
    // Responses of this turn go before the TermReq (the last PDU of the connection).
    if (!this.socket.destroyed) this.resp?.flush();
    const n = Math.min(rx.headerBytes, 128);
    const b = Buffer.alloc(TERM_REQ_HLEN + n);
    new TermReqView(b).init(PduType.C2HTermReq, fes, fei, n);
    rx.hdr.copy(b, TERM_REQ_HLEN, 0, n);
    if (!this.socket.destroyed) this.socket.write(b);
  }

  // ------------------------------------------------------------------- flow control, close

  private checkTxPressure(): void {
    if (this.state !== 'live') return;
    const queued = this.socket.writableLength;
    if (queued > this.cfg.stats.maxTxQueued) this.cfg.stats.maxTxQueued = queued;
    if (queued > this.cfg.txHighWater && !this.stalledOnTx) {
      this.stalledOnTx = true;
      this.cfg.stats.txStalls++;
      this.rx.pause();
      this.socket.pause();
    }
  }

  /** The low-latency mode may read the socket now: live, reading, holding no input. */
  private canPoll(): boolean {
    return this.state === 'live' && !this.stalledOnPool && !this.stalledOnTx && !this.rx.holding && !this.rx.dead;
  }

  private maybeResume(): void {
    if (this.stalledOnPool || this.stalledOnTx || this.state !== 'live') return;
    this.socket.resume();
    this.rx.resume();
  }

  /** Stop serving: `flush` lets queued PDUs (a CQE, a TermReq) go out before the FIN. */
  private shutdown(flush: boolean): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.rx.pause();
    // Keep reading (and dropping: see the read callbacks) so the host's FIN is seen and the
    // socket closes promptly.
    this.socket.resume();
    if (flush) {
      this.resp?.flush();
      this.socket.end();
      // A peer that never closes its side does not keep the connection (and its memory) alive.
      this.killTimer = setTimeout(() => this.socket.destroy(), 2000);
    } else {
      this.socket.destroy();
    }
  }

  private onSocketClosed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.icTimer !== undefined) clearTimeout(this.icTimer);
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
    this.account(-this.bytes);
    const qp = this.qp;
    if (qp !== undefined) {
      // Waiters first, so no buffer this connection gives back is lent to itself.
      for (const req of this.reqs) if (req.transportData.phase === 'need-buffer') this.cfg.pool.cancel(req.transportData);
      // Requests the core never saw (waiting for data or a buffer) go back to the pool; the core
      // drops what it holds and never calls complete() after disconnected().
      for (const req of this.reqs) {
        const td = req.transportData;
        const ph = td.phase;
        if (ph === 'capsule' || ph === 'need-buffer' || ph === 'r2t' || ph === 'sending') {
          this.release(req);
        } else if (ph === 'exec' && td.pooled) {
          // The core may still be reading into this buffer and will not say when it is done.
          td.data = td.small;
          td.pooled = false;
          this.cfg.pool.abandon(this.poolOwner);
        }
      }
      qp.disconnected();
    }
    this.cfg.onClosed(this);
  }

  // ------------------------------------------------------------------------------ buffers

  /** The qpair; only called once the ICReq created it. */
  private live(): QPair<TcpReqState> {
    const qp = this.qp;
    if (qp === undefined) throw new Error('nvme-tcp: PDU before ICReq');
    return qp;
  }

  /** Data bytes a request's own buffer holds: the largest in-capsule data accepted. */
  private get smallCap(): number {
    return Math.max(ADMIN_IN_CAPSULE, this.cfg.inCapsuleDataSize);
  }

  /** Bytes of a request buffer able to hold `n` bytes of data and a whole response around it. */
  private bufSizeFor(n: number): number {
    return this.slotStride + n + DIGEST_LEN + CAPSULE_RESP_HLEN + DIGEST_LEN;
  }

  private viewOf(td: TcpReqState, n: number): Buffer {
    const d = td.data;
    const v = d.view;
    // A pool buffer may last have served a connection with another slotStride.
    if (v.length !== n || v.byteOffset !== d.buf.byteOffset + this.slotStride) {
      d.view = d.buf.subarray(this.slotStride, this.slotStride + n);
    }
    return d.view;
  }
}
