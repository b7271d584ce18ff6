/**
 * Encode + decode throughput of the hot-path messages, next to a plain Buffer.copy of the
 * same bytes measured in the same run (the ceiling: no codec can beat copying the message).
 * Run with `pnpm bench` (turbo) or `npx pnpm@10.34.8 run bench` in this package.
 */
import {
  Command,
  HeaderFlags,
  createDmaMapView,
  createRegionDataView,
  decodeDmaMapInto,
  decodeMessage,
  decodeRegionDataInto,
  encodeDmaMapInto,
  encodeMessageInto,
  encodeRegionDataInto,
  makeRequest,
} from '../src/index.js';

interface Result {
  name: string;
  opsPerSec: number;
}

interface Case {
  name: string;
  op: (i: number) => void;
}

/** Ops per second of one timed run of about `ms` milliseconds. */
function timed(op: (i: number) => void, ms: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 1000; i++) op(n + i);
    n += 1000;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

/**
 * Runs the cases of a group in turn, `rounds` times, and keeps each case's best run: taking
 * turns spreads the noise of a shared machine over every case alike.
 */
function measure(cases: Case[], ms = 150, rounds = 5): Result[] {
  for (const c of cases) for (let i = 0; i < 20_000; i++) c.op(i); // warm up the JIT
  const best = cases.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, k) => {
      best[k] = Math.max(best[k]!, timed(c.op, ms));
    });
  }
  return cases.map((c, k) => ({ name: c.name, opsPerSec: best[k]! }));
}

const wire = Buffer.alloc(4096);
const copyDst = Buffer.alloc(4096);
let sink = 0;

function regionWriteCase(dataLen: number): Result[] {
  const data = Buffer.alloc(dataLen, 0x5a);
  const view = createRegionDataView();
  const len = encodeRegionDataInto(wire, 0, 1, Command.REGION_WRITE, HeaderFlags.NO_REPLY, 0x1000, 0, data);
  const msg = makeRequest(1, Command.REGION_WRITE, { kind: 'region-data', offset: 0x1000n, region: 0, data }, { noReply: true });
  return measure([
    {
      name: `Buffer.copy of a ${len}-byte REGION_WRITE (ceiling)`,
      op: () => {
        sink += wire.copy(copyDst, 0, 0, len);
      },
    },
    {
      name: `REGION_WRITE ${dataLen} B, fast path (encode*Into + decode*Into)`,
      op: (i) => {
        encodeRegionDataInto(wire, 0, i & 0xffff, Command.REGION_WRITE, HeaderFlags.NO_REPLY, 0x1000, 0, data);
        sink += decodeRegionDataInto(wire, 0, len, view).count;
      },
    },
    {
      name: `REGION_WRITE ${dataLen} B, generic (encodeMessageInto + decodeMessage)`,
      op: (i) => {
        msg.msgId = i & 0xffff;
        encodeMessageInto(msg, wire, 0);
        sink += decodeMessage(wire, 0, len).msgId;
      },
    },
  ]);
}

function dmaMapCase(): Result[] {
  const view = createDmaMapView();
  const len = encodeDmaMapInto(wire, 0, 1, 3, 0n, 0x1_0000_0000n, 0x8000_0000n);
  const msg = makeRequest(1, Command.DMA_MAP, { kind: 'dma-map', flags: 3, offset: 0n, address: 0x1_0000_0000n, size: 0x8000_0000n });
  return measure([
    {
      name: `Buffer.copy of a ${len}-byte DMA_MAP (ceiling)`,
      op: () => {
        sink += wire.copy(copyDst, 0, 0, len);
      },
    },
    {
      name: 'DMA_MAP, fast path (encodeDmaMapInto + decodeDmaMapInto)',
      op: (i) => {
        encodeDmaMapInto(wire, 0, i & 0xffff, 3, 0n, 0x1_0000_0000n, 0x8000_0000n);
        sink += decodeDmaMapInto(wire, 0, len, view).flags;
      },
    },
    {
      name: 'DMA_MAP, generic (encodeMessageInto + decodeMessage)',
      op: (i) => {
        msg.msgId = i & 0xffff;
        encodeMessageInto(msg, wire, 0);
        sink += decodeMessage(wire, 0, len).msgId;
      },
    },
  ]);
}

function table(groups: Result[][]): void {
  const rows: string[][] = [['case', 'msgs/s', 'ns/msg', 'vs Buffer.copy']];
  for (const group of groups) {
    const ceiling = group[0]?.opsPerSec ?? 1;
    for (const r of group) {
      rows.push([r.name, Math.round(r.opsPerSec).toLocaleString('en-US'), (1e9 / r.opsPerSec).toFixed(1), `${((r.opsPerSec / ceiling) * 100).toFixed(1)} %`]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const line = (row: string[]): string => `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows.slice(1)) console.log(line(row));
}

console.log(`@nvmu/vfio-user-codec bench, node ${process.version}: encode + decode of one message per op`);
table([regionWriteCase(4), regionWriteCase(64), dmaMapCase()]);
if (sink === 0.5) console.log(sink); // keep the work observable
