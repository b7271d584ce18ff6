import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DISCOVERY_NQN, InvalidNqnError, Target, assertNqn, isValidNqn, nqnProblem } from '../src/index.js';

describe('NQN validation (NVMe Base 2.0 §4.5)', () => {
  it('accepts the date/domain form, the UUID form and the discovery NQN', () => {
    for (const n of [
      'nqn.2014-08.org.nvmexpress:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
      'nqn.2026-11.io.nvmu:disk0',
      'nqn.2016-06.io.spdk:cnode1',
      'nqn.2001-04.com.example',
      DISCOVERY_NQN,
    ]) {
      expect(nqnProblem(n)).toBeUndefined();
    }
  });

  it('rejects malformed names with a reason', () => {
    for (const n of [
      '',
      'iqn.2026-11.io.nvmu:x',
      'nqn.26-11.io.nvmu:x',
      'nqn.2026-13.io.nvmu:x',
      'nqn.2026-11.:x',
      'nqn.2026-11.-bad.io:x',
      'nqn.2026-11.io.nvmu:',
      'nqn.2014-08.org.nvmexpress:uuid:not-a-uuid',
    ]) {
      expect(isValidNqn(n)).toBe(false);
    }
    expect(() => {
      assertNqn('bogus');
    }).toThrow(InvalidNqnError);
  });

  it('limits the length to 223 bytes', () => {
    const prefix = 'nqn.2026-11.io.nvmu:';
    expect(isValidNqn(prefix + 'a'.repeat(223 - prefix.length))).toBe(true);
    expect(isValidNqn(prefix + 'a'.repeat(224 - prefix.length))).toBe(false);
    // Bytes, not characters: a 2-byte UTF-8 character counts twice.
    expect(isValidNqn(prefix + 'é'.repeat(102))).toBe(false);
  });

  it('property: every generated date/domain NQN within the limit is valid', () => {
    const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(label, { minLength: 1, maxLength: 4 }),
        fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/),
        (y, m, labels, rest) => {
          const n = `nqn.${y}-${String(m).padStart(2, '0')}.${labels.join('.')}:${rest}`;
          expect(isValidNqn(n)).toBe(true);
        },
      ),
    );
  });

  it('Target.createSubsystem refuses invalid and duplicate NQNs', () => {
    const t = new Target();
    expect(() => t.createSubsystem({ nqn: 'nope' })).toThrow(InvalidNqnError);
    t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:one' });
    expect(() => t.createSubsystem({ nqn: 'nqn.2026-11.io.nvmu:one' })).toThrow(/already exists/);
    expect(() => t.createSubsystem({ nqn: DISCOVERY_NQN })).toThrow(/already exists/);
  });
});
