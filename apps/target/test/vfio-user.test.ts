/**
 * The daemon's vfio-user side, as a user meets it: the default start serves the file namespace at
 * `<run folder>/vfu0/cntrl` beside NVMe/TCP; @nvmu/client (the vfio-user host, as a VMM drives the
 * device) writes and reads it; the data is there after a restart, also after a crash that left
 * the sockets behind; a VFIOUSER listener made by RPC the way SPDK's rpc.py sends it serves and
 * goes away with remove_listener; a setup with a VFIOUSER transport and listener survives
 * save_config → --json; the lines the banner prints run against the daemon.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, discover } from '@nvmu/client';
import '@nvmu/transport-tcp/host';
import '@nvmu/transport-vfio-user/host';
import { call, freePort, rpc, startDaemonProcess } from './process.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'nvmu-vfu-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * seed + 11) & 0xff;
  return b;
}

/** Write `data` at `lba` of namespace 1 (FUA), read it back, and close. */
async function writeVerify(trid: string, lba: number, data: Buffer): Promise<void> {
  const ctrl = await connect(trid);
  try {
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error(`no namespace behind ${trid}`);
    await ns.write(lba, data, { fua: true });
    expect(Buffer.from(await ns.read(lba, data.length / ns.blockSize)).equals(data)).toBe(true);
  } finally {
    await ctrl.close();
  }
}

async function readBack(trid: string, lba: number, length: number): Promise<Buffer> {
  const ctrl = await connect(trid);
  try {
    const ns = ctrl.namespaces[0];
    if (ns === undefined) throw new Error(`no namespace behind ${trid}`);
    return Buffer.from(await ns.read(lba, length / ns.blockSize));
  } finally {
    await ctrl.close();
  }
}

/** Split a shell line into words (single quotes only: what the banner prints). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) words.push(m[1] ?? m[2] ?? '');
  return words;
}

/** Run what `pnpm <script> args` runs from the workspace root (scripts/tool.mjs); resolves with status and output. */
function runTool(args: readonly string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'scripts', 'tool.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (status) => {
      resolve({ status, out });
    });
  });
}

describe('the default vfio-user endpoint', () => {
  it('serves the file namespace at <run>/vfu0/cntrl; data written over vfio-user is seen over TCP and after restarts', async () => {
    const run = join(dir, 'run');
    const args = ['--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '16M'];
    const env = { NVMU_RUN_DIR: run };
    const vfu = `trtype:vfiouser traddr:${join(run, 'vfu0')}`;
    const data = pattern(8192, 7);
    let d = await startDaemonProcess(args, env);
    try {
      expect(existsSync(join(run, 'vfu0', 'cntrl'))).toBe(true);
      expect(d.stdout()).toContain(`vfio-user  ${join(run, 'vfu0', 'cntrl')}`);
      await writeVerify(vfu, 40, data);
      // One subsystem on both transports: the same namespace.
      const tcp = /nvmu identify -r '(trtype:tcp [^']*)'/.exec(d.stdout())?.[1] ?? '';
      expect(Buffer.from(await readBack(tcp, 40, data.length)).equals(data)).toBe(true);
      // A host discovering over TCP is shown TCP entries only: a socket on this host is no
      // address for it (Linux nvmet lists only the port a host came through).
      const log = await discover(tcp.replace(/ subnqn:\S+/, ''));
      expect(log.map((e) => e.trid.trtype)).toEqual(['tcp', 'tcp']);
    } finally {
      expect(await d.stop('SIGTERM')).toBe(0);
    }
    // Removed on shutdown.
    expect(existsSync(join(run, 'vfu0', 'cntrl'))).toBe(false);

    d = await startDaemonProcess(args, env);
    try {
      expect(Buffer.from(await readBack(vfu, 40, data.length)).equals(data)).toBe(true);
    } finally {
      // A crash: the sockets stay behind, stale.
      expect(await d.stop('SIGKILL')).toBe('SIGKILL');
    }
    expect(existsSync(join(run, 'vfu0', 'cntrl'))).toBe(true);

    d = await startDaemonProcess(args, env);
    try {
      expect(Buffer.from(await readBack(vfu, 40, data.length)).equals(data)).toBe(true);
    } finally {
      expect(await d.stop('SIGINT')).toBe(0);
    }
  }, 90_000);

  it('prints lines to copy that run against it (pnpm nvmu / pnpm perf over TCP and vfio-user, QEMU, nvme-cli)', async () => {
    const run = join(dir, 'banner');
    const d = await startDaemonProcess(['--data-dir', join(dir, 'banner-data'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '16M'], { NVMU_RUN_DIR: run });
    try {
      const out = d.stdout();
      const sock = join(run, 'vfu0', 'cntrl');
      expect(out).toContain(`-object memory-backend-memfd,id=mem,size=1G,share=on`);
      expect(out).toContain(`-device '{"driver":"vfio-user-pci","socket":{"path":"${sock}","type":"unix"}}'`);
      expect(out).toMatch(/nvme connect {2}-t tcp -a 127\.0\.0\.1 -s \d+ -n nqn\.2026-01\.io\.nvmu:cnode1/);
      // `pnpm` when the user's PATH has it, else `npx -y pnpm@10` (what the README uses).
      const tools = out
        .split('\n')
        .map((l) => l.trim().replace(/^(?:npx -y pnpm@10|pnpm) (?=nvmu |perf )/, 'pnpm '))
        .filter((l) => l.startsWith('pnpm nvmu ') || l.startsWith('pnpm perf '));
      expect(tools.filter((l) => l.includes('trtype:vfiouser'))).toHaveLength(2);
      expect(tools.filter((l) => l.includes('trtype:tcp'))).toHaveLength(2);
      expect(tools.filter((l) => l.startsWith('pnpm nvmu rpc '))).toHaveLength(1);
      for (const line of tools) {
        const words = shellWords(line).slice(1);
        // The perf lines run 5 s; 1 s shows they work.
        const t = words.indexOf('-t');
        if (t >= 0) words[t + 1] = '1';
        const r = await runTool(words);
        expect(r.status, `${line}\n${r.out}`).toBe(0);
        expect(r.out).toMatch(words[0] === 'perf' ? /IOPS/ : words[1] === 'rpc' ? /"trtype": "VFIOUSER"/ : /NVME Identify Controller/);
      }
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 120_000);
});

describe('a vfio-user socket a live daemon serves', () => {
  it('fails a second daemon with exit status 1, naming it, before anything reaches the disk', async () => {
    const vfu = join(dir, 'shared-vfu');
    const a = await startDaemonProcess(['--data-dir', join(dir, 'a-data'), '-r', join(dir, 'a.sock'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '1M', '--vfio-user', vfu]);
    try {
      await expect(
        startDaemonProcess(['--data-dir', join(dir, 'b-data'), '-r', join(dir, 'b.sock'), '--listen', `127.0.0.1:${await freePort()}`, '--size', '1M', '--vfio-user', vfu]),
      ).rejects.toThrow(/exited \(1\)[\s\S]*cannot listen on .*shared-vfu: another server is listening there/);
      expect(existsSync(join(dir, 'b-data'))).toBe(false);
      // The first one still serves.
      expect(existsSync(join(vfu, 'cntrl'))).toBe(true);
    } finally {
      expect(await a.stop()).toBe(0);
    }
  }, 60_000);
});

describe('VFIOUSER by RPC, as SPDK users add it', () => {
  it('creates a listener from rpc.py\'s listen address (socket directory, no trsvcid); remove_listener tears it down', async () => {
    const run = join(dir, 'rpc');
    const sock = join(run, 'nvmu.sock');
    const d = await startDaemonProcess(['--data-dir', join(dir, 'rpc-data'), '-r', sock, '--listen', `127.0.0.1:${await freePort()}`, '--size', '16M']);
    const nqn = 'nqn.2019-07.io.spdk:cnode0';
    const vm = join(run, 'vm0');
    try {
      // The default start already has the transport (and vfu0 beside the RPC socket).
      expect(existsSync(join(run, 'vfu0', 'cntrl'))).toBe(true);
      expect((await rpc(sock, 'nvmf_create_transport', { trtype: 'VFIOUSER' })).error?.message).toMatch(/Transport type 'VFIOUSER' already exists/);
      expect(await call(sock, 'nvmf_get_transports', { trtype: 'vfio-user' })).toMatchObject([{ trtype: 'VFIOUSER', max_io_size: 131072 }]);
      await call(sock, 'bdev_malloc_create', { name: 'Malloc0', num_blocks: 2048, block_size: 512 });
      await call(sock, 'nvmf_create_subsystem', { nqn, allow_any_host: true, serial_number: 'SPDK0' });
      await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'Malloc0' } });
      // scripts/rpc.py nvmf_subsystem_add_listener -t VFIOUSER -a <dir> sends no trsvcid; users type it in any case.
      await call(sock, 'nvmf_subsystem_add_listener', { nqn, listen_address: { trtype: 'vfiouser', traddr: vm } });
      expect(existsSync(join(vm, 'cntrl'))).toBe(true);
      expect(await call(sock, 'nvmf_subsystem_get_listeners', { nqn })).toEqual([{ address: { trtype: 'VFIOUSER', adrfam: 'INTRA_HOST', traddr: vm, trsvcid: '' } }]);
      await writeVerify(`trtype:vfiouser traddr:${vm}`, 0, pattern(4096, 5));
      // Older rpc.py sends -s 0 and SPDK fills adrfam IPv4: the same listener.
      await call(sock, 'nvmf_subsystem_remove_listener', { nqn, listen_address: { trtype: 'VFIOUSER', adrfam: 'IPv4', traddr: vm, trsvcid: '0' } });
      expect(existsSync(join(vm, 'cntrl'))).toBe(false);
      expect(await call(sock, 'nvmf_subsystem_get_listeners', { nqn })).toEqual([]);
      // The default endpoint is untouched.
      expect(existsSync(join(run, 'vfu0', 'cntrl'))).toBe(true);
    } finally {
      expect(await d.stop()).toBe(0);
    }
  }, 60_000);

  it('round-trips a VFIOUSER transport and listener through save_config and --json, with the data', async () => {
    const run = join(dir, 'rt');
    const sock = join(run, 'a.sock');
    const img = join(dir, 'rt.img');
    writeFileSync(img, Buffer.alloc(4 << 20));
    const nqn = 'nqn.2026-01.io.nvmu:vm-rt';
    const vm = join(run, 'vm-rt');
    let d = await startDaemonProcess(['--data-dir', join(dir, 'rt-data'), '-r', sock, '--listen', `127.0.0.1:${await freePort()}`, '--size', '1M', '--no-vfio-user']);
    const data = pattern(4096, 3);
    let saved: unknown;
    try {
      expect(await call(sock, 'nvmf_get_transports', {})).toMatchObject([{ trtype: 'TCP' }]);
      // disable_mappable_bar0 (SPDK's name) runs the transport in nvmu's interrupt mode: the
      // writeVerify below goes through trapped doorbells, and the option survives save_config.
      await call(sock, 'nvmf_create_transport', { trtype: 'VFIOUSER', max_queue_depth: 64, max_qpairs_per_ctrlr: 5, max_io_size: 262144, disable_mappable_bar0: true });
      expect(await call(sock, 'nvmf_get_transports', { trtype: 'VFIOUSER' })).toEqual([
        { trtype: 'VFIOUSER', max_queue_depth: 64, max_io_qpairs_per_ctrlr: 4, in_capsule_data_size: 0, max_io_size: 262144, io_unit_size: 262144, max_aq_depth: 32, disable_mappable_bar0: true },
      ]);
      await call(sock, 'bdev_aio_create', { name: 'Disk0', filename: img, block_size: 512 });
      await call(sock, 'nvmf_create_subsystem', { nqn, allow_any_host: true, serial_number: 'VMRT0001' });
      await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'Disk0' } });
      await call(sock, 'nvmf_subsystem_add_listener', { nqn, listen_address: { trtype: 'VFIOUSER', traddr: vm, trsvcid: '' } });
      await writeVerify(`trtype:vfiouser traddr:${vm}`, 9, data);
      saved = await call(sock, 'save_config');
    } finally {
      expect(await d.stop('SIGINT')).toBe(0);
    }
    expect(JSON.stringify(saved)).toContain('"trtype":"VFIOUSER"');
    const file = join(dir, 'rt.json');
    writeFileSync(file, JSON.stringify(saved, null, 2));

    const sock2 = join(run, 'b.sock');
    d = await startDaemonProcess(['--json', file, '-r', sock2]);
    try {
      expect(await call(sock2, 'save_config')).toEqual(saved);
      expect(d.stdout()).toContain(`vfio-user  ${join(vm, 'cntrl')}`);
      const ctrl = await connect(`trtype:vfiouser traddr:${vm}`);
      try {
        // The transport's options came back with save_config's equality above; the namespace and its data:
        expect(ctrl.namespaces[0]?.blockSize).toBe(512);
        expect(Buffer.from(await ctrl.namespaces[0]!.read(9, 8)).equals(data)).toBe(true);
      } finally {
        await ctrl.close();
      }
    } finally {
      expect(await d.stop('SIGTERM')).toBe(0);
    }
  }, 90_000);
});
