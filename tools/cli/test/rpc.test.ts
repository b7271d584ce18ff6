/**
 * `nvmu rpc` against the real daemon (@nvmu/target's `startDaemon`, its JSON-RPC socket in a
 * temporary folder); a few deliberately broken servers for what the daemon never does (stay
 * silent, hang up, send garbage).
 */
import { type Server, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as daemonApi from '@nvmu/target';
import { freePort } from '@nvmu/test-kit';
import { startTestDaemon, type TestDaemon } from '@nvmu/test-kit/daemon';
import { cliMain } from '../src/cli.js';
import { RpcError, RpcTransportError, defaultRpcSocket, parseRpcParams, rpcCall } from '../src/rpc.js';
import { streams } from './target.js';

const daemonDefaultSocket = daemonApi.defaultRpcSocket;
let fixture: TestDaemon<daemonApi.RunningDaemon>;
let dir: string;
let sock: string;
let broken: Server;
let brokenSock: string;

/** A server that misbehaves on purpose, by method name. */
function misbehave(conn: Socket): void {
  let text = '';
  conn.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    let req: { method: string };
    try {
      req = JSON.parse(text) as { method: string };
    } catch {
      return;
    }
    if (req.method === 'hangup') conn.end();
    else if (req.method === 'garbage') conn.end('this is not json');
    // 'silent': never answers
  });
}

beforeAll(async () => {
  fixture = await startTestDaemon(daemonApi, 'nvmu-rpc-');
  ({ dir, rpcSocket: sock } = fixture);
  brokenSock = join(dir, 'broken.sock');
  broken = createServer(misbehave);
  await new Promise<void>((r) => broken.listen(brokenSock, r));
});
afterAll(async () => {
  await new Promise<void>((r) => {
    broken.close(() => {
      r();
    });
  });
  await fixture.close();
});

/** Run `nvmu rpc -s <daemon> ...args`; exit status, stdout, stderr. */
async function nvmuRpc(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const s = streams();
  const code = await cliMain(['rpc', '-s', sock, ...args], s.io);
  return { code, out: s.out(), err: s.err() };
}

describe('nvmu rpc against the daemon', () => {
  it('looks for the daemon where the daemon puts its socket by default', () => {
    for (const env of [{}, { XDG_RUNTIME_DIR: '/run/user/1000' }, { NVMU_RUN_DIR: '/srv/nvmu', XDG_RUNTIME_DIR: '/run/user/0' }]) {
      expect(defaultRpcSocket(env)).toBe(daemonDefaultSocket(env));
    }
    expect(defaultRpcSocket({ XDG_RUNTIME_DIR: '/run/user/1000' })).toBe('/run/user/1000/nvmu/nvmu.sock');
  });

  it('prints the result of a successful call', async () => {
    const r = await nvmuRpc('bdev_get_bdevs');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as { name: string; product_name: string }[]).map((b) => [b.name, b.product_name])).toEqual([['nvmu0', 'AIO disk']]);
  });

  it('builds a subsystem with key=value params and one JSON object, as rpc.py users do', async () => {
    expect((await nvmuRpc('bdev_malloc_create', 'name=Malloc7', 'num_blocks=1024', 'block_size=512')).out).toBe('"Malloc7"\n');
    const nqn = 'nqn.2016-06.io.spdk:cnode7';
    expect((await nvmuRpc('nvmf_create_subsystem', `{"nqn":"${nqn}","allow_any_host":true,"serial_number":"SPDK007"}`)).code).toBe(0);
    expect((await nvmuRpc('nvmf_subsystem_add_ns', `nqn=${nqn}`, 'namespace.bdev_name=Malloc7', 'namespace.nsid=7')).out).toBe('7\n');
    const port = String(await freePort());
    expect((await nvmuRpc('nvmf_subsystem_add_listener', `nqn=${nqn}`, 'listen_address.trtype=tcp', 'listen_address.traddr=127.0.0.1', `listen_address.trsvcid="${port}"`)).code).toBe(0);
    const subs = JSON.parse((await nvmuRpc('nvmf_get_subsystems', `nqn=${nqn}`)).out) as { serial_number: string; namespaces: { nsid: number; bdev_name: string }[]; listen_addresses: { trsvcid: string }[] }[];
    expect(subs[0]).toMatchObject({ serial_number: 'SPDK007', namespaces: [{ nsid: 7, bdev_name: 'Malloc7' }], listen_addresses: [{ trtype: 'TCP', trsvcid: port }] });
    expect((await nvmuRpc('nvmf_delete_subsystem', `nqn=${nqn}`)).out).toBe('true\n');
    expect((await nvmuRpc('bdev_malloc_delete', 'name=Malloc7')).out).toBe('true\n');
  });

  it('turns a JSON-RPC error object into exit status 1 with its code and message', async () => {
    const r = await nvmuRpc('no_such_method');
    expect(r).toEqual({ code: 1, out: '', err: 'nvmu rpc no_such_method: error -32601: Method not found: no_such_method\n' });
    const r2 = await nvmuRpc('bdev_malloc_delete', 'name=Nope');
    expect(r2.err).toBe('nvmu rpc bdev_malloc_delete: error -19: No such device: no malloc bdev named Nope\n');
    await expect(rpcCall('no_such_method', undefined, { socketPath: sock })).rejects.toMatchObject({ name: 'RpcError', code: -32601 });
    await expect(rpcCall('nvmf_create_transport', { trtype: 'VFIOUSER' }, { socketPath: sock })).rejects.toBeInstanceOf(RpcError);
  });

  it('reports missing sockets, timeouts, hang-ups and garbage', async () => {
    const s = streams();
    expect(await cliMain(['rpc', '-s', join(dir, 'absent.sock'), 'x'], s.io)).toBe(1);
    expect(s.err()).toMatch(/cannot connect to .*absent\.sock: no such socket \(is the nvmu target running\?/);
    const s2 = streams();
    expect(await cliMain(['rpc', '-s', brokenSock, '-t', '0.2', 'silent'], s2.io)).toBe(1);
    expect(s2.err()).toMatch(/no response to 'silent' from .* within 0\.2 s/);
    await expect(rpcCall('hangup', undefined, { socketPath: brokenSock })).rejects.toThrow(/closed the connection without a response/);
    await expect(rpcCall('garbage', undefined, { socketPath: brokenSock })).rejects.toThrow(RpcTransportError);
    await expect(rpcCall('garbage', undefined, { socketPath: brokenSock })).rejects.toThrow(/incomplete JSON response: this is not json/);
  });

  it('rejects bad arguments with exit status 2', async () => {
    const cases: [string[], RegExp][] = [
      [['rpc'], /a method name is required/],
      [['rpc', '-s', sock, 'echo', 'novalue'], /'novalue': expected key=value/],
      [['rpc', '-s', sock, 'echo', '{"broken":'], /params are not valid JSON/],
      [['rpc', '-s', sock, '-t', '0', 'echo'], /-t 0: expected seconds above 0/],
    ];
    for (const [argv, re] of cases) {
      const s = streams();
      expect(await cliMain(argv, s.io)).toBe(2);
      expect(s.err()).toMatch(re);
    }
  });
});

describe('parseRpcParams', () => {
  it('round-trips any JSON object given as one argument', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        expect(parseRpcParams([JSON.stringify(obj)])).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
    );
  });
  it('keeps strings that are not JSON as strings', () => {
    expect(parseRpcParams(['traddr=127.0.0.1', 'trsvcid=4420', 'a=b=c'])).toEqual({ traddr: '127.0.0.1', trsvcid: 4420, a: 'b=c' });
    expect(parseRpcParams([])).toBeUndefined();
  });
  it('builds nested objects from dotted keys and takes := values as JSON', () => {
    expect(
      parseRpcParams(['nqn=nqn.2016-06.io.spdk:cnode1', 'listen_address.trtype=tcp', 'listen_address.traddr=127.0.0.1', 'listen_address.trsvcid="4420"', 'opts:={"a":[1]}']),
    ).toEqual({ nqn: 'nqn.2016-06.io.spdk:cnode1', listen_address: { trtype: 'tcp', traddr: '127.0.0.1', trsvcid: '4420' }, opts: { a: [1] } });
    expect(() => parseRpcParams(['n:=nope'])).toThrow(/the value after := is not JSON/);
    expect(() => parseRpcParams(['a=1', 'a.b=2'])).toThrow(/'a' already has a value that is not an object/);
    expect(() => parseRpcParams(['a..b=1'])).toThrow(/empty key segment/);
  });
});
