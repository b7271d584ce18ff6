/**
 * The `nvmu` command line: each command is a function of (argv, streams) → exit status, so
 * tests run them in-process. Exit status: 0 success, 1 failure (connection, NVMe status,
 * JSON-RPC error), 2 bad arguments.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { readBlocks, writeBlocks } from './blockio.js';
import { type CliStreams, CliUsageError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, describeError, exitStatusOf, intOption, requireTrid, withController } from './common.js';
import { formatDiscovery, runDiscover } from './discover.js';
import { formatIdentify, identifyJson, readIdentify } from './identify.js';
import { DEFAULT_RPC_SOCKET, RpcError, parseRpcParams, rpcCall } from './rpc.js';

export const USAGE = `usage: nvmu <command> [options]

commands:
  discover -r <trid> [--json]
      print the discovery log (trid without subnqn: the discovery subsystem)
  identify -r <trid> [--ns <nsid>] [--json]
      Identify Controller and every namespace (--ns: that namespace only)
  read  -r <trid> --ns <nsid> --lba <lba> --count <blocks> -f <file|->
      read blocks into a file (- = stdout)
  write -r <trid> --ns <nsid> --lba <lba> [--count <blocks>] -f <file|->
      write blocks from a file (- = stdin); without --count the whole file
  rpc [-s <socket>] [-t <seconds>] <method> [<params JSON> | key=value ...]
      JSON-RPC 2.0 call to the nvmu daemon (default socket ${DEFAULT_RPC_SOCKET})

<trid> is SPDK's notation, e.g.
  'trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2026-01.io.nvmu:cnode1'
Exit status: 0 success, 1 failure, 2 bad arguments.
`;

type Options = NonNullable<ParseArgsConfig['options']>;

interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

function parse(command: string, argv: readonly string[], options: Options, positionals = false): Parsed {
  try {
    const r = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: positionals, strict: true });
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    throw new CliUsageError(e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e));
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `nvmu discover`. */
export async function discoverCommand(argv: readonly string[], io: CliStreams): Promise<number> {
  const { values } = parse('discover', argv, { r: { type: 'string', short: 'r' }, json: { type: 'boolean' } });
  if (values.help === true) return help(io);
  const log = await runDiscover(requireTrid(str(values.r)));
  const json = { genctr: log.genctr, numrec: log.records.length, records: log.records };
  io.stdout.write(values.json === true ? `${JSON.stringify(json, null, 2)}\n` : formatDiscovery(log));
  return EXIT_OK;
}

/** `nvmu identify`. */
export async function identifyCommand(argv: readonly string[], io: CliStreams): Promise<number> {
  const { values } = parse('identify', argv, { r: { type: 'string', short: 'r' }, ns: { type: 'string', short: 'n' }, json: { type: 'boolean' } });
  if (values.help === true) return help(io);
  const trid = requireTrid(str(values.r));
  const nsid = intOption('--ns', str(values.ns), 1, 0xfffffffe);
  const data = await withController(trid, (ctrl) => readIdentify(ctrl, nsid));
  io.stdout.write(
    values.json === true ? `${JSON.stringify(identifyJson(data.controller, data.namespaces), null, 2)}\n` : formatIdentify(data.controller, data.namespaces),
  );
  return EXIT_OK;
}

const BLOCK_OPTIONS: Options = {
  r: { type: 'string', short: 'r' },
  ns: { type: 'string', short: 'n' },
  lba: { type: 'string', short: 's' },
  count: { type: 'string', short: 'c' },
  file: { type: 'string', short: 'f' },
};

function blockArgs(command: string, values: Record<string, unknown>, countRequired: boolean) {
  const trid = requireTrid(str(values.r));
  const nsid = intOption('--ns', str(values.ns), 1, 0xfffffffe);
  if (nsid === undefined) throw new CliUsageError('--ns <nsid> is required');
  const lba = intOption('--lba', str(values.lba), 0) ?? 0;
  const count = intOption('--count', str(values.count), 1);
  if (countRequired && count === undefined) throw new CliUsageError('--count <blocks> is required');
  const file = str(values.file);
  if (file === undefined || file === '') throw new CliUsageError(`-f <file> is required (- for ${command === 'read' ? 'stdout' : 'stdin'})`);
  return { trid, nsid, lba, count, file };
}

/** `nvmu read`. */
export async function readCommand(argv: readonly string[], io: CliStreams): Promise<number> {
  const { values } = parse('read', argv, BLOCK_OPTIONS);
  if (values.help === true) return help(io);
  const a = blockArgs('read', values, true);
  const count = a.count ?? 1;
  const data = await withController(a.trid, (ctrl) => readBlocks(ctrl, a.nsid, a.lba, count));
  if (a.file === '-') io.stdout.write(data);
  else await writeFile(a.file, data);
  io.stderr.write(`read ${count} blocks (${data.byteLength} bytes) from nsid ${a.nsid} LBA ${a.lba}${a.file === '-' ? '' : ` into ${a.file}`}\n`);
  return EXIT_OK;
}

async function readAll(source: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  return Buffer.concat(parts);
}

/** `nvmu write`. */
export async function writeCommand(argv: readonly string[], io: CliStreams): Promise<number> {
  const { values } = parse('write', argv, BLOCK_OPTIONS);
  if (values.help === true) return help(io);
  const a = blockArgs('write', values, false);
  let data: Buffer;
  try {
    data = a.file === '-' ? await readAll(io.stdin ?? process.stdin) : await readFile(a.file);
  } catch (e) {
    throw new Error(`cannot read ${a.file}: ${describeError(e)}`);
  }
  const blocks = await withController(a.trid, (ctrl) => writeBlocks(ctrl, a.nsid, a.lba, data, a.count));
  io.stderr.write(`wrote ${blocks} blocks to nsid ${a.nsid} LBA ${a.lba}${a.file === '-' ? '' : ` from ${a.file}`}\n`);
  return EXIT_OK;
}

/** `nvmu rpc`. */
export async function rpcCommand(argv: readonly string[], io: CliStreams): Promise<number> {
  const { values, positionals } = parse('rpc', argv, { s: { type: 'string', short: 's' }, server: { type: 'string' }, t: { type: 'string', short: 't' } }, true);
  if (values.help === true) return help(io);
  const method = positionals[0];
  if (method === undefined || method === '') throw new CliUsageError('a method name is required (e.g. nvmu rpc rpc_get_methods)');
  const timeoutText = str(values.t);
  const timeout = timeoutText === undefined ? 60 : Number(timeoutText);
  if (!(timeout > 0) || !Number.isFinite(timeout)) throw new CliUsageError(`-t ${timeoutText ?? ''}: expected seconds above 0`);
  let params;
  try {
    params = parseRpcParams(positionals.slice(1));
  } catch (e) {
    throw new CliUsageError(e instanceof Error ? e.message : String(e));
  }
  try {
    const result = await rpcCall(method, params, { socketPath: str(values.s) ?? str(values.server) ?? DEFAULT_RPC_SOCKET, timeoutMs: timeout * 1000 });
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof RpcError) {
      // rpc.py prints the request and the error object; one line with code and message here.
      const data = e.data === undefined ? '' : ` ${JSON.stringify(e.data)}`;
      io.stderr.write(`nvmu rpc ${method}: error ${e.code}: ${e.message}${data}\n`);
      return EXIT_FAILURE;
    }
    throw e;
  }
}

function help(io: CliStreams): number {
  io.stdout.write(USAGE);
  return EXIT_OK;
}

const COMMANDS: Readonly<Record<string, (argv: readonly string[], io: CliStreams) => Promise<number>>> = {
  discover: discoverCommand,
  identify: identifyCommand,
  read: readCommand,
  write: writeCommand,
  rpc: rpcCommand,
};

/** Runs `nvmu <argv>`; resolves with the exit status and never rejects. */
export async function cliMain(argv: readonly string[], io: CliStreams): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    (command === undefined ? io.stderr : io.stdout).write(USAGE);
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    io.stderr.write(`nvmu: unknown command '${command}'\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await run(rest, io);
  } catch (e) {
    const status = exitStatusOf(e);
    io.stderr.write(`nvmu ${command}: ${describeError(e)}\n`);
    if (status === EXIT_USAGE && e instanceof CliUsageError) io.stderr.write(`(nvmu --help shows the usage)\n`);
    return status;
  }
}
