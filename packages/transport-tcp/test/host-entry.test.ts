import { describe, expect, it } from 'vitest';

import { getHostTransport } from '@nvmu/client';

import { tcpHostTransportFactory } from '../src/host.js';

describe('./host entry', () => {
  it("registers trtype 'tcp' in the client's registry on import", () => {
    const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[Symbol.for('nvmu.hostTransports')];
    expect(registry?.get('tcp')).toBe(tcpHostTransportFactory);
    expect(getHostTransport('TCP')).toBe(tcpHostTransportFactory);
    expect(tcpHostTransportFactory.kind).toBe('fabrics');
  });

  it('rejects a qpair to an address nobody listens on, naming it', async () => {
    const t = await tcpHostTransportFactory.open({ trtype: 'tcp', traddr: '127.0.0.1', trsvcid: '1' }, { hostnqn: 'nqn.x', hostid: new Uint8Array(16), connectTimeoutMs: 2000 });
    const handler = { completion: () => undefined, disconnected: () => undefined };
    await expect(t.connectQPair({ qid: 0, queueSize: 32, maxInCapsuleDataSize: 8192, handler })).rejects.toThrow(/127\.0\.0\.1:1/);
    await t.close();
  });

  it('defaults adrfam from the address and the port to 4420', async () => {
    const t = await tcpHostTransportFactory.open({ trtype: 'tcp', traddr: '::1' }, { hostnqn: 'nqn.x', hostid: new Uint8Array(16), connectTimeoutMs: 100 });
    expect(t.trid).toMatchObject({ adrfam: 'ipv6', trsvcid: '4420', traddr: '::1' });
    await t.close();
  });
});
