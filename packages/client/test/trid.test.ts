import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TransportIdError, formatTransportId, formatUuid, parseTransportId, parseUuid } from '../src/trid.js';
import type { TransportId } from '../src/transport.js';
import { getHostTransport, hostTransportRegistry, registerHostTransport, unregisterHostTransport } from '../src/transport.js';

describe('parseTransportId', () => {
  it('parses the SPDK TCP example with colons inside the NQN', () => {
    expect(parseTransportId('trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2026-01.io.nvmu:cnode1')).toEqual({
      trtype: 'tcp',
      adrfam: 'ipv4',
      traddr: '127.0.0.1',
      trsvcid: '4420',
      subnqn: 'nqn.2026-01.io.nvmu:cnode1',
    });
  });
  it('accepts upper-case keys, = separators, tabs and SPDK spellings', () => {
    expect(parseTransportId(' TRTYPE=TCP\tADRFAM:IPv6  traddr:::1 trsvcid=4420 ')).toEqual({
      trtype: 'tcp',
      adrfam: 'ipv6',
      traddr: '::1',
      trsvcid: '4420',
    });
    expect(parseTransportId('trtype:VFIOUSER traddr:/run/nvmu/cnode1').trtype).toBe('vfio-user');
    expect(parseTransportId('trtype:loopback adrfam:INTRA_HOST traddr:t1').adrfam).toBe('intra-host');
  });
  it('keeps host identity keys and puts unknown keys in params', () => {
    const t = parseTransportId(
      'trtype:rdma-sim traddr:10.0.0.1 hostnqn:nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001 hostid:00000000-0000-0000-0000-000000000001 HDGST:1',
    );
    expect(t.hostnqn).toBe('nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001');
    expect(t.hostid).toBe('00000000-0000-0000-0000-000000000001');
    expect(t.params).toEqual({ hdgst: '1' });
  });
  it('normalises an options object', () => {
    expect(parseTransportId({ TrType: 'Loopback', traddr: 'x', subnqn: 'nqn.a' })).toEqual({ trtype: 'loopback', traddr: 'x', subnqn: 'nqn.a' });
  });
  it('rejects what it cannot understand', () => {
    expect(() => parseTransportId('traddr:1.2.3.4')).toThrow(TransportIdError);
    expect(() => parseTransportId('trtype:tcp')).toThrow(/traddr/);
    expect(() => parseTransportId('trtype:tcp traddr:x adrfam:ipx')).toThrow(/adrfam/);
    expect(() => parseTransportId('trtype:tcp traddr:x bogus')).toThrow(/key:value/);
    expect(() => parseTransportId('trtype:tcp traddr:x hostid:nope')).toThrow(/UUID/);
  });
  it('round-trips through formatTransportId', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9.:/_-]{1,20}$/);
    const arb = fc.record(
      {
        trtype: fc.constantFrom('tcp', 'loopback', 'rdma-sim', 'vfio-user'),
        adrfam: fc.constantFrom('ipv4', 'ipv6', 'ib', 'fc', 'intra-host' as const),
        traddr: word,
        trsvcid: fc.stringMatching(/^[0-9]{1,5}$/),
        subnqn: word,
        hostnqn: word,
        hostid: fc.uuid(),
        params: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/).filter((k) => !['trtype', 'adrfam', 'traddr', 'trsvcid', 'subnqn', 'hostnqn', 'hostid', 'params', '__proto__'].includes(k)), word, { minKeys: 1 }),
      },
      { requiredKeys: ['trtype', 'traddr'] },
    );
    fc.assert(
      fc.property(arb, (t) => {
        expect(parseTransportId(formatTransportId(t as TransportId))).toEqual(t);
      }),
    );
  });
  it('converts UUIDs to bytes and back', () => {
    fc.assert(
      fc.property(fc.uuid(), (u) => {
        const b = parseUuid(u);
        expect(b.length).toBe(16);
        expect(formatUuid(b)).toBe(u.toLowerCase());
      }),
    );
  });
});

describe('host transport registry', () => {
  it('is a Map on globalThis under Symbol.for("nvmu.hostTransports"), shared with register/get', () => {
    const factory = { trtype: 'test-x', kind: 'fabrics' as const, open: () => Promise.reject(new Error('no')) };
    // Register the way a transport's ./host entry does, without importing the client.
    const key = Symbol.for('nvmu.hostTransports');
    const reg = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[key] ?? hostTransportRegistry();
    reg.set('test-x', factory);
    expect(getHostTransport('TEST-X')).toBe(factory);
    expect(unregisterHostTransport('test-x')).toBe(true);
    expect(getHostTransport('test-x')).toBeUndefined();
    registerHostTransport({ ...factory, trtype: 'Test-Y' });
    expect(hostTransportRegistry().has('test-y')).toBe(true);
    expect((globalThis as Record<symbol, Map<string, unknown> | undefined>)[key]?.has('test-y')).toBe(true);
    unregisterHostTransport('test-y');
  });
});
