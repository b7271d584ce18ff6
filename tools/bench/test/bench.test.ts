import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchResult, formatMarkdown, formatTable, runBench } from '../src/index.js';
import { buildPackage } from './build.js';

/** Every numeric leaf with its path. */
function numbers(v: unknown, path = '$', out: [string, number][] = []): [string, number][] {
  if (typeof v === 'number') out.push([path, v]);
  else if (Array.isArray(v)) v.forEach((x, i) => numbers(x, `${path}[${i}]`, out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) numbers(x, `${path}.${k}`, out);
  return out;
}

describe('a tiny bench run', () => {
  let dir: string;
  beforeAll(async () => {
    buildPackage();
    dir = await mkdtemp(join(tmpdir(), 'nvmu-bench-'));
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('completes and writes a JSON result with every field present and positive', async () => {
    const outFile = join(dir, 'latest.json');
    const res = await runBench({ seconds: 1, warmupSeconds: 0.2, repetitions: 1, soakSeconds: 2, queueDepth: 4, outFile, profileDir: dir, command: 'test', log: () => undefined });
    const json = JSON.parse(await readFile(outFile, 'utf8')) as BenchResult;
    expect(json).toEqual(JSON.parse(JSON.stringify(res)));
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.machine.cpuModel).not.toBe('');
    expect(json.workloads.map((w) => w.id)).toEqual([
      'randread-4k-qd1',
      'randread-4k-qd4',
      'randwrite-4k-qd4',
      'read-128k-qd4',
      'vfu-randread-4k-qd1',
      'vfu-randread-4k-qd4',
      'vfu-randread-4k-qd4-4q',
      'vfu-randwrite-4k-qd4',
      'vfu-read-128k-qd4',
    ]);
    for (const w of json.workloads) {
      expect(w.pairs).toHaveLength(1);
      for (const side of [w.median.nvmu, w.median.raw, w.pairs[0]!.nvmu, w.pairs[0]!.raw]) {
        expect(Object.keys(side).sort()).toEqual(['clientCpuUsPerIo', 'iops', 'ios', 'latencyUs', 'mibps', 'otherCpuCores', 'serverCpuUsPerIo', 'stealCores']);
        expect(Object.keys(side.latencyUs).sort()).toEqual(['avg', 'p50', 'p99']);
      }
    }
    const soak = json.soak!;
    expect(soak.samples.length).toBeGreaterThanOrEqual(2);
    for (const k of ['rss', 'heapUsed'] as const) expect(Object.keys(soak[k]).sort()).toEqual(['end', 'max', 'start']);
    expect(typeof soak.flat).toBe('boolean');
    expect(json.goal?.workload).toBe('randread-4k-qd4');
    // Slopes and the disturbance estimates may be 0 or negative; every other figure is a positive measurement.
    const all = numbers(json);
    expect(all.length).toBeGreaterThan(100);
    for (const [path, n] of all) {
      expect(Number.isFinite(n), path).toBe(true);
      if (!/(SlopeBytesPerSec|loadAverage1mAtStart|otherCpuCores|stealCores)$/.test(path)) expect(n, path).toBeGreaterThan(0);
    }
    const table = formatTable(json);
    const md = formatMarkdown(json);
    for (const w of json.workloads) {
      expect(table).toContain(w.label);
      expect(md).toContain(`| ${w.label} |`);
    }
    expect(md).toContain(json.machine.kernel);
    const p = json.profile!;
    expect(p.top.length).toBeGreaterThan(0);
    expect(p.top.length).toBeLessThanOrEqual(10);
    expect(md).toContain(p.top[0]!.name);
  });
});
