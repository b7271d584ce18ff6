/**
 * The method table of the JSON-RPC server and of `--json` config loading (both call methods by
 * name through it), and the parameter decoder the handlers share: SPDK's
 * `spdk_json_decode_object` (unknown members, missing required members and wrong types fail the
 * call), with messages that name the member.
 */
import { RpcCode, RpcError } from './errors.js';

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = Record<string, JsonValue>;

export type RpcHandler = (params: JsonValue | undefined) => JsonValue | Promise<JsonValue>;

export class RpcMethods {
  private readonly table = new Map<string, RpcHandler>();

  register(name: string, handler: RpcHandler): void {
    if (this.table.has(name)) throw new Error(`RPC method ${name} registered twice`);
    this.table.set(name, handler);
  }

  has(name: string): boolean {
    return this.table.has(name);
  }

  /** Method names in registration order. */
  names(): string[] {
    return [...this.table.keys()];
  }

  async call(name: string, params: JsonValue | undefined): Promise<JsonValue> {
    const h = this.table.get(name);
    if (h === undefined) throw new RpcError(RpcCode.MethodNotFound, `Method not found: ${name}`);
    return h(params);
  }
}

type FieldType = 'string' | 'boolean' | 'uint' | 'int' | 'object';
interface Field {
  readonly type: FieldType;
  readonly required?: boolean;
  /** Largest value of a 'uint' (e.g. 0xffff for SPDK's uint16 members). */
  readonly max?: number;
}
export type Schema = Readonly<Record<string, Field>>;
type TypeOf<T extends FieldType> = T extends 'string' ? string : T extends 'boolean' ? boolean : T extends 'uint' | 'int' ? number : JsonObject;
export type Decoded<S extends Schema> = { -readonly [K in keyof S as S[K]['required'] extends true ? K : never]: TypeOf<S[K]['type']> } & {
  -readonly [K in keyof S as S[K]['required'] extends true ? never : K]?: TypeOf<S[K]['type']>;
};

/**
 * Decode `params` against `schema`. `code` is the error code the SPDK method answers a decode
 * failure with (-32602 for the nvmf methods, -32603 for the bdev modules'). `what` prefixes
 * member names (for nested objects: 'listen_address.').
 */
export function decodeParams<S extends Schema>(params: JsonValue | undefined, schema: S, code: number = RpcCode.InvalidParams, what = ''): Decoded<S> {
  const fail = (detail: string): never => {
    throw new RpcError(code, `Invalid parameters: ${detail}`);
  };
  const obj: JsonValue = params ?? {};
  if (typeof obj !== 'object' || Array.isArray(obj)) return fail(`${what === '' ? 'params' : what.slice(0, -1)} must be an object`);
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(obj)) {
    const f = schema[k];
    if (f === undefined) return fail(`unknown parameter '${what}${k}'`);
    if (v === null) continue;
    switch (f.type) {
      case 'string':
        if (typeof v !== 'string') fail(`'${what}${k}' must be a string`);
        break;
      case 'boolean':
        if (typeof v !== 'boolean') fail(`'${what}${k}' must be true or false`);
        break;
      case 'uint':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(`'${what}${k}' must be a non-negative integer`);
        else if (f.max !== undefined && v > f.max) fail(`'${what}${k}' ${v} is larger than ${f.max}`);
        break;
      case 'int':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`'${what}${k}' must be an integer`);
        break;
      case 'object':
        if (typeof v !== 'object' || Array.isArray(v)) fail(`'${what}${k}' must be an object`);
        break;
    }
    out[k] = v;
  }
  for (const [k, f] of Object.entries(schema)) if (f.required === true && out[k] === undefined) fail(`missing required parameter '${what}${k}'`);
  return out as Decoded<S>;
}
