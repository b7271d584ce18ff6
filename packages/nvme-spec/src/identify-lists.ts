/**
 * Identify lists and descriptors: namespace lists (CNS 02h, also the Changed Namespace List log
 * page) and namespace identification descriptors (CNS 03h, NVMe Base 2.0 Figure 277).
 */
import { IDENTIFY_DATA_SIZE } from './identify-cns.js';

/** Maximum entries of a namespace list (CNS 02h) or the Changed Namespace List log page. */
export const NS_LIST_MAX = 1024;

/**
 * Write a namespace list (CNS 02h / 07h / 10h, Changed NS List log): up to 1024 ascending NSIDs,
 * zero-filled after the last. Returns the count written; more than 1024 are cut (a Changed
 * Namespace List with more than 1024 entries uses `encodeChangedNsOverflow`).
 */
export function encodeNsList(buf: Uint8Array, nsids: readonly number[], offset = 0): number {
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, NS_LIST_MAX * 4);
  const n = Math.min(nsids.length, NS_LIST_MAX);
  for (let i = 0; i < NS_LIST_MAX; i++) dv.setUint32(i * 4, i < n ? (nsids[i] ?? 0) >>> 0 : 0, true);
  return n;
}

/** Changed Namespace List with more than 1024 changes: first entry FFFFFFFFh, rest zero. */
export function encodeChangedNsOverflow(buf: Uint8Array, offset = 0): void {
  encodeNsList(buf, [0xffffffff], offset);
}

/** Read a namespace list up to the first 0 entry (reads at most `buf`'s whole dwords). */
export function decodeNsList(buf: Uint8Array, offset = 0): number[] {
  const avail = Math.min(NS_LIST_MAX, Math.floor((buf.byteLength - offset) / 4));
  const out: number[] = [];
  if (avail <= 0) return out;
  const dv = new DataView(buf.buffer, buf.byteOffset + offset, avail * 4);
  for (let i = 0; i < avail; i++) {
    const v = dv.getUint32(i * 4, true);
    if (v === 0) break;
    out.push(v);
  }
  return out;
}

/** Namespace Identifier Type (NIDT) of a CNS 03h descriptor (NVMe Base 2.0 Figure 278). */
export const NidType = {
  Eui64: 0x01,
  Nguid: 0x02,
  Uuid: 0x03,
  Csi: 0x04,
} as const;
export type NidType = (typeof NidType)[keyof typeof NidType];

/** Required NIDL for each NIDT. */
export const NID_LENGTH: Readonly<Record<NidType, number>> = {
  [NidType.Eui64]: 8,
  [NidType.Nguid]: 16,
  [NidType.Uuid]: 16,
  [NidType.Csi]: 1,
};

export interface NsIdDescriptor {
  nidt: number;
  nid: Uint8Array;
}

/**
 * Write a Namespace Identification Descriptor list (CNS 03h) into a 4096-byte buffer: each
 * descriptor is NIDT, NIDL, 2 reserved bytes, then NID; the list ends with a zero NIDT.
 */
export function encodeNsIdDescriptors(buf: Uint8Array, descs: readonly NsIdDescriptor[], offset = 0): number {
  buf.fill(0, offset, offset + IDENTIFY_DATA_SIZE);
  let o = offset;
  for (const d of descs) {
    const need = (NID_LENGTH as Record<number, number | undefined>)[d.nidt];
    if (need !== undefined && d.nid.length !== need) throw new RangeError(`NIDT ${d.nidt} needs ${need} bytes, got ${d.nid.length}`);
    if (o + 4 + d.nid.length > offset + IDENTIFY_DATA_SIZE) throw new RangeError('descriptors do not fit in 4096 bytes');
    buf[o] = d.nidt;
    buf[o + 1] = d.nid.length;
    buf.set(d.nid, o + 4);
    o += 4 + d.nid.length;
  }
  return o - offset;
}

/** Read a Namespace Identification Descriptor list; stops at NIDT 0 or a truncated entry. */
export function decodeNsIdDescriptors(buf: Uint8Array, offset = 0, length = Math.min(IDENTIFY_DATA_SIZE, buf.byteLength - offset)): NsIdDescriptor[] {
  const out: NsIdDescriptor[] = [];
  const end = offset + Math.max(0, length);
  let o = offset;
  while (o + 4 <= end) {
    const nidt = buf[o] ?? 0;
    const nidl = buf[o + 1] ?? 0;
    if (nidt === 0 || o + 4 + nidl > end) break;
    out.push({ nidt, nid: buf.slice(o + 4, o + 4 + nidl) });
    o += 4 + nidl;
  }
  return out;
}
