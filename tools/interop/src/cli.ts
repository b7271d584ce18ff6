#!/usr/bin/env node
/**
 * nvmu-interop: a guest script in, its output and exit status out.
 *
 *   nvmu-interop run <script-file|-> [--forward 127.0.0.1:PORT-:4420]... [--timeout S]
 *                    [--env NAME=VALUE]... [--kernel-arg ARG]... [--module NAME]... [--console]
 *                    [--vfio-user SOCKET]... [--shared-memory] [--reboot] [--qemu PATH]
 *   nvmu-interop build      build (or find) the cached initramfs and print its path
 *   nvmu-interop info       kernel, accelerator, QEMU and cache directory this machine would use
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGuest } from './guest.js';
import { detectAccel, findExecutable, findKernel } from './host.js';
import { buildInitramfs, defaultCacheDir } from './initramfs.js';
import { findVfioUserQemu, qemuCacheDir } from './qemu.js';

const USAGE = `usage:
  nvmu-interop run <script-file|-> [--forward 127.0.0.1:PORT-:GUESTPORT]... [--timeout SECONDS]
                   [--env NAME=VALUE]... [--kernel-arg ARG]... [--module NAME]... [--console]
                   [--vfio-user SOCKET]... [--shared-memory] [--reboot] [--qemu PATH]
  nvmu-interop build
  nvmu-interop info

run: boots a Linux guest under QEMU, runs the script in it (busybox sh, or its #! interpreter),
prints the script's output and exits with the script's exit status (124 on timeout, 125 when
the guest ended without one). --console also prints the kernel console to stderr at the end.
--vfio-user attaches a vfio-user-pci device at a server's socket (q35, the cached QEMU >= 10.1
of scripts/build-qemu.sh); --shared-memory backs guest RAM with a shared memfd; --reboot lets
the guest reboot instead of ending QEMU.
`;

/** Where the CLI reads and writes: the process's streams, or a test's. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Lines from here reach the guest script's stdin; omitted: the script's stdin stays idle. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Stop the guest on SIGINT/SIGTERM (the real CLI). */
  readonly handleSignals?: boolean;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      forward: { type: 'string', multiple: true, short: 'f' },
      timeout: { type: 'string', short: 't' },
      env: { type: 'string', multiple: true, short: 'e' },
      'kernel-arg': { type: 'string', multiple: true },
      module: { type: 'string', multiple: true, short: 'm' },
      console: { type: 'boolean' },
      'vfio-user': { type: 'string', multiple: true },
      'shared-memory': { type: 'boolean' },
      reboot: { type: 'boolean' },
      qemu: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const file = positionals[0];
  if (values.help === true || file === undefined || positionals.length > 1) {
    io.stderr.write(USAGE);
    return values.help === true ? 0 : 2;
  }
  const script = readFileSync(file === '-' ? 0 : file, 'utf8');
  const env: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--env ${kv}: expected NAME=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const timeoutS = values.timeout === undefined ? 120 : Number(values.timeout);
  if (!(timeoutS > 0)) throw new Error(`--timeout ${values.timeout ?? ''}: expected seconds > 0`);

  const guest = await startGuest({
    script,
    timeoutMs: timeoutS * 1000,
    forwards: values.forward ?? [],
    env,
    kernelArgs: values['kernel-arg'] ?? [],
    modules: values.module ?? [],
    vfioUser: values['vfio-user'] ?? [],
    sharedMemory: values['shared-memory'] === true,
    reboot: values.reboot === true,
    ...(values.qemu === undefined ? {} : { qemu: values.qemu }),
    onOutput: (text) => io.stdout.write(text),
  });
  const onSignal = (): void => void guest.stop();
  if (io.handleSignals === true) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  // The script's stdin is ours: lines typed (or piped) here reach `read` in the guest.
  const onInput = (d: Buffer | string): void => {
    guest.send(d.toString());
  };
  const stdin = file === '-' ? undefined : io.stdin;
  stdin?.on('data', onInput);
  const r = await guest.result;
  stdin?.off('data', onInput);
  if (stdin !== undefined && stdin === process.stdin) process.stdin.destroy();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (values.console === true) io.stderr.write(`--- console ---\n${r.output}`);
  io.stderr.write(
    `nvmu-interop: ${r.error ?? `exit status ${r.exitCode}`} (boot ${r.bootMs ?? '-'} ms, total ${r.durationMs} ms, ${r.accel})\n`,
  );
  if (r.exitCode !== null) return r.exitCode;
  if (values.console !== true) io.stderr.write(`--- console (tail) ---\n${r.output.slice(-4000)}\n${r.qemuStderr}`);
  return r.timedOut ? 124 : 125;
}

/**
 * The nvmu-interop command line: `argv` without the node and script paths; resolves with the
 * exit status.
 */
export async function cliMain(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'run':
      return run(rest, io);
    case 'build': {
      const img = await buildInitramfs();
      io.stdout.write(`${img.path}\n`);
      io.stderr.write(`${img.built ? `built in ${img.buildMs} ms` : 'from the cache'} for ${img.kernel.version}\n`);
      return 0;
    }
    case 'info': {
      const k = findKernel();
      io.stdout.write(
        `kernel  ${k.path} (${k.version})\naccel   ${detectAccel()}\nqemu    ${findExecutable('qemu-system-x86_64') ?? 'not found'}\n` +
          `vfio-user qemu  ${findVfioUserQemu() ?? `not found (run tools/interop/scripts/build-qemu.sh as root; cache ${qemuCacheDir()})`}\n` +
          `cache   ${defaultCacheDir()}\n`,
      );
      return 0;
    }
    case '-h':
    case '--help':
      io.stdout.write(USAGE);
      return 0;
    default:
      io.stderr.write(USAGE);
      return 2;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  cliMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, handleSignals: true }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`nvmu-interop: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
