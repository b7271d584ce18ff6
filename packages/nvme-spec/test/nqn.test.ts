import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { isValidNqn, nqnProblem, formatUuid, parseUuid, hostNqnFromUuid, uuidFromNqn, NQN_MAX_LENGTH, DISCOVERY_NQN } from '../src/index.js';

describe('NQNs and UUIDs (NVMe Base 2.0 §4.5)', () => {
  it('accepts both NQN forms and rejects others', () => {
    expect(isValidNqn(DISCOVERY_NQN)).toBe(true);
    expect(isValidNqn('nqn.2016-06.io.spdk:cnode1')).toBe(true);
    expect(isValidNqn('nqn.2014-08.org.nvmexpress:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6')).toBe(true);
    expect(isValidNqn('nqn.2014-08.org.nvmexpress:uuid:not-a-uuid')).toBe(false);
    expect(isValidNqn('iqn.2016-06.io.spdk:cnode1')).toBe(false);
    expect(isValidNqn('nqn.2016-13.io.spdk:x')).toBe(false);
    expect(isValidNqn('nqn.2016-06.io.x:' + 'a'.repeat(NQN_MAX_LENGTH))).toBe(false);
  });

  it('says why a name is not an NQN (format and length of §4.5)', () => {
    expect(nqnProblem('nqn.2026-01.io.nvmu:cnode1')).toBeUndefined();
    expect(nqnProblem('nqn.2001-04.com.example')).toBeUndefined();
    // RFC 1123 labels may start with a digit.
    expect(nqnProblem('nqn.2016-06.io.3par:x')).toBeUndefined();
    expect(nqnProblem('')).toBe('empty');
    expect(nqnProblem('iqn.2026-11.io.nvmu:x')).toMatch(/nqn\.yyyy-mm/);
    expect(nqnProblem('nqn.26-11.io.nvmu:x')).toMatch(/nqn\.yyyy-mm/);
    expect(nqnProblem('nqn.2026-00.io.nvmu:x')).toMatch(/month/);
    expect(nqnProblem('nqn.2026-11.:x')).toMatch(/domain/);
    expect(nqnProblem('nqn.2026-11.-bad.io:x')).toMatch(/label/);
    expect(nqnProblem('nqn.2026-11.io.nvmu:')).toMatch(/after ":"/);
    expect(nqnProblem('nqn.2014-08.org.nvmexpress:uuid:nope')).toMatch(/UUID/);
    const prefix = 'nqn.2026-11.io.nvmu:';
    expect(nqnProblem(prefix + 'a'.repeat(NQN_MAX_LENGTH - prefix.length))).toBeUndefined();
    expect(nqnProblem(prefix + 'a'.repeat(NQN_MAX_LENGTH + 1 - prefix.length))).toMatch(/223 bytes/);
    // Bytes, not characters.
    expect(nqnProblem(prefix + 'é'.repeat(102))).toMatch(/223 bytes/);
  });

  it('formats and parses UUIDs', () => {
    const b = Uint8Array.from([0xf8, 0x1d, 0x4f, 0xae, 0x7d, 0xec, 0x11, 0xd0, 0xa7, 0x65, 0x00, 0xa0, 0xc9, 0x1e, 0x6b, 0xf6]);
    expect(formatUuid(b)).toBe('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    expect(parseUuid('F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6')).toEqual(b);
    expect(hostNqnFromUuid(b)).toBe('nqn.2014-08.org.nvmexpress:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    expect(uuidFromNqn(hostNqnFromUuid(b))).toBe('f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    expect(uuidFromNqn('nqn.2016-06.io.spdk:cnode1')).toBeUndefined();
    expect(() => parseUuid('xyz')).toThrow(RangeError);
    expect(() => formatUuid(new Uint8Array(15))).toThrow(RangeError);
  });

  it('round-trips any 16 bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(parseUuid(formatUuid(b))).toEqual(b);
        expect(isValidNqn(hostNqnFromUuid(b))).toBe(true);
      }),
    );
  });
});
