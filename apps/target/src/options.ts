/**
 * The daemon's command line: options, defaults, and every check made before anything is
 * created (a bad NQN, port or size leaves nothing on disk). A `UsageError` means "the command
 * line is wrong" (exit status 2); anything else thrown while starting or serving is a runtime
 * failure (exit status 1). See `HELP`.
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { nqnProblem } from '@nvmu/nvme-spec';

import { defaultRpcSocket } from './paths.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface DaemonOptions {
  /** Folder for namespace images; data survives restarts. */
  dataDir: string;
  /** NVMe/TCP listen address and port. */
  traddr: string;
  trsvcid: string;
  /** Subsystem NQN (NVMe Base 2.0 §4.5). */
  nqn: string;
  /**
   * Size of the namespace image in bytes. Undefined: an existing image keeps its size, a new one
   * gets `NEW_IMAGE_SIZE`. Given: a new image gets it, an existing one must already have it.
   */
  sizeBytes?: number | undefined;
  blockSize: 512 | 4096;
  logLevel: LogLevel;
  /** JSON-RPC socket path (`-r`); default `nvmu.sock` in the run folder (see paths.ts). */
  rpcSocket: string;
  /**
   * Socket directory of the default setup's vfio-user endpoint (`--vfio-user DIR`; QEMU and
   * nvmu's host connect to `<DIR>/cntrl`). Undefined: `vfu0` beside the RPC socket, so the run
   * folder by default. False (`--no-vfio-user`): no vfio-user endpoint. Not used with `--json`.
   */
  vfioUser?: string | false | undefined;
  /** An SPDK JSON config to start from (`--json`) instead of the default setup. */
  json?: string | undefined;
  /** Serve Prometheus metrics at http://HOST:PORT/metrics (`--metrics HOST:PORT`). */
  metrics?: { host: string; port: number } | undefined;
}

/** Size of a new image when no size is given: 1 GiB. */
export const NEW_IMAGE_SIZE = 2 ** 30;

export const DEFAULTS: DaemonOptions = {
  dataDir: process.env.NVMU_DATA_DIR ?? join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'nvmu'),
  traddr: '127.0.0.1',
  trsvcid: '4420',
  nqn: 'nqn.2026-01.io.nvmu:cnode1',
  sizeBytes: undefined,
  blockSize: 512,
  logLevel: 'info',
  rpcSocket: defaultRpcSocket(),
  vfioUser: undefined,
  json: undefined,
  metrics: undefined,
};

/** Name of the default vfio-user endpoint's directory beside the RPC socket. */
export const VFIO_USER_DIR_NAME = 'vfu0';

/** The vfio-user socket directory the default setup serves, or undefined for none (see `DaemonOptions.vfioUser`). */
export function vfioUserDir(o: Pick<DaemonOptions, 'vfioUser' | 'rpcSocket'>): string | undefined {
  if (o.vfioUser === false) return undefined;
  return o.vfioUser ?? join(dirname(o.rpcSocket), VFIO_USER_DIR_NAME);
}

/** Exit statuses of `nvmu-target` (also in `HELP`). */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export const HELP = `Usage: nvmu-target [options]

Serves one subsystem with a file-backed namespace over NVMe/TCP (with discovery) and as a
vfio-user PCI NVMe controller (for QEMU's vfio-user-pci), managed over a JSON-RPC socket with
SPDK's methods (nvmu rpc, or SPDK's scripts/rpc.py -s PATH).

Options:
  -l, --listen ADDRESS:PORT   listen address (default 127.0.0.1:4420; [::1]:4420 for IPv6)
  -n, --nqn NQN               subsystem NQN (default nqn.2026-01.io.nvmu:cnode1)
      --size BYTES[K|M|G|T]   image size; an existing image keeps its own size when this is
                              left out, and must match it when given (a new one: 1G)
      --block-size 512|4096   logical block size (default 512)
      --data-dir DIR          folder of the image nvmu0.img (default $NVMU_DATA_DIR, else
                              $XDG_DATA_HOME/nvmu, else ~/.local/share/nvmu)
      --log-level LEVEL       debug, info, warn or error (default info)
  -r, --rpc-socket PATH       JSON-RPC socket (default nvmu.sock in $NVMU_RUN_DIR, else
                              $XDG_RUNTIME_DIR/nvmu, else <tmpdir>/nvmu-<uid>)
      --vfio-user DIR         socket directory of the vfio-user endpoint; QEMU connects to
                              DIR/cntrl (default vfu0 beside the RPC socket)
      --no-vfio-user          no vfio-user endpoint
  -c, --json FILE             start from an SPDK JSON config (save_config's output) instead
                              of the default setup; an unknown method fails the start
      --metrics HOST:PORT     serve Prometheus metrics at http://HOST:PORT/metrics
  -h, --help                  show this help

SIGINT or SIGTERM stops it cleanly (stop accepting, finish what is in flight, close the
image); a second signal exits at once.

Exit status:
  0  stopped cleanly by SIGINT/SIGTERM (or --help)
  1  runtime failure: could not start (port in use, a live vfio-user server at the socket,
     image unreadable, a --json config that fails) or failed while serving,
     or a second signal cut the shutdown short
  2  usage error: unknown option, malformed value, invalid NQN, or a --size that disagrees
     with the existing image; nothing was created
`;

/** The command line is wrong: exit status 2, nothing created. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_NVMU_USAGE';
}

/** What the command line asks for: serve with `options`, or print the help. */
export type Command = { readonly help: true } | { readonly help: false; readonly options: DaemonOptions };

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `BYTES[K|M|G|T][i][B]` → bytes; throws UsageError. */
export function parseSize(text: string): number {
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(text);
  const unit = UNITS[(m?.[2] ?? '').toUpperCase()];
  const bytes = m === null || unit === undefined ? NaN : Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`--size ${text}: expected a positive number of bytes with an optional K/M/G/T suffix`);
  return bytes;
}

/** Human size for messages: "268435456 bytes (256 MiB)". */
export function describeSize(bytes: number): string {
  for (const [u, n] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes} bytes (${bytes / n} ${u})`;
  }
  return `${bytes} bytes`;
}

/** Parse `argv` (without node and the script); throws UsageError. */
export function parseCommand(argv: readonly string[]): Command {
  let values;
  try {
    ({ values } = parseArgs({
      // `pnpm start -- --listen ...` passes the `--` through: a leading one separates nothing here.
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        'data-dir': { type: 'string' },
        listen: { type: 'string', short: 'l' },
        nqn: { type: 'string', short: 'n' },
        size: { type: 'string' },
        'block-size': { type: 'string' },
        'log-level': { type: 'string' },
        'rpc-socket': { type: 'string', short: 'r' },
        'vfio-user': { type: 'string' },
        'no-vfio-user': { type: 'boolean' },
        json: { type: 'string', short: 'c' },
        metrics: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help === true) return { help: true };
  const opts: DaemonOptions = { ...DEFAULTS };
  if (values['data-dir'] !== undefined) opts.dataDir = values['data-dir'];
  if (values.listen !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):([^:]*)$/.exec(values.listen);
    if (m === null) throw new UsageError(`--listen ${values.listen}: expected ADDRESS:PORT, e.g. 127.0.0.1:4420 or [::1]:4420`);
    opts.traddr = m[1] ?? m[2] ?? '';
    opts.trsvcid = m[3] ?? '';
  }
  if (values.nqn !== undefined) opts.nqn = values.nqn;
  if (values.size !== undefined) opts.sizeBytes = parseSize(values.size);
  if (values['block-size'] !== undefined) {
    const bs = Number(values['block-size']);
    if (bs !== 512 && bs !== 4096) throw new UsageError(`--block-size ${values['block-size']}: 512 or 4096`);
    opts.blockSize = bs;
  }
  if (values['log-level'] !== undefined) {
    const l = values['log-level'];
    if (!(LOG_LEVELS as readonly string[]).includes(l)) throw new UsageError(`--log-level ${l}: one of ${LOG_LEVELS.join(', ')}`);
    opts.logLevel = l as LogLevel;
  }
  if (values['rpc-socket'] !== undefined) opts.rpcSocket = values['rpc-socket'];
  if (values['vfio-user'] !== undefined && values['no-vfio-user'] === true) throw new UsageError('--vfio-user and --no-vfio-user: give one of them');
  if (values['vfio-user'] !== undefined) opts.vfioUser = values['vfio-user'];
  if (values['no-vfio-user'] === true) opts.vfioUser = false;
  if (values.json !== undefined) opts.json = values.json;
  if (values.metrics !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(values.metrics);
    const port = Number(m?.[3]);
    if (m === null || port < 1 || port > 65535) throw new UsageError(`--metrics ${values.metrics}: expected HOST:PORT, e.g. 127.0.0.1:9464`);
    opts.metrics = { host: m[1] ?? m[2] ?? '', port };
  }
  checkOptions(opts);
  return { help: false, options: opts };
}

/** `parseCommand` for callers that want options only (`--help` is a usage error here). */
export function parseDaemonArgs(argv: readonly string[]): DaemonOptions {
  const c = parseCommand(argv);
  if (c.help) throw new UsageError('--help asks for the help text, not options');
  return c.options;
}

/**
 * Every check that needs nothing but the options (programmatic callers get them too): the NQN
 * (NVMe Base 2.0 §4.5, by @nvmu/nvme-spec), the address and port, the sizes.
 */
export function checkOptions(o: DaemonOptions): void {
  const problem = nqnProblem(o.nqn);
  if (problem !== undefined) throw new UsageError(`--nqn ${o.nqn}: not a valid NQN: ${problem}`);
  if (o.traddr === '') throw new UsageError('--listen: the address is empty');
  const port = Number(o.trsvcid);
  if (!/^\d+$/.test(o.trsvcid) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--listen: port ${JSON.stringify(o.trsvcid)} is not a TCP port (1-65535)`);
  }
  // Typed 512 | 4096, but a JavaScript caller may pass anything.
  const bs: number = o.blockSize;
  if (bs !== 512 && bs !== 4096) throw new UsageError(`--block-size ${String(bs)}: 512 or 4096`);
  if (o.sizeBytes !== undefined) {
    if (!Number.isSafeInteger(o.sizeBytes) || o.sizeBytes <= 0) throw new UsageError(`--size: ${o.sizeBytes} is not a positive number of bytes`);
    if (o.sizeBytes % o.blockSize !== 0) {
      throw new UsageError(`--size ${describeSize(o.sizeBytes)} is not a multiple of the block size ${o.blockSize}`);
    }
  }
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) throw new UsageError(`--log-level ${o.logLevel}: one of ${LOG_LEVELS.join(', ')}`);
  if (o.rpcSocket === '') throw new UsageError('-r/--rpc-socket: the path is empty');
  // A UNIX socket path fits in sun_path (108 bytes with its NUL on Linux).
  if (Buffer.byteLength(o.rpcSocket) > 107) throw new UsageError(`-r ${o.rpcSocket}: longer than a UNIX socket path may be (107 bytes)`);
  if (o.json === '') throw new UsageError('--json: the file name is empty');
  if (o.vfioUser === '') throw new UsageError('--vfio-user: the directory is empty');
  const vfu = vfioUserDir(o);
  if (vfu !== undefined && Buffer.byteLength(join(vfu, 'cntrl')) > 107) {
    throw new UsageError(`--vfio-user ${vfu}: ${join(vfu, 'cntrl')} is longer than a UNIX socket path may be (107 bytes)`);
  }
}
