/**
 * The Discovery Log Page (log 70h, NVMe-oF 1.1 §5.3; NVMe Base 2.0 §5.16.1.23): a 1024-byte
 * header (GENCTR, NUMREC, RECFMT) and one 1024-byte entry per (subsystem, listener) the
 * connecting host may use, plus one for the discovery subsystem itself on each listener
 * (SUBTYPE 3, "current discovery subsystem", as Linux nvmet does).
 */
import {
  DiscoveryLogEntryView,
  DiscoveryLogPageHeaderView,
  DiscoverySubtype,
  Eflags,
  discoveryLogEntryOffset,
  discoveryLogSize,
} from '@nvmu/nvme-spec';
import type { Controller } from './controller.js';
import type { CommandEnv } from './command-env.js';
import { DISCOVERY_NQN } from './nqn.js';
import type { ListenAddress } from './request.js';
import { sameAddress } from './subsystem.js';


/** The admin submission queue size a host should use, reported in ASQSZ (as nvmet: 32). */
const ASQSZ = 32;

/**
 * Build the whole log page for the host of `ctrlr` (a discovery controller). Entries are sorted
 * by subsystem NQN, then listener order, so offsets are stable within one generation.
 */
export function buildDiscoveryLog(env: CommandEnv, ctrlr: Controller): Buffer {
  const via = ctrlr.adminQPair;
  const records: { subtype: number; nqn: string; addr: ListenAddress; portid: number }[] = [];
  const listeners = env.listeners();
  const portOf = (addr: ListenAddress): number => {
    const i = listeners.findIndex((l) => sameAddress(l, addr));
    return i < 0 ? 0 : i + 1;
  };
  // The discovery subsystem on the listener the host came through.
  if (via !== undefined) records.push({ subtype: DiscoverySubtype.CurrentDiscovery, nqn: DISCOVERY_NQN, addr: via.listenAddress, portid: portOf(via.listenAddress) });
  const subs = [...env.subsystems()].sort((a, b) => (a.nqn < b.nqn ? -1 : a.nqn > b.nqn ? 1 : 0));
  for (const s of subs) {
    if (s.state === 'inactive' || !s.hostAllowed(ctrlr.hostnqn)) continue;
    for (const addr of s.listeners) records.push({ subtype: DiscoverySubtype.Nvme, nqn: s.nqn, addr, portid: portOf(addr) });
  }
  const entries = records.flatMap((r) => {
    const f = env.discoveryEntry(r.addr, via);
    return f === undefined ? [] : [{ r, f }];
  });
  const out = Buffer.alloc(discoveryLogSize(entries.length));
  const hdr = new DiscoveryLogPageHeaderView(out);
  hdr.genctr = env.discoveryGeneration;
  hdr.numrec = entries.length;
  hdr.recfmt = 0;
  entries.forEach(({ r, f }, i) => {
    const e = new DiscoveryLogEntryView(out, discoveryLogEntryOffset(i));
    e.trtype = f.trtype;
    e.adrfam = f.adrfam;
    e.subtype = r.subtype;
    e.treq = f.treq;
    e.portid = r.portid;
    e.cntlid = 0xffff; // dynamic controller model
    e.asqsz = ASQSZ;
    e.eflags = r.subtype === DiscoverySubtype.CurrentDiscovery ? Eflags.ExplicitPersistentConnection : 0;
    e.trsvcid = f.trsvcid.slice(0, 32); // space padded (NVMe-oF 1.1 Figure 35)
    e.subnqn = r.nqn; // NUL padded
    e.traddr = f.traddr.slice(0, 256); // space padded
    const tsas = new Uint8Array(256);
    tsas.set(f.tsas.subarray(0, 256));
    e.tsas = tsas;
  });
  return out;
}
