/** In-process: a target over loopback, then the commands of the README against it. */
import { expect, it } from 'vitest';
import '@nvmu/transport-loopback/host';
import { LoopbackTargetTransport } from '@nvmu/transport-loopback';
import { MallocBdev, Target } from '@nvmu/nvmf';
import { cliMain, readBlocks, runDiscover } from '../src/index.js';
import { connect } from '@nvmu/client';

it('runs the README commands in-process', async () => {
  const target = new Target();
  await target.addTransport(new LoopbackTargetTransport());
  const nqn = 'nqn.2016-06.io.spdk:cnode1';
  const sub = target.createSubsystem({ nqn, allowAnyHost: true });
  const bdev = new MallocBdev({ name: 'Malloc0', blockSize: 512, numBlocks: 4096 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  const addr = { trtype: 'loopback', adrfam: 'intra-host', traddr: 'cli-readme', trsvcid: '' } as const;
  await target.listen(addr);
  await sub.addListener(addr);
  sub.start();
  try {
    const out: string[] = [];
    const io = { stdout: { write: (s: string | Uint8Array) => out.push(String(s)) }, stderr: { write: (s: string) => out.push(s) } };
    expect(await cliMain(['identify', '-r', `trtype:loopback traddr:cli-readme subnqn:${nqn}`, '--json'], io)).toBe(0);
    expect(JSON.parse(out[0]!)).toMatchObject({ controller: { subnqn: nqn }, namespaces: [{ nsid: 1, nsze: 4096 }] });
    const { records } = await runDiscover('trtype:loopback traddr:cli-readme');
    expect(records.some((r) => r.subnqn === nqn)).toBe(true);
    const ctrl = await connect(`trtype:loopback traddr:cli-readme subnqn:${nqn}`);
    try {
      expect((await readBlocks(ctrl, 1, 0, 4)).byteLength).toBe(2048);
    } finally {
      await ctrl.close();
    }
  } finally {
    await target.close();
  }
});
