import { describe, expect, it } from 'vitest';
import { getHostTransport } from '@nvmu/client';
import { loopbackHostTransportFactory } from '../src/host.js';

describe('loopback ./host entry', () => {
  it('registers trtype loopback in the client registry on import', () => {
    const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[Symbol.for('nvmu.hostTransports')];
    expect(registry?.get('loopback')).toBe(loopbackHostTransportFactory);
    expect(getHostTransport('LOOPBACK')).toBe(loopbackHostTransportFactory);
    expect(loopbackHostTransportFactory.kind).toBe('fabrics');
  });
  it('rejects a name no listener uses', async () => {
    await expect(
      loopbackHostTransportFactory.open({ trtype: 'loopback', traddr: 'nobody-listens-here' }, { hostnqn: 'nqn.x', hostid: new Uint8Array(16), connectTimeoutMs: 100 }),
    ).rejects.toThrow(/nobody-listens-here/);
  });
});
