/**
 * Boots a Linux guest under QEMU with the cached initramfs and runs one guest script in it.
 *
 * Channels: the kernel console (ttyS0) goes to a file and comes back as `output`; the script's
 * stdin/stdout/stderr are ttyS1, which is QEMU's stdio, so the host reads the script's output
 * live (`onOutput`, `waitFor`) and can write lines to its stdin (`send`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFile, copyFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpioNewc } from './cpio.js';
import { EXIT_MARKER, START_MARKER } from './guest-init.js';
import { detectAccel, findExecutable, findKernel, type Accel, type KernelImage } from './host.js';
import { buildInitramfs, defaultCacheDir } from './initramfs.js';
import { firmwareArgs, qemuHasDevice, requireVfioUserQemu, vfioUserDeviceArgs } from './qemu.js';
import { bootableKernel } from './vmlinux.js';
import { freePort } from '@nvmu/test-kit/ports';

export { freePort };

/** A host port forwarded into the guest (QEMU user networking `hostfwd`). */
export interface HostForward {
  /** Host address to listen on (default 127.0.0.1). */
  readonly hostAddr?: string;
  /** Host port; 0 picks a free one (read it back from `RunningGuest.forwards`). */
  readonly hostPort: number;
  /** Guest port (on 10.0.2.15). */
  readonly guestPort: number;
}

/** A forward with its host port resolved. */
export interface ResolvedForward {
  readonly hostAddr: string;
  readonly hostPort: number;
  readonly guestPort: number;
}

export interface GuestOptions {
  /**
   * The guest script. Run by busybox `sh` (ash), or by its own interpreter when it starts with
   * `#!` (`#!/bin/bash` works: bash is in the image). Its stdout and stderr are `guestOutput`.
   */
  readonly script: string;
  /** Kill QEMU after this long (ms, default 120 000). The result then has `timedOut: true`. */
  readonly timeoutMs?: number;
  /** Host ports forwarded into the guest: objects, or QEMU's `127.0.0.1:PORT-:GUESTPORT` text. */
  readonly forwards?: readonly (HostForward | string)[];
  /** Extra kernel command line arguments (e.g. `loglevel=7`). */
  readonly kernelArgs?: readonly string[];
  /** Variables exported to the guest script. */
  readonly env?: Readonly<Record<string, string>>;
  /** Modules the guest loads before the script, beyond the default set (nvme-tcp, nvmet-tcp…). */
  readonly modules?: readonly string[];
  /** Guest RAM in MiB (default 1024). */
  readonly memoryMiB?: number;
  /** Guest CPUs (default 2). */
  readonly cpus?: number;
  /** `auto` (default): TCG on PVM hosts or without a usable /dev/kvm, else KVM. */
  readonly accel?: Accel | 'auto';
  /**
   * Back guest RAM with a shared memfd (`memory-backend-memfd,share=on`): what a vfio-user
   * server needs to reach guest memory.
   */
  readonly sharedMemory?: boolean;
  /**
   * vfio-user server sockets (e.g. `<dir>/cntrl`), each attached as a `vfio-user-pci` device.
   * Needs a QEMU >= 10.1: by default the one scripts/build-qemu.sh cached (see
   * findVfioUserQemu()); the machine defaults to q35. The server reaches guest memory through
   * the shared memfd when `sharedMemory` is set, else only through DMA_READ / DMA_WRITE.
   */
  readonly vfioUser?: readonly string[];
  /** QEMU machine type (default `q35` with `vfioUser`, else QEMU's default, `pc`). */
  readonly machine?: 'pc' | 'q35';
  /**
   * Let the guest reboot (default false: QEMU runs with -no-reboot, so a reboot ends it). After a
   * reboot the same kernel, initramfs and script start again with the same devices; the result's
   * `boots` counts the boots. A script tells its boots apart by state it keeps on a device
   * (guestScripts.rebootOnce()).
   */
  readonly reboot?: boolean;
  /** Extra QEMU arguments, appended last (e.g. a `-device`). */
  readonly qemuArgs?: readonly string[];
  /**
   * QEMU binary (default qemu-system-x86_64 on PATH, or NVMU_INTEROP_QEMU; with `vfioUser`, the
   * cached vfio-user build). A binary other than Debian's gets Debian's firmware with `-L`.
   */
  readonly qemu?: string;
  /** Kernel to boot (default: the newest /boot/vmlinuz-* with modules). */
  readonly kernel?: KernelImage;
  /** Host NQN the guest's nvme-cli uses (default: a fresh uuid NQN per run). */
  readonly hostnqn?: string;
  /** Host ID the guest's nvme-cli uses (default: a fresh uuid per run). */
  readonly hostid?: string;
  /** Called with the script's output as it arrives, in whole lines where possible. */
  readonly onOutput?: (text: string) => void;
  /** Image cache directory (default: see defaultCacheDir()). */
  readonly cacheDir?: string;
}

export interface GuestResult {
  /** The guest script's exit status; null when the guest never reported one. */
  readonly exitCode: number | null;
  /** QEMU was killed because `timeoutMs` passed. */
  readonly timedOut: boolean;
  /** The guest was ended by `stop()` before its script finished. */
  readonly stopped: boolean;
  /** The kernel console (ttyS0): kernel messages and /init's progress lines. */
  readonly output: string;
  /**
   * The script's own output (between the start and end markers). After a reboot (`reboot`
   * option) the next boot's start marker line `NVMU-GUEST-START <nonce>` sits where it began.
   */
  readonly guestOutput: string;
  /** How many times the guest script started (more than 1 only with the `reboot` option). */
  readonly boots: number;
  /** QEMU's stderr (its own warnings and errors). */
  readonly qemuStderr: string;
  /** Spawn to QEMU exit. */
  readonly durationMs: number;
  /** Spawn to the script starting; null if it never started. */
  readonly bootMs: number | null;
  /** Why there is no exit status, when there is none. */
  readonly error?: string;
  /** The accelerator used. */
  readonly accel: Accel;
  /** The kernel file QEMU booted (an extracted vmlinux for PVH boot, or the bzImage). */
  readonly kernelPath: string;
}

/** A guest that is running: watch its output, talk to its forwarded ports, then stop it. */
export interface RunningGuest {
  /** QEMU's process id. */
  readonly pid: number;
  /** The accelerator in use. */
  readonly accel: Accel;
  /** Forwards with their host ports resolved, in the order given. */
  readonly forwards: readonly ResolvedForward[];
  /** The script's output so far. */
  guestOutput(): string;
  /**
   * Resolves with the first match of `re` in the script's output (now or later); rejects when
   * the guest ends first or `timeoutMs` (default: until the guest's own timeout) passes. The
   * rejection message carries the guest and console output.
   */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /**
   * Writes text to the script's stdin (ttyS1; `read -r line` in the script receives a line).
   * Text sent before the script starts is held until it does.
   */
  send(text: string): void;
  /** Resolves when QEMU has exited, for whatever reason. */
  readonly result: Promise<GuestResult>;
  /** Ends the guest now (SIGTERM, then SIGKILL after 3 s) unless it has already ended. */
  stop(): Promise<GuestResult>;
  [Symbol.asyncDispose](): Promise<void>;
}

export class GuestError extends Error {
  override readonly name = 'GuestError';
  constructor(
    message: string,
    readonly result?: GuestResult,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** QEMU processes of this Node process that are still running: killed if Node exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.on('exit', () => live.delete(child));
}


/** Parses QEMU's hostfwd spelling: `[tcp:][hostaddr]:hostport-[guestaddr]:guestport`. */
export function parseForward(text: string): HostForward {
  const m = /^(?:tcp:)?([^:]*):(\d+)-(?:[^:]*):(\d+)$/.exec(text);
  if (m === null) throw new Error(`bad forward '${text}': expected 127.0.0.1:HOSTPORT-:GUESTPORT`);
  const [, addr, hostPort, guestPort] = m;
  return { hostAddr: addr === '' ? '127.0.0.1' : addr, hostPort: Number(hostPort), guestPort: Number(guestPort) };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function envFile(vars: Record<string, string>): string {
  let text = '';
  for (const [k, v] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad guest environment variable name '${k}'`);
    text += `export ${k}=${shellQuote(v)}\n`;
  }
  return text;
}

/**
 * Run directories (a ~100 MB initrd copy each) are removed when their guest ends; a Node process
 * killed outright leaves its own behind. Those of processes that no longer exist go here.
 */
async function removeStaleRunDirs(): Promise<void> {
  let names: string[];
  try {
    names = await readdir(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^nvmu-guest-(\d+)-/.exec(name);
    if (m === null) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') await rm(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** Whether util-linux setpriv can tie QEMU's life to ours (PR_SET_PDEATHSIG). */
let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) {
    const p = findExecutable('setpriv') ?? null;
    setprivPath = p;
    // --pdeathsig appeared in util-linux 2.33.
    if (p !== null && !spawnSync(p, ['--help'], { encoding: 'utf8' }).stdout.includes('--pdeathsig')) setprivPath = null;
  }
  return setprivPath;
}

function qemuBinary(opts: GuestOptions): string {
  if ((opts.vfioUser ?? []).length > 0) {
    if (opts.qemu === undefined) {
      try {
        return requireVfioUserQemu();
      } catch (e) {
        throw new GuestError((e as Error).message);
      }
    }
    if (!qemuHasDevice(opts.qemu, 'vfio-user-pci')) throw new GuestError(`${opts.qemu} has no vfio-user-pci device (QEMU >= 10.1 needed)`);
    return opts.qemu;
  }
  const named = opts.qemu ?? process.env.NVMU_INTEROP_QEMU;
  if (named !== undefined && named !== '') return named;
  const found = findExecutable('qemu-system-x86_64');
  if (found === undefined) {
    throw new GuestError(
      'qemu-system-x86_64 not found: run tools/interop/scripts/install-deps.sh as root ' +
        '(or set NVMU_SKIP_INTEROP=1 to skip the interop tests)',
    );
  }
  return found;
}

/** Boots a guest and returns at once with a handle; the script starts once the guest is up. */
export async function startGuest(opts: GuestOptions): Promise<RunningGuest> {
  const qemu = qemuBinary(opts);
  const kernel = opts.kernel ?? findKernel();
  const accel = opts.accel === undefined || opts.accel === 'auto' ? detectAccel() : opts.accel;
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const image = await buildInitramfs({ kernel, cacheDir });
  const kernelPath = bootableKernel(kernel, cacheDir);

  const forwards: ResolvedForward[] = [];
  for (const f of opts.forwards ?? []) {
    const fw = typeof f === 'string' ? parseForward(f) : f;
    const hostAddr = fw.hostAddr ?? '127.0.0.1';
    forwards.push({ hostAddr, hostPort: fw.hostPort === 0 ? await freePort(hostAddr) : fw.hostPort, guestPort: fw.guestPort });
  }

  const nonce = randomBytes(8).toString('hex');
  const hostid = opts.hostid ?? randomUUID();
  const hostnqn = opts.hostnqn ?? `nqn.2014-08.org.nvmexpress:uuid:${hostid}`;
  await removeStaleRunDirs();
  const runDir = await mkdtemp(join(tmpdir(), `nvmu-guest-${process.pid}-`));
  const initrd = join(runDir, 'initrd');
  const consoleFile = join(runDir, 'console.log');
  try {
    // Base image, zero padding to a 4-byte boundary, then the per-run archive: the kernel
    // unpacks each in turn (init/initramfs.c skips zeros between archives).
    await copyFile(image.path, initrd);
    const size = (await stat(initrd)).size;
    const run = cpioNewc([
      { name: 'nvmu' },
      {
        name: 'nvmu/env',
        data: envFile({
          ...opts.env,
          NVMU_NONCE: nonce,
          NVMU_HOSTNQN: hostnqn,
          NVMU_HOSTID: hostid,
          NVMU_EXTRA_MODULES: (opts.modules ?? []).join(' '),
        }),
      },
      { name: 'nvmu/script', data: opts.script, mode: 0o755 },
    ]);
    await appendFile(initrd, Buffer.concat([Buffer.alloc((4 - (size % 4)) % 4), run]));
  } catch (e) {
    await rm(runDir, { recursive: true, force: true });
    throw e;
  }

  const memoryMiB = opts.memoryMiB ?? 1024;
  const vfioUser = opts.vfioUser ?? [];
  const machine = [
    ...(opts.machine !== undefined ? [opts.machine] : vfioUser.length > 0 ? ['q35'] : []),
    ...(opts.sharedMemory === true ? ['memory-backend=mem'] : []),
  ];
  const append = ['console=ttyS0', 'rdinit=/init', 'panic=-1', 'quiet', ...(opts.kernelArgs ?? [])].join(' ');
  const netdev = ['user', 'id=n0', ...forwards.map((f) => `hostfwd=tcp:${f.hostAddr}:${f.hostPort}-:${f.guestPort}`)].join(',');
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
    '-m',
    String(memoryMiB),
    '-smp',
    String(opts.cpus ?? 2),
    ...firmwareArgs(qemu),
    ...(machine.length > 0 ? ['-machine', machine.join(',')] : []),
    ...(opts.sharedMemory === true ? ['-object', `memory-backend-memfd,id=mem,size=${memoryMiB}M,share=on`] : []),
    '-kernel',
    kernelPath,
    '-initrd',
    initrd,
    '-append',
    append,
    '-chardev',
    `file,id=con,path=${consoleFile}`,
    '-serial',
    'chardev:con',
    '-chardev',
    'stdio,id=script,signal=off',
    '-serial',
    'chardev:script',
    '-netdev',
    netdev,
    '-device',
    'virtio-net-pci,netdev=n0',
    ...(opts.reboot === true ? [] : ['-no-reboot']),
    ...vfioUser.flatMap((path, i) => vfioUserDeviceArgs(path, `vfu${i}`)),
    ...(opts.qemuArgs ?? []),
  ];
  const sp = setpriv();
  const [cmd, argv] = sp === null ? [qemu, args] : [sp, ['--pdeathsig', 'KILL', '--', qemu, ...args]];

  const t0 = performance.now();
  const child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  trackChild(child);
  if (child.pid === undefined) {
    // spawn failed synchronously (ENOENT etc.): the 'error' event carries the reason.
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    await rm(runDir, { recursive: true, force: true });
    throw new GuestError(`could not start ${cmd}: ${err.message}`);
  }
  const pid = child.pid;

  let raw = ''; // ttyS1 text, \r removed
  let startIdx = -1; // index in raw where the script's output starts
  let endIdx = -1; // index in raw where the exit marker starts
  let exitCode: number | null = null;
  let bootMs: number | null = null;
  let boots = 0;
  let bootScan = 0; // index in raw up to which start markers have been counted
  let emitted = 0; // how much of the script's output onOutput has seen
  let stderr = '';
  let timedOut = false;
  let stopped = false;
  let ended = false;
  const startRe = new RegExp(`${START_MARKER} ${nonce}\\n`);
  const startMarker = `${START_MARKER} ${nonce}\n`;
  const exitRe = new RegExp(`${EXIT_MARKER} ${nonce} (\\d+)\\n`);
  const waiters = new Set<() => void>();
  const pendingInput: string[] = [];

  const guestOutput = (): string => (startIdx < 0 ? '' : raw.slice(startIdx, endIdx < 0 ? undefined : endIdx));

  const emit = (final: boolean): void => {
    if (opts.onOutput === undefined || startIdx < 0) return;
    const out = guestOutput();
    // Whole lines only until the end, so a marker is never half-emitted.
    const upto = final || endIdx >= 0 ? out.length : out.lastIndexOf('\n') + 1;
    if (upto > emitted) {
      opts.onOutput(out.slice(emitted, upto));
      emitted = upto;
    }
  };

  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    raw += chunk.replace(/\r/g, '');
    // Every boot prints a start marker (more than one only when the guest may reboot).
    for (let i = raw.indexOf(startMarker, bootScan); i >= 0; i = raw.indexOf(startMarker, bootScan)) {
      boots++;
      bootScan = i + startMarker.length;
    }
    bootScan = Math.max(bootScan, raw.length - startMarker.length);
    if (startIdx < 0) {
      const m = startRe.exec(raw);
      if (m !== null) {
        startIdx = m.index + m[0].length;
        bootMs = Math.round(performance.now() - t0);
        // Input sent before the script ran was held back: an unopened tty drops what it gets.
        for (const text of pendingInput.splice(0)) child.stdin.write(text);
      }
    }
    if (startIdx >= 0 && endIdx < 0) {
      const m = exitRe.exec(raw.slice(startIdx));
      if (m !== null) {
        endIdx = startIdx + m.index;
        exitCode = Number(m[1]);
      }
    }
    emit(false);
    for (const w of waiters) w();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => {
    // QEMU gone: writes after exit are dropped.
  });

  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const kill = (): void => {
    if (ended) return;
    child.kill('SIGTERM');
    setTimeout(() => {
      if (!ended) child.kill('SIGKILL');
    }, 3000).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);

  const result = new Promise<GuestResult>((resolve) => {
    let spawnError: string | undefined;
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code, signal) => {
      void (async () => {
        ended = true;
        clearTimeout(timer);
        emit(true);
        let output = '';
        try {
          output = (await readFile(consoleFile, 'utf8')).replace(/\r/g, '');
        } catch {
          // QEMU never created it.
        }
        await rm(runDir, { recursive: true, force: true });
        let error: string | undefined;
        if (exitCode === null) {
          if (timedOut) error = `timed out after ${timeoutMs} ms`;
          else if (stopped) error = 'stopped before the script finished';
          else if (spawnError !== undefined) error = `could not run QEMU: ${spawnError}`;
          else if (startIdx < 0) error = `QEMU exited (${signal ?? `status ${code}`}) before the guest script started: ${stderr.trim()}`;
          else error = `the guest ended (QEMU ${signal ?? `status ${code}`}) without reporting the script's exit status`;
        }
        resolve({
          exitCode,
          timedOut,
          stopped,
          output,
          guestOutput: guestOutput(),
          boots,
          qemuStderr: stderr,
          durationMs: Math.round(performance.now() - t0),
          bootMs,
          accel,
          kernelPath,
          ...(error === undefined ? {} : { error }),
        });
        for (const w of waiters) w();
      })();
    });
  });

  const describe = async (): Promise<string> => {
    let consoleText = '';
    try {
      consoleText = await readFile(consoleFile, 'utf8');
    } catch {
      // Already removed: the guest has ended.
    }
    return `--- guest output ---\n${guestOutput()}\n--- console (tail) ---\n${consoleText.slice(-4000)}\n--- qemu stderr ---\n${stderr}`;
  };

  const stop = async (): Promise<GuestResult> => {
    if (!ended) {
      if (exitCode === null) stopped = true;
      kill();
    }
    return result;
  };

  return {
    pid,
    accel,
    forwards,
    guestOutput,
    send(text: string) {
      if (ended) return;
      if (startIdx < 0) pendingInput.push(text);
      else child.stdin.write(text);
    },
    result,
    stop,
    waitFor(re: RegExp, waitMs?: number): Promise<RegExpExecArray> {
      const flags = re.flags.replace('g', '').replace('y', '');
      const pattern = new RegExp(re.source, flags);
      return new Promise<RegExpExecArray>((resolve, reject) => {
        let t: NodeJS.Timeout | undefined;
        const check = (): void => {
          const m = pattern.exec(guestOutput());
          if (m !== null) {
            done();
            resolve(m);
          } else if (ended || endIdx >= 0) {
            done();
            void result.then((r) => {
              reject(
                new GuestError(
                  `guest ended before printing ${String(re)} (${r.error ?? `exit status ${r.exitCode}`})\n` +
                    `--- guest output ---\n${r.guestOutput}\n--- console (tail) ---\n${r.output.slice(-4000)}\n--- qemu stderr ---\n${r.qemuStderr}`,
                  r,
                ),
              );
            });
          }
        };
        const done = (): void => {
          waiters.delete(check);
          if (t !== undefined) clearTimeout(t);
        };
        if (waitMs !== undefined) {
          t = setTimeout(() => {
            done();
            void describe().then((d) => { reject(new GuestError(`no ${String(re)} in the guest output after ${waitMs} ms\n${d}`)); });
          }, waitMs);
        }
        waiters.add(check);
        check();
      });
    },
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Boots a guest, runs the script to its end (or the timeout), and returns what happened. */
export async function runGuest(opts: GuestOptions): Promise<GuestResult> {
  const guest = await startGuest(opts);
  return guest.result;
}
