/**
 * The namespace scan (SPDK's nvme_ns.c and nvme_ctrlr.c's active-namespace walk): the active
 * nsids from Identify CNS 02h, each namespace's Identify Namespace and identifiers (CNS 00h,
 * 03h), folded into the controller's namespace map.
 */
import { Cns, NS_LIST_MAX } from '@nvmu/nvme-spec';
import { identify } from './admin.js';
import { NvmeCommandError } from './errors.js';
import { type NamespaceIds, parseIdentifyNamespace, parseNamespaceIds, parseNsidList } from './identify.js';
import { Namespace, type NamespaceOwner } from './namespace.js';
import type { QPair } from './qpair.js';

/** Active nsids, by Identify CNS 02h pages of up to 1024 (NVMe Base 2.0 §5.17.2.2). */
export async function activeNsids(admin: QPair): Promise<number[]> {
  const all: number[] = [];
  let from = 0;
  for (;;) {
    const page = parseNsidList(await identify(admin, Cns.ActiveNamespaceList, from));
    all.push(...page);
    const last = page.at(-1);
    if (page.length < NS_LIST_MAX || last === undefined || last >= 0xfffffffe) return all;
    from = last;
  }
}

/** Identify CNS 03h; a controller that does not support it gives no identifiers. */
export async function namespaceIds(admin: QPair, nsid: number): Promise<NamespaceIds> {
  try {
    return parseNamespaceIds(await identify(admin, Cns.NamespaceIdDescriptorList, nsid));
  } catch (e) {
    if (e instanceof NvmeCommandError) return {};
    throw e;
  }
}

/** What a scan tells, as it finds it. */
export interface NamespaceScanEvents {
  added(ns: Namespace): void;
  removed(ns: Namespace): void;
  changed(ns: Namespace): void;
}

/**
 * Brings `namespaces` up to date: removes inactive ones, adds new ones, and re-reads every
 * existing one (or, when `changed` is given, only those). Resolves true when anything changed.
 */
export async function scanNamespaces(
  admin: QPair,
  owner: NamespaceOwner,
  namespaces: Map<number, Namespace>,
  changed: readonly number[] | undefined,
  events: NamespaceScanEvents,
): Promise<boolean> {
  const active = new Set(await activeNsids(admin));
  let any = false;
  for (const [nsid, ns] of namespaces) {
    if (!active.has(nsid)) {
      namespaces.delete(nsid);
      ns.active = false;
      any = true;
      events.removed(ns);
    }
  }
  for (const nsid of active) {
    const existing = namespaces.get(nsid);
    if (existing !== undefined && changed !== undefined && !changed.includes(nsid)) continue;
    const data = parseIdentifyNamespace(await identify(admin, Cns.Namespace, nsid));
    const ids = await namespaceIds(admin, nsid);
    if (existing === undefined) {
      const ns = new Namespace(owner, nsid, data);
      ns.ids = ids;
      namespaces.set(nsid, ns);
      any = true;
      events.added(ns);
    } else {
      existing.ids = ids;
      if (existing.update(data)) {
        any = true;
        events.changed(existing);
      }
    }
  }
  return any;
}
