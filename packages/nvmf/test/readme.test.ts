import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBdev, Target } from '../src/index.js';
import { TestHost, TestTransport } from './harness.js';

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
  });
});
