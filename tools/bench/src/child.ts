/**
 * Child processes of the bench: started through `taskset -c <cpu>` when pinning is available,
 * talking JSON lines on stdout (answers) and text lines on stdin (requests).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { ChildStats } from './protocol.js';
import { freePort } from '@nvmu/test-kit/ports';

export { freePort };

/** Whether processes can be pinned, and why not when they cannot. */
export interface Pinning {
  readonly enabled: boolean;
  readonly note: string;
}

/** Pinning needs util-linux's `taskset` and at least two CPUs (target on 0, driver on 1). */
export function detectPinning(): Pinning {
  if (availableParallelism() < 2) return { enabled: false, note: `only ${availableParallelism()} CPU available: processes not pinned` };
  const r = spawnSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
  if (r.error !== undefined || r.status !== 0) return { enabled: false, note: 'taskset (util-linux) not usable: processes not pinned' };
  return { enabled: true, note: 'target and raw server on CPU 0, nvmu-perf and raw client on CPU 1 (taskset)' };
}

/** The command line that runs `node <args>` on `cpu` (or anywhere when not pinning). */
export function pinnedCommand(pinning: Pinning, cpu: number, nodeArgs: readonly string[]): [string, string[]] {
  return pinning.enabled ? ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]] : [process.execPath, [...nodeArgs]];
}


/** A long-lived child (target or raw server) with the line protocol of protocol.ts. */
export class ServerChild {
  private readonly waiters: ((v: unknown) => void)[] = [];
  private exited = false;
  private stderrTail = '';

  private constructor(
    readonly proc: ChildProcess,
    readonly name: string,
  ) {
    if (proc.stdout === null || proc.stderr === null) throw new Error(`${name}: no stdout/stderr pipe`);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      if (line.startsWith('{')) this.waiters.shift()?.(JSON.parse(line));
      else process.stderr.write(`[${name}] ${line}\n`);
    });
    proc.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-2000);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      const err = new Error(`${name} exited (${code ?? signal ?? '?'}): ${this.stderrTail.trim()}`);
      for (const w of this.waiters.splice(0)) w(err);
    });
  }

  /**
   * Starts `node <nodeArgs>` (pinned to `cpu` when possible; with `env` instead of this
   * process's environment when given) and waits for its first JSON line.
   */
  static async start(
    name: string,
    pinning: Pinning,
    cpu: number,
    nodeArgs: readonly string[],
    env?: NodeJS.ProcessEnv,
  ): Promise<{ child: ServerChild; hello: Record<string, unknown> }> {
    const [cmd, args] = pinnedCommand(pinning, cpu, nodeArgs);
    const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(env === undefined ? {} : { env }) });
    const child = new ServerChild(proc, name);
    const hello = await child.next();
    return { child, hello: hello as Record<string, unknown> };
  }

  private async next(): Promise<unknown> {
    if (this.exited) throw new Error(`${this.name} has exited: ${this.stderrTail.trim()}`);
    const v = await new Promise<unknown>((r) => this.waiters.push(r));
    if (v instanceof Error) throw v;
    return v;
  }

  /** CPU time, requests served and memory of the child now (`gc`: after a full GC if exposed). */
  async stats(gc: boolean | 'all' = false): Promise<ChildStats> {
    const answer = this.next();
    this.proc.stdin?.write(gc === 'all' ? 'stats gc-all\n' : gc ? 'stats gc\n' : 'stats\n');
    return (await answer) as ChildStats;
  }

  /** Sends a line and waits for the JSON answer. */
  async request(line: string): Promise<Record<string, unknown>> {
    const answer = this.next();
    this.proc.stdin?.write(`${line}\n`);
    return (await answer) as Record<string, unknown>;
  }

  /** Closes stdin (the child's signal to exit) and waits for it; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10000): Promise<void> {
    if (this.exited) return;
    const exit = once(this.proc, 'exit');
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    await exit;
    clearTimeout(timer);
  }
}

/**
 * Runs a short-lived command that prints one JSON document on stdout; resolves with its stdout,
 * rejects on failure. Two guards keep a stuck process from stalling the bench: once the whole
 * document has arrived, the process gets `graceMs` to exit before it is killed (its answer is
 * kept: a process has been seen to hang in exit teardown after printing its result); and
 * nothing may take longer than `timeoutMs`.
 */
export async function runToEnd(cmd: string, args: readonly string[], name: string, timeoutMs = 600_000, graceMs = 5000): Promise<string> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let complete = false;
  let grace: NodeJS.Timeout | undefined;
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (complete || !out.trimEnd().endsWith('}')) return;
    try {
      JSON.parse(out);
      complete = true;
      grace = setTimeout(() => {
        process.stderr.write(`note: ${name} printed its result but did not exit within ${graceMs} ms: killed\n`);
        proc.kill('SIGKILL');
      }, graceMs);
    } catch {
      // not the whole document yet
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  // A function, so the check after the await sees what the data handler set.
  const printed = (): boolean => complete;
  const deadline = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(proc, 'exit')) as [number | null, string | null];
  clearTimeout(deadline);
  clearTimeout(grace);
  if (code === 0 || printed()) return out;
  throw new Error(`${name} failed (exit ${code ?? 'signal'}): ${err.trim()}`);
}
