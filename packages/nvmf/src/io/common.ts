/**
 * Shared steps of NVM I/O commands: namespace lookup, LBA range checks, in-flight accounting and
 * the completion callback handed to bdevs (a module-level function with the request as context,
 * so starting an I/O allocates nothing).
 */
import { AnaState, sqeNlb, sqeNsid, sqeSlba } from '@nvmu/nvme-spec';
import type { Controller } from '../controller.js';
import type { Namespace } from '../namespace.js';
import type { CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';


/** SLBA, CDW11:CDW10 (NVM Command Set 1.0 Figure 47). */
export function slbaOf(req: CoreRequest): number {
  return sqeSlba(req.sqeView, 0);
}

/** NLB (CDW12 15:0), converted from 0's based to a block count. */
export function nlbOf(req: CoreRequest): number {
  return sqeNlb(req.sqeView, 0) + 1;
}

/**
 * Parse step shared by commands that address a namespace: resolve NSID to an active, ready
 * namespace. Returns the namespace or a status.
 */
export function lookupNamespace(ctrlr: Controller, req: CoreRequest): Namespace | number {
  const ns = ctrlr.subsystem.namespaces.get(sqeNsid(req.sqeView, 0));
  if (ns === undefined) return CommandStatus.InvalidNamespaceOrFormat;
  if (!ns.ready) return CommandStatus.NamespaceNotReady;
  const sub = ctrlr.subsystem;
  if (sub.anaReporting) {
    // ANA states 03h/04h/0Fh refuse I/O with a path status (NVMe Base 2.0 §8.1.3.4, Figure 105).
    const state = sub.anaGroups.get(ns.anaGroupId);
    if (state === AnaState.Inaccessible) return CommandStatus.AnaInaccessible;
    if (state === AnaState.PersistentLoss) return CommandStatus.AnaPersistentLoss;
    if (state === AnaState.Change) return CommandStatus.AnaTransition;
  }
  return ns;
}

/** LBA range check: blocks [slba, slba + nlb) inside the namespace. */
export function rangeOk(ns: Namespace, slba: number, nlb: number): boolean {
  return slba + nlb <= ns.numBlocks;
}

/** Count an I/O in for the namespace (removal waits) and the subsystem (pause waits). */
export function ioBegin(ctrlr: Controller, ns: Namespace, req: CoreRequest): void {
  ns.ioStart();
  req.ns = ns;
  ctrlr.subsystem.ioStart(req);
  req.ioOwner = ctrlr.subsystem;
}

/** Count an I/O out and complete it. The bdev callback of every single-step I/O. */
export function ioComplete(req: CoreRequest, status: number): void {
  const ns = req.ns;
  if (ns !== undefined) {
    req.ns = undefined;
    ns.ioDone();
  }
  const owner = req.ioOwner;
  if (owner !== undefined) {
    req.ioOwner = undefined;
    owner.ioDone(req);
  }
  req.core.complete(req, status);
}
