/**
 * SPDK's bdev methods (lib/bdev/bdev_rpc.c, module/bdev/{malloc,null,aio}/*_rpc.c): the same
 * names, parameters and results. nvmu's file bdev answers to SPDK's AIO bdev name and parameters.
 * SPDK's bdev modules answer a params decode failure with -32603, and a failed create or delete
 * with -errno and strerror's text; these do the same, naming what was wrong.
 */
import { randomUUID } from 'node:crypto';
import { FileBdev, MallocBdev, NullBdev, type Bdev } from '@nvmu/nvmf';
import type { ConfigEntry, RpcContext } from './context.js';
import { Errno, RpcCode, RpcError } from './errors.js';
import { decodeParams, type JsonObject, type JsonValue, type RpcMethods } from './methods.js';

const DECODE = RpcCode.InternalError;

/** What SPDK's modules accept and nvmu has no use for: accepted when they ask for nothing. */
const MD_PARAMS = {
  md_size: { type: 'uint' },
  md_interleave: { type: 'boolean' },
  dif_type: { type: 'int' },
  dif_is_head_of_md: { type: 'boolean' },
  dif_pi_format: { type: 'uint' },
  physical_block_size: { type: 'uint' },
} as const;

const MALLOC_CREATE = {
  name: { type: 'string' },
  block_size: { type: 'uint', required: true },
  num_blocks: { type: 'uint', required: true },
  uuid: { type: 'string' },
  optimal_io_boundary: { type: 'uint' },
  numa_id: { type: 'int' },
  ...MD_PARAMS,
} as const;

const NULL_CREATE = {
  name: { type: 'string', required: true },
  block_size: { type: 'uint', required: true },
  num_blocks: { type: 'uint', required: true },
  uuid: { type: 'string' },
  preferred_write_granularity: { type: 'uint' },
  preferred_write_alignment: { type: 'uint' },
  optimal_write_size: { type: 'uint' },
  preferred_unmap_granularity: { type: 'uint' },
  preferred_unmap_alignment: { type: 'uint' },
  ...MD_PARAMS,
} as const;

const AIO_CREATE = {
  name: { type: 'string', required: true },
  filename: { type: 'string', required: true },
  block_size: { type: 'uint' },
  readonly: { type: 'boolean' },
  fallocate: { type: 'boolean' },
  uuid: { type: 'string' },
  nowait: { type: 'boolean' },
} as const;

const BY_NAME = { name: { type: 'string', required: true } } as const;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkCommon(p: { block_size?: number; uuid?: string; md_size?: number; dif_type?: number; physical_block_size?: number }): void {
  if (p.block_size !== undefined && p.block_size !== 512 && p.block_size !== 4096) {
    throw RpcError.errno(Errno.EINVAL, `block_size ${p.block_size}: nvmu bdevs have 512 or 4096-byte blocks`);
  }
  if (p.uuid !== undefined && !UUID_RE.test(p.uuid)) throw RpcError.errno(Errno.EINVAL, `uuid '${p.uuid}' is not a UUID`);
  if ((p.md_size ?? 0) !== 0 || (p.dif_type ?? 0) !== 0) throw RpcError.errno(Errno.ENOTSUP, 'metadata and DIF are not supported by nvmu bdevs');
  if (p.physical_block_size !== undefined && p.physical_block_size !== 0 && p.physical_block_size !== p.block_size) {
    throw RpcError.errno(Errno.ENOTSUP, `physical_block_size ${p.physical_block_size} differs from block_size; nvmu does not report one`);
  }
}

function checkFreeName(ctx: RpcContext, name: string): void {
  if (name === '') throw RpcError.errno(Errno.EINVAL, 'bdev name is empty');
  if (ctx.target.getBdev(name) !== undefined) throw RpcError.errno(Errno.EEXIST, `bdev ${name} already exists`);
}

function record(ctx: RpcContext, bdev: Bdev, entry: ConfigEntry): string {
  ctx.target.addBdev(bdev);
  ctx.bdevConfig.set(bdev.name, entry);
  ctx.logger.info('bdev created', { bdev: bdev.name, kind: bdev.kind, blockSize: bdev.blockSize, numBlocks: bdev.numBlocks });
  return bdev.name;
}

/** Delete `name` if it is of `kind` (SPDK's per-module delete ignores other modules' bdevs). */
async function deleteBdev(ctx: RpcContext, params: JsonValue | undefined, kind: string): Promise<boolean> {
  const p = decodeParams(params, BY_NAME, DECODE);
  const b = ctx.target.getBdev(p.name);
  if (b?.kind !== kind) throw RpcError.errno(Errno.ENODEV, `no ${kind === 'file' ? 'aio' : kind} bdev named ${p.name}`);
  await ctx.target.removeBdev(p.name);
  ctx.bdevConfig.delete(p.name);
  ctx.logger.info('bdev deleted', { bdev: p.name });
  return true;
}

const PRODUCT: Readonly<Record<string, string>> = { malloc: 'Malloc disk', null: 'Null disk', file: 'AIO disk' };

/** One bdev as `bdev_get_bdevs` lists it (SPDK's rpc_dump_bdev_info members). */
export function describeBdev(ctx: RpcContext, b: Bdev): JsonObject {
  let claimed = false;
  for (const s of ctx.target.subsystems()) if (s.namespacesOn(b).length > 0) claimed = true;
  const out: JsonObject = {
    name: b.name,
    aliases: [],
    product_name: PRODUCT[b.kind] ?? b.kind,
    block_size: b.blockSize,
    num_blocks: b.numBlocks,
    uuid: b.uuid ?? null,
    assigned_rate_limits: { rw_ios_per_sec: 0, rw_mbytes_per_sec: 0, r_mbytes_per_sec: 0, w_mbytes_per_sec: 0 },
    claimed,
    zoned: false,
    supported_io_types: {
      read: true,
      write: true,
      unmap: true,
      flush: true,
      reset: false,
      write_zeroes: true,
      zcopy: false,
      nvme_admin: false,
      nvme_io: false,
      compare: false,
      compare_and_write: false,
      abort: false,
    },
    driver_specific: {},
  };
  if (claimed) out.claim_type = 'exclusive_write';
  if (b instanceof FileBdev) {
    out.driver_specific = { aio: { filename: b.path, block_size_override: true, readonly: b.readOnly, fallocate: false } };
  }
  return out;
}

export function registerBdevMethods(m: RpcMethods, ctx: RpcContext): void {
  m.register('bdev_malloc_create', (params) => {
    const p = decodeParams(params, MALLOC_CREATE, DECODE);
    checkCommon(p);
    let name = p.name;
    if (name === undefined) {
      let i = 0;
      while (ctx.target.getBdev(`Malloc${i}`) !== undefined) i++;
      name = `Malloc${i}`;
    }
    checkFreeName(ctx, name);
    if (p.num_blocks < 1) throw RpcError.errno(Errno.EINVAL, 'num_blocks must be at least 1');
    const uuid = (p.uuid ?? randomUUID()).toLowerCase();
    const bdev = new MallocBdev({ name, blockSize: p.block_size, numBlocks: p.num_blocks, uuid });
    return record(ctx, bdev, { method: 'bdev_malloc_create', params: { name, num_blocks: p.num_blocks, block_size: p.block_size, physical_block_size: p.block_size, uuid, optimal_io_boundary: 0, md_size: 0, dif_type: 0, dif_is_head_of_md: false, dif_pi_format: 0 } });
  });
  m.register('bdev_malloc_delete', (params) => deleteBdev(ctx, params, 'malloc'));

  m.register('bdev_null_create', (params) => {
    const p = decodeParams(params, NULL_CREATE, DECODE);
    checkCommon(p);
    checkFreeName(ctx, p.name);
    if (p.num_blocks < 1) throw RpcError.errno(Errno.EINVAL, 'num_blocks must be at least 1');
    const uuid = (p.uuid ?? randomUUID()).toLowerCase();
    const bdev = new NullBdev({ name: p.name, blockSize: p.block_size, numBlocks: p.num_blocks, uuid });
    return record(ctx, bdev, { method: 'bdev_null_create', params: { name: p.name, num_blocks: p.num_blocks, block_size: p.block_size, physical_block_size: p.block_size, md_size: 0, dif_type: 0, dif_is_head_of_md: false, dif_pi_format: 0, uuid } });
  });
  m.register('bdev_null_delete', (params) => deleteBdev(ctx, params, 'null'));

  m.register('bdev_aio_create', async (params) => {
    const p = decodeParams(params, AIO_CREATE, DECODE);
    checkCommon(p);
    checkFreeName(ctx, p.name);
    if (p.nowait === true) throw RpcError.errno(Errno.ENOTSUP, 'nowait is not supported by nvmu file bdevs');
    const uuid = (p.uuid ?? randomUUID()).toLowerCase();
    let bdev: FileBdev;
    try {
      // SPDK's AIO bdev opens an existing file or device; it never creates one.
      bdev = await FileBdev.open({ name: p.name, path: p.filename, blockSize: p.block_size ?? 512, readOnly: p.readonly ?? false, uuid });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const errno = code === 'ENOENT' || code === undefined ? Errno.ENOENT : code === 'EACCES' || code === 'EPERM' ? Errno.EPERM : Errno.EINVAL;
      throw RpcError.errno(errno, `${p.filename}: ${(e as Error).message}`);
    }
    const entry: JsonObject = { name: p.name, filename: p.filename, readonly: p.readonly ?? false, fallocate: false, uuid };
    if (p.block_size !== undefined) entry.block_size = p.block_size;
    return record(ctx, bdev, { method: 'bdev_aio_create', params: entry });
  });
  m.register('bdev_aio_delete', (params) => deleteBdev(ctx, params, 'file'));

  m.register('bdev_get_bdevs', (params) => {
    const p = decodeParams(params, { name: { type: 'string' }, timeout: { type: 'uint' } }, DECODE);
    if (p.name !== undefined) {
      const b = ctx.target.getBdev(p.name) ?? [...ctx.target.bdevs].find((x) => x.uuid === p.name);
      if (b === undefined) throw RpcError.errno(Errno.ENODEV, `no bdev named ${p.name}`);
      return [describeBdev(ctx, b)];
    }
    return ctx.target.bdevs.map((b) => describeBdev(ctx, b));
  });
}

/** The bdev subsystem's part of `save_config`: the creates in creation order, then SPDK's examine barrier. */
export function bdevConfig(ctx: RpcContext): ConfigEntry[] {
  const out: ConfigEntry[] = [];
  for (const b of ctx.target.bdevs) {
    const e = ctx.bdevConfig.get(b.name);
    if (e !== undefined) out.push(e);
  }
  out.push({ method: 'bdev_wait_for_examine' });
  return out;
}
