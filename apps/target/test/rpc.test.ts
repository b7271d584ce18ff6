/**
 * The daemon as a user runs it, driven over its JSON-RPC socket from this (separate) process:
 * SPDK's wire format, error model, the bdev and nvmf methods, hosts reaching what RPC built.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Namespace } from '@nvmu/client';
import '@nvmu/transport-tcp/host';
import { call, exchange, freePort, rpc, startDaemonProcess, type DaemonProcess, type RpcResponse } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'nvmu-rpc-'));
const sock = join(dir, 'rpc.sock');
let port = 0;
let daemon: DaemonProcess;
const NQN = 'nqn.2026-01.io.nvmu:cnode1';

beforeAll(async () => {
  port = await freePort();
  daemon = await startDaemonProcess(['--data-dir', join(dir, 'data'), '-r', sock, '--listen', `127.0.0.1:${port}`, '--size', '16M']);
}, 30_000);

afterAll(async () => {
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('wire format (SPDK lib/jsonrpc, scripts/rpc.py)', () => {
  it('answers one request per connection, as rpc.py sends it', async () => {
    const r = await rpc(sock, 'spdk_get_version');
    expect(r).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect((r.result as { version: string }).version).toMatch(/^nvmu v\d+\.\d+\.\d+/);
  });

  it('answers several requests on one connection, in order, each response a line', async () => {
    const text = JSON.stringify({ jsonrpc: '2.0', method: 'spdk_get_version', id: 'a' }) + JSON.stringify({ jsonrpc: '2.0', method: 'bdev_get_bdevs', id: 7 });
    const { responses } = await exchange(sock, text, 2);
    expect(responses.map((r) => (r as RpcResponse).id)).toEqual(['a', 7]);
    expect(((responses[1] as RpcResponse).result as { name: string }[]).map((b) => b.name)).toEqual(['nvmu0']);
  });

  it('joins a request that arrives in pieces (no framing beyond the JSON text)', async () => {
    const text = JSON.stringify({ jsonrpc: '2.0', method: 'nvmf_get_subsystems', params: { nqn: NQN }, id: 3 });
    const { responses } = await exchange(sock, [text.slice(0, 10), text.slice(10, 41), text.slice(41)], 1);
    expect((responses[0] as RpcResponse).result).toMatchObject([{ nqn: NQN, subtype: 'NVMe' }]);
  });

  it('answers a batch with one array; sends no result for a notification but does send its error', async () => {
    const batch = [
      { jsonrpc: '2.0', method: 'spdk_get_version', id: 1 },
      { jsonrpc: '2.0', method: 'spdk_get_version' },
      { jsonrpc: '2.0', method: 'no_such_method' },
    ];
    const { responses } = await exchange(sock, JSON.stringify(batch), 1);
    const arr = responses[0] as RpcResponse[];
    expect(arr).toHaveLength(2);
    expect(arr[0]?.id).toBe(1);
    expect(arr[1]?.error).toEqual({ code: -32601, message: 'Method not found: no_such_method' });
  });

  it('gives a Parse error for text that is not JSON and closes the connection', async () => {
    const { responses, closed } = await exchange(sock, '{"jsonrpc": "2.0", "method": nope}', 1);
    expect(responses[0]).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    await expect(exchange(sock, 'hello', 5)).resolves.toMatchObject({ closed: true });
    expect(closed || responses.length === 1).toBe(true);
  });

  it('gives Invalid request for a request that is JSON but not JSON-RPC', async () => {
    const { responses } = await exchange(sock, '{"jsonrpc":"1.0","method":"spdk_get_version","id":4}{"id":5}[]', 3);
    expect(responses.map((r) => (r as RpcResponse).error?.code)).toEqual([-32600, -32600, -32600]);
  });
});

describe('errors say what was wrong, with SPDK codes', () => {
  it.each([
    ['bdev_malloc_create', { block_size: 512 }, -32603, /missing required parameter 'num_blocks'/],
    ['bdev_malloc_create', { block_size: 520, num_blocks: 8 }, -22, /Invalid argument: block_size 520/],
    ['bdev_malloc_create', { block_size: 512, num_blocks: 8, colour: 'red' }, -32603, /unknown parameter 'colour'/],
    ['bdev_get_bdevs', { name: 'missing' }, -19, /No such device: no bdev named missing/],
    ['bdev_aio_create', { name: 'f', filename: '/nonexistent/nvmu.img' }, -2, /No such file or directory/],
    ['nvmf_create_transport', { trtype: 'VFIOUSER' }, -32603, /Transport type 'VFIOUSER' already exists/],
    ['nvmf_create_transport', { trtype: 'vfio-user' }, -32603, /Transport type 'VFIOUSER' already exists/],
    ['nvmf_create_transport', { trtype: 'TCP' }, -32603, /Transport type 'TCP' already exists/],
    ['nvmf_create_transport', { trtype: 'CARRIER_PIGEON' }, -32602, /Invalid transport type 'CARRIER_PIGEON'/],
    ['nvmf_create_transport', { trtype: 'TCP', busy_poll_us: 20000 }, -32602, /busy_poll_us/],
    ['nvmf_subsystem_add_ns', { nqn: NQN, namespace: { bdev_name: 'ghost' } }, -32602, /no bdev named ghost/],
    ['nvmf_subsystem_add_ns', { nqn: NQN, namespace: {} }, -32602, /missing required parameter 'namespace.bdev_name'/],
    ['nvmf_delete_subsystem', { nqn: 'nqn.2026-01.io.nvmu:none' }, -32602, /Subsystem with NQN 'nqn.2026-01.io.nvmu:none' not found/],
    ['nvmf_create_subsystem', { nqn: 'not an nqn' }, -32603, /Unable to create subsystem not an nqn/],
    ['nvmf_subsystem_add_listener', { nqn: NQN, listen_address: { trtype: 'tcp', traddr: '127.0.0.1' } }, -32602, /trsvcid/],
    ['nvmf_get_stats', { tgt_name: 'other' }, -32603, /Unable to find target other/],
  ])('%s %j → %i', async (method, params, code, message) => {
    const r = await rpc(sock, method, params);
    expect(r.result).toBeUndefined();
    expect(r.error?.code).toBe(code);
    expect(r.error?.message).toMatch(message);
  });
});

describe('building a setup by RPC while hosts are connected', () => {
  it('creates bdevs, a subsystem with an allowed host, namespaces and a listener; a host reaches them', async () => {
    const p2 = await freePort();
    const nqn = 'nqn.2026-01.io.nvmu:rpc-built';
    const hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:5c1b3f1e-0000-4000-8000-00000000a001';
    expect(await call(sock, 'bdev_malloc_create', { num_blocks: 4096, block_size: 512 })).toBe('Malloc0');
    expect(await call(sock, 'bdev_null_create', { name: 'Null0', num_blocks: 1 << 20, block_size: 4096 })).toBe('Null0');
    const img = join(dir, 'aio0.img');
    writeFileSync(img, Buffer.alloc(1 << 20));
    expect(await call(sock, 'bdev_aio_create', { name: 'AIO0', filename: img })).toBe('AIO0');
    const bdevs = await call<{ name: string; product_name: string; block_size: number; num_blocks: number; claimed: boolean }[]>(sock, 'bdev_get_bdevs');
    expect(bdevs.map((b) => [b.name, b.product_name, b.block_size, b.num_blocks])).toEqual([
      ['nvmu0', 'AIO disk', 512, 32768],
      ['Malloc0', 'Malloc disk', 512, 4096],
      ['Null0', 'Null disk', 4096, 1 << 20],
      ['AIO0', 'AIO disk', 512, 2048],
    ]);

    await call(sock, 'nvmf_create_subsystem', { nqn, serial_number: 'SN-RPC-1', model_number: 'rpc model' });
    await call(sock, 'nvmf_subsystem_add_host', { nqn, host: hostnqn });
    expect(await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'Malloc0' } })).toBe(1);
    expect(await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'AIO0', nsid: 5 } })).toBe(5);
    const listen_address = { trtype: 'TCP', adrfam: 'IPv4', traddr: '127.0.0.1', trsvcid: String(p2) };
    await call(sock, 'nvmf_subsystem_add_listener', { nqn, listen_address });
    expect(await call(sock, 'nvmf_subsystem_get_listeners', { nqn })).toEqual([{ address: listen_address }]);

    const trid = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${p2} subnqn:${nqn}`;
    // Not on the allowed list: refused.
    await expect(connect(trid, { hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:5c1b3f1e-0000-4000-8000-00000000dead' })).rejects.toThrow();
    const ctrl = await connect(trid, { hostnqn });
    try {
      expect(ctrl.namespaces.map((n) => n.nsid)).toEqual([1, 5]);
      const ctrls = await call<{ cntlid: number; cntrltype: string; hostnqn: string; num_io_qpairs: number }[]>(sock, 'nvmf_subsystem_get_controllers', { nqn });
      expect(ctrls).toHaveLength(1);
      expect(ctrls[0]).toMatchObject({ cntrltype: 'io', hostnqn, num_io_qpairs: ctrl.ioQPairList.length });
      const qpairs = await call<{ qid: number; state: string; listen_address: unknown }[]>(sock, 'nvmf_subsystem_get_qpairs', { nqn });
      expect(qpairs.map((q) => q.qid).sort()).toEqual([0, ...ctrl.ioQPairList.map((_, i) => i + 1)]);
      expect(qpairs.every((q) => q.state === 'enabled')).toBe(true);

      // Hot add while connected: the host learns of it through the Namespace Attribute Changed AER.
      const added = new Promise<Namespace>((resolve) => ctrl.once('namespaceAdded', resolve));
      expect(await call(sock, 'nvmf_subsystem_add_ns', { nqn, namespace: { bdev_name: 'Null0', nsid: 3 } })).toBe(3);
      const ns3 = await added;
      expect([ns3.nsid, ns3.blockSize]).toEqual([3, 4096]);

      // I/O counts reach nvmf_get_stats per subsystem, controller and qpair.
      const ns1 = ctrl.namespaces.find((n) => n.nsid === 1);
      if (ns1 === undefined) throw new Error('nsid 1 missing');
      await ns1.write(0, Buffer.alloc(8192, 0x5a));
      await ns1.read(0, 16);
      await ns1.read(16, 8);
      const stats = await call<{ poll_groups: { name: string; completed_nvme_io: number }[]; subsystems: { nqn: string; read_ops: number; write_ops: number; bytes_read: number; bytes_written: number; controllers: { qpairs: { read_ops: number }[] }[] }[] }>(sock, 'nvmf_get_stats');
      const sub = stats.subsystems.find((s) => s.nqn === nqn);
      expect(sub).toMatchObject({ read_ops: 2, write_ops: 1, bytes_read: 24 * 512, bytes_written: 8192 });
      expect(sub?.controllers[0]?.qpairs.reduce((n, q) => n + q.read_ops, 0)).toBe(2);
      expect(stats.poll_groups[0]?.name).toBe('nvmf_tgt_poll_group_000');

      // Hot remove: the host sees the namespace go.
      const removed = new Promise<Namespace>((resolve) => ctrl.once('namespaceRemoved', resolve));
      await call(sock, 'nvmf_subsystem_remove_ns', { nqn, nsid: 3 });
      expect((await removed).nsid).toBe(3);
      expect(ctrl.namespaces.map((n) => n.nsid)).toEqual([1, 5]);

      // Removing the host's entry disconnects it.
      await call(sock, 'nvmf_subsystem_remove_host', { nqn, host: hostnqn });
      expect(await call(sock, 'nvmf_subsystem_get_controllers', { nqn })).toEqual([]);
    } finally {
      await ctrl.close().catch(() => undefined);
    }
    await call(sock, 'nvmf_subsystem_remove_listener', { nqn, listen_address });
    await call(sock, 'nvmf_delete_subsystem', { nqn });
    await call(sock, 'bdev_malloc_delete', { name: 'Malloc0' });
    await call(sock, 'bdev_null_delete', { name: 'Null0' });
    await call(sock, 'bdev_aio_delete', { name: 'AIO0' });
    expect((await call<{ name: string }[]>(sock, 'bdev_get_bdevs')).map((b) => b.name)).toEqual(['nvmu0']);
    expect((await call<{ nqn: string }[]>(sock, 'nvmf_get_subsystems')).map((s) => s.nqn)).toEqual(['nqn.2014-08.org.nvmexpress.discovery', NQN]);
  }, 60_000);

  it('lists every method it serves', async () => {
    const methods = await call<string[]>(sock, 'rpc_get_methods');
    for (const m of ['bdev_malloc_create', 'bdev_aio_create', 'nvmf_create_transport', 'nvmf_subsystem_add_ns', 'nvmf_get_stats', 'save_config', 'framework_get_config', 'spdk_get_version']) {
      expect(methods).toContain(m);
    }
    expect(await call(sock, 'nvmf_get_transports')).toEqual([
      { trtype: 'TCP', max_queue_depth: 128, max_io_qpairs_per_ctrlr: 64, in_capsule_data_size: 8192, max_io_size: 131072, io_unit_size: 131072, max_aq_depth: 32 },
      { trtype: 'VFIOUSER', max_queue_depth: 256, max_io_qpairs_per_ctrlr: 127, in_capsule_data_size: 0, max_io_size: 131072, io_unit_size: 131072, max_aq_depth: 32 },
    ]);
  });
});

describe('shutdown', () => {
  it('exits 0 on SIGTERM and removes its RPC socket', async () => {
    const d = join(dir, 'shutdown');
    const s = join(d, 'rpc.sock');
    const p = await freePort();
    const proc = await startDaemonProcess(['--data-dir', d, '-r', s, '--listen', `127.0.0.1:${p}`, '--size', '1M']);
    expect(existsSync(s)).toBe(true);
    expect(await proc.stop('SIGTERM')).toBe(0);
    expect(existsSync(s)).toBe(false);
  }, 30_000);
});
