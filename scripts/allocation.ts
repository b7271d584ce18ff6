/**
 * How the hot-path tests measure allocation (DESIGN.md "The hot path": allocation measured, not
 * assumed), written once: the growth of V8's young generation (new space) over a batch of work,
 * the smallest of several batches (a batch a scavenge ran in shrinks the space: it is dropped),
 * less what reading the heap statistics costs itself (measured around an empty function).
 *
 * Imported by relative path from the packages' tests (as readme-example.ts is): it needs only
 * node:v8, and the packages @nvmu/test-kit builds on (nvmf, native) cannot depend on the kit.
 */
import { getHeapSpaceStatistics } from 'node:v8';

/** Bytes in use in V8's new space now. */
export function newSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_used_size;
  throw new Error('no new_space in the V8 heap statistics');
}

/** Smallest non-negative growth of the new space over `batches` runs of `fn` (a scavenge makes it negative). */
export function grewBy(fn: () => void, batches: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let b = 0; b < batches; b++) {
    const before = newSpaceUsed();
    fn();
    const grew = newSpaceUsed() - before;
    if (grew >= 0 && grew < best) best = grew;
  }
  return best;
}

/** Bytes `fn` allocates in the young generation, less the measure's own cost. */
export function allocatedBy(fn: () => void, batches = 7): number {
  const overhead = grewBy(() => undefined, batches);
  return grewBy(fn, batches) - overhead;
}
