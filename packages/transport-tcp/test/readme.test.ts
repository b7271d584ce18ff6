/** The README example, on a free port. */
import { expect, it } from 'vitest';

import { MallocBdev, Target } from '@nvmu/nvmf';
import { connect } from '@nvmu/client';

import { TcpTargetTransport } from '../src/target.js';
import '../src/host.js';
import { freePort } from './helpers/setup.js';

it('runs the README example', async () => {
  const port = String(await freePort());
  const nqn = 'nqn.2026-11.io.nvmu:example';
  const target = new Target();
  await target.addTransport(new TcpTargetTransport());
  const sub = target.createSubsystem({ nqn, allowAnyHost: true });
  const bdev = new MallocBdev({ name: 'm0', blockSize: 512, numBlocks: 2048 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev });
  const addr = { trtype: 'tcp', adrfam: 'ipv4', traddr: '127.0.0.1', trsvcid: port } as const;
  await target.listen(addr);
  await sub.addListener(addr);
  sub.start();

  const ctrl = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${nqn}`);
  const ns = ctrl.namespaces[0]!;
  await ns.write(0, Buffer.alloc(4096, 0xab));
  const back = await ns.read(0, 8);
  expect(Buffer.from(back).every((b) => b === 0xab)).toBe(true);

  await ctrl.close();
  await target.close();
});
