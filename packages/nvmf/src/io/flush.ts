/**
 * Flush (NVM Command Set 1.0 §3.2.2; NVMe Base 2.0 §7.1): make the namespace's written data
 * durable. NSID FFFFFFFFh flushes every namespace (Identify VWC bits 2:1 = 11b).
 */
import { sqeNsid } from '@nvmu/nvme-spec';
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { Bdev } from '../bdev/bdev.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';
import { ioBegin, ioComplete, lookupNamespace } from './common.js';

const NSID_ALL = 0xffffffff;

function flushAllDone(req: CoreRequest, status: number): void {
  if (status !== 0 && req.pendingStatus === 0) req.pendingStatus = status;
  req.flushesLeft--;
  if (req.flushesLeft === 0) ioComplete(req, req.pendingStatus);
}

export function flush(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  if (sqeNsid(req.sqeView, 0) === NSID_ALL) {
    const bdevs = new Set<Bdev>();
    for (const ns of ctrlr.subsystem.namespaces.values()) bdevs.add(ns.bdev);
    if (bdevs.size === 0) return CommandStatus.Success;
    req.flushesLeft = bdevs.size;
    req.pendingStatus = 0;
    // Counted for pause like any I/O (no single namespace to count it against).
    ctrlr.subsystem.ioStart(req);
    req.ioOwner = ctrlr.subsystem;
    for (const b of bdevs) b.flush(flushAllDone, req);
    return PENDING;
  }
  const ns = lookupNamespace(ctrlr, req);
  if (typeof ns === 'number') return ns;
  ioBegin(ctrlr, ns, req);
  ns.bdev.flush(ioComplete, req);
  return PENDING;
}
