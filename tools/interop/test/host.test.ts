import { describe, expect, it } from 'vitest';
import { interopSkipped } from '../src/host.js';

describe('interopSkipped', () => {
  it('skips only when NVMU_SKIP_INTEROP is 1', () => {
    expect(interopSkipped({})).toBe(false);
    expect(interopSkipped({ NVMU_SKIP_INTEROP: '0' })).toBe(false);
    expect(interopSkipped({ NVMU_SKIP_INTEROP: '1' })).toBe(true);
    expect(interopSkipped({ NVMU_SKIP_INTEROP: '1', CI: 'false' })).toBe(true);
  });

  it('refuses NVMU_SKIP_INTEROP=1 under CI=true with a message naming both', () => {
    expect(() => interopSkipped({ NVMU_SKIP_INTEROP: '1', CI: 'true' })).toThrow(/NVMU_SKIP_INTEROP=1 is refused under CI=true/);
    expect(interopSkipped({ CI: 'true' })).toBe(false);
  });
});
