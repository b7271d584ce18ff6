import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBdev, Target } from '../src/index.js';
import { TestHost, TestTransport } from './harness.js';

/** The README's first TypeScript block (the file-backed target example). */
function readmeExample(): string {
  const md = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const m = /```ts\n([\s\S]*?)```/.exec(md);
  if (m?.[1] === undefined) throw new Error('README has no ts example');
  return m[1];
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The README's example, with the in-process test transport in place of TCP. */
async function start(path: string): Promise<{ target: Target; tr: TestTransport }> {
  const target = new Target();
  const tr = new TestTransport();
  await target.addTransport(tr);
  const disk = await FileBdev.open({ name: 'disk0', path, size: 1 << 30 });
  target.addBdev(disk);
  const subsys = target.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:disk0', allowAnyHost: true });
  subsys.addNamespace({ bdev: disk });
  await subsys.addListener({ trtype: 'test', adrfam: 'intra-host', traddr: 'loop0', trsvcid: '' });
  subsys.start();
  return { target, tr };
}

describe('README example', () => {
  it('serves a file-backed namespace whose data survives a target restart', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nvmf-readme-'));
    dirs.push(d);
    const path = join(d, 'disk.img');
    const data = Buffer.alloc(8192);
    for (let i = 0; i < data.length; i++) data[i] = (i * 11) & 0xff;

    const a = await start(path);
    const h1 = new TestHost(a.tr, 'nqn.2026-11.io.nvmu:disk0');
    await h1.bringUp(1);
    expect((await h1.write(1, 1, 2048, data, 512, true)).status).toBe(0);
    await h1.shutdown();
    await a.target.close();

    const b = await start(path);
    const h2 = new TestHost(b.tr, 'nqn.2026-11.io.nvmu:disk0');
    await h2.bringUp(1);
    const r = await h2.read(1, 1, 2048, 16, 512);
    expect(r.status).toBe(0);
    expect(r.data.equals(data)).toBe(true);
    const id = (await h2.identify(0, 1)).data;
    expect(id.readBigUInt64LE(0)).toBe(BigInt((1 << 30) / 512));
    await b.target.close();
  }, 30_000); // fdatasync on a busy disk: a generous bound, not a timing
});

describe('README example, executed as written', () => {
  it('runs the README block (TCP transport swapped for an in-process one named tcp) and serves I/O', async () => {
    const d = mkdtempSync(join(tmpdir(), 'nvmf-readme-run-'));
    dirs.push(d);
    const image = join(d, 'disk.img');
    let code = readmeExample();
    // Only what cannot run here changes: the imports (passed in below), TypeScript's `as const`,
    // the image path (into a temp dir), and the SIGINT hook; then hand back the target.
    expect(code).toContain("FileBdev.open({ name: 'disk0', path: './disk.img', size: 1 << 30 })");
    code = code
      .replace(/^import .*$/gm, '')
      .replace(/ as const/g, '')
      .replace("'./disk.img'", JSON.stringify(image))
      .replace(/^process\.on\(.*$/m, '')
      .concat('\nreturn target;\n');
    const tr = Object.assign(new TestTransport(), { trtype: 'tcp' });
    // The AsyncFunction constructor (the README block uses top-level await).
    const asyncProto = Object.getPrototypeOf(async function (): Promise<void> {
      await Promise.resolve();
    }) as { constructor: new (...args: string[]) => (...a: unknown[]) => Promise<Target> };
    const AsyncFunction = asyncProto.constructor;
    const run = new AsyncFunction('FileBdev', 'Target', 'TcpTargetTransport', code);
    const target = await run(FileBdev, Target, function TcpTargetTransport() {
      return tr;
    });
    try {
      const addr = { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: '4420' } as const;
      const h = new TestHost(tr, 'nqn.2026-11.io.nvmu:disk0', undefined, addr);
      await h.bringUp(1);
      const data = Buffer.alloc(4096, 0x3c);
      expect((await h.write(1, 1, 100, data, 512, true)).status).toBe(0);
      expect((await h.read(1, 1, 100, 8, 512)).data.equals(data)).toBe(true);
      expect((await h.identify(0, 1)).data.readBigUInt64LE(0)).toBe(BigInt((1 << 30) / 512));
    } finally {
      await target.close();
    }
  }, 30_000); // fdatasync on a busy disk: a generous bound, not a timing
});
