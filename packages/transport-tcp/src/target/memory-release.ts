/**
 * Gives the memory of closed connections back to the system (issue 12).
 *
 * What a connection allocates is returned when it closes: its request buffers are one slab per
 * queue (unmapped when the slab is collected, since it is above the daemon's fixed mmap
 * threshold), its shared-pool buffers go back to the pool, and its objects become garbage. But
 * part of it comes from glibc's main heap in small chunks: Node's socket objects, the core's
 * SQE/CQE slabs, and above all V8's own bookkeeping of a JavaScript heap that grew with the
 * connections (page metadata, remembered sets). glibc gives freed memory back by itself only
 * from the top of that heap; chunks freed below a live one stay resident, and each cycle of
 * connections left the target's RSS 13–17 MiB higher per 1,000 connections (BENCHMARKS.md).
 * malloc_trim(0) hands those pages back (madvise). Most of what a closed connection used is
 * freed only when V8 collects its objects, and a trim is not cheap (it madvises every free page
 * range of every arena, blocking the event loop: tens to hundreds of milliseconds after 1,000
 * connections closed on a loaded 2-core machine; BENCHMARKS.md), so it runs once per burst of
 * closes: `delayMs` after the first full GC that follows the last close (a GC observer is
 * attached from a close until then), and never twice within `delayMs`. Nothing runs while no
 * connection closes.
 */

import { PerformanceObserver, constants as perfConstants, type PerformanceEntry } from 'node:perf_hooks';

/** What the trims did (counted in `TcpTargetTransport.stats()`). */
export interface MemoryReleaseStats {
  /** malloc_trim calls, and the microseconds they took in all. */
  memoryTrims: number;
  memoryTrimUs: number;
}

export class MemoryRelease {
  private timer: NodeJS.Timeout | undefined;
  private observer: PerformanceObserver | undefined;
  private lastTrim = -Infinity;
  /** A connection closed since the last trim, and a full GC has run since the last close. */
  private dirty = false;
  private collected = false;
  private closed = false;

  /**
   * @param trim malloc_trim(0) (`@nvmu/native`'s `mallocTrim`), or undefined until it is loaded
   *   (or when it cannot be: then nothing is done).
   */
  constructor(
    private trim: (() => boolean) | undefined,
    private readonly delayMs: number,
    private readonly stats: MemoryReleaseStats,
  ) {}

  /** The trim function once `@nvmu/native` has loaded. */
  setTrim(trim: (() => boolean) | undefined): void {
    this.trim = trim;
  }

  /** A connection closed: trim after the full GC that collects it. */
  connectionClosed(): void {
    if (this.closed) return;
    this.dirty = true;
    this.collected = false;
    this.watchGc();
  }

  /** Stop: no timer or observer is left behind. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.observer?.disconnect();
    this.observer = undefined;
  }

  private watchGc(): void {
    if (this.observer !== undefined) return;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as PerformanceEntry & { readonly detail?: { readonly kind?: number } | null }).detail?.kind;
        if (kind !== perfConstants.NODE_PERFORMANCE_GC_MAJOR) continue;
        this.collected = true;
        this.schedule();
        return;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    this.observer = observer;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    const wait = Math.max(this.delayMs, this.lastTrim + this.delayMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Another close after that GC: wait for the GC that collects it (the observer stays).
      if (this.dirty && this.collected) this.run();
    }, wait);
    // A pending trim never keeps the process alive.
    this.timer.unref();
  }

  private run(): void {
    this.dirty = false;
    this.observer?.disconnect();
    this.observer = undefined;
    const trim = this.trim;
    if (trim === undefined) return;
    const t0 = performance.now();
    trim();
    const t1 = performance.now();
    this.lastTrim = t1;
    this.stats.memoryTrims++;
    this.stats.memoryTrimUs += Math.round((t1 - t0) * 1000);
  }
}
