/**
 * The application-level methods (SPDK lib/rpc, lib/init, lib/event): `rpc_get_methods`,
 * `spdk_get_version`, `framework_get_config`, `save_config`; and SPDK's tuning methods that its
 * `save_config` always writes but that set nothing nvmu has: they are accepted, each call logged
 * as having no effect, so a config saved by SPDK loads here.
 */
import { createRequire } from 'node:module';
import { bdevConfig } from './bdev.js';
import type { ConfigEntry, RpcContext } from './context.js';
import { RpcError } from './errors.js';
import { decodeParams, type JsonObject, type JsonValue, type RpcMethods } from './methods.js';
import { nvmfConfig } from './nvmf.js';

/** An SPDK JSON config (`save_config`, `--json`). */
export interface SpdkConfig {
  subsystems: { subsystem: string; config: ConfigEntry[] | null }[];
}

/** The subsystems nvmu saves, in SPDK's init order (bdev before nvmf). */
const SUBSYSTEMS: readonly { name: string; config: (ctx: RpcContext) => ConfigEntry[] }[] = [
  { name: 'bdev', config: bdevConfig },
  { name: 'nvmf', config: nvmfConfig },
];

export function saveConfig(ctx: RpcContext): SpdkConfig {
  return { subsystems: SUBSYSTEMS.map((s) => ({ subsystem: s.name, config: s.config(ctx) })) };
}

/**
 * SPDK methods that tune SPDK internals (buffer pools, socket options, NVMe host polling,
 * command retry delays). SPDK's save_config writes them with its defaults. `bdev_wait_for_examine`
 * is a barrier that nvmu's bdevs, ready when created, pass at once.
 */
export const NO_EFFECT_METHODS: readonly string[] = [
  'bdev_set_options',
  'bdev_wait_for_examine',
  'bdev_nvme_set_options',
  'bdev_nvme_set_hotplug',
  'bdev_raid_set_options',
  'bdev_iscsi_set_options',
  'iobuf_set_options',
  'accel_set_options',
  'sock_set_default_impl',
  'sock_impl_set_options',
  'nvmf_set_config',
  'nvmf_set_crdt',
  'nvmf_set_max_subsystems',
  'framework_set_scheduler',
];

function version(): { version: string; major: number; minor: number; patch: number; suffix: string } {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  const m = /^(\d+)\.(\d+)\.(\d+)(.*)$/.exec(pkg.version);
  return { version: pkg.version, major: Number(m?.[1] ?? 0), minor: Number(m?.[2] ?? 0), patch: Number(m?.[3] ?? 0), suffix: m?.[4] ?? '' };
}

export function registerFrameworkMethods(m: RpcMethods, ctx: RpcContext): void {
  m.register('spdk_get_version', (params) => {
    decodeParams(params, {});
    const v = version();
    return { version: `nvmu v${v.version}`, fields: { major: v.major, minor: v.minor, patch: v.patch, suffix: v.suffix } };
  });

  m.register('rpc_get_methods', (params) => {
    decodeParams(params, { current: { type: 'boolean' }, include_aliases: { type: 'boolean' } });
    return m.names();
  });

  m.register('framework_get_config', (params) => {
    const p = decodeParams(params, { name: { type: 'string', required: true } });
    const s = SUBSYSTEMS.find((x) => x.name === p.name);
    if (s === undefined) throw RpcError.invalidParams(`no subsystem '${p.name}' (nvmu has ${SUBSYSTEMS.map((x) => x.name).join(', ')})`);
    return s.config(ctx) as unknown as JsonValue;
  });

  m.register('save_config', (params) => {
    decodeParams(params, {});
    return saveConfig(ctx) as unknown as JsonObject;
  });

  for (const name of NO_EFFECT_METHODS) {
    m.register(name, (params) => {
      if (params !== undefined && (typeof params !== 'object' || Array.isArray(params))) throw RpcError.invalidParams('params must be an object');
      if (name !== 'bdev_wait_for_examine') ctx.logger.info(`${name}: accepted, has no effect in nvmu`, { params: params ?? {} });
      return true;
    });
  }
}
