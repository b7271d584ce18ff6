/**
 * SPDK's JSON config format (lib/init/json_config.c): `{"subsystems": [{"subsystem": "bdev",
 * "config": [{"method": ..., "params": ...}, ...]}, ...]}`, what `save_config` writes. Loading it
 * calls each method in order through the same table the JSON-RPC server uses. Every method is
 * checked before the first runs: one nvmu does not have fails the load by name, before anything
 * was created.
 */
import { readFile } from 'node:fs/promises';
import type { ConfigEntry } from './rpc/context.js';
import { RpcError } from './rpc/errors.js';
import type { JsonObject, RpcMethods } from './rpc/methods.js';

/** A config that cannot be loaded: the file, the entry and why. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

interface Located extends ConfigEntry {
  /** 'subsystem bdev, entry 2' */
  where: string;
}

/** Check the shape of a parsed config; returns its entries in order. */
export function configEntries(doc: unknown, source: string): Located[] {
  const bad = (why: string): never => {
    throw new ConfigError(`${source}: ${why}`);
  };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('expected an object with a "subsystems" array');
  const subsystems = (doc as { subsystems?: unknown }).subsystems;
  if (!Array.isArray(subsystems)) return bad('expected an object with a "subsystems" array');
  const out: Located[] = [];
  subsystems.forEach((s: unknown, i) => {
    if (typeof s !== 'object' || s === null) bad(`subsystems[${i}] is not an object`);
    const { subsystem, config } = s as { subsystem?: unknown; config?: unknown };
    if (typeof subsystem !== 'string') bad(`subsystems[${i}] has no "subsystem" name`);
    // SPDK skips a subsystem whose config is null (nothing configured there).
    if (config === null || config === undefined) return;
    if (!Array.isArray(config)) bad(`subsystem ${String(subsystem)}: "config" is not an array`);
    (config as unknown[]).forEach((e: unknown, j) => {
      const where = `subsystem ${String(subsystem)}, entry ${j}`;
      if (typeof e !== 'object' || e === null) bad(`${where} is not an object`);
      const { method, params } = e as { method?: unknown; params?: unknown };
      if (typeof method !== 'string') bad(`${where} has no "method"`);
      if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params))) bad(`${where} (${String(method)}): "params" is not an object`);
      out.push({ method: method as string, params: (params ?? undefined) as JsonObject | undefined, where });
    });
  });
  return out;
}

/** Run a parsed config's methods in order. */
export async function applyConfig(methods: RpcMethods, doc: unknown, source: string): Promise<number> {
  const entries = configEntries(doc, source);
  const unknown = entries.filter((e) => !methods.has(e.method));
  if (unknown.length > 0) {
    const list = unknown.map((e) => `'${e.method}' (${e.where})`).join(', ');
    throw new ConfigError(`${source}: unknown method${unknown.length > 1 ? 's' : ''} ${list}: nvmu does not implement ${unknown.length > 1 ? 'them' : 'it'}`);
  }
  for (const e of entries) {
    try {
      await methods.call(e.method, e.params);
    } catch (err) {
      const why = err instanceof RpcError ? `${err.message} (code ${err.code})` : err instanceof Error ? err.message : String(err);
      throw new ConfigError(`${source}: ${e.where}: ${e.method} failed: ${why}`);
    }
  }
  return entries.length;
}

/** Read and run the config file `path` (`--json`). */
export async function loadConfigFile(methods: RpcMethods, path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--json ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`--json ${path}: not JSON: ${(e as Error).message}`);
  }
  return applyConfig(methods, doc, path);
}
