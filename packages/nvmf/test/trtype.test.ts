/**
 * Transport type spellings: SPDK's names (VFIOUSER, TCP; case-insensitive there) and nvmu's
 * (vfio-user, tcp) reach one transport, through `trtypeKey`, the core's one place for it.
 */
import { describe, expect, it } from 'vitest';
import { Target, sameAddress, trtypeKey } from '../src/index.js';
import { TestTransport } from './harness.js';

/** The test transport under the vfio-user transport's trtype. */
class DashedTransport extends TestTransport {
  override readonly trtype: string = 'vfio-user';
}

describe('trtype spellings', () => {
  it('equates case, dashes and underscores', () => {
    expect(['VFIOUSER', 'vfiouser', 'vfio-user', 'VFIO_USER', 'Vfio-User'].map(trtypeKey)).toEqual(Array<string>(5).fill('vfiouser'));
    expect(trtypeKey('TCP')).toBe(trtypeKey('tcp'));
    expect(trtypeKey('tcp')).not.toBe(trtypeKey('rdma'));
  });

  it('finds, listens and stops listening through any spelling, and lists the transport\'s own', async () => {
    const target = new Target();
    const tr = new DashedTransport();
    await target.addTransport(tr);
    expect(target.getTransport('VFIOUSER')).toBe(tr);
    expect(target.getTransport('vfiouser')).toBe(tr);
    await expect(target.addTransport(new DashedTransport())).rejects.toThrow(/already added/);
    await target.listen({ trtype: 'VFIOUSER', adrfam: 'intra-host', traddr: '/run/x/vfu0', trsvcid: '' });
    expect(tr.listening).toEqual([{ trtype: 'vfio-user', adrfam: 'intra-host', traddr: '/run/x/vfu0', trsvcid: '' }]);
    expect(target.listeners()).toEqual(tr.listening);
    // The same address in another spelling is the same listener.
    await target.listen({ trtype: 'vfiouser', adrfam: 'intra-host', traddr: '/run/x/vfu0', trsvcid: '' });
    expect(target.listeners()).toHaveLength(1);
    expect(sameAddress(target.listeners()[0]!, { trtype: 'VFIOUSER', adrfam: 'intra-host', traddr: '/run/x/vfu0', trsvcid: '' })).toBe(true);
    await target.stopListen({ trtype: 'vfiouser', adrfam: 'intra-host', traddr: '/run/x/vfu0', trsvcid: '' });
    expect(target.listeners()).toHaveLength(0);
    await target.close();
  });
});
