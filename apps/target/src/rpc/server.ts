/**
 * A JSON-RPC 2.0 server on a UNIX socket, speaking SPDK's wire format (lib/jsonrpc,
 * scripts/rpc.py): requests are JSON text with no framing, one or several on a connection, each
 * answered as soon as it is complete; a response is one JSON object followed by a newline. A batch
 * (a JSON array) is answered with one array. A request without an id (or with a null id) is a
 * notification: its result is not sent, an error is. Text that is not JSON gets a Parse error and
 * the connection is closed: a stream of JSON has no point to resynchronise at.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { TransportLogger } from '@nvmu/nvmf';
import { RPC_CODE_MESSAGE, RpcCode, RpcError } from './errors.js';
import type { JsonValue, RpcMethods } from './methods.js';

/** Largest request accepted (SPDK's receive buffer is 32 MiB at most). */
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

/**
 * Where the JSON value that starts at `from` (after whitespace) ends: the index after it, -1 when
 * the text so far is incomplete, or -2 when it cannot be JSON (a top-level value that is not an
 * object or array: SPDK's server accepts only those).
 */
export function jsonValueEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  if (i >= text.length) return -1;
  const first = text.charCodeAt(i);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) return -2;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

type Response = Record<string, JsonValue>;

function errorResponse(id: JsonValue, code: number, message?: string): Response {
  return { jsonrpc: '2.0', id, error: { code, message: message ?? RPC_CODE_MESSAGE[code] ?? 'Error' } };
}

const REQUEST_KEYS = new Set(['jsonrpc', 'method', 'params', 'id']);

/** Dispatch one parsed request; resolves with the response, or undefined for a notification's result. */
export async function handleRequest(methods: RpcMethods, value: JsonValue, logger?: TransportLogger): Promise<Response | undefined> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return errorResponse(null, RpcCode.InvalidRequest);
  const idRaw = value.id;
  const id: JsonValue = idRaw === undefined ? null : idRaw;
  if (id !== null && typeof id !== 'string' && typeof id !== 'number') return errorResponse(null, RpcCode.InvalidRequest);
  for (const k of Object.keys(value)) if (!REQUEST_KEYS.has(k)) return errorResponse(id, RpcCode.InvalidRequest, `Invalid request: unknown member '${k}'`);
  if (value.jsonrpc !== undefined && value.jsonrpc !== '2.0') return errorResponse(id, RpcCode.InvalidRequest, 'Invalid request: jsonrpc must be "2.0"');
  const method = value.method;
  if (typeof method !== 'string') return errorResponse(id, RpcCode.InvalidRequest, 'Invalid request: method must be a string');
  let params = value.params;
  if (params === null) params = undefined;
  if (params !== undefined && typeof params !== 'object') return errorResponse(id, RpcCode.InvalidRequest, 'Invalid request: params must be an object or an array');
  try {
    const result = await methods.call(method, params);
    if (id === null) return undefined;
    return { jsonrpc: '2.0', id, result };
  } catch (e) {
    if (e instanceof RpcError) {
      logger?.debug('rpc: error', { method, code: e.code, message: e.message });
      return errorResponse(id, e.code, e.message);
    }
    const message = e instanceof Error ? e.message : String(e);
    logger?.error('rpc: method failed', { method, error: message });
    return errorResponse(id, RpcCode.InternalError, message);
  }
}

export interface RpcServerOptions {
  /** The UNIX socket path. */
  path: string;
  methods: RpcMethods;
  logger: TransportLogger;
}

/** The JSON-RPC listener of the daemon (`-r PATH`). */
export class RpcServer {
  readonly path: string;
  private readonly methods: RpcMethods;
  private readonly logger: TransportLogger;
  private server: Server | undefined;
  private readonly conns = new Set<Socket>();

  constructor(opts: RpcServerOptions) {
    this.path = opts.path;
    this.methods = opts.methods;
    this.logger = opts.logger;
  }

  /** Listen; a socket file left by a daemon that is gone is replaced, a live one is an error. */
  async listen(): Promise<void> {
    if (existsSync(this.path)) {
      if (await socketAnswers(this.path)) throw new Error(`RPC socket ${this.path} is in use by another process (-r names another path)`);
      unlinkSync(this.path);
    }
    const server = createServer((sock) => {
      this.serve(sock);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o600);
    server.on('error', (e) => {
      this.logger.error('rpc: listener error', { path: this.path, error: e.message });
    });
    this.server = server;
    this.logger.info('rpc: listening', { path: this.path });
  }

  /** Stop accepting, drop the connections, remove the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  private serve(sock: Socket): void {
    this.conns.add(sock);
    const decoder = new StringDecoder('utf8');
    let text = '';
    let chain = Promise.resolve();
    let broken = false;
    const send = (r: Response | Response[] | undefined): void => {
      if (r === undefined || sock.destroyed) return;
      sock.write(`${JSON.stringify(r)}\n`);
    };
    sock.on('data', (chunk: Buffer) => {
      if (broken) return;
      text += decoder.write(chunk);
      for (;;) {
        const end = jsonValueEnd(text, 0);
        if (end === -1) {
          if (text.length > MAX_REQUEST_BYTES) {
            broken = true;
            chain = chain.then(() => {
              send(errorResponse(null, RpcCode.ParseError, `Parse error: request larger than ${MAX_REQUEST_BYTES} bytes`));
              sock.end();
            });
          }
          return;
        }
        let value: JsonValue | undefined;
        if (end >= 0) {
          try {
            value = JSON.parse(text.slice(0, end)) as JsonValue;
          } catch {
            value = undefined;
          }
        }
        if (value === undefined) {
          broken = true;
          chain = chain.then(() => {
            send(errorResponse(null, RpcCode.ParseError));
            sock.end();
          });
          return;
        }
        text = text.slice(end);
        const v = value;
        chain = chain.then(async () => {
          send(await this.dispatch(v));
        });
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.conns.delete(sock));
  }

  private async dispatch(value: JsonValue): Promise<Response | Response[] | undefined> {
    if (!Array.isArray(value)) return handleRequest(this.methods, value, this.logger);
    if (value.length === 0) return errorResponse(null, RpcCode.InvalidRequest);
    const out: Response[] = [];
    for (const v of value) {
      const r = await handleRequest(this.methods, v, this.logger);
      if (r !== undefined) out.push(r);
    }
    return out.length === 0 ? undefined : out;
  }
}

/** True when something accepts connections on the UNIX socket `path`. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}
