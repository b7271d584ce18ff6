/**
 * A JSON-RPC 2.0 client for the nvmu daemon's UNIX socket, framed like SPDK's rpc.py
 * (scripts/rpc/client.py): the request is one JSON object with no delimiter, and the response
 * is read until the bytes so far parse as one complete JSON value.
 */
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/**
 * Where the daemon listens unless told otherwise (`nvmu-target -r`): `nvmu.sock` in its run
 * folder, `$NVMU_RUN_DIR`, else `$XDG_RUNTIME_DIR/nvmu`, else `<tmpdir>/nvmu-<uid>`, the same
 * rule as @nvmu/target's `defaultRpcSocket` (SPDK's is /var/tmp/spdk.sock).
 */
export function defaultRpcSocket(env: NodeJS.ProcessEnv = process.env): string {
  const run =
    env.NVMU_RUN_DIR !== undefined && env.NVMU_RUN_DIR !== ''
      ? env.NVMU_RUN_DIR
      : env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== ''
        ? join(env.XDG_RUNTIME_DIR, 'nvmu')
        : join(tmpdir(), `nvmu-${process.getuid?.() ?? 'user'}`);
  return join(run, 'nvmu.sock');
}

/** The default socket for this process's environment. */
export const DEFAULT_RPC_SOCKET = defaultRpcSocket();

/** JSON values, as params and results. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The server answered with a JSON-RPC error object (JSON-RPC 2.0 §5.1). */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    /** JSON-RPC error code (-32601 method not found, -32602 invalid params, ...). */
    readonly code: number,
    message: string,
    /** The error's `data` member, if any. */
    readonly data?: JsonValue,
  ) {
    super(message);
  }
}

/** The call could not be made or its answer was not JSON-RPC (socket missing, timeout, garbage). */
export class RpcTransportError extends Error {
  override readonly name = 'RpcTransportError';
}

/** Options of {@link rpcCall}. */
export interface RpcCallOptions {
  /** UNIX socket path (default {@link DEFAULT_RPC_SOCKET}). */
  readonly socketPath?: string | undefined;
  /** Give up after this many ms (default 60000, rpc.py's default timeout). */
  readonly timeoutMs?: number | undefined;
  /** Request id (default 1, as rpc.py). */
  readonly id?: number | undefined;
}

function explainConnectError(socketPath: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return `cannot connect to ${socketPath}: no such socket (is the nvmu target running? -s names another socket)`;
    case 'ECONNREFUSED':
      return `cannot connect to ${socketPath}: connection refused (nothing listens on it)`;
    case 'EACCES':
      return `cannot connect to ${socketPath}: permission denied`;
    default:
      return `cannot connect to ${socketPath}: ${e.message}`;
  }
}

/**
 * Calls `method` with `params` and resolves with the `result`. Rejects with {@link RpcError} for
 * a JSON-RPC error response and with {@link RpcTransportError} for everything else.
 */
export function rpcCall(method: string, params: JsonValue | undefined, opts: RpcCallOptions = {}): Promise<JsonValue> {
  const socketPath = opts.socketPath ?? DEFAULT_RPC_SOCKET;
  const id = opts.id ?? 1;
  const request: Record<string, JsonValue> = { jsonrpc: '2.0', method, id };
  if (params !== undefined) request.params = params;
  return new Promise<JsonValue>((resolve, reject) => {
    const sock = netConnect(socketPath);
    const decoder = new StringDecoder('utf8');
    let text = '';
    let settled = false;
    let connected = false;
    const finish = (err: Error | undefined, value?: JsonValue): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(value ?? null);
    };
    const timeoutMs = opts.timeoutMs ?? 60000;
    const timer = setTimeout(() => {
      finish(new RpcTransportError(`no response to '${method}' from ${socketPath} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.on('connect', () => {
      connected = true;
      sock.write(JSON.stringify(request));
    });
    sock.on('data', (chunk: Buffer) => {
      text += decoder.write(chunk);
      let response: unknown;
      try {
        response = JSON.parse(text);
      } catch {
        return; // not complete yet: keep reading
      }
      finish(...interpret(response, id));
    });
    sock.on('end', () => {
      finish(new RpcTransportError(text.trim() === '' ? `${socketPath} closed the connection without a response` : `${socketPath} sent an incomplete JSON response: ${text.slice(0, 200)}`));
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      finish(new RpcTransportError(connected ? `${socketPath}: ${e.message}` : explainConnectError(socketPath, e)));
    });
  });
}

function interpret(response: unknown, id: number): [Error | undefined, JsonValue?] {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) {
    return [new RpcTransportError(`response is not a JSON-RPC object: ${JSON.stringify(response).slice(0, 200)}`)];
  }
  const r = response as { jsonrpc?: unknown; id?: unknown; result?: JsonValue; error?: unknown };
  if (r.error !== undefined && r.error !== null) {
    const e = r.error as { code?: unknown; message?: unknown; data?: JsonValue };
    const code = typeof e.code === 'number' ? e.code : 0;
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(r.error);
    return [new RpcError(code, message, e.data)];
  }
  if (r.id !== id) return [new RpcTransportError(`response id ${JSON.stringify(r.id)} does not match request id ${id}`)];
  if (!('result' in r)) return [new RpcTransportError('response has neither result nor error')];
  return [undefined, r.result ?? null];
}

/** Bad `nvmu rpc` parameters. */
export class RpcParamsError extends Error {
  override readonly name = 'RpcParamsError';
}

/**
 * The params of `nvmu rpc <method> [params]`: nothing; one JSON object or array; or pairs:
 * - `key=value`: the value is taken as JSON when it parses as JSON (numbers, true, false, null,
 *   objects, arrays, "quoted strings"), else as a string (`name=Malloc0 num_blocks=1024`);
 * - `key:=json`: the value must be JSON (HTTPie's spelling);
 * - dotted keys build nested objects (`listen_address.trtype=tcp`), as SPDK's nested params need.
 * A numeric string (SPDK's `trsvcid`) is written as JSON: `'listen_address.trsvcid="4420"'`.
 */
export function parseRpcParams(args: readonly string[]): JsonValue | undefined {
  if (args.length === 0) return undefined;
  const first = (args[0] ?? '').trimStart();
  if (args.length === 1 && (first.startsWith('{') || first.startsWith('['))) {
    try {
      return JSON.parse(first) as JsonValue;
    } catch (e) {
      throw new RpcParamsError(`params are not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const out: Record<string, JsonValue> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new RpcParamsError(`'${arg}': expected key=value, key:=json (or one JSON object)`);
    const strict = arg[eq - 1] === ':';
    const key = arg.slice(0, strict ? eq - 1 : eq);
    const raw = arg.slice(eq + 1);
    let value: JsonValue;
    try {
      value = JSON.parse(raw) as JsonValue;
    } catch (e) {
      if (strict) throw new RpcParamsError(`'${arg}': the value after := is not JSON: ${e instanceof Error ? e.message : String(e)}`);
      value = raw;
    }
    const path = key.split('.');
    if (path.some((p) => p === '')) throw new RpcParamsError(`'${arg}': empty key segment in '${key}'`);
    let obj = out;
    for (const seg of path.slice(0, -1)) {
      const next = obj[seg];
      if (next === undefined) {
        const created: Record<string, JsonValue> = {};
        obj[seg] = created;
        obj = created;
      } else if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
        obj = next;
      } else {
        throw new RpcParamsError(`'${arg}': '${seg}' already has a value that is not an object`);
      }
    }
    obj[path[path.length - 1] ?? key] = value;
  }
  return out;
}
