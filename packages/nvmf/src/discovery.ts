/**
 * The Discovery Log Page (log 70h, NVMe-oF 1.1 §5.3; NVMe Base 2.0 §5.16.1.23): a 1024-byte
 * header (GENCTR, NUMREC, RECFMT) and one 1024-byte entry per (subsystem, listener) the
 * connecting host may use, plus one for the discovery subsystem itself on each listener
 * (SUBTYPE 3, "current discovery subsystem", as Linux nvmet does).
 */
import type { Controller } from './controller.js';
import type { CommandEnv } from './env.js';
import { DISCOVERY_NQN } from './nqn.js';
import type { ListenAddress } from './request.js';

/** Discovery log header and entry sizes (NVMe-oF 1.1 Figures 34, 35). */
export const DISCOVERY_LOG_HEADER_SIZE = 1024;
export const DISCOVERY_LOG_ENTRY_SIZE = 1024;

/** SUBTYPE values (NVMe-oF 1.1 Figure 35). */
export const DiscoverySubtype = {
  /** A referral to another discovery service. */
  Referral: 1,
  Nvm: 2,
  CurrentDiscovery: 3,
} as const;

/** The admin submission queue size a host should use, reported in ASQSZ (as nvmet: 32). */
const ASQSZ = 32;

/** EFLAGS bit 1: the discovery controller supports explicit persistent connections (DuplicateReturnInfo bit 0). */
const EFLAGS_EPCSD = 1 << 1;

/**
 * Build the whole log page for the host of `ctrlr` (a discovery controller). Entries are sorted
 * by subsystem NQN, then listener order, so offsets are stable within one generation.
 */
export function buildDiscoveryLog(env: CommandEnv, ctrlr: Controller): Buffer {
  const via = ctrlr.adminQPair;
  const records: { subtype: number; nqn: string; addr: ListenAddress; portid: number }[] = [];
  const listeners = env.listeners();
  const portOf = (addr: ListenAddress): number => {
    const i = listeners.findIndex(
      (l) => l.trtype === addr.trtype && l.adrfam === addr.adrfam && l.traddr === addr.traddr && l.trsvcid === addr.trsvcid,
    );
    return i < 0 ? 0 : i + 1;
  };
  // The discovery subsystem on the listener the host came through.
  if (via !== undefined) records.push({ subtype: DiscoverySubtype.CurrentDiscovery, nqn: DISCOVERY_NQN, addr: via.listenAddress, portid: portOf(via.listenAddress) });
  const subs = [...env.subsystems()].sort((a, b) => (a.nqn < b.nqn ? -1 : a.nqn > b.nqn ? 1 : 0));
  for (const s of subs) {
    if (s.state === 'inactive' || !s.hostAllowed(ctrlr.hostnqn)) continue;
    for (const addr of s.listeners) records.push({ subtype: DiscoverySubtype.Nvm, nqn: s.nqn, addr, portid: portOf(addr) });
  }
  const out = Buffer.alloc(DISCOVERY_LOG_HEADER_SIZE + records.length * DISCOVERY_LOG_ENTRY_SIZE);
  const gen = BigInt(env.discoveryGeneration);
  out.writeBigUInt64LE(gen, 0); // GENCTR
  out.writeBigUInt64LE(BigInt(records.length), 8); // NUMREC
  out.writeUInt16LE(0, 16); // RECFMT
  let n = 0;
  for (const r of records) {
    const f = env.discoveryEntry(r.addr, via);
    if (f === undefined) continue;
    const e = DISCOVERY_LOG_HEADER_SIZE + n * DISCOVERY_LOG_ENTRY_SIZE;
    out[e + 0] = f.trtype;
    out[e + 1] = f.adrfam;
    out[e + 2] = r.subtype;
    out[e + 3] = f.treq;
    out.writeUInt16LE(r.portid, e + 4); // PORTID
    out.writeUInt16LE(0xffff, e + 6); // CNTLID: dynamic model
    out.writeUInt16LE(ASQSZ, e + 8);
    out.writeUInt16LE(r.subtype === DiscoverySubtype.CurrentDiscovery ? EFLAGS_EPCSD : 0, e + 10);
    writeField(out, e + 32, 32, f.trsvcid); // TRSVCID, space padded (NVMe-oF 1.1 Figure 35)
    writeField(out, e + 256, 256, r.nqn, 0); // SUBNQN, NUL padded
    writeField(out, e + 512, 256, f.traddr); // TRADDR, space padded
    out.set(f.tsas.subarray(0, 256), e + 768); // TSAS
    n++;
  }
  if (n !== records.length) out.writeBigUInt64LE(BigInt(n), 8);
  return n === records.length ? out : out.subarray(0, DISCOVERY_LOG_HEADER_SIZE + n * DISCOVERY_LOG_ENTRY_SIZE);
}

function writeField(buf: Buffer, off: number, len: number, v: string, pad = 0x20): void {
  buf.fill(pad, off, off + len);
  buf.write(v.slice(0, len), off, 'ascii');
}
