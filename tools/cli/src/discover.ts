/**
 * `nvmu discover`: the Discovery Log Page (NVMe Base 2.0 §5.16.1.23, Figures 262-263) printed
 * the way nvme-cli's `nvme discover` prints it, or as JSON.
 */
import { type DiscoveryLogEntry, type TransportId, discover, formatTransportId, parseTransportId } from '@nvmu/client';

const TRTYPE: Readonly<Record<number, string>> = { 1: 'rdma', 2: 'fc', 3: 'tcp', 0xfe: 'loopback', 0xff: 'intra-host' };
const ADRFAM: Readonly<Record<number, string>> = { 1: 'ipv4', 2: 'ipv6', 3: 'infiniband', 4: 'fibre-channel', 0xfe: 'intra-host' };
const SUBTYPE: Readonly<Record<number, string>> = { 1: 'discovery subsystem referral', 2: 'nvme subsystem', 3: 'current discovery subsystem' };

/** TREQ (Figure 263 byte 3): bits 1:0 secure channel, bit 2 SQ flow control disable. */
function treqText(treq: number): string {
  const secure = ['not specified', 'required', 'not required', 'reserved'][treq & 3] ?? 'reserved';
  return treq & 4 ? `${secure}, sq flow control disable supported` : secure;
}

/** EFLAGS (Figure 263 bytes 11:10). */
function eflagsText(eflags: number): string {
  const names: string[] = [];
  if (eflags & 1) names.push('duplicate discovery information');
  if (eflags & 2) names.push('explicit discovery connections');
  if (eflags & 4) names.push('no cdc connectivity');
  return names.length === 0 ? 'none' : names.join(', ');
}

/** NVMe/TCP TSAS byte 0 (NVMe/TCP 1.0 Figure 8): SECTYPE. */
function sectypeText(e: DiscoveryLogEntry): string {
  if (e.trtype !== 3) return 'none';
  return ['none', 'tls1.2', 'tls1.3'][e.tsas[0] ?? 0] ?? `reserved (${e.tsas[0] ?? 0})`;
}

/** One entry as nvme-cli's JSON record (plus `trid`, the SPDK notation to pass to -r). */
export interface DiscoveryRecord {
  readonly trtype: string;
  readonly adrfam: string;
  readonly subtype: string;
  readonly treq: string;
  readonly portid: number;
  readonly trsvcid: string;
  readonly subnqn: string;
  readonly traddr: string;
  readonly eflags: string;
  readonly sectype: string;
  readonly cntlid: number;
  readonly asqsz: number;
  readonly trid: string;
}

/** Names of TRTYPE codes as @nvmu/client registers host transports (for `trid`). */
const TRID_TRTYPE: Readonly<Record<number, string>> = { 1: 'rdma', 2: 'fc', 3: 'tcp', 0xfe: 'loopback' };
const TRID_ADRFAM: Readonly<Record<number, TransportId['adrfam']>> = { 1: 'ipv4', 2: 'ipv6', 3: 'ib', 4: 'fc', 0xfe: 'intra-host' };

/** The transport ID that reaches an entry's subsystem, host keys taken from the query. */
function entryTrid(e: DiscoveryLogEntry, query: TransportId): string {
  const adrfam = TRID_ADRFAM[e.adrfam];
  return formatTransportId({
    trtype: TRID_TRTYPE[e.trtype] ?? `trtype-${e.trtype}`,
    ...(adrfam !== undefined && { adrfam }),
    traddr: e.traddr,
    ...(e.trsvcid !== '' && { trsvcid: e.trsvcid }),
    subnqn: e.subnqn,
    ...(query.hostnqn !== undefined && { hostnqn: query.hostnqn }),
    ...(query.hostid !== undefined && { hostid: query.hostid }),
  });
}

/** Decodes entries into printable records. */
export function discoveryRecords(entries: readonly DiscoveryLogEntry[], query: TransportId): DiscoveryRecord[] {
  return entries.map((e) => ({
    trtype: TRTYPE[e.trtype] ?? `unrecognized (${e.trtype})`,
    adrfam: ADRFAM[e.adrfam] ?? `unrecognized (${e.adrfam})`,
    subtype: SUBTYPE[e.subtype] ?? `unrecognized (${e.subtype})`,
    treq: treqText(e.treq),
    portid: e.portid,
    trsvcid: e.trsvcid,
    subnqn: e.subnqn,
    traddr: e.traddr,
    eflags: eflagsText(e.eflags),
    sectype: sectypeText(e),
    cntlid: e.cntlid,
    asqsz: e.asqsz,
    trid: entryTrid(e, query),
  }));
}

/** The discovery log: its generation counter and entries. */
export interface DiscoveryLog {
  /** GENCTR of the log read (a number; exact below 2^53, as every real counter is). */
  readonly genctr: number;
  readonly records: readonly DiscoveryRecord[];
}

/** nvme-cli's layout: a header, then one block per entry. */
export function formatDiscovery(log: DiscoveryLog): string {
  const lines = [`Discovery Log Number of Records ${log.records.length}, Generation counter ${log.genctr}`];
  log.records.forEach((r, i) => {
    lines.push(
      `=====Discovery Log Entry ${i}======`,
      `trtype:  ${r.trtype}`,
      `adrfam:  ${r.adrfam}`,
      `subtype: ${r.subtype}`,
      `treq:    ${r.treq}`,
      `portid:  ${r.portid}`,
      `trsvcid: ${r.trsvcid}`,
      `subnqn:  ${r.subnqn}`,
      `traddr:  ${r.traddr}`,
      `eflags:  ${r.eflags}`,
      `sectype: ${r.sectype}`,
    );
  });
  return `${lines.join('\n')}\n`;
}

/**
 * Reads the discovery log at `trid` (its subnqn defaults to the discovery NQN) with the client's
 * GENCTR-checked `discover()`: the entries and the generation counter of that same read.
 */
export async function runDiscover(trid: string): Promise<DiscoveryLog> {
  const query = parseTransportId(trid);
  const entries = await discover(query);
  return { genctr: Number(entries.genctr), records: discoveryRecords(entries, query) };
}
