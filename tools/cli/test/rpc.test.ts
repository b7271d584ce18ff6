/** `nvmu rpc` against a small fake JSON-RPC 2.0 server on a temporary UNIX socket. */
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cliMain } from '../src/cli.js';
import { RpcError, RpcTransportError, parseRpcParams, rpcCall } from '../src/rpc.js';
import { streams } from './target.js';

interface Request {
  jsonrpc: string;
  method: string;
  id: number;
  params?: unknown;
}

let dir: string;
let sock: string;
let server: Server;
const seen: Request[] = [];

/**
 * Reads one request the way SPDK's server does (until it parses), then answers by method:
 * results in two chunks split inside the JSON, errors as JSON-RPC error objects.
 */
function handle(conn: Socket): void {
  let text = '';
  conn.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    let req: Request;
    try {
      req = JSON.parse(text) as Request;
    } catch {
      return;
    }
    seen.push(req);
    let reply: unknown;
    switch (req.method) {
      case 'bdev_get_bdevs':
        reply = { jsonrpc: '2.0', id: req.id, result: [{ name: 'Malloc0', block_size: 512, num_blocks: 2048, uuid: 'é-ünïcode' }] };
        break;
      case 'echo':
        reply = { jsonrpc: '2.0', id: req.id, result: req.params ?? null };
        break;
      case 'silent':
        return; // never answers
      case 'hangup':
        conn.end();
        return;
      case 'garbage':
        conn.end('this is not json');
        return;
      default:
        reply = { jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'Method not found' } };
    }
    const bytes = Buffer.from(JSON.stringify(reply));
    // Split inside a multi-byte character to exercise the decoder and the "parse until complete" loop.
    const cut = Math.max(1, bytes.indexOf(0xc3) + 1 || Math.floor(bytes.length / 2));
    conn.write(bytes.subarray(0, cut));
    setTimeout(() => {
      conn.write(bytes.subarray(cut));
    }, 20);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvmu-rpc-'));
  sock = join(dir, 'nvmu.sock');
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(sock, r));
});
afterAll(async () => {
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
  await rm(dir, { recursive: true, force: true });
});

describe('nvmu rpc', () => {
  it('prints the result of a successful call', async () => {
    const s = streams();
    expect(await cliMain(['rpc', '-s', sock, 'bdev_get_bdevs'], s.io)).toBe(0);
    expect(JSON.parse(s.out())).toEqual([{ name: 'Malloc0', block_size: 512, num_blocks: 2048, uuid: 'é-ünïcode' }]);
    expect(seen.at(-1)).toEqual({ jsonrpc: '2.0', method: 'bdev_get_bdevs', id: 1 });
  });

  it('sends key=value params with JSON values, or one JSON object', async () => {
    const s = streams();
    expect(await cliMain(['rpc', '-s', sock, 'echo', 'name=Malloc0', 'num_blocks=1024', 'block_size=512', 'dif=false', 'uuid=null', 'list=[1,2]'], s.io)).toBe(0);
    const expected = { name: 'Malloc0', num_blocks: 1024, block_size: 512, dif: false, uuid: null, list: [1, 2] };
    expect(seen.at(-1)?.params).toEqual(expected);
    expect(JSON.parse(s.out())).toEqual(expected);
    const s2 = streams();
    expect(await cliMain(['rpc', '--server', sock, 'echo', '{"nqn":"nqn.2016-06.io.spdk:cnode1","allow_any_host":true}'], s2.io)).toBe(0);
    expect(seen.at(-1)?.params).toEqual({ nqn: 'nqn.2016-06.io.spdk:cnode1', allow_any_host: true });
  });

  it('turns a JSON-RPC error object into exit status 1 with its message', async () => {
    const s = streams();
    expect(await cliMain(['rpc', '-s', sock, 'no_such_method'], s.io)).toBe(1);
    expect(s.err()).toBe('nvmu rpc no_such_method: error -32601: Method not found\n');
    expect(s.out()).toBe('');
    await expect(rpcCall('no_such_method', undefined, { socketPath: sock })).rejects.toMatchObject({ name: 'RpcError', code: -32601 });
    await expect(rpcCall('no_such_method', undefined, { socketPath: sock })).rejects.toBeInstanceOf(RpcError);
  });

  it('reports missing sockets, timeouts, hang-ups and garbage', async () => {
    const s = streams();
    expect(await cliMain(['rpc', '-s', join(dir, 'absent.sock'), 'x'], s.io)).toBe(1);
    expect(s.err()).toMatch(/cannot connect to .*absent\.sock: no such socket \(is the nvmu target running\?/);
    const s2 = streams();
    expect(await cliMain(['rpc', '-s', sock, '-t', '0.2', 'silent'], s2.io)).toBe(1);
    expect(s2.err()).toMatch(/no response to 'silent' from .* within 0\.2 s/);
    await expect(rpcCall('hangup', undefined, { socketPath: sock })).rejects.toThrow(/closed the connection without a response/);
    await expect(rpcCall('garbage', undefined, { socketPath: sock })).rejects.toThrow(RpcTransportError);
    await expect(rpcCall('garbage', undefined, { socketPath: sock })).rejects.toThrow(/incomplete JSON response: this is not json/);
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
