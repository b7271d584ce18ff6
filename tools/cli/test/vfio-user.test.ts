/** identify, write and read over vfio-user with SPDK's transport ID spelling (target in this process). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import '@nvmu/transport-vfio-user/host';
import { VfioUserTargetTransport } from '@nvmu/transport-vfio-user/target';
import { MallocBdev, Target, silentLogger } from '@nvmu/nvmf';
import { cliMain } from '../src/cli.js';
import { streams } from './target.js';

const nqn = 'nqn.2026-12.io.nvmu:cli-vfu';
let dir: string;
let target: Target;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nvmu-cli-vfu-'));
  target = new Target({ logger: silentLogger });
  await target.addTransport(new VfioUserTargetTransport());
  const sub = target.createSubsystem({ nqn, allowAnyHost: true, serial: 'CLIVFU01' });
  const bdev = new MallocBdev({ name: 'Malloc0', blockSize: 512, numBlocks: 2048 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  await sub.addListener({ trtype: 'vfio-user', adrfam: 'intra-host', traddr: join(dir, 'vfu0'), trsvcid: '' });
  sub.start();
});
afterAll(async () => {
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

it("identify -r 'trtype:vfiouser traddr:<socket directory>'", async () => {
  const s = streams();
  expect(await cliMain(['identify', '-r', `trtype:vfiouser traddr:${join(dir, 'vfu0')}`, '--json'], s.io)).toBe(0);
  const j = JSON.parse(s.out()) as { controller: Record<string, unknown>; namespaces: Record<string, unknown>[] };
  expect(j.controller).toMatchObject({ sn: 'CLIVFU01', subnqn: nqn });
  expect(j.namespaces[0]).toMatchObject({ nsid: 1, nsze: 2048 });
});
