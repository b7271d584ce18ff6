/**
 * Runs the first example of @nvmu/client's README ("Connect, identify, read and write") as
 * written there, against the nvmf core over this transport: only the `import` lines are
 * dropped (their bindings are passed in) and the TCP transport ID is replaced by the loopback
 * one of a test target. So the README's few lines are proven to connect, identify and do I/O.
 */
import { readFileSync } from 'node:fs';
import { createRequire, stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import * as client from '@nvmu/client';
import { loopbackClientFixture } from '@nvmu/test-kit/loopback';

// Found through the package by name (its README ships with it), not by a path into its folder.
const README = join(dirname(createRequire(import.meta.url).resolve('@nvmu/client/package.json')), 'README.md');
const TCP_TRID = 'trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2026-01.io.nvmu:cnode1';

const f = loopbackClientFixture();
afterEach(async () => {
  vi.restoreAllMocks();
  await f.cleanup();
});

/** The README's first ```ts block. */
function firstExample(): string {
  const m = /^## Connect, identify, read and write\n\n```ts\n([\s\S]*?)^```/m.exec(readFileSync(README, 'utf8'));
  if (m?.[1] === undefined) throw new Error('the client README has no "Connect, identify, read and write" example');
  return m[1];
}

it("runs the client README's connect / identify / I/O example", async () => {
  const example = firstExample();
  expect(example).toContain(`'${TCP_TRID}'`);
  expect(example).toMatch(/^import .*'@nvmu\/client';$/m);
  const t = await f.start({ blockSize: 512, blocks: 8192 });
  const body = stripTypeScriptTypes(example.replace(/^import .*$/gm, '').replace(TCP_TRID, t.trid));
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  // eslint-disable-next-line @typescript-eslint/no-empty-function -- only to reach the AsyncFunction constructor
  const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (c: typeof client.connect) => Promise<void>;
  await new AsyncFunction('connect', body)(client.connect);
  // console.log(id.mn, id.sn, `cntlid ${ctrl.cntlid}`) and console.log(await ns.compare(0, data))
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^nvmu client test NVMUCLIENT01 cntlid \d+$/);
  expect(lines[1]).toBe('true');
  // The example's writes reached the target: blocks 0-7 hold A5h, 8-23 read as zeros.
  const check = await client.connect(t.trid, { reconnect: false });
  try {
    const ns = check.namespaces[0]!;
    expect(Buffer.from(await ns.read(0, 8)).every((b) => b === 0xa5)).toBe(true);
    expect(Buffer.from(await ns.read(8, 16)).every((b) => b === 0)).toBe(true);
  } finally {
    await check.close();
  }
});
