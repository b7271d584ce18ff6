/**
 * nvmu-perf against an in-process target: @nvmu/nvmf with malloc/null/error bdevs over the
 * loopback transport. Runs are bounded by --io-count (and a short -t), so they end quickly on
 * any machine; nothing asserts speed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nvmu/client';
import type { ErrorBdev } from '@nvmu/nvmf';
import type { LoopbackTargetTransport } from '@nvmu/transport-loopback';
import { WORKLOADS } from '../src/args.js';
import { perfMain } from '../src/cli.js';
import { runPerf } from '../src/run.js';
import { type TestTarget, startTarget } from './target.js';

function streams() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('runPerf on a malloc namespace', () => {
  let t: TestTarget;
  beforeAll(async () => {
    // 512 blocks of 512 bytes = 64 units of 4 KiB: every sequential run wraps, random runs revisit.
    t = await startTarget({ blockSize: 512, numBlocks: 512 });
  });
  afterAll(async () => {
    await t.close();
  });

  for (const workload of WORKLOADS) {
    it(`${workload} with --verify completes I/O and finds no mismatch`, async () => {
      const r = await runPerf({ trids: [t.trid], workload, readPercent: 50, verify: true, timeSeconds: 120, ioCount: 600, queueDepth: 8 });
      expect(r.firstErrors).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.total.ios).toBe(600);
      expect(r.total.iops).toBeGreaterThan(0);
      expect(r.total.mibps).toBeGreaterThan(0);
      expect(r.total.bytes).toBe(600 * 4096);
      expect(r.verify.mismatches).toBe(0);
      // Reads were checked: by the workload itself, or by the read-back after a write-only run.
      expect(r.verify.blocksChecked).toBeGreaterThan(0);
      if (workload.endsWith('read')) expect(r.total.writes).toBe(0);
      if (workload.endsWith('write')) {
        expect(r.total.reads).toBe(0);
        // The read-back covered every unit written (sequential 600 I/Os wrap the 64 units).
        if (workload === 'write') expect(r.verify.blocksChecked).toBe(512);
      }
      if (workload.endsWith('rw')) {
        expect(r.total.reads).toBeGreaterThan(0);
        expect(r.total.writes).toBeGreaterThan(0);
      }
      const l = r.total.latencyUs;
      expect(l.min).toBeGreaterThan(0);
      expect(l.min).toBeLessThanOrEqual(l.p50);
      expect(l.p50).toBeLessThanOrEqual(l.p90);
      expect(l.p90).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.p999);
      expect(l.p999).toBeLessThanOrEqual(l.max);
    });
  }

  it('runs a warm-up (-a) that is not counted', async () => {
    const phases = new Set<string>();
    const r = await runPerf(
      { trids: [t.trid], workload: 'randrw', verify: true, warmupSeconds: 1.1, timeSeconds: 120, ioCount: 200, queueDepth: 4 },
      { onProgress: (p) => phases.add(p.phase) },
    );
    expect(r.ok).toBe(true);
    expect(r.total.ios).toBe(200);
    expect(r.config.warmupSeconds).toBe(1.1);
    expect(phases.has('warmup')).toBe(true);
  });

  it('spreads -q over -P qpairs and honours the read mix', async () => {
    const r = await runPerf({ trids: [t.trid], workload: 'randrw', readPercent: 80, qpairsPerNamespace: 3, queueDepth: 7, timeSeconds: 120, ioCount: 2000 });
    expect(r.ok).toBe(true);
    expect(r.config.queueDepth).toBe(7);
    expect(r.config.qpairsPerNamespace).toBe(3);
    // 80 % reads of 2000 I/Os: far from 50 % and from 100 %.
    expect(r.total.reads).toBeGreaterThan(1400);
    expect(r.total.reads).toBeLessThan(1900);
  });

  it('says when the queues are too small for -q', async () => {
    // The loopback transport's default queue size is 128 entries: 127 outstanding per qpair.
    const s = streams();
    expect(await perfMain(['-r', t.trid, '-q', '200', '--io-count', '300', '--no-progress', '--json'], s.io)).toBe(0);
    expect((JSON.parse(s.out()) as { config: { queueDepth: number } }).config.queueDepth).toBe(127);
    expect(s.err()).toMatch(/note: -q 200 ran as 127/);
    const s2 = streams();
    expect(await perfMain(['-r', t.trid, '-q', '200', '-P', '2', '--io-count', '300', '--no-progress', '--json'], s2.io)).toBe(0);
    expect((JSON.parse(s2.out()) as { config: { queueDepth: number } }).config.queueDepth).toBe(200);
  });

  it('detects blocks written behind its back', async () => {
    // 1. Stamp the namespace (prefill) and check it.
    const first = await runPerf({ trids: [t.trid], workload: 'read', verify: true, seed: 7, timeSeconds: 120, ioCount: 64, queueDepth: 4 });
    expect(first.ok).toBe(true);
    // 2. Another host overwrites LBA 100 (inside 4 KiB unit 12).
    const ctrl = await connect(t.trid, { reconnect: false });
    try {
      await ctrl.namespace(1)!.write(100, Buffer.alloc(512, 0xa5));
    } finally {
      await ctrl.close();
    }
    // 3. Check again without rewriting: sequential reads over all 64 units must see it.
    const second = await runPerf({ trids: [t.trid], workload: 'read', verify: true, seed: 7, prefill: false, timeSeconds: 120, ioCount: 64, queueDepth: 4 });
    expect(second.ok).toBe(false);
    expect(second.verify.mismatches).toBe(1);
    expect(second.verify.firstMismatches[0]).toMatchObject({ nsid: 1, lba: 100, byteOffset: 0 });
    // 4. The command line says so and exits 1.
    const s = streams();
    const code = await perfMain(['-r', t.trid, '-w', 'read', '--verify', '--seed', '7', '--no-prefill', '--io-count', '64', '-q', '4', '--no-progress'], s.io);
    expect(code).toBe(1);
    expect(s.out()).toMatch(/verify: \d+ blocks checked, 1 mismatches/);
    expect(s.out()).toMatch(/verify mismatch: nsid 1 LBA 100 carries no --verify stamp \(first words a5a5a5a5 a5a5a5a5 a5a5a5a5 a5a5a5a5\)/);
    expect(s.err()).toMatch(/FAILED: 1 verify mismatches/);
    // 5. A different seed is a mismatch on every block.
    const other = await runPerf({ trids: [t.trid], workload: 'read', verify: true, seed: 8, prefill: false, timeSeconds: 120, ioCount: 8, queueDepth: 1 });
    expect(other.verify.mismatches).toBe(64);
    expect(other.verify.firstMismatches[0]?.message).toMatch(/written with seed 7, expected 8/);
  });

  it('rejects an I/O size that is not a multiple of the block size, and unknown nsids', async () => {
    await expect(runPerf({ trids: [t.trid], ioSize: 1000, ioCount: 1 })).rejects.toThrow(/-o 1000: not a multiple of nsid 1's block size 512/);
    await expect(runPerf({ trids: [t.trid], nsids: [9], ioCount: 1 })).rejects.toThrow(/-N 9: no active namespace 9 .*\(active: 1\)/);
    const s = streams();
    expect(await perfMain(['-r', t.trid, '-o', '1000', '--io-count', '1'], s.io)).toBe(2);
    expect(s.err()).toMatch(/nvmu-perf: -o 1000: not a multiple/);
  });
});

describe('runPerf with several namespaces and -L', () => {
  it('reports per namespace and in total, with bucket tables', async () => {
    const t = await startTarget({ namespaces: 2, blockSize: 4096, numBlocks: 64 });
    try {
      const r = await runPerf({ trids: [t.trid], workload: 'randread', timeSeconds: 120, ioCount: 300, latencyHistogram: true, queueDepth: 4 });
      expect(r.namespaces.map((n) => n.nsid)).toEqual([1, 2]);
      expect(r.total.ios).toBe(600);
      expect(r.total.iops).toBeCloseTo(r.namespaces[0]!.iops + r.namespaces[1]!.iops, 6);
      for (const n of [...r.namespaces, r.total]) {
        const rows = n.histogram!;
        expect(rows.reduce((a, b) => a + b.count, 0)).toBe(n.ios);
        expect(rows.at(-1)!.cumulativePercent).toBeCloseTo(100, 9);
      }
      const only2 = await runPerf({ trids: [t.trid], nsids: [2], timeSeconds: 120, ioCount: 10 });
      expect(only2.namespaces.map((n) => n.nsid)).toEqual([2]);

      const s = streams();
      expect(await perfMain(['-r', t.trid, '-N', '1', '-L', '--io-count', '50', '--no-progress'], s.io)).toBe(0);
      const text = s.out();
      expect(text).toMatch(/^Device Information\s+:\s+IOPS\s+MiB\/s\s+Average\s+min\s+max\s+p50\s+p90\s+p99\s+p99\.9$/m);
      expect(text).toMatch(/^LOOPBACK \(addr:perf-test-\S+ subnqn:nqn\.2026-11\.io\.nvmu:perf-test-\d+\) NSID 1\s*:(\s+\d+\.\d\d){9}$/m);
      expect(text).toMatch(/^Total\s+:(\s+\d+\.\d\d){9}$/m);
      expect(text).toMatch(/Latency histogram for LOOPBACK .* NSID 1:\n=+\n\s+Range in us\s+Cumulative\s+IO count\n/);
      expect(text).toMatch(/Summary latency data for LOOPBACK .* NSID 1:\n=+\n\s+1\.00000% :\s+\d+\.\d{3}us\n/);
      expect(text).toMatch(/^\s+99\.99900% :\s+\d+\.\d{3}us$/m);
      expect(text).toMatch(/100\.0000%/);
    } finally {
      await t.close();
    }
  });
});

describe('I/O errors', () => {
  it('counts failed reads, names the status and exits 1', async () => {
    const t = await startTarget({ kind: 'error', blockSize: 512, numBlocks: 256 });
    try {
      (t.bdevs[0] as ErrorBdev).inject({ op: 'read', action: 'fail', count: 5 });
      const r = await runPerf({ trids: [t.trid], workload: 'randread', timeSeconds: 120, ioCount: 100, queueDepth: 4 });
      expect(r.ok).toBe(false);
      expect(r.total.errors).toBe(5);
      expect(r.total.ios).toBe(100);
      expect(r.firstErrors[0]).toMatch(/Read \(qid \d+, cid \d+, nsid 1\) failed: \w*UnrecoveredReadError/i);
      (t.bdevs[0] as ErrorBdev).inject({ op: 'read', action: 'fail', count: 1 });
      const s = streams();
      expect(await perfMain(['-r', t.trid, '--io-count', '20', '--no-progress'], s.io)).toBe(1);
      expect(s.out()).toMatch(/errors: 1 I\/Os failed/);
      expect(s.err()).toMatch(/FAILED: 1 I\/O errors/);
    } finally {
      await t.close();
    }
  });
});

describe('--json', () => {
  it('prints one object of the documented schema on stdout, progress only on stderr', async () => {
    const t = await startTarget({ kind: 'null', blockSize: 512, numBlocks: 1 << 20 });
    try {
      const s = streams();
      const code = await perfMain(['-r', t.trid, '-w', 'randrw', '-M', '30', '-t', '1.2', '-q', '4', '--json', '-L'], s.io);
      expect(code).toBe(0);
      const j = JSON.parse(s.out()) as Record<string, unknown>;
      expect(Object.keys(j).sort()).toEqual(['config', 'cpu', 'elapsedSeconds', 'firstErrors', 'namespaces', 'ok', 'tool', 'total', 'verify', 'version'].sort());
      expect(j).toMatchObject({ version: 1, tool: 'nvmu-perf', ok: true, firstErrors: [] });
      expect(j.config).toEqual({
        trids: [t.trid],
        workload: 'randrw',
        readPercent: 30,
        ioSize: 4096,
        queueDepth: 4,
        qpairsPerNamespace: 1,
        timeSeconds: 1.2,
        warmupSeconds: 0,
        verify: false,
        seed: 1,
        ioCount: null,
      });
      const num = expect.any(Number) as unknown;
      const nsShape = {
        name: expect.any(String) as unknown,
        trid: expect.any(String) as unknown,
        nsid: num,
        ios: num,
        reads: num,
        writes: num,
        bytes: num,
        errors: 0,
        verifyMismatches: 0,
        iops: num,
        mibps: num,
        latencyUs: { avg: num, min: num, max: num, p50: num, p90: num, p99: num, p999: num },
        histogram: expect.any(Array) as unknown,
      };
      expect(j.namespaces).toEqual([{ ...nsShape, nsid: 1 }]);
      expect(j.total).toEqual({ ...nsShape, name: 'Total', trid: '', nsid: 0 });
      expect(j.cpu).toEqual({ userUs: num, systemUs: num, perIoUs: num });
      expect(j.verify).toEqual({ enabled: false, blocksChecked: 0, mismatches: 0, firstMismatches: [] });
      expect((j.total as { iops: number }).iops).toBeGreaterThan(0);
      // A 1.2 s run prints at least one progress line, on stderr.
      expect(s.err()).toMatch(/^\[\s*\d+\.\d\/1\.2 s\] run: \d+ IOPS, \d+\.\d\d MiB\/s$/m);
    } finally {
      await t.close();
    }
  });

  it('reports a controller that cannot be reached with exit status 1', async () => {
    const s = streams();
    expect(await perfMain(['-r', 'trtype:loopback traddr:nobody-here subnqn:nqn.2026-01.io.nvmu:nobody', '--no-progress'], s.io)).toBe(1);
    expect(s.err()).toMatch(/nvmu-perf: .*nobody-here/);
    const sj = streams();
    expect(await perfMain(['-r', 'trtype:loopback traddr:nobody-here subnqn:nqn.2026-01.io.nvmu:nobody', '--json'], sj.io)).toBe(1);
    expect(JSON.parse(sj.out())).toEqual({ version: 1, tool: 'nvmu-perf', ok: false, error: expect.stringMatching(/nobody-here/) as unknown });
    const s2 = streams();
    expect(await perfMain(['-r', 'trtype:carrier-pigeon traddr:x', '--no-progress'], s2.io)).toBe(1);
    expect(s2.err()).toMatch(/no host transport registered for trtype 'carrier-pigeon'/);
    const s3 = streams();
    expect(await perfMain(['-q', 'lots'], s3.io)).toBe(2);
    expect(s3.err()).toMatch(/nvmu-perf: -q lots: expected an integer/);
    expect(s3.err()).toMatch(/usage: nvmu-perf/);
  });
});

describe('a connection lost mid-run', () => {
  it('ends the run with the aborted I/Os counted as errors instead of hanging', async () => {
    const t = await startTarget({ blockSize: 512, numBlocks: 1024 });
    try {
      const tr = t.target.getTransport('loopback') as LoopbackTargetTransport;
      let dropped = 0;
      const r = await runPerf(
        { trids: [t.trid], timeSeconds: 600, queueDepth: 8, qpairsPerNamespace: 2 },
        {
          onProgress: () => {
            if (dropped === 0) dropped = tr.dropConnections();
          },
        },
      );
      expect(dropped).toBeGreaterThan(0);
      expect(r.ok).toBe(false);
      expect(r.total.errors).toBeGreaterThan(0);
      expect(r.firstErrors.join('\n')).toMatch(/aborted/);
    } finally {
      await t.close();
    }
  });
});
