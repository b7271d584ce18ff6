/**
 * Target and client in separate processes, as the seed asks ("vfio-user is just a protocol over
 * a UNIX socket between two processes"): the target is scripts/serve-file.mjs (a file-backed
 * namespace) in a child process; the client is this process, or a child of its own that gets
 * killed mid-I/O.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, NvmeCommandAbortedError, type Controller, type NvmeError } from '@nvmu/client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import '../../src/host.js';
import { VfioUserConnectionError } from '../../src/host.js';
import { tempDir } from '../server/helpers.js';
import { fillBlocks, hostStats, rwVerify } from './helpers.js';

const PKG = fileURLToPath(new URL('../..', import.meta.url));
const NQN = 'nqn.2026-12.io.nvmu:vfio-user';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => {
  // The children run the compiled package: build it first.
  const b = spawnSync(process.execPath, [join(PKG, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: PKG, encoding: 'utf8' });
  expect(b.status, b.stdout + b.stderr).toBe(0);
}, 120_000);

/** Starts serve-file.mjs on `dir` with image `file` (kept when it exists); resolves once it listens. */
async function startTarget(dir: string, file: string, args: readonly string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(PKG, 'scripts/serve-file.mjs'), '--socket-dir', dir, '--file', file, '--size-mib', '16', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  cleanups.push(() => {
    child.kill('SIGKILL');
  });
  // A target that dies before it listens fails the test at once rather than at its timeout.
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the target exited with ${String(code)} before it listened`);
  });
  const [line] = (await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited])) as [string];
  void exited.catch(() => undefined);
  expect(line).toBe(`READY ${dir}/cntrl`);
  return child;
}

async function open(dir: string, extra = '', opts: Parameters<typeof connect>[1] = {}): Promise<Controller> {
  const c = await connect(`trtype:vfio-user traddr:${dir} subnqn:${NQN} ${extra}`, { reconnect: false, ioQueues: 4, ...opts });
  cleanups.push(() => c.close().catch(() => undefined));
  return c;
}

describe('vfio-user host and target in separate processes', () => {
  it.each([
    ['shared memory, shadow doorbells, interrupts', '', []],
    ['DMA_READ/DMA_WRITE memory, no shadow doorbells, polling', 'dma:message completions:poll shadowdb:0', []],
    // The host on its own core races the target's EventIdx re-arm for real here.
    ['interrupt-mode target, shadow doorbells, polling', 'completions:poll', ['--interrupt-mode']],
    ['interrupt-mode target, no shadow doorbells, interrupts', 'shadowdb:0', ['--interrupt-mode']],
  ])('%s: bring-up, identify, several I/O queues, write/verify at QD 1..128', async (_name, extra, args) => {
    const { dir: root, cleanup } = tempDir();
    cleanups.push(cleanup);
    await startTarget(join(root, 'ep'), join(root, 'ns0.img'), args);
    const c = await open(join(root, 'ep'), extra);
    const id = await c.identifyController();
    expect(id.sn.trim()).toBe('NVMUVFU0001');
    const ns = c.namespaces[0]!;
    const qps = await Promise.all([c.allocIoQPair({ queueSize: 129 }), c.allocIoQPair({ queueSize: 64 }), c.allocIoQPair({ queueSize: 16 })]);
    expect(qps.map((q) => q.qid)).toEqual([2, 3, 4]);
    await Promise.all(
      qps.map(async (qp, i) => {
        for (const qd of [1, 4, 32, 128]) {
          if (qd < qp.queueSize) await rwVerify(ns, qp, { qd, ios: 2 * qd + 7, lbaBase: i * 8192 + qd * 32, nlb: 8, seed: i * 3 + qd });
        }
      }),
    );
    expect(hostStats(c).shadowDoorbells).toBe(!extra.includes('shadowdb:0') && !extra.includes('dma:message'));
    expect(hostStats(c).doorbellsMapped).toBe(!args.includes('--interrupt-mode'));
    if (args.includes('--interrupt-mode')) {
      // Idle long enough for the target to sleep on messages, then I/O on every queue again.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await Promise.all(qps.map((qp, i) => rwVerify(ns, qp, { qd: 8, ios: 64, lbaBase: 30000 + i * 1024, nlb: 8, seed: 50 + i })));
    }
  }, 60_000);

  it('a client killed mid-I/O: the target lets it go, and a new client finds its data', async () => {
    const { dir: root, cleanup } = tempDir();
    cleanups.push(cleanup);
    const ep = join(root, 'ep');
    const target = await startTarget(ep, join(root, 'ns0.img'));
    const child = spawn(process.execPath, [join(PKG, 'test/host/fixtures/client-child.mjs'), `trtype:vfiouser traddr:${ep} subnqn:${NQN}`, '5'], { cwd: PKG, stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    const lines = createInterface({ input: child.stdout });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      lines.on('line', (l) => {
        seen.push(l);
        if (l === 'BUSY') resolve();
      });
    });
    expect(seen).toEqual(['WROTE', 'BUSY']);
    const exited = once(child, 'exit');
    child.kill('SIGKILL'); // 32 writes in flight
    await exited;
    const c = await open(ep);
    const ns = c.namespaces[0]!;
    const want = new Uint8Array(ns.blockSize * 8);
    for (let lba = 0; lba < 256; lba += 8) {
      fillBlocks(want, lba, ns.blockSize, 5);
      expect(Buffer.from(await ns.read(lba, 8)).equals(want), `lba ${lba}`).toBe(true);
    }
    expect(target.exitCode).toBe(null);
  }, 60_000);

  it('the target killed under the client: outstanding commands fail with a transport error, then the client reconnects to the restarted target', async () => {
    const { dir: root, cleanup } = tempDir();
    cleanups.push(cleanup);
    const ep = join(root, 'ep');
    const img = join(root, 'ns0.img');
    const target = await startTarget(ep, img);
    const c = await open(ep, '', { reconnect: { delayMs: 100, ctrlLossTimeoutMs: 30_000 } });
    const ns = c.namespaces[0]!;
    const data = new Uint8Array(ns.blockSize * 8);
    fillBlocks(data, 64, ns.blockSize, 9);
    await ns.write(64, data);
    await ns.flush();
    // Keep 16 reads in flight, then kill the target.
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
    await new Promise((r) => setTimeout(r, 50));
    const resetting = once(c, 'resetting');
    const exited = once(target, 'exit');
    target.kill('SIGKILL');
    await exited;
    const [cause] = (await resetting) as [Error | undefined];
    expect(cause).toBeInstanceOf(VfioUserConnectionError);
    for (let i = 0; i < 200 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(inFlight).toBe(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e).toBeInstanceOf(NvmeCommandAbortedError);
      expect((e as NvmeCommandAbortedError).reason).toBe('disconnected');
    }
    // The target comes back on the same socket directory and image; the client reconnects.
    const back = once(c, 'reset');
    await startTarget(ep, img);
    await back;
    expect(c.state).toBe('ready');
    expect(Buffer.from(await ns.read(64, 8)).equals(data)).toBe(true);
  }, 60_000);
});
