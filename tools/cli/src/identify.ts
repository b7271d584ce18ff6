/**
 * `nvmu identify`: Identify Controller (NVMe Base 2.0 §5.17.2.1, Figure 275) and Identify
 * Namespace (NVM Command Set 1.0 §4.1.5.1, Figure 97) as `field : value` lines in the order and
 * style of nvme-cli's `id-ctrl` / `id-ns`, or as JSON with the same field names.
 */
import type { Controller } from '@nvmu/client';
import { IdentifyControllerView, IdentifyNamespaceView } from '@nvmu/nvme-spec';

/** A field value: numbers (64-bit counters above 2^53 become bigint → string in JSON), text. */
type Value = number | string;

/** How a number is shown in the human form. */
type Style = 'dec' | 'hex' | 'text';

interface Field {
  readonly name: string;
  readonly value: Value;
  readonly style: Style;
}

const hexBytes = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Identify Controller fields, nvme-cli's order. */
export function controllerFields(data: Uint8Array): Field[] {
  const v = new IdentifyControllerView(data);
  const f = (name: string, value: Value, style: Style = 'dec'): Field => ({ name, value, style });
  // IEEE OUI is stored least significant byte first; nvme-cli prints it most significant first.
  const ieee = hexBytes(Uint8Array.from(v.ieee).reverse());
  return [
    f('vid', v.vid, 'hex'),
    f('ssvid', v.ssvid, 'hex'),
    f('sn', v.sn, 'text'),
    f('mn', v.mn, 'text'),
    f('fr', v.fr, 'text'),
    f('rab', v.rab),
    f('ieee', ieee, 'text'),
    f('cmic', v.cmic, 'hex'),
    f('mdts', v.mdts),
    f('cntlid', v.cntlid, 'hex'),
    f('ver', v.ver, 'hex'),
    f('rtd3r', v.rtd3r, 'hex'),
    f('rtd3e', v.rtd3e, 'hex'),
    f('oaes', v.oaes, 'hex'),
    f('ctratt', v.ctratt, 'hex'),
    f('rrls', v.rrls, 'hex'),
    f('cntrltype', v.cntrltype),
    f('fguid', hexBytes(v.fguid), 'text'),
    f('crdt1', v.crdt1),
    f('crdt2', v.crdt2),
    f('crdt3', v.crdt3),
    f('nvmsr', v.nvmsr),
    f('vwci', v.vwci),
    f('mec', v.mec),
    f('oacs', v.oacs, 'hex'),
    f('acl', v.acl),
    f('aerl', v.aerl),
    f('frmw', v.frmw, 'hex'),
    f('lpa', v.lpa, 'hex'),
    f('elpe', v.elpe),
    f('npss', v.npss),
    f('avscc', v.avscc, 'hex'),
    f('apsta', v.apsta, 'hex'),
    f('wctemp', v.wctemp),
    f('cctemp', v.cctemp),
    f('mtfa', v.mtfa),
    f('hmpre', v.hmpre),
    f('hmmin', v.hmmin),
    f('tnvmcap', v.tnvmcapBig.toString(), 'text'),
    f('unvmcap', v.unvmcapBig.toString(), 'text'),
    f('rpmbs', v.rpmbs, 'hex'),
    f('edstt', v.edstt),
    f('dsto', v.dsto),
    f('fwug', v.fwug),
    f('kas', v.kas),
    f('hctma', v.hctma, 'hex'),
    f('mntmt', v.mntmt),
    f('mxtmt', v.mxtmt),
    f('sanicap', v.sanicap, 'hex'),
    f('hmminds', v.hmminds),
    f('hmmaxd', v.hmmaxd),
    f('nsetidmax', v.nsetidmax),
    f('endgidmax', v.endgidmax),
    f('anatt', v.anatt),
    f('anacap', v.anacap),
    f('anagrpmax', v.anagrpmax),
    f('nanagrpid', v.nanagrpid),
    f('pels', v.pels),
    f('domainid', v.domainId),
    f('megcap', v.megcapBig.toString(), 'text'),
    f('sqes', v.sqes, 'hex'),
    f('cqes', v.cqes, 'hex'),
    f('maxcmd', v.maxcmd),
    f('nn', v.nn),
    f('oncs', v.oncs, 'hex'),
    f('fuses', v.fuses, 'hex'),
    f('fna', v.fna, 'hex'),
    f('vwc', v.vwc, 'hex'),
    f('awun', v.awun),
    f('awupf', v.awupf),
    f('icsvscc', v.icsvscc),
    f('nwpc', v.nwpc),
    f('acwu', v.acwu),
    f('ocfs', v.ocfs, 'hex'),
    f('sgls', v.sgls, 'hex'),
    f('mnan', v.mnan),
    f('maxdna', v.maxdnaBig.toString(), 'text'),
    f('maxcna', v.maxcna),
    f('subnqn', v.subnqn, 'text'),
    f('ioccsz', v.ioccsz),
    f('iorcsz', v.iorcsz),
    f('icdoff', v.icdoff),
    f('fcatt', v.fcatt, 'hex'),
    f('msdbd', v.msdbd),
    f('ofcs', v.ofcs),
  ];
}

/** One power state descriptor (NVMe Base 2.0 Figure 276). */
export interface PowerStateRecord {
  /** Maximum power in watts (MP scaled by MXPS: 0.01 W or 0.0001 W units). */
  readonly maxPowerWatts: number;
  /** Non-operational state (NOPS). */
  readonly nonOperational: boolean;
  /** Entry and exit latency, µs. */
  readonly enlat: number;
  readonly exlat: number;
  readonly rrt: number;
  readonly rrl: number;
  readonly rwt: number;
  readonly rwl: number;
}

/** The NPSS + 1 power state descriptors of Identify Controller. */
export function powerStates(data: Uint8Array): PowerStateRecord[] {
  const v = new IdentifyControllerView(data);
  const out: PowerStateRecord[] = [];
  for (let i = 0; i <= Math.min(v.npss, 31); i++) {
    const flags = v.psdFlags(i);
    const rel = v.psdRelative(i);
    out.push({
      maxPowerWatts: v.psdMp(i) * (flags & 1 ? 0.0001 : 0.01),
      nonOperational: (flags & 2) !== 0,
      enlat: v.psdEnlat(i),
      exlat: v.psdExlat(i),
      ...rel,
    });
  }
  return out;
}

/** One LBA format of a namespace. */
export interface LbafRecord {
  readonly ms: number;
  readonly ds: number;
  readonly rp: number;
  readonly inUse: boolean;
}

/** Identify Namespace fields, nvme-cli's order, and the LBA formats. */
export function namespaceFields(data: Uint8Array): { fields: Field[]; lbafs: LbafRecord[] } {
  const v = new IdentifyNamespaceView(data);
  const f = (name: string, value: Value, style: Style = 'dec'): Field => ({ name, value, style });
  const fields = [
    f('nsze', v.nsze, 'hex'),
    f('ncap', v.ncap, 'hex'),
    f('nuse', v.nuse, 'hex'),
    f('nsfeat', v.nsfeat, 'hex'),
    f('nlbaf', v.nlbaf),
    f('flbas', v.flbas, 'hex'),
    f('mc', v.mc, 'hex'),
    f('dpc', v.dpc, 'hex'),
    f('dps', v.dps),
    f('nmic', v.nmic),
    f('rescap', v.rescap),
    f('fpi', v.fpi),
    f('dlfeat', v.dlfeat),
    f('nawun', v.nawun),
    f('nawupf', v.nawupf),
    f('nacwu', v.nacwu),
    f('nabsn', v.nabsn),
    f('nabo', v.nabo),
    f('nabspf', v.nabspf),
    f('noiob', v.noiob),
    f('nvmcap', v.nvmcapBig.toString(), 'text'),
    f('npwg', v.npwg),
    f('npwa', v.npwa),
    f('npdg', v.npdg),
    f('npda', v.npda),
    f('nows', v.nows),
    f('mssrl', v.mssrl),
    f('mcl', v.mcl),
    f('msrc', v.msrc),
    f('anagrpid', v.anagrpid),
    f('nsattr', v.nsattr),
    f('nvmsetid', v.nvmsetid),
    f('endgid', v.endgid),
    f('nguid', hexBytes(v.nguid), 'text'),
    f('eui64', hexBytes(v.eui64), 'text'),
  ];
  const lbafs: LbafRecord[] = [];
  const inUse = v.formatIndex;
  // NLBAF is 0's based (at most 64 formats).
  for (let i = 0; i <= Math.min(v.nlbaf, 63); i++) {
    const l = v.lbaf(i);
    lbafs.push({ ms: l.ms, ds: l.lbads, rp: l.rp, inUse: i === inUse });
  }
  return { fields, lbafs };
}

function show(field: Field): string {
  const value = field.style === 'hex' && typeof field.value === 'number' ? `0x${field.value.toString(16)}` : String(field.value);
  return `${field.name.padEnd(10)}: ${value}`;
}

/** Identify data of one controller and its namespaces, decoded. */
export interface IdentifyResult {
  /** Identify Controller (absent when one namespace was asked for with --ns). */
  readonly controller?: (Readonly<Record<string, Value | readonly PowerStateRecord[]>> & { readonly psds: readonly PowerStateRecord[] }) | undefined;
  readonly namespaces: readonly NamespaceJson[];
}

/** One namespace in {@link IdentifyResult}: nvme-cli's id-ns field names, plus nsid and lbafs. */
export interface NamespaceJson {
  readonly nsid: number;
  readonly lbafs: readonly LbafRecord[];
  readonly [field: string]: Value | readonly LbafRecord[];
}

const RP_TEXT = ['Best', 'Better', 'Good', 'Degraded'];

/** nvme-cli's human form: "NVME Identify Controller:" then "field : value" lines, per namespace likewise. */
export function formatIdentify(ctrlData: Uint8Array | undefined, namespaces: readonly { nsid: number; data: Uint8Array }[]): string {
  const out: string[] = [];
  if (ctrlData !== undefined) {
    out.push('NVME Identify Controller:');
    for (const fl of controllerFields(ctrlData)) out.push(show(fl));
    powerStates(ctrlData).forEach((ps, i) => {
      out.push(
        `ps ${String(i).padStart(4)} : mp:${ps.maxPowerWatts.toFixed(2)}W ${ps.nonOperational ? 'non-' : ''}operational enlat:${ps.enlat} exlat:${ps.exlat} ` +
          `rrt:${ps.rrt} rrl:${ps.rrl} rwt:${ps.rwt} rwl:${ps.rwl}`,
      );
    });
  }
  for (const ns of namespaces) {
    if (out.length > 0) out.push('');
    out.push(`NVME Identify Namespace ${ns.nsid}:`);
    const { fields, lbafs } = namespaceFields(ns.data);
    for (const fl of fields) out.push(show(fl));
    lbafs.forEach((l, i) => {
      out.push(`lbaf ${String(i).padStart(2)} : ms:${String(l.ms).padEnd(3)} lbads:${String(l.ds).padEnd(2)} rp:0x${l.rp.toString(16)} (${RP_TEXT[l.rp] ?? ''})${l.inUse ? ' (in use)' : ''}`);
    });
  }
  return `${out.join('\n')}\n`;
}

/** The JSON form: nvme-cli's field names with numeric values. */
export function identifyJson(ctrlData: Uint8Array | undefined, namespaces: readonly { nsid: number; data: Uint8Array }[]): IdentifyResult {
  const obj = (fields: readonly Field[]): Record<string, Value> => Object.fromEntries(fields.map((x) => [x.name, x.value]));
  return {
    ...(ctrlData !== undefined && { controller: { ...obj(controllerFields(ctrlData)), psds: powerStates(ctrlData) } }),
    namespaces: namespaces.map((ns) => {
      const { fields, lbafs } = namespaceFields(ns.data);
      return { nsid: ns.nsid, ...obj(fields), lbafs };
    }),
  };
}

/**
 * Reads Identify data from a connected controller: the controller (unless `nsid` is given) and
 * every active namespace (or just `nsid`).
 */
export async function readIdentify(ctrl: Controller, nsid?: number): Promise<{ controller: Uint8Array | undefined; namespaces: { nsid: number; data: Uint8Array }[] }> {
  const controller = nsid === undefined ? await ctrl.identify(0x01, 0) : undefined;
  const nsids = nsid === undefined ? ctrl.namespaces.map((n) => n.nsid) : [nsid];
  if (nsid !== undefined && ctrl.namespace(nsid) === undefined) {
    const active = ctrl.namespaces.map((n) => n.nsid).join(', ');
    throw new Error(`namespace ${nsid} is not active on ${ctrl.subnqn} (active: ${active === '' ? 'none' : active})`);
  }
  const namespaces: { nsid: number; data: Uint8Array }[] = [];
  for (const id of nsids) namespaces.push({ nsid: id, data: await ctrl.identify(0x00, id) });
  return { controller, namespaces };
}
