/**
 * SPDK as a vfio-user peer, both ways (issue 15), with an SPDK built by hand outside this
 * repository (nothing of SPDK is committed; see README.md "SPDK as a peer"):
 *
 * - SPDK's userspace initiator against the nvmu daemon's vfio-user endpoint: spdk_nvme_identify,
 *   spdk_nvme_perf at QD 1 to 128 over 1 and 4 queues, bdevperf's `verify` (writes, reads back,
 *   compares) and `reset` workloads, a perf killed mid-I/O and a new one after it, and SPDK's
 *   host without single-file segments (its DMA_MAPs run past their hugepage file: refused).
 * - nvmu's host side against SPDK's nvmf_tgt with the VFIOUSER transport: nvmu-perf
 *   `--verify` over every host mode the transport ID offers, several queues, 4 KiB to 128 KiB;
 *   the target killed under the client (outstanding commands fail at once, the client
 *   reconnects when the target is back and finds its data).
 *
 * Run: `NVMU_SPDK_DIR=/path/to/spdk pnpm --filter @nvmu/interop test:spdk` (after `pnpm build`),
 * as root with 2 MiB hugepages reserved (`echo 1024 > /proc/sys/vm/nr_hugepages`, hugetlbfs on
 * /dev/hugepages). Not part of `pnpm test`: CI cannot fetch SPDK.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Controller, type NvmeCommandAbortedError, type NvmeError } from '@nvmu/client';
import { freePort } from '@nvmu/test-kit/ports';
import '@nvmu/transport-vfio-user/host';

const SPDK = process.env.NVMU_SPDK_DIR ?? '';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const NODE = process.execPath;
const DAEMON = join(ROOT, 'apps/target/dist/main.js');
const PERF = join(ROOT, 'tools/perf/dist/main.js');
const NQN = 'nqn.2026-01.io.nvmu:spdkpeer';
const SPDK_NQN = 'nqn.2019-07.io.spdk:cnode0';

const work = mkdtempSync(join(tmpdir(), 'nvmu-spdk-peer-'));
const children: ChildProcess[] = [];

interface Run {
  status: number | null;
  out: string;
}

/** Runs a command to its end (stdout and stderr together), with a timeout. */
function run(cmd: string, args: string[], timeoutMs = 120_000): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function spdkBin(rel: string): string {
  return join(SPDK, 'build', rel);
}

/** SPDK's own rpc.py, with the system python3 (it needs nothing beyond the standard library). */
function rpc(socket: string, ...args: string[]): string {
  const r = run('/usr/bin/python3', [join(SPDK, 'scripts/rpc.py'), '-s', socket, ...args], 30_000);
  if (r.status !== 0) throw new Error(`rpc.py ${args.join(' ')}: ${r.out}`);
  return r.out;
}

let logs = 0;

/**
 * Starts a long-running peer with its output in a file, not a pipe: spawnSync blocks this
 * process's event loop for seconds, and a target blocked on a full stderr pipe stalls its
 * reactor (SPDK logs a line per failed interrupt).
 */
function start(cmd: string, args: string[]): { child: ChildProcess; log: () => string } {
  const file = join(work, `peer-${logs++}.log`);
  const fd = openSync(file, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.push(child);
  return { child, log: () => readFileSync(file, 'utf8') };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

beforeAll(() => {
  if (SPDK === '' || !existsSync(spdkBin('bin/nvmf_tgt'))) {
    throw new Error('NVMU_SPDK_DIR must name an SPDK tree built with --with-vfio-user (build/bin/nvmf_tgt, build/bin/spdk_nvme_perf, build/examples/bdevperf)');
  }
  const huge = Number(readFileSync('/proc/sys/vm/nr_hugepages', 'utf8'));
  if (huge < 512) throw new Error(`SPDK needs hugepages: /proc/sys/vm/nr_hugepages is ${huge}, want >= 512`);
  for (const f of [DAEMON, PERF]) if (!existsSync(f)) throw new Error(`${f} missing: run pnpm build first`);
});

afterAll(async () => {
  for (const c of children) await stop(c, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe("SPDK's initiator against nvmu's vfio-user target", () => {
  const dir = join(work, 'nvmu');
  const rpcSock = join(dir, 'rpc.sock');
  const vfu = join(dir, 'vfu');
  const trid = (ns: number) => `trtype:vfiouser traddr:${vfu} subnqn:${NQN} ns:${ns}`;
  let daemon: { child: ChildProcess; log: () => string };

  beforeAll(async () => {
    const port = await freePort();
    daemon = start(NODE, [DAEMON, '--nqn', NQN, '--data-dir', join(dir, 'data'), '--rpc-socket', rpcSock, '--vfio-user', vfu, '--listen', `127.0.0.1:${port}`, '--size', '64M']);
    await until(() => existsSync(rpcSock) && existsSync(join(vfu, 'cntrl')), 'the daemon');
    // nsid 1: the daemon's file namespace; nsid 2: a malloc bdev added with SPDK's rpc.py.
    rpc(rpcSock, 'bdev_malloc_create', '-b', 'Malloc0', '64', '512');
    rpc(rpcSock, 'nvmf_subsystem_add_ns', NQN, 'Malloc0');
  });

  afterAll(async () => {
    await stop(daemon.child);
  });

  it('spdk_nvme_identify reads every page the host asks for without an error', () => {
    const r = run(spdkBin('bin/spdk_nvme_identify'), ['-g', '-r', trid(1)]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/Vendor ID:\s+4e58/);
    expect(r.out).toMatch(/Model Number:\s+nvmu/);
    expect(r.out).toMatch(/Namespace ID:2/);
    expect(r.out).not.toMatch(/failed|ERROR/);
  });

  for (const [what, args] of [
    ['4 KiB random reads at QD 1', ['-q', '1', '-o', '4096', '-w', 'randread']],
    ['4 KiB random reads at QD 128 over 4 queues', ['-q', '128', '-P', '4', '-o', '4096', '-w', 'randread']],
    ['4 KiB random writes at QD 128', ['-q', '128', '-o', '4096', '-w', 'randwrite']],
    ['128 KiB sequential reads at QD 32', ['-q', '32', '-o', '131072', '-w', 'read']],
  ] as const) {
    it(`spdk_nvme_perf: ${what}`, () => {
      const r = run(spdkBin('bin/spdk_nvme_perf'), ['-g', '-r', trid(2), ...args, '-t', '3']);
      expect(r.status, r.out).toBe(0);
      const total = /^Total\s*:\s*([\d.]+)/m.exec(r.out);
      expect(Number(total?.[1] ?? 0), r.out).toBeGreaterThan(0);
      expect(r.out).not.toMatch(/ERROR/);
    });
  }

  const bdevperfConfig = join(work, 'bdevperf-nvmu.json');
  const bdevperf = (extra: string[], bdev: string): Run => {
    writeFileSync(
      bdevperfConfig,
      JSON.stringify({
        subsystems: [{ subsystem: 'bdev', config: [{ method: 'bdev_nvme_attach_controller', params: { name: 'Nvme0', trtype: 'VFIOUSER', traddr: vfu, subnqn: NQN } }] }],
      }),
    );
    return run(spdkBin('examples/bdevperf'), ['--json', bdevperfConfig, '-T', bdev, ...extra, '-t', '3']);
  };

  for (const [bdev, q, o] of [
    ['Nvme0n1', '32', '4096'],
    ['Nvme0n2', '32', '4096'],
    ['Nvme0n2', '16', '65536'],
    ['Nvme0n2', '8', '12288'],
  ] as const) {
    it(`bdevperf verify: ${bdev} (${bdev === 'Nvme0n1' ? 'file' : 'malloc'}) at QD ${q}, ${o}-byte I/O`, () => {
      const r = bdevperf(['-g', '-q', q, '-o', o, '-w', 'verify'], bdev);
      expect(r.status, r.out).toBe(0);
      expect(r.out).not.toMatch(/mismatch|ERROR/i);
      expect(r.out).toMatch(new RegExp(`${bdev}\\s+:\\s+\\d`));
    });
  }

  it('bdevperf reset: controller resets with I/O outstanding', () => {
    const r = bdevperf(['-g', '-q', '64', '-o', '4096', '-w', 'reset'], 'Nvme0n2');
    expect(r.status, r.out).toBe(0);
    expect(r.out).not.toMatch(/ERROR/);
  });

  it('SPDK without single-file segments: its DMA_MAP past the end of a hugepage file is refused, the target serves on', () => {
    const r = bdevperf(['-q', '8', '-o', '4096', '-w', 'verify'], 'Nvme0n2');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/DMA map failed|Error to setup vfio device/);
    expect(r.out).not.toMatch(/mismatch/i);
    expect(daemon.log()).toMatch(/runs past the end of its/);
    const again = run(spdkBin('bin/spdk_nvme_perf'), ['-g', '-r', trid(2), '-q', '8', '-o', '4096', '-w', 'randread', '-t', '1']);
    expect(again.status, again.out).toBe(0);
  });

  it('a perf killed mid-I/O: the target lets it go and serves the next one', async () => {
    const p = start(spdkBin('bin/spdk_nvme_perf'), ['-g', '-r', trid(2), '-q', '128', '-o', '4096', '-w', 'randwrite', '-t', '20']);
    await until(() => p.log().includes('Initialization complete'), 'perf to start I/O');
    await new Promise((r) => setTimeout(r, 1000));
    await stop(p.child, 'SIGKILL');
    const r = run(spdkBin('bin/spdk_nvme_perf'), ['-g', '-r', trid(1), '-q', '32', '-o', '4096', '-w', 'randread', '-t', '2']);
    expect(r.status, r.out).toBe(0);
    expect(daemon.child.exitCode).toBe(null);
  });
});

describe("nvmu's host against SPDK's nvmf_tgt (VFIOUSER)", () => {
  const dir = join(work, 'spdk');
  const rpcSock = join(dir, 'tgt.sock');
  const vfu = join(dir, 'vfu');
  let tgt: { child: ChildProcess; log: () => string };

  async function startTarget(): Promise<void> {
    rmSync(vfu, { recursive: true, force: true });
    rmSync(rpcSock, { force: true });
    mkdirSync(vfu, { recursive: true });
    tgt = start(spdkBin('bin/nvmf_tgt'), ['-m', '0x1', '-s', '512', '-r', rpcSock]);
    await until(() => existsSync(rpcSock), 'nvmf_tgt');
    await until(() => {
      try {
        rpc(rpcSock, 'spdk_get_version');
        return true;
      } catch {
        return false;
      }
    }, 'nvmf_tgt RPC');
    rpc(rpcSock, 'nvmf_create_transport', '-t', 'VFIOUSER');
    rpc(rpcSock, 'bdev_malloc_create', '-b', 'Malloc0', '128', '512');
    rpc(rpcSock, 'nvmf_create_subsystem', SPDK_NQN, '-a', '-s', 'SPDK0');
    rpc(rpcSock, 'nvmf_subsystem_add_ns', SPDK_NQN, 'Malloc0');
    rpc(rpcSock, 'nvmf_subsystem_add_listener', SPDK_NQN, '-t', 'VFIOUSER', '-a', vfu, '-s', '0');
  }

  beforeAll(async () => {
    await startTarget();
  });

  afterAll(async () => {
    await stop(tgt.child);
  });

  for (const [mode, args] of [
    ['', ['-q', '1']],
    ['', ['-q', '128']],
    ['', ['-q', '128', '-P', '4']],
    ['', ['-q', '128', '-P', '16']],
    ['', ['-q', '32', '-P', '4', '-o', '131072']],
    ['completions:poll', ['-q', '128']],
    ['completions:poll', ['-q', '128', '-P', '4']],
    ['doorbells:message', ['-q', '8', '-P', '2', '-o', '8192']],
    ['shadowdb:0', ['-q', '64']],
  ] as const) {
    it(`nvmu-perf randrw --verify ${mode === '' ? '(defaults)' : mode} ${args.join(' ')}`, () => {
      const r = run(NODE, [PERF, '--no-progress', '-r', `trtype:vfiouser traddr:${vfu} ${mode}`, '-w', 'randrw', '-M', '50', '--verify', '-t', '2', '-o', '4096', ...args]);
      expect(r.status, `${r.out}\n--- nvmf_tgt:\n${tgt.log().slice(-3000)}`).toBe(0);
      expect(r.out).toMatch(/verify: [1-9]\d* blocks checked, 0 mismatches/);
      // SPDK complains when a CQ looks full or a DMA_MAP does not fit its 16 regions.
      expect(tgt.log()).not.toMatch(/full \(tail=|hit max regions/);
    });
  }

  it('the target killed under the client: outstanding commands fail at once; the client reconnects to the restarted target and finds its data', async () => {
    const c: Controller = await connect(`trtype:vfiouser traddr:${vfu}`, { reconnect: { delayMs: 200, ctrlLossTimeoutMs: 60_000 } });
    try {
      const ns = c.namespaces[0]!;
      const data = new Uint8Array(ns.blockSize * 8).map((_, i) => (i * 7 + 3) & 0xff);
      await ns.write(64, data);
      const qp = await c.allocIoQPair({ queueSize: 32 });
      const errors: NvmeError[] = [];
      let inFlight = 0;
      const bufs = Array.from({ length: 16 }, () => new Uint8Array(ns.blockSize));
      const resubmit = (e: NvmeError | undefined, i: number): void => {
        inFlight--;
        if (e !== undefined) {
          errors.push(e);
          return;
        }
        inFlight++;
        qp.submitRead(ns, i, 1, bufs[i]!, resubmit, i);
      };
      for (let i = 0; i < 16; i++) {
        inFlight++;
        qp.submitRead(ns, i, 1, bufs[i]!, resubmit, i);
      }
      await new Promise((r) => setTimeout(r, 200));
      const resetting = once(c, 'resetting');
      await stop(tgt.child, 'SIGKILL');
      await resetting;
      await until(() => inFlight === 0, 'outstanding commands to fail', 5_000);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect((e as NvmeCommandAbortedError).reason).toBe('disconnected');
      // A malloc bdev does not outlive its target: write again after the reconnect and read back.
      const back = once(c, 'reset');
      await startTarget();
      await back;
      expect(c.state).toBe('ready');
      await ns.write(64, data);
      expect(Buffer.from(await ns.read(64, 8)).equals(Buffer.from(data))).toBe(true);
    } finally {
      await c.close();
    }
  });
});
