/**
 * Output of nvmu-perf: the human table (laid out like spdk_nvme_perf's summary, with the
 * percentile columns SPDK prints under -L), the -L bucket table, the progress line, and JSON.
 */
import type { HistogramRow, PerfNamespaceResult, PerfProgress, PerfResults } from './run.js';

const fixed = (v: number, width: number, digits = 2): string => v.toFixed(digits).padStart(width);

const COLUMNS = ['IOPS', 'MiB/s', 'Average', 'min', 'max', 'p50', 'p90', 'p99', 'p99.9'] as const;

function row(label: string, labelWidth: number, r: PerfNamespaceResult): string {
  const l = r.latencyUs;
  const cells = [r.iops, r.mibps, l.avg, l.min, l.max, l.p50, l.p90, l.p99, l.p999].map((v) => fixed(v, 10));
  return `${label.padEnd(labelWidth)}: ${cells.join(' ')}`;
}

/** Percentiles of spdk_nvme_perf's "Summary latency data" block. */
const SUMMARY_PERCENTILES = [1, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9, 99.99, 99.999];

/**
 * The -L output of one namespace, as spdk_nvme_perf prints it: the summary percentiles (upper
 * edge of the bucket that reaches each one), then the bucket table ("Range in us / Cumulative /
 * IO count").
 */
export function formatHistogram(title: string, rows: readonly HistogramRow[]): string {
  const lines = [`Summary latency data for ${title}:`, '='.repeat(72)];
  for (const p of SUMMARY_PERCENTILES) {
    const row = rows.find((r) => r.cumulativePercent >= p - 1e-9);
    if (row === undefined) break;
    lines.push(`${p.toFixed(5).padStart(10)}% : ${row.highUs.toFixed(3).padStart(12)}us`);
  }
  lines.push('', `Latency histogram for ${title}:`, '='.repeat(72), '       Range in us     Cumulative    IO count');
  for (const b of rows) {
    lines.push(`${fixed(b.lowUs, 10, 3)} - ${fixed(b.highUs, 10, 3)}: ${fixed(b.cumulativePercent, 9, 4)}%  (${String(b.count).padStart(8)})`);
  }
  return `${lines.join('\n')}\n`;
}

/** The human-readable report printed at the end of a run. */
export function formatResults(res: PerfResults): string {
  const c = res.config;
  const out: string[] = [];
  const mix = c.workload === 'rw' || c.workload === 'randrw' ? ` -M ${c.readPercent}` : '';
  out.push(
    `nvmu-perf: -w ${c.workload}${mix} -o ${c.ioSize} -q ${c.queueDepth} -P ${c.qpairsPerNamespace} -t ${c.timeSeconds}${c.warmupSeconds > 0 ? ` -a ${c.warmupSeconds}` : ''}` +
      `${c.verify ? ` --verify --seed ${c.seed}` : ''}${c.ioCount !== null ? ` --io-count ${c.ioCount}` : ''}`,
  );
  const labelWidth = Math.max(20, ...res.namespaces.map((n) => n.name.length));
  const width = labelWidth + 2 + COLUMNS.length * 11;
  out.push('='.repeat(width));
  out.push(`${' '.repeat(labelWidth + 2 + 2 * 11)}${'Latency(us)'.padStart(11)}`);
  out.push(`${'Device Information'.padEnd(labelWidth)}: ${COLUMNS.map((h) => h.padStart(10)).join(' ')}`);
  for (const n of res.namespaces) out.push(row(n.name, labelWidth, n));
  out.push('='.repeat(width));
  out.push(row('Total', labelWidth, res.total));
  out.push('');
  const perIo = res.cpu.perIoUs.toFixed(2);
  out.push(`${res.total.ios} I/Os in ${res.elapsedSeconds.toFixed(2)} s (${res.total.reads} reads, ${res.total.writes} writes); CPU ${perIo} us per I/O in this process`);
  if (res.verify.enabled) {
    out.push(`verify: ${res.verify.blocksChecked} blocks checked, ${res.verify.mismatches} mismatches`);
    for (const m of res.verify.firstMismatches) out.push(`  ${m.message}`);
  }
  if (res.total.errors > 0) {
    out.push(`errors: ${res.total.errors} I/Os failed`);
    for (const e of res.firstErrors) out.push(`  ${e}`);
  }
  let text = `${out.join('\n')}\n`;
  for (const n of res.namespaces) if (n.histogram !== undefined) text += `\n${formatHistogram(n.name, n.histogram)}`;
  return text;
}

/** The results as JSON (one object, the {@link PerfResults} schema, version 1). */
export function formatJson(res: PerfResults): string {
  return `${JSON.stringify(res, null, 2)}\n`;
}

/** One progress line: `[  3.0/10 s] run: 123456 IOPS, 482.25 MiB/s, 0 errors`. */
export function formatProgress(p: PerfProgress): string {
  const when = p.phase === 'run' || p.phase === 'warmup' ? `${p.elapsedSeconds.toFixed(1).padStart(5)}/${p.timeSeconds} s` : `${p.elapsedSeconds.toFixed(1).padStart(5)} s`;
  const extra = `${p.errors > 0 ? `, ${p.errors} errors` : ''}${p.verifyMismatches > 0 ? `, ${p.verifyMismatches} verify mismatches` : ''}`;
  return `[${when}] ${p.phase}: ${Math.round(p.iops)} IOPS, ${p.mibps.toFixed(2)} MiB/s${extra}`;
}
