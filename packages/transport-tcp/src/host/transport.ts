/**
 * The NVMe/TCP host transport for @nvmu/client: a `HostTransportFactory` for trtype 'tcp' and
 * the association object that opens one TCP connection per qpair.
 *
 * Transport ID parameters (SPDK notation, passed through by the client in `trid.params`):
 * `hdgst:1` / `ddgst:1` enable header / data digests (nvme-cli `-g` / `-G`), `maxr2t:<n>` the
 * 0's based MAXR2T sent in ICReq, `hpda:<n>` the HPDA, `maxio:<bytes>` the largest transfer,
 * `busypoll:<us>` the low-latency mode's window (0 off).
 */

import { isIPv6 } from 'node:net';

import { crc32c as nodeCrc32c } from '@node-rs/crc32';
import type {
  HostQPair,
  HostQPairOptions,
  HostTransport,
  HostTransportFactory,
  HostTransportOpenOptions,
  TransportId,
} from '@nvmu/client';

import { checkBusyPollUs, loadBusyPollNative, newBusyPollStats, type BusyPollStats } from '../busy-poll.js';
import { ADMIN_IN_CAPSULE, type Crc32c } from '../pdu.js';
import { TcpHostQPair, type HostBusyPoll } from './qpair.js';

/** Defaults for every association the factory opens; `trid.params` override per connection. */
export interface TcpHostOptions {
  /** Header digest (CRC32C over each PDU header). Default false. */
  readonly hdgst?: boolean;
  /** Data digest (CRC32C over each PDU's data). Default false. */
  readonly ddgst?: boolean;
  /** MAXR2T in ICReq, 0's based: R2Ts the controller may have outstanding per command. Default 3. */
  readonly maxr2t?: number;
  /** HPDA in ICReq (0's based dwords of C2H data alignment). Default 0. */
  readonly hpda?: number;
  /** Largest data transfer of one command. Default 1 MiB. */
  readonly maxTransferSize?: number;
  /** CRC32C implementation. Default `@node-rs/crc32`'s `crc32c`. */
  readonly crc32c?: Crc32c;
  /**
   * Low-latency mode: after submitting commands (and after a completion while others are
   * outstanding), a connection polls its socket for the controller's answer for up to this
   * many microseconds before going back to the event loop (0 to 10000); it never polls with
   * nothing outstanding. Needs `@nvmu/native`. Per connection: the trid's `busypoll:<us>`.
   * Default 0 (off).
   */
  readonly busyPollUs?: number;
}

/** The NVMe/TCP well-known port (NVMe/TCP 1.0 §4: 4420 for I/O controllers, 8009 for discovery). */
export const NVME_TCP_DEFAULT_PORT = '4420';

function flag(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === '1' || v.toLowerCase() === 'true' || v.toLowerCase() === 'yes';
}

function int(v: string | undefined, dflt: number, min: number, max: number, name: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`tcp transport: bad ${name} '${v}'`);
  return n;
}

export class TcpHostTransport implements HostTransport {
  readonly kind = 'fabrics';
  readonly trid: TransportId;
  readonly maxTransferSize: number;
  private readonly qpairs = new Set<TcpHostQPair>();
  private readonly host: string;
  private readonly port: number;
  private readonly hdgst: boolean;
  private readonly ddgst: boolean;
  private readonly maxr2t: number;
  private readonly hpda: number;
  private readonly crc32c: Crc32c;
  private readonly busyPollUs: number;
  private readonly busyPollCounters: BusyPollStats = newBusyPollStats();
  private closed = false;

  constructor(
    trid: TransportId,
    private readonly openOpts: HostTransportOpenOptions,
    opts: TcpHostOptions,
  ) {
    const traddr = trid.traddr.startsWith('[') ? trid.traddr.slice(1, -1) : trid.traddr;
    const adrfam = trid.adrfam ?? (isIPv6(traddr) ? 'ipv6' : 'ipv4');
    if (adrfam !== 'ipv4' && adrfam !== 'ipv6') throw new Error(`tcp transport: adrfam '${adrfam}' is not IP`);
    const trsvcid = trid.trsvcid ?? NVME_TCP_DEFAULT_PORT;
    const port = Number(trsvcid);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new RangeError(`tcp transport: bad port '${trsvcid}'`);
    this.trid = { ...trid, traddr, adrfam, trsvcid };
    this.host = traddr;
    this.port = port;
    const p = trid.params ?? {};
    this.hdgst = flag(p.hdgst ?? p.header_digest, opts.hdgst ?? false);
    this.ddgst = flag(p.ddgst ?? p.data_digest, opts.ddgst ?? false);
    this.maxr2t = int(p.maxr2t, opts.maxr2t ?? 3, 0, 0xffff, 'maxr2t');
    this.hpda = int(p.hpda, opts.hpda ?? 0, 0, 31, 'hpda');
    this.maxTransferSize = int(p.maxio, opts.maxTransferSize ?? 1024 * 1024, 4096, 64 * 1024 * 1024, 'maxio');
    this.crc32c = opts.crc32c ?? nodeCrc32c;
    this.busyPollUs = checkBusyPollUs(int(p.busypoll, opts.busyPollUs ?? 0, 0, Number.MAX_SAFE_INTEGER, 'busypoll'), 'busypoll');
  }

  /** A copy of the low-latency mode's counters over this association's connections (all 0 when off). */
  busyPollStats(): Readonly<BusyPollStats> {
    return { ...this.busyPollCounters };
  }

  async connectQPair(opts: HostQPairOptions): Promise<HostQPair> {
    if (this.closed) throw new Error('tcp transport: association is closed');
    let busyPoll: HostBusyPoll | undefined;
    if (this.busyPollUs > 0) busyPoll = { native: await loadBusyPollNative(), windowUs: this.busyPollUs, stats: this.busyPollCounters };
    const qp = new TcpHostQPair({
      host: this.host,
      port: this.port,
      qid: opts.qid,
      queueSize: opts.queueSize,
      // The admin queue always carries 8 KiB in-capsule (NVMe-oF 1.1 §2.2); I/O queues what the
      // client learned from IOCCSZ.
      inCapsuleDataSize: opts.qid === 0 ? Math.min(opts.maxInCapsuleDataSize, ADMIN_IN_CAPSULE) : Math.max(0, opts.maxInCapsuleDataSize),
      maxTransferSize: this.maxTransferSize,
      hdgst: this.hdgst,
      ddgst: this.ddgst,
      hpda: this.hpda,
      maxr2t: this.maxr2t,
      connectTimeoutMs: this.openOpts.connectTimeoutMs,
      crc32c: this.crc32c,
      handler: opts.handler,
      onClosed: (q) => this.qpairs.delete(q),
      busyPoll,
    });
    this.qpairs.add(qp);
    await qp.open();
    return qp;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.qpairs].map((q) => q.close()));
  }
}

/** A factory with the given defaults (the registered one uses none). */
export function createTcpHostTransportFactory(opts: TcpHostOptions = {}): HostTransportFactory {
  return {
    trtype: 'tcp',
    kind: 'fabrics',
    open(trid: TransportId, openOpts: HostTransportOpenOptions): Promise<HostTransport> {
      return Promise.resolve(new TcpHostTransport(trid, openOpts, opts));
    },
  };
}

/** The factory `./host` registers for trtype 'tcp'. */
export const tcpHostTransportFactory: HostTransportFactory = createTcpHostTransportFactory();
