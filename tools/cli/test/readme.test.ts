/**
 * The README's library example, read from the README and run as written against the nvmu target
 * daemon (its default subsystem, on a free port) and a stand-in JSON-RPC server on a temporary
 * socket (the daemon has no JSON-RPC socket yet), with the port and socket path substituted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '@nvmu/nvmf';
import { DEFAULTS, startDaemon, type RunningDaemon } from '@nvmu/target';
import { readmeBlocks, runExample, substitute } from '../../../scripts/readme-example.js';
import { freePort } from './target.js';

const pkg = join(import.meta.dirname, '..');
const METHODS = ['rpc_get_methods', 'bdev_get_bdevs'];

let dir: string;
let daemon: RunningDaemon;
let rpc: Server;
let sock: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvmu-cli-readme-'));
  daemon = await startDaemon({ ...DEFAULTS, dataDir: join(dir, 'data'), trsvcid: await freePort(), sizeBytes: 4 << 20 }, silentLogger);
  sock = join(dir, 'rpc.sock');
  rpc = createServer((conn) => {
    let text = '';
    conn.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      let req: { id: number; method: string };
      try {
        req = JSON.parse(text) as { id: number; method: string };
      } catch {
        return;
      }
      const reply = req.method === 'rpc_get_methods' ? { jsonrpc: '2.0', id: req.id, result: METHODS } : { jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'Method not found' } };
      conn.end(JSON.stringify(reply));
    });
  });
  await new Promise<void>((resolve) => rpc.listen(sock, resolve));
});
afterAll(async () => {
  await new Promise((resolve) => rpc.close(resolve));
  await daemon.stop();
  await rm(dir, { recursive: true, force: true });
});

it('runs the README library example against the daemon', async () => {
  const blocks = readmeBlocks(join(pkg, 'README.md'), 'ts');
  expect(blocks.length).toBe(1);
  expect(DEFAULTS.nqn).toBe('nqn.2026-01.io.nvmu:cnode1');
  const port = daemon.options.trsvcid;
  const code = substitute(blocks[0]!, [
    ['trsvcid:4420', `trsvcid:${port}`],
    ["'/var/tmp/nvmu.sock'", JSON.stringify(sock)],
  ]);
  // After the README's code, as written, print what it computed so the test can check it.
  const r = await runExample(`${code}\nconsole.log(JSON.stringify({ code, genctr, records, methods }));\n`, pkg);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const lines = r.stdout.trimEnd().split('\n');
  // cliMain's identify --json output (one JSON document), then the line added above.
  const identify = JSON.parse(lines.slice(0, -1).join('\n')) as { controller: { subnqn: string }; namespaces: { nsid: number }[] };
  expect(identify.controller.subnqn).toBe(DEFAULTS.nqn);
  expect(identify.namespaces.map((n) => n.nsid)).toEqual([1]);
  const after = JSON.parse(lines.at(-1)!) as { code: number; genctr: number; records: { subnqn: string }[]; methods: unknown };
  expect(after.code).toBe(0);
  expect(after.records.some((x) => x.subnqn === DEFAULTS.nqn)).toBe(true);
  expect(after.methods).toEqual(METHODS);
}, 60_000);
