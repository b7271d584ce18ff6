/** Self time per function from a V8 .cpuprofile (what `node --cpu-prof` writes). */

/** The parts of the .cpuprofile format (Chrome DevTools Protocol Profiler.Profile) used here. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTimeRow {
  /** `function (file:line)`, file shortened to its last two path parts. */
  readonly name: string;
  readonly selfMs: number;
  /** Share of the busy time (every sample but `(idle)`), percent. */
  readonly percent: number;
}

function shortUrl(url: string): string {
  if (url === '') return '';
  const parts = url.replace(/^file:\/\//, '').split('/');
  return parts.slice(-2).join('/');
}

/** The `n` functions with the most self time, busy time only (idle samples left out). */
export function topSelfTime(profile: CpuProfile, n = 10): { rows: SelfTimeRow[]; busyMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parentOf.set(c, node.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the time until the next sample belongs to it.
    const us = deltas[i + 1] ?? 0;
    const node = byId.get(samples[i]!);
    if (node === undefined) continue;
    const f = node.callFrame;
    if (f.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const where = shortUrl(f.url);
    let key = `${f.functionName === '' ? '(anonymous)' : f.functionName}${where === '' ? '' : ` (${where}:${f.lineNumber + 1})`}`;
    if (f.functionName === '' && where === '') {
      // A nameless native frame (a C++ binding): name it by its JS caller.
      const caller = byId.get(parentOf.get(node.id) ?? -1)?.callFrame.functionName;
      if (caller !== undefined && caller !== '') key = `(native, called by ${caller})`;
    }
    selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  }
  const rows = [...selfUs.entries()]
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, selfMs: us / 1000, percent: busy === 0 ? 0 : (100 * us) / busy }));
  return { rows, busyMs: busy / 1000, idleMs: idle / 1000 };
}
