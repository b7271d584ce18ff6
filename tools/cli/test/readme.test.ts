/**
 * The README's library example, read from the README and run as written against the nvmu target
 * daemon (its default subsystem on a free port, its JSON-RPC socket in a temporary folder), with
 * the port and socket path substituted.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as daemonApi from '@nvmu/target';
import { startTestDaemon, type TestDaemon } from '@nvmu/test-kit/daemon';
import { readmeBlocks, runExample, substitute } from '../../../scripts/readme-example.js';

const pkg = join(import.meta.dirname, '..');
const METHODS = ['rpc_get_methods', 'bdev_get_bdevs'];

const { DEFAULTS } = daemonApi;
let fixture: TestDaemon<daemonApi.RunningDaemon>;
let daemon: daemonApi.RunningDaemon;
let sock: string;

beforeAll(async () => {
  fixture = await startTestDaemon(daemonApi, 'nvmu-cli-readme-');
  ({ daemon, rpcSocket: sock } = fixture);
});
afterAll(async () => {
  await fixture.close();
});

it('runs the README library example against the daemon', async () => {
  const blocks = readmeBlocks(join(pkg, 'README.md'), 'ts');
  expect(blocks.length).toBe(1);
  expect(DEFAULTS.nqn).toBe('nqn.2026-01.io.nvmu:cnode1');
  const port = daemon.options.trsvcid;
  const code = substitute(blocks[0]!, [
    ['trsvcid:4420', `trsvcid:${port}`],
    ['defaultRpcSocket()', JSON.stringify(sock)],
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
  // The daemon's own JSON-RPC socket answered rpc_get_methods with SPDK's method names.
  expect(after.methods).toEqual(expect.arrayContaining(METHODS));
}, 60_000);
