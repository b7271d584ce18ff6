/**
 * Streaming PDU receiver shared by the target and host sides.
 *
 * Bytes from the socket go through a small state machine (common header → rest of the header
 * and its digest → padding up to PDO → data → data digest). Only the header is buffered here
 * (one Buffer of MAX_HDR_LEN per connection); data is copied straight into the destination the
 * owner names in `onHeader` (a pooled request buffer), so per-connection memory is bounded by the
 * header buffer plus the owner's pools whatever the peer sends. Every malformed PDU ends in
 * `onFatal(fes, fei)` with the Fatal Error Status of NVMe/TCP 1.0 §3.6.2.x / Figure 25, and the
 * receiver reads nothing more.
 *
 * The owner can stop the machine at a PDU boundary (`pause()`) or while it has no place for a
 * PDU's data yet (`onHeader` returns STALL); unconsumed input is kept (a handful of socket
 * chunks: the owner pauses the socket too) and processed on `resume()`.
 */

import {
  CAPSULE_CMD_HLEN,
  CAPSULE_RESP_HLEN,
  CH_FLAGS,
  CH_HLEN,
  CH_PDO,
  CH_PLEN,
  CH_TYPE,
  COMMON_HDR_LEN,
  DATA_HLEN,
  DIGEST_LEN,
  ICREQ_LEN,
  ICRESP_LEN,
  MAX_HDR_LEN,
  PduFlags,
  PduType,
  R2T_HLEN,
  TERM_REQ_HLEN,
  TERM_REQ_MAX_DATA,
  TermReqFes,
  at,
  type Crc32c,
} from './pdu.js';

/** Return values of `PduHandler.onHeader`. */
export const RX_OK = 0;
export const RX_STALL = 1;
export const RX_FATAL = 2;
export type RxVerdict = typeof RX_OK | typeof RX_STALL | typeof RX_FATAL;

/** What the owner of a receiver implements (the target or host connection). */
export interface PduHandler {
  /**
   * A whole header arrived (digest checked). Read it from `rx.hdr`; when `rx.dataLen > 0` set
   * `rx.dst` / `rx.dstOff` to where the data goes. Return RX_OK, RX_STALL (call again after
   * `resume()`), or RX_FATAL after calling `rx.fail()`.
   */
  onHeader(rx: PduReceiver): RxVerdict;
  /** The whole PDU arrived (data digest checked). */
  onPdu(rx: PduReceiver): void;
  /** The stream is broken: send a TermReq with `fes` / `fei` (where allowed) and close. */
  onFatal(fes: TermReqFes, fei: number, rx: PduReceiver): void;
}

type RxStep = 'ch' | 'hdr' | 'handler' | 'pad' | 'data' | 'ddgst' | 'dead';

/** Which side of the connection this receiver is (which PDU types it accepts). */
export type RxRole = 'controller' | 'host';

/** HLEN each accepted PDU type must carry, per role (TCP 1.0 Figures 19-29); 0 = not accepted. */
const EXPECTED_HLEN: Record<RxRole, Buffer> = {
  controller: hlenTable([
    [PduType.ICReq, ICREQ_LEN],
    [PduType.H2CTermReq, TERM_REQ_HLEN],
    [PduType.CapsuleCmd, CAPSULE_CMD_HLEN],
    [PduType.H2CData, DATA_HLEN],
  ]),
  host: hlenTable([
    [PduType.ICResp, ICRESP_LEN],
    [PduType.C2HTermReq, TERM_REQ_HLEN],
    [PduType.CapsuleResp, CAPSULE_RESP_HLEN],
    [PduType.C2HData, DATA_HLEN],
    [PduType.R2T, R2T_HLEN],
  ]),
};

function hlenTable(entries: [number, number][]): Buffer {
  const t = Buffer.alloc(16);
  for (const [type, hlen] of entries) t[type] = hlen;
  return t;
}

export class PduReceiver {
  /**
   * The staging buffer for a header that straddles socket chunks (common header at 0, digest
   * after HLEN). With `inPlaceHeaders` the current header may instead lie in the received chunk:
   * read it at `hdrBuf[hdrOff]`. It is always in `hdr` once `onFatal` runs, and whenever the PDU
   * did not complete inside the chunk that carried its header (data in later chunks, a stall).
   */
  readonly hdr: Buffer = Buffer.alloc(MAX_HDR_LEN);
  /** Where the current PDU's header is: `hdr` at 0, or (in place) the socket chunk at `hdrOff`. */
  hdrBuf: Buffer = this.hdr;
  hdrOff = 0;
  /**
   * Read a header straight from the socket chunk when the whole header lies in it (no copy
   * into `hdr`). Its owner then reads through `hdrBuf` / `hdrOff`, in `onHeader` and `onPdu`.
   * Not used while header digests are on (the digest needs the header as its own Buffer).
   */
  inPlaceHeaders = false;
  /** Bytes of the header valid at `hdrBuf[hdrOff]` while it is in place. */
  private inPlaceLen = 0;
  /** Fields of the current PDU's common header. */
  type = 0;
  flags = 0;
  hlen = 0;
  pdo = 0;
  plen = 0;
  /** Bytes of data (PLEN minus header, digests and padding). */
  dataLen = 0;
  /** Where the owner wants the data; `null` discards into a scratch buffer (TermReq data). */
  dst: Uint8Array | null = null;
  dstOff = 0;

  /** Negotiated digests (set by the owner once ICReq/ICResp is done). */
  hdgst = false;
  ddgst = false;
  /** True once the ICReq/ICResp exchange is over; before it only IC and TermReq PDUs are valid. */
  connected = false;
  /** Largest data a CapsuleCmd (controller) / C2HData (host) / H2CData (controller) may carry. */
  maxCapsuleData = 0;
  maxDataPdu = 0;
  /**
   * Alignment PDO must have for PDUs with data: what this side asked the peer for (the target's
   * CPDA, the host's HPDA; (PDA + 1) × 4 bytes, TCP 1.0 Figures 19-20).
   */
  pdoAlign = 4;
  /**
   * A wrong data digest ends the connection (TermReq) when true; when false the PDU is still
   * delivered with `ddgstError` set, and the owner fails the command instead (the controller
   * side: NVMe/TCP 1.0 data digest errors complete the command with Transient Transport Error,
   * as SPDK lib/nvmf/tcp.c does).
   */
  ddgstErrorsFatal = true;
  /** Set while delivering a PDU whose data digest was wrong (`ddgstErrorsFatal` false). */
  ddgstError = false;

  /** Data of a received TermReq (the offending header echoed back). */
  readonly termData: Buffer = Buffer.alloc(TERM_REQ_MAX_DATA);

  private step: RxStep = 'ch';
  private got = 0;
  private need = COMMON_HDR_LEN;
  private padLeft = 0;
  private ddgstGot = 0;
  private readonly ddgstBuf = Buffer.alloc(DIGEST_LEN);
  private paused = false;
  private readonly pending: Buffer[] = [];
  private pendingOff = 0;
  private running = false;
  private readonly expected: Buffer;
  /** Subarrays of `hdr` for each HLEN, made once so digest checks allocate nothing. */
  private readonly hdrSlices = new Map<number, Buffer>();

  constructor(
    role: RxRole,
    private readonly handler: PduHandler,
    private readonly crc32c: Crc32c,
  ) {
    this.expected = EXPECTED_HLEN[role];
    for (const h of this.expected) if (h !== 0 && !this.hdrSlices.has(h)) this.hdrSlices.set(h, this.hdr.subarray(0, h));
  }

  /** How many bytes of the current PDU's header are valid in `hdr` (for a TermReq's data). */
  get headerBytes(): number {
    if (this.step === 'dead') return this.deadHeaderBytes;
    return this.step === 'ch' || this.step === 'hdr' ? this.got : this.hlen;
  }

  private deadHeaderBytes = 0;

  /** True when part of a PDU has been received (a stream ending now is truncated). */
  get midPdu(): boolean {
    return this.step !== 'dead' && (this.step !== 'ch' || this.got > 0 || this.pending.length > 0);
  }

  /** True when the stream was declared broken; nothing more is processed. */
  get dead(): boolean {
    return this.step === 'dead';
  }

  /** True while input is held (paused, or the handler asked to stall). */
  get holding(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Feed `buf[0, end)` from a reused read buffer (socket `onread`): the bytes are consumed now
   * or, when the receiver holds input, copied (the caller reuses `buf`).
   */
  pushFrom(buf: Buffer, end: number): void {
    if (this.step === 'dead') return;
    if (this.pending.length > 0 || this.running) {
      this.pending.push(Buffer.from(buf.subarray(0, end)));
      return;
    }
    const used = this.consume(buf, 0, end);
    if (used < end && !this.dead) {
      this.pending.push(Buffer.from(buf.subarray(used, end)));
      this.pendingOff = 0;
    }
  }

  /** Feed bytes from the socket. */
  push(chunk: Buffer): void {
    if (this.step === 'dead') return;
    if (this.pending.length > 0 || this.running) {
      this.pending.push(chunk);
      return;
    }
    const used = this.consume(chunk, 0, chunk.length);
    if (used < chunk.length && !this.dead) {
      this.pending.push(chunk);
      this.pendingOff = used;
    }
  }

  /** Stop at the next PDU boundary. */
  pause(): void {
    this.paused = true;
  }

  /** Continue after `pause()` or a stall; processes held input. */
  resume(): void {
    this.paused = false;
    if (this.running) return;
    while (this.pending.length > 0 && !this.dead) {
      const chunk = at(this.pending, 0);
      const used = this.consume(chunk, this.pendingOff, chunk.length);
      if (used < chunk.length) {
        this.pendingOff = used;
        return;
      }
      this.pending.shift();
      this.pendingOff = 0;
    }
    if (this.step === 'handler' && this.pending.length === 0) this.consume(EMPTY, 0, 0);
  }

  /** Declare the stream broken (also used by handlers on semantic errors). */
  fail(fes: TermReqFes, fei: number): void {
    if (this.step === 'dead') return;
    this.materialize();
    this.deadHeaderBytes = this.headerBytes;
    this.step = 'dead';
    this.pending.length = 0;
    this.handler.onFatal(fes, fei, this);
  }

  /** Process `chunk` from `off`; returns the offset of the first byte not consumed. */
  private consume(chunk: Buffer, off: number, end: number): number {
    this.running = true;
    try {
      while (true) {
        switch (this.step) {
          case 'ch': {
            if (this.paused) return off;
            if (off >= end) return off;
            if (this.got === 0 && this.inPlaceHeaders && !this.hdgst && end - off >= COMMON_HDR_LEN) {
              // The common header is whole in this chunk: check it where it lies, and take the
              // rest of the header from there too when it is also whole (no staging copy).
              this.hdrBuf = chunk;
              this.hdrOff = off;
              this.inPlaceLen = COMMON_HDR_LEN;
              this.got = COMMON_HDR_LEN;
              if (!this.checkCommonHeader(chunk, off)) return end;
              if (end - off >= this.need) {
                this.inPlaceLen = this.need;
                this.got = this.need;
                off += this.need;
                this.step = 'handler';
                break;
              }
              chunk.copy(this.hdr, 0, off, off + COMMON_HDR_LEN);
              this.hdrBuf = this.hdr;
              this.hdrOff = 0;
              off += COMMON_HDR_LEN;
              break;
            }
            const n = Math.min(end - off, this.need - this.got);
            chunk.copy(this.hdr, this.got, off, off + n);
            this.got += n;
            off += n;
            if (this.got < this.need) return off;
            if (!this.checkCommonHeader(this.hdr, 0)) return end;
            break;
          }
          case 'hdr': {
            if (off >= end) return off;
            const n = Math.min(end - off, this.need - this.got);
            chunk.copy(this.hdr, this.got, off, off + n);
            this.got += n;
            off += n;
            if (this.got < this.need) return off;
            if (!this.checkHeaderDigest()) return end;
            this.step = 'handler';
            break;
          }
          case 'handler': {
            this.dst = null;
            this.dstOff = 0;
            if (this.type === PduType.H2CTermReq || this.type === PduType.C2HTermReq) {
              this.dst = this.termData;
            } else {
              const v = this.handler.onHeader(this);
              if (v === RX_STALL) return off;
              if (v === RX_FATAL || (this.step as RxStep) === 'dead') {
                if ((this.step as RxStep) !== 'dead') this.step = 'dead';
                return end;
              }
            }
            this.got = 0;
            if (this.dataLen === 0) {
              this.finish();
            } else {
              this.step = this.padLeft > 0 ? 'pad' : 'data';
              this.dst ??= this.termData;
            }
            break;
          }
          case 'pad': {
            if (off >= end) return off;
            const n = Math.min(end - off, this.padLeft);
            this.padLeft -= n;
            off += n;
            if (this.padLeft === 0) this.step = 'data';
            break;
          }
          case 'data': {
            if (off >= end) return off;
            const dst = this.dst ?? this.termData;
            const n = Math.min(end - off, this.dataLen - this.got);
            chunk.copy(dst, this.dstOff + this.got, off, off + n);
            this.got += n;
            off += n;
            if (this.got < this.dataLen) return off;
            if (this.ddgst && this.carriesDigests()) {
              this.step = 'ddgst';
              this.ddgstGot = 0;
            } else {
              this.finish();
            }
            break;
          }
          case 'ddgst': {
            if (off >= end) return off;
            const n = Math.min(end - off, DIGEST_LEN - this.ddgstGot);
            chunk.copy(this.ddgstBuf, this.ddgstGot, off, off + n);
            this.ddgstGot += n;
            off += n;
            if (this.ddgstGot < DIGEST_LEN) return off;
            const dst = this.dst ?? this.termData;
            const crc = this.crc32c(dst.subarray(this.dstOff, this.dstOff + this.dataLen));
            if (crc >>> 0 !== this.ddgstBuf.readUInt32LE(0)) {
              if (this.ddgstErrorsFatal) {
                // NVMe/TCP has no Data Digest FES: report it as a digest error (03h).
                this.fail(TermReqFes.HeaderDigestError, 0);
                return end;
              }
              this.ddgstError = true;
            }
            this.finish();
            this.ddgstError = false;
            break;
          }
          case 'dead':
            return end;
        }
      }
    } finally {
      this.running = false;
      // The chunk may be reused or dropped once we return: keep an unfinished PDU's header.
      if (this.hdrBuf !== this.hdr) {
        if (this.step === 'ch') this.unplace();
        else this.materialize();
      }
    }
  }

  /**
   * The current header in `hdr` (copied there if it lies in place): for readers that keep
   * views over `hdr` (cold paths, or a CQE handed on as `hdr`'s subarray).
   */
  header(): Buffer {
    this.materialize();
    return this.hdr;
  }

  /** Copy an in-place header into `hdr` (its readers then find it at `hdr[0]`). */
  private materialize(): void {
    if (this.hdrBuf === this.hdr) return;
    this.hdrBuf.copy(this.hdr, 0, this.hdrOff, this.hdrOff + this.inPlaceLen);
    this.unplace();
  }

  private unplace(): void {
    this.hdrBuf = this.hdr;
    this.hdrOff = 0;
    this.inPlaceLen = 0;
  }

  private finish(): void {
    this.step = 'ch';
    this.got = 0;
    this.need = COMMON_HDR_LEN;
    this.handler.onPdu(this);
  }

  private carriesDigests(): boolean {
    return this.type !== PduType.H2CTermReq && this.type !== PduType.C2HTermReq && this.type > PduType.ICResp;
  }

  /** TCP 1.0 §3.6.2.1: validate type, HLEN, PDO, PLEN and the digest flags. */
  private checkCommonHeader(b: Buffer, o: number): boolean {
    const type = b[o + CH_TYPE] ?? 0;
    const flags = b[o + CH_FLAGS] ?? 0;
    const hlen = b[o + CH_HLEN] ?? 0;
    const pdo = b[o + CH_PDO] ?? 0;
    const plen = b.readUInt32LE(o + CH_PLEN);
    this.type = type;
    this.flags = flags;
    this.hlen = hlen;
    this.pdo = pdo;
    this.plen = plen;
    const expected = type < 16 ? this.expected.readUInt8(type) : 0;
    if (expected === 0) return this.failHdr(TermReqFes.InvalidHeaderField, CH_TYPE);
    const isIc = type === PduType.ICReq || type === PduType.ICResp;
    const isTerm = type === PduType.H2CTermReq || type === PduType.C2HTermReq;
    if (isIc === this.connected && !isTerm) return this.failHdr(TermReqFes.PduSequenceError, CH_TYPE);
    if (hlen !== expected) return this.failHdr(TermReqFes.InvalidHeaderField, CH_HLEN);
    if (isIc) {
      if (plen !== expected) return this.failHdr(TermReqFes.InvalidHeaderField, CH_PLEN);
      this.dataLen = 0;
      this.padLeft = 0;
      this.need = hlen;
      this.step = 'hdr';
      return true;
    }
    if (isTerm) {
      // TermReq PDUs carry no digests (TCP 1.0 §3.6.2.8); their data is the offending header.
      if (plen < hlen || plen > hlen + TERM_REQ_MAX_DATA) return this.failHdr(TermReqFes.InvalidHeaderField, CH_PLEN);
      this.dataLen = plen - hlen;
      this.padLeft = 0;
      this.need = hlen;
      this.step = 'hdr';
      return true;
    }
    const hd = (flags & PduFlags.HDGSTF) !== 0;
    if (hd !== this.hdgst) return this.failHdr(TermReqFes.InvalidHeaderField, CH_FLAGS);
    const hdrTotal = hlen + (hd ? DIGEST_LEN : 0);
    if (plen < hdrTotal) return this.failHdr(TermReqFes.InvalidHeaderField, CH_PLEN);
    if (plen === hdrTotal) {
      if ((flags & PduFlags.DDGSTF) !== 0) return this.failHdr(TermReqFes.InvalidHeaderField, CH_FLAGS);
      if (type === PduType.H2CData || type === PduType.C2HData) {
        return this.failHdr(TermReqFes.InvalidHeaderField, CH_PLEN);
      }
      this.dataLen = 0;
      this.padLeft = 0;
    } else {
      if (type !== PduType.CapsuleCmd && type !== PduType.H2CData && type !== PduType.C2HData) {
        return this.failHdr(TermReqFes.InvalidHeaderField, CH_PLEN);
      }
      const dd = (flags & PduFlags.DDGSTF) !== 0;
      if (dd !== this.ddgst) return this.failHdr(TermReqFes.InvalidHeaderField, CH_FLAGS);
      const tail = dd ? DIGEST_LEN : 0;
      if (pdo < hdrTotal || pdo + tail >= plen || pdo % this.pdoAlign !== 0) return this.failHdr(TermReqFes.InvalidHeaderField, CH_PDO);
      const dataLen = plen - pdo - tail;
      const limit = type === PduType.CapsuleCmd ? this.maxCapsuleData : this.maxDataPdu;
      if (dataLen > limit) return this.failHdr(TermReqFes.DataTransferLimitExceeded, CH_PLEN);
      this.dataLen = dataLen;
      this.padLeft = pdo - hdrTotal;
    }
    this.need = hdrTotal;
    this.step = 'hdr';
    return true;
  }

  private checkHeaderDigest(): boolean {
    if (this.type <= PduType.C2HTermReq || !this.hdgst) return true;
    const crc = this.crc32c(this.hdrSlices.get(this.hlen) ?? this.hdr.subarray(0, this.hlen));
    if (crc >>> 0 !== this.hdr.readUInt32LE(this.hlen)) {
      this.fail(TermReqFes.HeaderDigestError, 0);
      return false;
    }
    return true;
  }

  private failHdr(fes: TermReqFes, fei: number): false {
    this.fail(fes, fei);
    return false;
  }
}

const EMPTY = Buffer.alloc(0);
