// What the ceiling programs share: the server's "stats" answers on stdin and exit on its end,
// and the client's one-line JSON result.
import { createInterface } from 'node:readline';

/** Answers each "stats" line on stdin with {"cpuUs","ios","mem"}; exits when stdin ends or on SIGTERM. */
export function serveStats(ios) {
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l.trim() === 'stats') {
      const u = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ cpuUs: u.user + u.system, ios: ios(), mem: process.memoryUsage() })}\n`);
    }
  });
  process.stdin.on('end', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/** Prints {"ios","iops","mibps","elapsedSeconds","latencyUs":{"avg","p50","p99"},"cpu":{"perIoUs"}}. */
export function printResult({ lat, nLat, done, elapsed, size, cpu }) {
  const s = lat.subarray(0, nLat).sort();
  let sum = 0;
  for (let i = 0; i < nLat; i++) sum += s[i];
  const pct = (p) => (nLat === 0 ? 0 : s[Math.min(nLat - 1, Math.floor((p / 100) * nLat))]);
  const iops = done / elapsed;
  process.stdout.write(
    `${JSON.stringify({
      ios: done,
      iops,
      mibps: (iops * size) / (1024 * 1024),
      elapsedSeconds: elapsed,
      latencyUs: { avg: nLat === 0 ? 0 : sum / nLat, p50: pct(50), p99: pct(99) },
      cpu: { perIoUs: done === 0 ? 0 : (cpu.user + cpu.system) / done },
    })}\n`,
  );
}
