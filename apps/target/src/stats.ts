/**
 * Statistics: SPDK's `nvmf_get_stats` (tick_rate and poll_groups, as SPDK lists them) with nvmu's
 * per-subsystem, per-controller and per-qpair I/O counts beside them (`subsystems`), and the same
 * figures as a Prometheus `/metrics` endpoint (prom-client), read from the counters the core keeps
 * on its qpairs at scrape time: nothing is counted twice and nothing allocated per I/O.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { IoCounters, Subsystem, Target } from '@nvmu/nvmf';
import type { RpcContext } from './rpc/context.js';
import { decodeParams, type JsonObject, type RpcMethods } from './rpc/methods.js';
import { RpcError } from './rpc/errors.js';

/** Counters of `nvmf_get_stats` (latency in microseconds, from the in-flight integral: see IoCounters.latencyUs). */
function dumpIo(io: IoCounters): JsonObject {
  return {
    read_ops: io.readOps,
    write_ops: io.writeOps,
    other_ops: io.otherOps,
    bytes_read: io.readBytes,
    bytes_written: io.writeBytes,
    errors: io.errors,
    latency_us_total: Math.round(io.latencyUs),
    avg_latency_us: Math.round(io.meanLatencyUs * 100) / 100,
  };
}

function subsystemStats(s: Subsystem): JsonObject {
  return {
    nqn: s.nqn,
    ...dumpIo(s.ioStats()),
    io_inflight: s.ioInflight,
    controllers: [...s.controllers.values()].map((c) => ({
      cntlid: c.cntlid,
      hostnqn: c.hostnqn,
      ...dumpIo(c.ioStats()),
      qpairs: c.qpairs.flatMap((q) => (q !== undefined && q.qid > 0 ? [{ qid: q.qid, outstanding: q.outstanding, ...dumpIo(q.io) }] : [])),
    })),
  };
}

export function nvmfStats(ctx: RpcContext): JsonObject {
  const t = ctx.target;
  const stats = t.getStats();
  let admin = 0;
  let io = 0;
  let completed = 0;
  let pending = 0;
  for (const s of [t.discovery, ...t.subsystems()]) {
    for (const c of s.controllers.values()) {
      if (c.adminQPair !== undefined) admin++;
      io += c.ioQPairCount;
    }
    if (s.kind === 'nvm') {
      completed += s.ioStats().ops;
      pending += s.ioInflight;
    }
  }
  return {
    tick_rate: 1_000_000,
    poll_groups: stats.pollGroups.map((g) => ({
      name: `nvmf_tgt_poll_group_${String(g.id).padStart(3, '0')}`,
      current_admin_qpairs: stats.pollGroups.length === 1 ? admin : 0,
      current_io_qpairs: stats.pollGroups.length === 1 ? io : 0,
      current_unassociated_qpairs: Math.max(0, g.qpairs - (stats.pollGroups.length === 1 ? admin + io : 0)),
      pending_bdev_io: stats.pollGroups.length === 1 ? pending : 0,
      completed_nvme_io: stats.pollGroups.length === 1 ? completed : 0,
      transports: t.transports.map((x) => ({ trtype: ctx.transports.spdkName(x.trtype) })),
    })),
    subsystems: [...t.subsystems()].map(subsystemStats),
  };
}

export function registerStatsMethods(m: RpcMethods, ctx: RpcContext): void {
  m.register('nvmf_get_stats', (params) => {
    const p = decodeParams(params, { tgt_name: { type: 'string' } });
    if (p.tgt_name !== undefined && p.tgt_name !== ctx.targetName) throw RpcError.internal(`Unable to find target ${p.tgt_name}`);
    return nvmfStats(ctx);
  });
}

/** A prom-client registry whose metrics are read from the target at each scrape. */
export function createMetricsRegistry(ctx: RpcContext): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'nvmu_' });
  const subs = (): Subsystem[] => [...ctx.target.subsystems()];
  /** A metric per subsystem, its value(s) read at scrape time by `read`. */
  const perSubsystem = (kind: 'counter' | 'gauge', name: string, help: string, read: (s: Subsystem, set: (v: number, op?: string) => void) => void, op = false): void => {
    const labelNames = op ? ['nqn', 'op'] : ['nqn'];
    const collect = (m: Counter | Gauge): void => {
      m.reset();
      for (const s of subs()) {
        read(s, (v, o) => {
          const labels = o === undefined ? { nqn: s.nqn } : { nqn: s.nqn, op: o };
          if (m instanceof Gauge) m.set(labels, v);
          else m.inc(labels, v);
        });
      }
    };
    if (kind === 'counter') {
      new Counter({ name, help, labelNames, registers: [registry], collect() { collect(this); } });
    } else {
      new Gauge({ name, help, labelNames, registers: [registry], collect() { collect(this); } });
    }
  };
  perSubsystem('counter', 'nvmu_io_ops_total', 'I/O commands completed, by subsystem and kind', (s, set) => {
    const io = s.ioStats();
    set(io.readOps, 'read');
    set(io.writeOps, 'write');
    set(io.otherOps, 'other');
  }, true);
  perSubsystem('counter', 'nvmu_io_bytes_total', 'Bytes moved by successful reads and writes, by subsystem', (s, set) => {
    const io = s.ioStats();
    set(io.readBytes, 'read');
    set(io.writeBytes, 'write');
  }, true);
  perSubsystem('counter', 'nvmu_io_errors_total', 'I/O commands completed with an error status, by subsystem', (s, set) => {
    set(s.ioStats().errors);
  });
  perSubsystem('counter', 'nvmu_io_latency_seconds_total', 'Sum of I/O latencies (submission to completion), by subsystem, from the commands in flight integrated over time; divide by nvmu_io_ops_total for the mean', (s, set) => {
    set(s.ioStats().latencyUs / 1e6);
  });
  perSubsystem('gauge', 'nvmu_io_inflight', 'I/O commands in flight, by subsystem', (s, set) => {
    set(s.ioInflight);
  });
  perSubsystem('gauge', 'nvmu_controllers', 'Connected controllers, by subsystem', (s, set) => {
    set(s.controllers.size);
  });
  perSubsystem('gauge', 'nvmu_namespaces', 'Namespaces, by subsystem', (s, set) => {
    set(s.namespaces.size);
  });
  return registry;
}

/** Serve `GET /metrics` from `registry` on host:port; resolves with the server once it listens. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      },
      (e: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e instanceof Error ? e.message : String(e)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** What the latency sampler needs of the target (a `Target`; tests pass a stand-in). */
export type InflightSource = Pick<Target, 'sampleInflight' | 'onNextIo'>;

/**
 * Sample the commands in flight every `periodMs` into the latency sums (Little's law), until the
 * returned function is called. The timer runs only while I/O does: a pass that finds no I/O in
 * flight and none since the previous pass stops it, and the target's `onNextIo` starts it again
 * at the next I/O command, so an idle daemon is never woken (nothing is in flight while it
 * sleeps, so the integral loses nothing). The timer is unref'd: it never keeps the process
 * alive; it costs one walk over the qpairs per period, nothing per I/O.
 */
export function startLatencySampler(target: InflightSource, periodMs = 10): () => void {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = (): void => {
    const now = performance.now();
    const busy = target.sampleInflight((now - last) * 1000);
    last = now;
    if (!busy) sleep();
  };
  const wake = (): void => {
    if (stopped || timer !== undefined) return;
    last = performance.now();
    timer = setInterval(tick, periodMs);
    timer.unref();
  };
  const sleep = (): void => {
    clearInterval(timer);
    timer = undefined;
    if (!stopped) target.onNextIo(wake);
  };
  sleep();
  return () => {
    stopped = true;
    clearInterval(timer);
    timer = undefined;
    // Leave nothing waiting on the target.
    target.onNextIo(() => undefined);
  };
}
