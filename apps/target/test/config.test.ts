/**
 * SPDK JSON config round trip, as an operator does it: build a setup over RPC, `save_config`,
 * restart with `--json`, compare; the data written through NVMe/TCP is still there. And the load
 * fails by name on what nvmu does not have.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '@nvmu/client';
import '@nvmu/transport-tcp/host';
import { call, freePort, startDaemonProcess } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'nvmu-config-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('save_config → --json', () => {
  it('restarts into the same configuration, and a file namespace keeps its data', async () => {
    const sock = join(dir, 'a.sock');
    const port = await freePort();
    const nqn = 'nqn.2026-01.io.nvmu:roundtrip';
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(4 << 20));
    let d = await startDaemonProcess(['--data-dir', join(dir, 'data'), '-r', sock, '--listen', `127.0.0.1:${await freePort()}`, '--size', '1M']);
    const pattern = Buffer.alloc(4096);
    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 13 + 7) & 0xff;
    let saved: unknown;
    try {
      await call(sock, 'bdev_aio_create', { name: 'Disk0', filename: img, block_size: 4096 });
      await call(sock, 'bdev_malloc_create', { name: 'Ram0', num_blocks: 256, block_size: 512, uuid: '2f3c1d7e-8a41-4c55-9b0e-0123456789ab' });
      await call(sock, 'nvmf_create_subsystem', { nqn, serial_number: 'RT0001', model_number: 'round trip', max_namespaces: 8, min_cntlid: 10, max_cntlid: 20 });
      await call(sock, 'nvmf_subsystem_add_host', { nqn, host: 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001' });
      await call(sock, 'nvmf_subsystem_allow_any_host', { nqn, allow_any_host: true });
      await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'Disk0', nsid: 2, eui64: '0011223344556677' } });
      await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'Ram0', nsid: 4 } });
      await call(sock, 'nvmf_subsystem_add_listener', { nqn, listen_address: { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: String(port) } });

      const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${nqn}`);
      expect(ctrl.cntlid).toBeGreaterThanOrEqual(10);
      const ns = ctrl.namespaces.find((n) => n.nsid === 2);
      if (ns === undefined) throw new Error('nsid 2 missing');
      await ns.write(3, pattern, { fua: true });
      await ctrl.close();

      saved = await call(sock, 'save_config');
      expect(await call(sock, 'framework_get_config', { name: 'nvmf' })).toEqual((saved as { subsystems: { config: unknown }[] }).subsystems[1]?.config);
    } finally {
      expect(await d.stop('SIGINT')).toBe(0);
    }
    const file = join(dir, 'saved.json');
    writeFileSync(file, JSON.stringify(saved, null, 2));

    const sock2 = join(dir, 'b.sock');
    d = await startDaemonProcess(['--json', file, '-r', sock2]);
    try {
      // Same configuration: nothing of the default setup, everything of the saved one.
      expect(await call(sock2, 'save_config')).toEqual(saved);
      const subs = await call<{ nqn: string; namespaces?: { nsid: number; eui64?: string; uuid: string }[] }[]>(sock2, 'nvmf_get_subsystems', { nqn });
      expect(subs[0]?.namespaces?.map((n) => [n.nsid, n.eui64])).toEqual([
        [2, '0011223344556677'],
        [4, undefined],
      ]);
      expect(subs[0]?.namespaces?.[1]?.uuid).toBe('2f3c1d7e-8a41-4c55-9b0e-0123456789ab');
      const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${nqn}`);
      const ns = ctrl.namespaces.find((n) => n.nsid === 2);
      if (ns === undefined) throw new Error('nsid 2 missing after restart');
      expect(ns.blockSize).toBe(4096);
      expect(Buffer.from(await ns.read(3, 1)).equals(pattern)).toBe(true);
      await ctrl.close();
    } finally {
      expect(await d.stop('SIGTERM')).toBe(0);
    }
  }, 60_000);

  it('loads the SPDK tuning methods SPDK itself saves, logging that they have no effect', async () => {
    const file = join(dir, 'spdk.json');
    const port = await freePort();
    writeFileSync(
      file,
      JSON.stringify({
        subsystems: [
          { subsystem: 'iobuf', config: [{ method: 'iobuf_set_options', params: { small_pool_count: 8192 } }] },
          { subsystem: 'vmd', config: null },
          { subsystem: 'bdev', config: [{ method: 'bdev_set_options', params: { bdev_io_pool_size: 65535 } }, { method: 'bdev_null_create', params: { name: 'Null0', num_blocks: 1024, block_size: 512 } }, { method: 'bdev_wait_for_examine' }] },
          {
            subsystem: 'nvmf',
            config: [
              { method: 'nvmf_set_max_subsystems', params: { max_subsystems: 1024 } },
              { method: 'nvmf_create_transport', params: { trtype: 'TCP', max_queue_depth: 64, io_unit_size: 8192, zcopy: false, abort_timeout_sec: 1, busy_poll_us: 50 } },
              { method: 'nvmf_create_subsystem', params: { nqn: 'nqn.2016-06.io.spdk:cnode1', allow_any_host: true, serial_number: 'SPDK00000000000001', model_number: 'SPDK bdev Controller' } },
              { method: 'nvmf_subsystem_add_ns', params: { nqn: 'nqn.2016-06.io.spdk:cnode1', namespace: { nsid: 1, bdev_name: 'Null0' } } },
              { method: 'nvmf_subsystem_add_listener', params: { nqn: 'nqn.2016-06.io.spdk:cnode1', listen_address: { trtype: 'TCP', adrfam: 'IPv4', traddr: '127.0.0.1', trsvcid: String(port) } } },
            ],
          },
        ],
      }),
    );
    const sock = join(dir, 'c.sock');
    const d = await startDaemonProcess(['--json', file, '-r', sock]);
    try {
      expect(d.stderr()).toMatch(/iobuf_set_options: accepted, has no effect in nvmu/);
      expect(await call(sock, 'nvmf_get_transports')).toMatchObject([{ trtype: 'TCP', max_queue_depth: 64, io_unit_size: 8192, busy_poll_us: 50 }]);
      const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:nqn.2016-06.io.spdk:cnode1`);
      expect(ctrl.namespaces.map((n) => n.nsid)).toEqual([1]);
      await ctrl.close();
    } finally {
      await d.stop();
    }
  }, 30_000);

  it('fails the start naming an unknown method, before creating anything', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        subsystems: [
          { subsystem: 'bdev', config: [{ method: 'bdev_malloc_create', params: { name: 'M', num_blocks: 8, block_size: 512 } }] },
          { subsystem: 'nvmf', config: [{ method: 'nvmf_create_transport', params: { trtype: 'TCP' } }, { method: 'bdev_nvme_attach_controller', params: { name: 'Nvme0' } }] },
        ],
      }),
    );
    const sock = join(dir, 'd.sock');
    const failure = await startDaemonProcess(['--json', file, '-r', sock, '--data-dir', join(dir, 'none')]).then(
      () => new Error('started'),
      (e: unknown) => e as Error,
    );
    expect(failure.message).toMatch(/unknown method 'bdev_nvme_attach_controller' \(subsystem nvmf, entry 1\)/);
    // Checked before the first method ran: no bdev was created, no data folder, no socket left.
    expect(failure.message).not.toMatch(/bdev created/);
    expect(existsSync(join(dir, 'none'))).toBe(false);
    expect(existsSync(sock)).toBe(false);
  }, 30_000);

  it('fails the start naming the method that failed and why', async () => {
    const file = join(dir, 'fail.json');
    writeFileSync(file, JSON.stringify({ subsystems: [{ subsystem: 'nvmf', config: [{ method: 'nvmf_create_transport', params: { trtype: 'RDMA' } }] }] }));
    await expect(startDaemonProcess(['--json', file, '-r', join(dir, 'e.sock')])).rejects.toThrow(/entry 0: nvmf_create_transport failed: .*Invalid transport type 'RDMA'/);
  }, 30_000);
});
