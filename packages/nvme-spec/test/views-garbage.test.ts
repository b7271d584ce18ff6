import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as spec from '../src/index.js';
import { StructView, NvmeBufferTooShortError } from '../src/index.js';

type ViewClass = (new (buf: Uint8Array, offset?: number) => StructView) & { SIZE?: number };

/** Every exported view class with a static SIZE. */
const views: [string, ViewClass][] = Object.entries(spec).filter(
  (e): e is [string, ViewClass] => typeof e[1] === 'function' && (e[1] as { prototype?: unknown }).prototype instanceof StructView,
);

/** Accessors (name → has a setter) along the prototype chain (below StructView). */
function accessors(cls: ViewClass): Map<string, boolean> {
  const m = new Map<string, boolean>();
  let p = cls.prototype as object | null;
  while (p !== null && p !== StructView.prototype) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) {
      if (d.get !== undefined && !m.has(k)) m.set(k, d.set !== undefined);
    }
    p = Object.getPrototypeOf(p) as object | null;
  }
  return m;
}

/** All getter names along the prototype chain (below StructView). */
function getters(cls: ViewClass): string[] {
  const names = new Set<string>();
  let p = cls.prototype as object | null;
  while (p !== null && p !== StructView.prototype) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) if (d.get !== undefined) names.add(k);
    p = Object.getPrototypeOf(p) as object | null;
  }
  return [...names];
}

describe('every view over random bytes', () => {
  it('found the view classes', () => {
    expect(views.length).toBeGreaterThan(10);
  });

  for (const [name, cls] of views) {
    const size = new cls(new Uint8Array(8192)).byteLength;
    it(`${name}: every getter reads garbage without throwing`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: size, maxLength: size }), fc.nat(8), (bytes, off) => {
          const b = new Uint8Array(size + off);
          b.set(bytes, off);
          const v = new cls(b, off) as unknown as Record<string, unknown>;
          for (const g of getters(cls)) expect(() => v[g]).not.toThrow();
        }),
        { numRuns: 30 },
      );
    });
    it(`${name}: rejects a buffer one byte short`, () => {
      expect(() => new cls(new Uint8Array(size - 1))).toThrow(NvmeBufferTooShortError);
    });
    it(`${name}: copying every field through its setter reproduces every getter (property)`, () => {
      const acc = accessors(cls);
      fc.assert(
        fc.property(fc.uint8Array({ minLength: size, maxLength: size }), (bytes) => {
          const src = new cls(bytes) as unknown as Record<string, unknown>;
          const dst = new cls(new Uint8Array(size)) as unknown as Record<string, unknown>;
          for (const [k, settable] of acc) {
            // 64/128-bit fields are copied through their bigint twin; strings of random bytes are not ASCII.
            if (!settable || acc.has(`${k}Big`) || typeof src[k] === 'string') continue;
            dst[k] = src[k];
          }
          for (const [k, settable] of acc) {
            const v = src[k];
            // Getter-only values (vendor areas, derived values like blockSize) have no setter to copy them.
            if (!settable || typeof v === 'string') continue;
            expect(dst[k], k).toEqual(v);
          }
        }),
        { numRuns: 20 },
      );
    });
  }
});
