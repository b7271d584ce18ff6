/**
 * The low-latency (busy-poll) mode: data stays intact with it on at either end or both (queue
 * depths 1 to 128, reads and writes in-capsule and through R2T, digests, one and several
 * queues), a peer closing during a spin window is seen, and no spin is left running once the
 * window passed (the poll counters stop growing).
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { connect, type Controller, type HostTransportFactory, type Namespace, type QPair } from '@nvmu/client';

import '../src/host.js';
import { SocketPoller, newBusyPollStats, type BusyPollNative, type BusyPollStats } from '../src/busy-poll.js';
import { PduType } from '../src/pdu.js';
import { PduReceiver, RX_OK, type PduHandler } from '../src/receiver.js';
import { TcpHostTransport, createTcpHostTransportFactory } from '../src/host/transport.js';
import { startTargetChild, type TargetChild } from './helpers/child.js';
import { pattern, sqeRw } from './helpers/raw.js';
import { cqeStatus, hostConnect, startMiniTarget, type MiniTarget } from './helpers/setup.js';
import { NQN, startTarget, type RealTarget } from './helpers/target.js';

/** Window of the tests: long enough that loopback answers land inside it on a loaded machine. */
const WINDOW_US = 300;

let t: RealTarget | undefined;
let mini: MiniTarget | undefined;
const ctrls: Controller[] = [];
afterEach(async () => {
  await Promise.all(ctrls.splice(0).map((c) => c.close().catch(() => undefined)));
  await t?.close();
  await mini?.close();
  t = undefined;
  mini = undefined;
});

async function open(port: number, extra: string, opts: Parameters<typeof connect>[1] = {}): Promise<Controller> {
  const c = await connect(`trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${port} subnqn:${NQN}${extra}`, { reconnect: false, ...opts });
  ctrls.push(c);
  return c;
}

/** `qd` writes of `size` bytes at once, then `qd` reads of them at once; every byte checked. */
async function writeThenRead(ns: Namespace, qd: number, size: number, base: number, seed: number, qpairs: readonly QPair[] = []): Promise<void> {
  const blocks = size / 512;
  const datas = Array.from({ length: qd }, (_, i) => pattern(size, seed * 1000 + i));
  const opt = (i: number): { qpair?: QPair } => {
    const qpair = qpairs[i % Math.max(1, qpairs.length)];
    return qpair === undefined ? {} : { qpair };
  };
  await Promise.all(datas.map((d, i) => ns.write(base + i * blocks, d, opt(i))));
  const backs = await Promise.all(datas.map((_, i) => ns.read(base + i * blocks, blocks, undefined, opt(i))));
  backs.forEach((b, i) => {
    expect(Buffer.from(b).equals(datas[i] ?? Buffer.alloc(0)), `command ${i} of ${qd}`).toBe(true);
  });
}

/** The TCP host transport behind a `HostTransport` (for its counters). */
function asTcp(t: unknown): TcpHostTransport {
  if (!(t instanceof TcpHostTransport)) throw new Error('not a TcpHostTransport');
  return t;
}

/**
 * QD 1, 8, 32 and 128 of 4 KiB writes (in-capsule) and 16 KiB writes (R2T), each read back:
 * the first 128 × 16 KiB of the namespace.
 */
async function sweepQueueDepths(c: Controller): Promise<void> {
  const ns = c.namespaces[0];
  if (ns === undefined) throw new Error('no namespace');
  let seed = 1;
  for (const qd of [1, 8, 32, 128]) {
    await writeThenRead(ns, qd, 4096, 0, seed++);
    await writeThenRead(ns, qd, 16384, 128 * 8, seed++);
  }
}

/** Resolves after `ms` of the event loop running freely. */
function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe.each([
  ['target on, client off', WINDOW_US, 0],
  ['target off, client on', 0, WINDOW_US],
  ['target on, client on', WINDOW_US, WINDOW_US],
])('low-latency mode: %s', (_name, targetUs, clientUs) => {
  it.each([
    ['no digests', ''],
    ['header and data digests', ' hdgst:1 ddgst:1'],
  ])('keeps data intact at queue depths 1, 8, 32, 128, in-capsule and R2T (%s)', async (_d, digests) => {
    // 4 KiB goes in-capsule (8 KiB allowed); 16 KiB through R2T in two H2CData PDUs of 8 KiB
    // and reads in two C2HData PDUs.
    t = await startTarget('127.0.0.1', { busyPollUs: targetUs, maxH2CData: 8192, c2hDataSize: 8192, blocks: 128 * 32 * 2 });
    const c = await open(t.port, `${digests} busypoll:${clientUs}`, { ioQueueSize: 129, ioQueues: 1 });
    await sweepQueueDepths(c);
    // The target spun when its mode was on, and never when off. (In one process a spin of one
    // side holds the other off, so hits are the cross-process test's business.)
    if (targetUs > 0) expect(t.tcp.busyPollStats().spins).toBeGreaterThan(0);
    else expect(t.tcp.busyPollStats().polls).toBe(0);
  });

  it('keeps data intact over several queues at once', async () => {
    t = await startTarget('127.0.0.1', { busyPollUs: targetUs, blocks: 4 * 32 * 16 });
    const c = await open(t.port, ` busypoll:${clientUs}`, { ioQueues: 5 });
    const ns = c.namespaces[0];
    if (ns === undefined) throw new Error('no namespace');
    const qps = await Promise.all(Array.from({ length: 4 }, () => c.allocIoQPair({ queueSize: 33 })));
    await writeThenRead(ns, 4 * 32, 8192, 0, 7, qps);
    await writeThenRead(ns, 4, 4096, 0, 8, qps);
  });
});

describe('low-latency mode across processes (target in a child, both ends on)', () => {
  let child: TargetChild | undefined;
  beforeAll(async () => {
    child = await startTargetChild({ NVMU_TCP_BUSY_POLL_US: String(WINDOW_US) });
  }, 60_000);
  afterAll(async () => {
    await child?.stop();
  });

  it('keeps data intact at queue depths 1 to 128 with digests, and spins find the answers on both sides', async () => {
    const port = child?.port ?? 0;
    for (const digests of ['', ' hdgst:1 ddgst:1']) {
      const c = await open(port, `${digests} busypoll:${WINDOW_US}`, { ioQueueSize: 129, ioQueues: 1 });
      await sweepQueueDepths(c);
      await c.close();
    }
    // QD 1 through the client, its transports caught on their way out of the registry so
    // their counters can be read.
    const registry = (globalThis as Record<symbol, Map<string, HostTransportFactory> | undefined>)[Symbol.for('nvmu.hostTransports')];
    const tcp = registry?.get('tcp');
    if (registry === undefined || tcp === undefined) throw new Error('tcp host transport not registered');
    const opened: TcpHostTransport[] = [];
    registry.set('tcp', {
      ...tcp,
      open: async (trid, o) => {
        const tr = await tcp.open(trid, o);
        opened.push(asTcp(tr));
        return tr;
      },
    });
    let c: Controller;
    try {
      // No Keep Alive (kato 0): with the default 10 s KATO one goes out every 5 s, and on a
      // loaded machine this test can outlast that; a Keep Alive inside the idle check below
      // makes both sides spin again, a false failure.
      c = await open(port, ` busypoll:${WINDOW_US}`, { ioQueues: 1, kato: 0 });
    } finally {
      registry.set('tcp', tcp);
    }
    const ns = c.namespaces[0];
    if (ns === undefined) throw new Error('no namespace');
    const buf = Buffer.alloc(4096);
    for (let i = 0; i < 200; i++) await ns.read(i * 8, 8, buf);
    const host = opened[0];
    if (host === undefined) throw new Error('no transport caught');
    expect(host.busyPollStats().hits).toBeGreaterThan(0);
    const target = (await child?.ask('busypoll')) as BusyPollStats;
    expect(target.hits).toBeGreaterThan(0);
    // Idle: every window has passed; nothing polls any more on either side.
    await sleep(50);
    const host0 = host.busyPollStats();
    const target0 = (await child?.ask('busypoll')) as BusyPollStats;
    await sleep(300);
    expect(host.busyPollStats()).toEqual(host0);
    expect(await child?.ask('busypoll')).toEqual(target0);
  });
});

describe('SocketPoller over a fake socket that always has a PDU', () => {
  /** A CapsuleResp (NVMe/TCP 1.0 Figure 28: type 05h, HLEN 24, PLEN 24, then the CQE). */
  const pdu = Buffer.alloc(24);
  pdu.writeUInt8(PduType.CapsuleResp, 0);
  pdu.writeUInt8(24, 2);
  pdu.writeUInt32LE(24, 4);

  function setUp(full: boolean): { poller: SocketPoller; stats: BusyPollStats; pdus: () => number } {
    let pdus = 0;
    const handler: PduHandler = {
      onHeader: () => RX_OK,
      onPdu: () => {
        pdus++;
      },
      onFatal: () => {
        throw new Error('unexpected fatal error');
      },
    };
    const rx = new PduReceiver('host', handler, () => 0);
    rx.connected = true;
    const socket = { destroyed: false, readableLength: 0 } as unknown as Socket;
    const native: BusyPollNative = {
      socketFd: () => 1000,
      recvInto: (_fd, buf) => {
        if (!full) return -1;
        pdu.copy(buf, 0);
        return pdu.length;
      },
    };
    const stats = newBusyPollStats();
    const poller = new SocketPoller(native, { socket, rx, canPoll: () => true }, Buffer.alloc(4096), 50, stats);
    return { poller, stats, pdus: () => pdus };
  }

  it('spins chained from ticks yield to the event loop after a slice: a timer still fires', async () => {
    const { poller, stats, pdus } = setUp(true);
    let timerRan = false;
    setTimeout(() => {
      timerRan = true;
    }, 0);
    // What a side does: each flush (a tick) starts a spin, each hit causes another flush. (The
    // cap only keeps a broken build from hanging the test: it fails on the yields below.)
    let chained = 0;
    const again = (): void => {
      if (poller.spin() && ++chained < 200_000) process.nextTick(again);
    };
    again();
    // Without the slices this chain would not leave the ticks before the cap.
    await sleep(20);
    expect(timerRan).toBe(true);
    expect(stats.yields).toBeGreaterThanOrEqual(1);
    expect(chained).toBeLessThan(200_000);
    expect(pdus()).toBe(stats.hits);
    expect(stats.hits).toBeGreaterThan(1);
  });

  it('a spin that finds nothing ends after its window, and nothing polls afterwards', async () => {
    const { poller, stats } = setUp(false);
    expect(poller.spin()).toBe(false);
    expect(stats.spins).toBe(1);
    expect(stats.polls).toBeGreaterThan(0);
    const polls = stats.polls;
    await sleep(20);
    expect(stats.polls).toBe(polls);
  });
});

describe('low-latency mode: bounds', () => {
  it('stops polling once the window passed: the poll counters stop growing on both sides', async () => {
    mini = await startMiniTarget('127.0.0.1', { busyPollUs: WINDOW_US });
    const h = await hostConnect(mini.port, '127.0.0.1', { qid: 1, queueSize: 32, host: { busyPollUs: WINDOW_US } });
    const host = asTcp(h.transport);
    for (let i = 0; i < 50; i++) {
      const buf = Buffer.alloc(4096);
      expect(cqeStatus(await h.cmd(sqeRw(0x02, i % 31, i, 8), buf, 'c2h'))).toBe(0);
    }
    expect(mini.transport.busyPollStats().spins).toBeGreaterThan(0);
    expect(host.busyPollStats().spins).toBeGreaterThan(0);
    // Well past the window: every spin has ended; from now on nothing polls.
    await sleep(50);
    const target0 = mini.transport.busyPollStats();
    const host0 = host.busyPollStats();
    await sleep(200);
    expect(mini.transport.busyPollStats()).toEqual(target0);
    expect(host.busyPollStats()).toEqual(host0);
    await h.transport.close();
  });

  it('a host that closes during the target’s spin window: the target sees the end and closes the connection', async () => {
    // A long window: the close lands inside the spin that follows the response.
    mini = await startMiniTarget('127.0.0.1', { busyPollUs: 5000 });
    const h = await hostConnect(mini.port, '127.0.0.1', { qid: 1, queueSize: 32 });
    const before = mini.transport.busyPollStats();
    expect(cqeStatus(await h.cmd(sqeRw(0x02, 1, 0, 8), Buffer.alloc(4096), 'c2h'))).toBe(0);
    await h.transport.close();
    for (let i = 0; i < 200 && mini.transport.connectionCount > 0; i++) await sleep(10);
    expect(mini.transport.connectionCount).toBe(0);
    expect(mini.transport.busyPollStats().spins).toBeGreaterThan(before.spins);
  });

  it.each([
    ['resets', (s: Socket) => s.resetAndDestroy()],
    ['closes', (s: Socket) => s.end()],
  ])('a controller that %s during the host’s spin window fails the command, and the spin ends', async (_how, hangUp) => {
    // A raw "controller" that answers ICReq, then resets the connection on the first capsule.
    const srv = createServer((s) => {
      let got = 0;
      s.on('data', (d: Buffer) => {
        got += d.length;
        if (got === 128) {
          const icresp = Buffer.alloc(128);
          icresp.writeUInt8(0x01, 0); // ICResp
          icresp.writeUInt8(128, 2); // HLEN
          icresp.writeUInt32LE(128, 4); // PLEN
          icresp.writeUInt32LE(0x20000, 12); // MAXH2CDATA
          s.write(icresp);
        } else if (got > 128) {
          // The capsule arrived: the host is spinning for its answer now.
          setTimeout(() => hangUp(s), 1);
        }
      });
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    try {
      const factory = createTcpHostTransportFactory({ busyPollUs: 10_000 });
      const transport = asTcp(
        await factory.open({ trtype: 'tcp', traddr: '127.0.0.1', trsvcid: String(port) }, { hostnqn: 'nqn.test:host', hostid: new Uint8Array(16), connectTimeoutMs: 3000 }),
      );
      let disconnected: Error | undefined;
      const gone = new Promise<void>((resolve) => {
        void transport
          .connectQPair({
            qid: 0,
            queueSize: 4,
            maxInCapsuleDataSize: 8192,
            handler: {
              completion: () => undefined,
              disconnected: (e) => {
                disconnected = e;
                resolve();
              },
            },
          })
          .then((qp) => {
            qp.submit(sqeRw(0x02, 1, 0, 8), Buffer.alloc(4096), 0, 4096, 'c2h');
          });
      });
      await gone;
      expect(disconnected).toBeInstanceOf(Error);
      const s0 = transport.busyPollStats();
      expect(s0.spins).toBeGreaterThan(0);
      await sleep(100);
      expect(transport.busyPollStats()).toEqual(s0);
      await transport.close();
    } finally {
      srv.close();
    }
  });

  it('refuses a window out of range', async () => {
    const { TcpTargetTransport } = await import('../src/target/transport.js');
    expect(() => new TcpTargetTransport({ busyPollUs: -1 })).toThrow(RangeError);
    expect(() => new TcpTargetTransport({ busyPollUs: 10_001 })).toThrow(RangeError);
    expect(() => new TcpTargetTransport({ busyPollUs: 1.5 })).toThrow(RangeError);
    mini = await startMiniTarget('127.0.0.1');
    await expect(hostConnect(mini.port, '127.0.0.1', { params: { busypoll: '20000' } })).rejects.toThrow(RangeError);
    await expect(hostConnect(mini.port, '127.0.0.1', { params: { busypoll: 'x' } })).rejects.toThrow(RangeError);
  });
});
