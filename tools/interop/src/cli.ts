#!/usr/bin/env node
/**
 * nvmu-interop: a guest script in, its output and exit status out.
 *
 *   nvmu-interop run <script-file|-> [--forward 127.0.0.1:PORT-:4420]... [--timeout S]
 *                    [--env NAME=VALUE]... [--kernel-arg ARG]... [--module NAME]... [--console]
 *   nvmu-interop build      build (or find) the cached initramfs and print its path
 *   nvmu-interop info       kernel, accelerator, QEMU and cache directory this machine would use
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startGuest } from './guest.js';
import { detectAccel, findExecutable, findKernel } from './host.js';
import { buildInitramfs, defaultCacheDir } from './initramfs.js';

const USAGE = `usage:
  nvmu-interop run <script-file|-> [--forward 127.0.0.1:PORT-:GUESTPORT]... [--timeout SECONDS]
                   [--env NAME=VALUE]... [--kernel-arg ARG]... [--module NAME]... [--console]
  nvmu-interop build
  nvmu-interop info

run: boots a Linux guest under QEMU, runs the script in it (busybox sh, or its #! interpreter),
prints the script's output and exits with the script's exit status (124 on timeout, 125 when
the guest ended without one). --console also prints the kernel console to stderr at the end.
`;

async function run(argv: string[]): Promise<number> {
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  const file = positionals[0];
  if (values.help === true || file === undefined || positionals.length > 1) {
    process.stderr.write(USAGE);
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
    onOutput: (text) => process.stdout.write(text),
  });
  const onSignal = (): void => void guest.stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The script's stdin is ours: lines typed (or piped) here reach `read` in the guest.
  if (file !== '-') process.stdin.on('data', (d: Buffer) => { guest.send(d.toString()); });
  const r = await guest.result;
  process.stdin.destroy();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (values.console === true) process.stderr.write(`--- console ---\n${r.output}`);
  process.stderr.write(
    `nvmu-interop: ${r.error ?? `exit status ${r.exitCode}`} (boot ${r.bootMs ?? '-'} ms, total ${r.durationMs} ms, ${r.accel})\n`,
  );
  if (r.exitCode !== null) return r.exitCode;
  if (values.console !== true) process.stderr.write(`--- console (tail) ---\n${r.output.slice(-4000)}\n${r.qemuStderr}`);
  return r.timedOut ? 124 : 125;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  switch (cmd) {
    case 'run':
      return run(rest);
    case 'build': {
      const img = await buildInitramfs();
      process.stdout.write(`${img.path}\n`);
      process.stderr.write(`${img.built ? `built in ${img.buildMs} ms` : 'from the cache'} for ${img.kernel.version}\n`);
      return 0;
    }
    case 'info': {
      const k = findKernel();
      process.stdout.write(
        `kernel  ${k.path} (${k.version})\naccel   ${detectAccel()}\nqemu    ${findExecutable('qemu-system-x86_64') ?? 'not found'}\n` +
          `cache   ${defaultCacheDir()}\n`,
      );
      return 0;
    }
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`nvmu-interop: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  },
);
