/**
 * Runs the first example of @nvmu/client's README ("Connect, identify, read and write") as
 * written there, over vfio-user: the `import` lines are dropped (their bindings are passed in)
 * and the TCP transport ID is replaced by SPDK's vfio-user form for a target in this process.
 * So the README's promise that everything is identical over both transports is tested.
 */
import { readFileSync } from 'node:fs';
import { createRequire, stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import * as client from '@nvmu/client';
import { MallocBdev, Target, silentLogger } from '@nvmu/nvmf';
import '../../src/host.js';
import { VfioUserTargetTransport } from '../../src/target.js';
import { tempDir } from '../server/helpers.js';

const README = join(dirname(createRequire(import.meta.url).resolve('@nvmu/client/package.json')), 'README.md');
const TCP_TRID = 'trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2026-01.io.nvmu:cnode1';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

it("runs the client README's connect / identify / I/O example over vfio-user", async () => {
  const m = /^## Connect, identify, read and write\n\n```ts\n([\s\S]*?)^```/m.exec(readFileSync(README, 'utf8'));
  const example = m?.[1];
  if (example === undefined) throw new Error('the client README has no "Connect, identify, read and write" example');
  expect(example).toContain(`'${TCP_TRID}'`);
  expect(example).toMatch(/^import '@nvmu\/transport-vfio-user\/host';/m);
  expect(example).toContain("connect('trtype:vfiouser traddr:/run/nvmu/vfu0')");

  const target = new Target({ logger: silentLogger });
  await target.addTransport(new VfioUserTargetTransport());
  const sub = target.createSubsystem({ nqn: 'nqn.2026-12.io.nvmu:readme', allowAnyHost: true, serial: 'VFUREADME1', model: 'nvmu vfio-user readme' });
  const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 8192 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const { dir, cleanup } = tempDir();
  await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: dir, trsvcid: '' });
  sub.start();
  cleanups.push(cleanup, () => target.close());

  const body = stripTypeScriptTypes(example.replace(/^import .*$/gm, '').replace(TCP_TRID, `trtype:vfiouser traddr:${dir}`));
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  // eslint-disable-next-line @typescript-eslint/no-empty-function -- only to reach the AsyncFunction constructor
  const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (c: typeof client.connect) => Promise<void>;
  await new AsyncFunction('connect', body)(client.connect);
  expect(lines).toEqual([expect.stringMatching(/^nvmu vfio-user readme VFUREADME1 cntlid \d+$/) as unknown, 'true']);
  const check = await client.connect(`trtype:vfio-user traddr:${dir}`, { reconnect: false });
  try {
    const ns = check.namespaces[0]!;
    expect(Buffer.from(await ns.read(0, 8)).every((b) => b === 0xa5)).toBe(true);
    expect(Buffer.from(await ns.read(8, 16)).every((b) => b === 0)).toBe(true);
  } finally {
    await check.close();
  }
});
