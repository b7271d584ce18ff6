#!/usr/bin/env node
/**
 * Idle cost of the vfio-user target under a real guest (issue 14: "a guest with no I/O costs
 * the target below 1 % of a core over a minute"): the bench's target child (vfio-user listener,
 * null bdev, pinned to CPU 0) and a Linux guest under QEMU's vfio-user-pci with shared RAM
 * (tools/interop's harness and its cached QEMU >= 10.1). The guest binds the `nvme` driver,
 * waits for its namespace, reads 4 KiB once, says so and then does nothing; the target's CPU
 * (/proc/<pid>/stat utime + stime) is read over `NVMU_IDLE_SECONDS` (default 60) from 5 s after.
 *
 * Needs tools/interop and tools/bench built (`pnpm build`) and a guest kernel (as the interop
 * tests). Run from tools/bench: `node bench/guest-idle.mjs`. Prints one line of text and one JSON line.
 * NVMU_BENCH_VFU_INTERRUPT=1: the target in interrupt mode (doorbells trapped, no timers while idle).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { detectPinning, startTarget } from '../dist/index.js';
import { startGuest } from '../../interop/dist/index.js';

const SECONDS = Number(process.env.NVMU_IDLE_SECONDS ?? 60);

function procCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

const script = `
for d in /sys/bus/pci/devices/*; do [ "$(cat $d/class)" = 0x010802 ] && echo "controller $d"; done
modprobe nvme
i=0; while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
dd if=/dev/nvme0n1 of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null && echo GUEST-IDLE-READY
grep nvme /proc/interrupts
read -r line
echo "done $line"
`;

const load = loadavg()[0] ?? 0;
const mode = process.env.NVMU_BENCH_VFU_INTERRUPT === '1' ? 'interrupt' : 'poll';
const pinning = detectPinning();
const tmp = await mkdtemp(join(tmpdir(), 'nvmu-guest-idle-'));
const dir = join(tmp, 'vfu0');
const target = await startTarget(pinning, [], dir);
const pid = target.child.proc.pid;
try {
  const guest = await startGuest({ vfioUser: [join(dir, 'cntrl')], sharedMemory: true, script, timeoutMs: (SECONDS + 600) * 1000 });
  try {
    await guest.waitFor(/GUEST-IDLE-READY/);
    await new Promise((r) => setTimeout(r, 5000));
    const c0 = procCpuSeconds(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const wall = (performance.now() - t0) / 1000;
    const pct = (100 * (procCpuSeconds(pid) - c0)) / wall;
    guest.send('bye\n');
    process.stdout.write(`target CPU (${mode} mode) with an idle Linux guest (nvme bound, accel ${guest.accel}): ${pct.toFixed(3)} % of a core over ${wall.toFixed(1)} s (load average at start ${load.toFixed(2)})\n`);
    process.stdout.write(`${JSON.stringify({ tool: 'nvmu-bench-guest-idle', mode, accel: guest.accel, seconds: wall, targetPercent: pct, loadAverage1m: load })}\n`);
  } finally {
    await guest.stop();
  }
} finally {
  await target.child.stop();
  await rm(tmp, { recursive: true, force: true });
}
