/**
 * The client's decoded Identify data (`identifyController()`, `Namespace.data`) checked against
 * @nvmu/nvme-spec's views on real data from the nvmf core, so a wrong offset on either side
 * shows up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IdentifyControllerView, IdentifyNamespaceView } from '@nvmu/nvme-spec';
import { loopbackClientFixture } from '@nvmu/test-kit/loopback';

const f = loopbackClientFixture();
afterEach(f.cleanup);

describe('Identify decoding', () => {
  it('agrees with @nvmu/nvme-spec on Identify Controller and Identify Namespace', async () => {
    const c = await f.open({}, { blockSize: 4096, blocks: 3000 });
    const raw = await c.identify(0x01, 0);
    const mine = await c.identifyController();
    const v = new IdentifyControllerView(raw);
    for (const k of ['vid', 'ssvid', 'sn', 'mn', 'fr', 'mdts', 'cntlid', 'ver', 'oaes', 'ctratt', 'cntrltype', 'oacs', 'aerl', 'lpa', 'kas', 'sqes', 'cqes', 'maxcmd', 'nn', 'oncs', 'vwc', 'sgls', 'subnqn', 'ioccsz', 'iorcsz', 'icdoff', 'fcatt', 'msdbd'] as const) {
      expect([k, mine[k]]).toEqual([k, v[k]]);
    }
    const nsRaw = await c.identify(0x00, 1);
    const ns = c.namespaces[0]!.data;
    const nv = new IdentifyNamespaceView(nsRaw);
    expect(ns.nsze).toBe(nv.nsze);
    expect(ns.nsze).toBe(3000);
    expect(ns.ncap).toBe(nv.ncap);
    expect(ns.nuse).toBe(nv.nuse);
    expect(ns.nlbaf).toBe(nv.nlbaf);
    expect(ns.flbas).toBe(nv.flbas);
    expect(2 ** ns.lbaFormat.lbads).toBe(nv.blockSize);
    expect(ns.lbaf[0]).toEqual(nv.lbaf(0));
    expect(Buffer.from(ns.nguid).equals(Buffer.from(nsRaw.subarray(104, 120)))).toBe(true);
  });
});
