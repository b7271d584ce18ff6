/**
 * `nvmu read` / `nvmu write`: a block range of a namespace to or from a file (NVM Command Set
 * 1.0 §3.2.4 Read, §3.2.6 Write), split into commands no larger than the controller's maximum
 * transfer size (MDTS and the transport's limit) and 65536 blocks (NLB is 16 bits, 0's based).
 */
import type { Controller, Namespace } from '@nvmu/client';
import { CliUsageError } from './common.js';

/** Blocks one command may carry on this controller and namespace. */
export function blocksPerCommand(ctrl: Controller, ns: Namespace): number {
  const byTransfer = ctrl.maxTransferSize > 0 ? Math.floor(ctrl.maxTransferSize / ns.blockSize) : 65536;
  return Math.max(1, Math.min(65536, byTransfer));
}

/** The namespace `nsid`, or an error naming the active ones. */
export function requireNamespace(ctrl: Controller, nsid: number): Namespace {
  const ns = ctrl.namespace(nsid);
  if (ns !== undefined) return ns;
  const active = ctrl.namespaces.map((n) => n.nsid).join(', ');
  throw new Error(`namespace ${nsid} is not active on ${ctrl.subnqn} (active: ${active === '' ? 'none' : active})`);
}

/** Reads `count` blocks at `lba` into one buffer. */
export async function readBlocks(ctrl: Controller, nsid: number, lba: number, count: number): Promise<Buffer> {
  const ns = requireNamespace(ctrl, nsid);
  const out = Buffer.alloc(count * ns.blockSize);
  const step = blocksPerCommand(ctrl, ns);
  for (let done = 0; done < count; done += step) {
    const n = Math.min(step, count - done);
    await ns.read(lba + done, n, out.subarray(done * ns.blockSize, (done + n) * ns.blockSize));
  }
  return out;
}

/**
 * Writes `data` at `lba`: `count` blocks when given (data must hold at least that many),
 * else the whole of `data`, which must then be a whole number of blocks. Returns blocks written.
 */
export async function writeBlocks(ctrl: Controller, nsid: number, lba: number, data: Uint8Array, count?: number): Promise<number> {
  const ns = requireNamespace(ctrl, nsid);
  const bs = ns.blockSize;
  let blocks: number;
  if (count === undefined) {
    if (data.byteLength === 0) throw new CliUsageError('the input is empty: nothing to write');
    if (data.byteLength % bs !== 0) {
      throw new CliUsageError(`the input is ${data.byteLength} bytes, not a whole number of ${bs}-byte blocks (pad it, or give --count)`);
    }
    blocks = data.byteLength / bs;
  } else {
    if (data.byteLength < count * bs) throw new CliUsageError(`--count ${count} needs ${count * bs} bytes of input, got ${data.byteLength}`);
    blocks = count;
  }
  const step = blocksPerCommand(ctrl, ns);
  for (let done = 0; done < blocks; done += step) {
    const n = Math.min(step, blocks - done);
    await ns.write(lba + done, data.subarray(done * bs, (done + n) * bs));
  }
  return blocks;
}
