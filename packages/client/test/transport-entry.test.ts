import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as client from '@nvmu/client';
import * as contract from '@nvmu/client/transport';

describe('@nvmu/client/transport (what a transport registers through)', () => {
  it('is the same registry as the main entry, on the documented globalThis key', () => {
    const factory: client.HostTransportFactory = { trtype: 'Entry-Test', kind: 'fabrics', open: () => Promise.reject(new Error('unused')) };
    contract.registerHostTransport(factory);
    try {
      expect(client.getHostTransport('entry-test')).toBe(factory);
      const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[Symbol.for('nvmu.hostTransports')];
      expect(registry?.get('entry-test')).toBe(factory);
      expect(contract.HOST_TRANSPORT_REGISTRY_KEY).toBe(client.HOST_TRANSPORT_REGISTRY_KEY);
    } finally {
      expect(client.unregisterHostTransport('entry-test')).toBe(true);
    }
  });

  it('imports nothing at run time, so a transport loads no more of the client than this module', () => {
    const js = readFileSync(new URL(import.meta.resolve('@nvmu/client/transport')), 'utf8');
    expect(js).not.toMatch(/^\s*(import|export)\b[^;]*\bfrom\s/m);
    expect(js).not.toMatch(/\bimport\s*\(/);
  });
});
