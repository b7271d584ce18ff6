/**
 * Running it for real: shutdown under I/O (exit 0, socket removed, what completed is on disk),
 * the Prometheus endpoint, and the log lines an operator reads.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '@nvmu/client';
import '@nvmu/transport-tcp/host';
import { freePort, startDaemonProcess } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'nvmu-shutdown-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
const NQN = 'nqn.2026-01.io.nvmu:cnode1';

describe('shutdown under I/O', () => {
  it('exits 0 on SIGTERM with writes in flight; every write that completed is there after a restart', async () => {
    const port = await freePort();
    const sock = join(dir, 'rpc.sock');
    const args = ['--data-dir', join(dir, 'data'), '-r', sock, '--listen', `127.0.0.1:${port}`, '--size', '8M'];
    let d = await startDaemonProcess(args);
    const trid = `trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${NQN}`;
    const ctrl = await connect(trid);
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error('no namespace');
    const block = (lba: number): Buffer => Buffer.alloc(4096, (lba % 251) + 1);
    const done: number[] = [];
    let stopped = false;
    // 16 writers, each writing 4 KiB blocks at its own LBAs until the target goes away.
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let i = 0; !stopped; i++) {
        const lba = (w + 16 * i) * 8;
        if (lba + 8 > ns.blockCount) return;
        try {
          await ns.write(lba, block(lba));
          done.push(lba);
        } catch {
          return;
        }
      }
    });
    while (done.length < 64) await new Promise((r) => setTimeout(r, 5));
    const code = await d.stop('SIGTERM');
    stopped = true;
    await Promise.all(writers);
    await ctrl.close().catch(() => undefined);
    expect(code).toBe(0);
    expect(existsSync(sock)).toBe(false);
    expect(d.stderr()).toMatch(/SIGTERM/);

    d = await startDaemonProcess(args);
    try {
      const c2 = await connect(trid);
      const ns2 = c2.namespaces[0];
      if (ns2 === undefined) throw new Error('no namespace after restart');
      for (const lba of done) expect(Buffer.from(await ns2.read(lba, 8)).equals(block(lba))).toBe(true);
      await c2.close();
    } finally {
      expect(await d.stop('SIGINT')).toBe(0);
    }
  }, 60_000);
});

describe('operating it', () => {
  it('serves Prometheus metrics with the I/O counts, and logs connections and controllers', async () => {
    const port = await freePort();
    const mport = await freePort();
    const d = await startDaemonProcess(['--data-dir', join(dir, 'm'), '-r', join(dir, 'm.sock'), '--listen', `127.0.0.1:${port}`, '--size', '1M', '--metrics', `127.0.0.1:${mport}`]);
    try {
      const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${NQN}`);
      const ns = ctrl.namespaces[0];
      if (ns === undefined) throw new Error('no namespace');
      await ns.write(0, Buffer.alloc(1024, 1));
      await ns.read(0, 4);
      await ns.read(4, 4);
      const res = await fetch(`http://127.0.0.1:${mport}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain(`nvmu_io_ops_total{nqn="${NQN}",op="read"} 2`);
      expect(text).toContain(`nvmu_io_ops_total{nqn="${NQN}",op="write"} 1`);
      expect(text).toContain(`nvmu_io_bytes_total{nqn="${NQN}",op="read"} 4096`);
      expect(text).toContain(`nvmu_controllers{nqn="${NQN}"} 1`);
      expect(text).toMatch(/nvmu_process_cpu_user_seconds_total \d/);
      expect((await fetch(`http://127.0.0.1:${mport}/other`)).status).toBe(404);
      await ctrl.close();
      const log = d.stderr();
      expect(log).toMatch(/"msg":"nvme-tcp: connection accepted"/);
      expect(log).toMatch(/"msg":"controller created"/);
    } finally {
      await d.stop();
    }
    expect(d.stderr()).toMatch(/"msg":"controller destroyed"/);
  }, 30_000);
});
