import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '@nvmu/client';
import '@nvmu/transport-tcp/host';
import { silentLogger } from '@nvmu/nvmf';
import { DEFAULTS, connectHelp, parseDaemonArgs, startDaemon } from '../src/index.js';
import { pnpmCommand } from '../src/daemon.js';
import { freePort as freeTcpPort } from '@nvmu/test-kit';

async function freePort(): Promise<string> {
  return String(await freeTcpPort());
}

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('parseDaemonArgs', () => {
  it('serves the documented default with no arguments', () => {
    expect(parseDaemonArgs([])).toEqual(DEFAULTS);
    expect(DEFAULTS.traddr).toBe('127.0.0.1');
    expect(DEFAULTS.trsvcid).toBe('4420');
  });
  it('reads listen addresses, sizes and block sizes', () => {
    const o = parseDaemonArgs(['--listen', '[::1]:4421', '--size', '64M', '--block-size', '4096', '--nqn', 'nqn.2026-01.io.nvmu:x']);
    expect(o).toMatchObject({ traddr: '::1', trsvcid: '4421', sizeBytes: 64 * 2 ** 20, blockSize: 4096, nqn: 'nqn.2026-01.io.nvmu:x' });
    expect(connectHelp(o)).toContain('nvme connect  -t tcp -a ::1 -s 4421 -n nqn.2026-01.io.nvmu:x');
  });
  it('rejects bad values with a message naming the option', () => {
    expect(() => parseDaemonArgs(['--listen', 'nowhere'])).toThrow(/--listen/);
    expect(() => parseDaemonArgs(['--block-size', '1000'])).toThrow(/--block-size/);
    expect(() => parseDaemonArgs(['--size', 'lots'])).toThrow(/--size/);
    expect(() => parseDaemonArgs(['--bogus'])).toThrow();
    // `pnpm start -- --listen ...` passes the `--` on.
    expect(parseDaemonArgs(['--', '--listen', '127.0.0.1:4421']).trsvcid).toBe('4421');
  });
});

describe('the default daemon', () => {
  it('serves a file-backed namespace over NVMe/TCP whose data survives a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nvmu-daemon-'));
    dirs.push(dataDir);
    const options = { ...DEFAULTS, dataDir, rpcSocket: join(dataDir, 'rpc.sock'), trsvcid: await freePort(), sizeBytes: 8 << 20 };
    const trid = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${options.trsvcid} subnqn:${options.nqn}`;
    const pattern = Buffer.alloc(8192);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + 3) & 0xff;

    let daemon = await startDaemon(options, silentLogger);
    try {
      const ctrl = await connect(trid);
      expect(ctrl.namespaces).toHaveLength(1);
      const ns = ctrl.namespaces[0]!;
      expect(ns.blockSize).toBe(512);
      await ns.write(100, pattern, { fua: true });
      await ctrl.close();
    } finally {
      await daemon.stop();
    }
    expect(statSync(join(dataDir, 'nvmu0.img')).size).toBe(8 << 20);

    daemon = await startDaemon(options, silentLogger);
    try {
      const ctrl = await connect(trid);
      const back = await ctrl.namespaces[0]!.read(100, 16);
      expect(Buffer.from(back).equals(pattern)).toBe(true);
      await ctrl.close();
    } finally {
      await daemon.stop();
    }
  }, 30_000);
});

describe('the banner names the pnpm a user has', () => {
  it('prints `pnpm` when the PATH has one outside npx and node_modules, else `npx -y pnpm@10`', () => {
    const bin = mkdtempSync(join(tmpdir(), 'nvmu-path-'));
    dirs.push(bin);
    const npx = join(bin, '_npx', 'x', 'node_modules', '.bin');
    mkdirSync(npx, { recursive: true });
    writeFileSync(join(npx, 'pnpm'), '#!/bin/sh\n', { mode: 0o755 });
    expect(pnpmCommand({ PATH: `${npx}:/nonexistent` })).toBe('npx -y pnpm@10');
    writeFileSync(join(bin, 'pnpm'), '#!/bin/sh\n', { mode: 0o755 });
    expect(pnpmCommand({ PATH: `${npx}:${bin}` })).toBe('pnpm');
    const o = { ...DEFAULTS, rpcSocket: '/run/x/nvmu.sock' };
    expect(connectHelp(o, undefined, 'npx -y pnpm@10')).toContain("  npx -y pnpm@10 nvmu identify -r 'trtype:vfiouser traddr:/run/x/vfu0'");
    expect(connectHelp(o, undefined, 'npx -y pnpm@10')).toContain('  npx -y pnpm@10 nvmu rpc -s /run/x/nvmu.sock nvmf_get_subsystems');
    expect(connectHelp({ ...o, vfioUser: false }, undefined, 'pnpm')).not.toContain('vfio');
  });
});
