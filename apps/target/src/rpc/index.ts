/** The daemon's JSON-RPC method table: SPDK's bdev, nvmf and framework methods over one context. */
import { registerBdevMethods } from './bdev.js';
import type { RpcContext } from './context.js';
import { registerFrameworkMethods } from './framework.js';
import { RpcMethods } from './methods.js';
import { registerNvmfMethods } from './nvmf.js';
import { registerStatsMethods } from '../stats.js';

export function createRpcMethods(ctx: RpcContext): RpcMethods {
  const m = new RpcMethods();
  registerBdevMethods(m, ctx);
  registerNvmfMethods(m, ctx);
  registerStatsMethods(m, ctx);
  registerFrameworkMethods(m, ctx);
  return m;
}

export { createContext, type ConfigEntry, type RpcContext } from './context.js';
export { RpcCode, RpcError, Errno } from './errors.js';
export { RpcMethods, decodeParams, type JsonObject, type JsonValue, type RpcHandler } from './methods.js';
export { RpcServer, jsonValueEnd, handleRequest } from './server.js';
export { saveConfig, NO_EFFECT_METHODS, type SpdkConfig } from './framework.js';
