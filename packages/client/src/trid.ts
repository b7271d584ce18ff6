/**
 * Transport IDs in SPDK's notation (`spdk_nvme_transport_id_parse()` in lib/nvme/nvme.c):
 * whitespace-separated `key:value` (or `key=value`) pairs, keys case-insensitive, the value
 * running from the first ':' or '=' to the next whitespace (so NQNs and IPv6 addresses keep
 * their colons). Known keys fill {@link TransportId} fields; every other key goes to `params`.
 */
import { parseUuid as parseUuidBytes } from '@nvmu/nvme-spec';
import type { AddressFamily, TransportId } from './transport.js';

/** Thrown for a transport ID that cannot be understood; `input` is the offending text. */
export class TransportIdError extends Error {
  override readonly name = 'TransportIdError';
  readonly code = 'ERR_NVMU_TRID';
  constructor(
    message: string,
    readonly input: string,
  ) {
    super(message);
  }
}

const ADRFAMS: readonly AddressFamily[] = ['ipv4', 'ipv6', 'ib', 'fc', 'intra-host'];

/** A transport ID as a string or an object; objects may use any key case, like the string form. */
export type TransportIdInput = string | TransportId | Readonly<Record<string, string | undefined>>;

function normaliseAdrfam(value: string, input: string): AddressFamily {
  const v = value.toLowerCase();
  // SPDK spells the in-process family INTRA_HOST; nvmu (like @nvmu/nvmf) uses intra-host.
  const canonical = v === 'intra_host' ? 'intra-host' : v;
  const found = ADRFAMS.find((a) => a === canonical);
  if (found === undefined) throw new TransportIdError(`unknown adrfam '${value}'`, input);
  return found;
}

function fromPairs(pairs: Iterable<readonly [string, string]>, input: string): TransportId {
  let trtype: string | undefined;
  let adrfam: AddressFamily | undefined;
  let traddr: string | undefined;
  let trsvcid: string | undefined;
  let subnqn: string | undefined;
  let hostnqn: string | undefined;
  let hostid: string | undefined;
  const params: Record<string, string> = {};
  let hasParams = false;
  for (const [rawKey, value] of pairs) {
    const key = rawKey.toLowerCase();
    switch (key) {
      case 'trtype':
        // SPDK's own names for vfio-user and the in-process type are accepted as aliases.
        trtype = value.toLowerCase() === 'vfiouser' ? 'vfio-user' : value.toLowerCase();
        break;
      case 'adrfam':
        adrfam = normaliseAdrfam(value, input);
        break;
      case 'traddr':
        traddr = value;
        break;
      case 'trsvcid':
        trsvcid = value;
        break;
      case 'subnqn':
        subnqn = value;
        break;
      case 'hostnqn':
        hostnqn = value;
        break;
      case 'hostid':
        hostid = value;
        break;
      default:
        params[key] = value;
        hasParams = true;
    }
  }
  if (trtype === undefined || trtype === '') throw new TransportIdError('transport ID has no trtype', input);
  if (traddr === undefined || traddr === '') throw new TransportIdError('transport ID has no traddr', input);
  if (hostid !== undefined) parseUuid(hostid); // validate early, with a clear message
  return {
    trtype,
    traddr,
    ...(adrfam !== undefined && { adrfam }),
    ...(trsvcid !== undefined && { trsvcid }),
    ...(subnqn !== undefined && { subnqn }),
    ...(hostnqn !== undefined && { hostnqn }),
    ...(hostid !== undefined && { hostid }),
    ...(hasParams && { params }),
  };
}

/**
 * Parses SPDK's transport ID notation, for example
 * `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.2026-01.io.nvmu:cnode1`,
 * `trtype:vfio-user traddr:/run/nvmu/cnode1` or `trtype:loopback traddr:t1`; or normalises an
 * options object with the same keys (any case). Throws {@link TransportIdError}.
 */
export function parseTransportId(input: TransportIdInput): TransportId {
  if (typeof input !== 'string') {
    const pairs: [string, string][] = [];
    for (const [k, v] of Object.entries(input as Readonly<Record<string, unknown>>)) {
      if (v === undefined) continue;
      if (k === 'params' && typeof v === 'object' && v !== null) {
        for (const [pk, pv] of Object.entries(v as Record<string, unknown>)) {
          if (typeof pv === 'string') pairs.push([pk, pv]);
        }
        continue;
      }
      if (typeof v !== 'string') throw new TransportIdError(`transport ID key '${k}' must be a string`, JSON.stringify(input));
      pairs.push([k, v]);
    }
    return fromPairs(pairs, JSON.stringify(input));
  }
  const pairs: [string, string][] = [];
  for (const token of input.split(/\s+/)) {
    if (token === '') continue;
    const sep = token.search(/[:=]/);
    if (sep <= 0) throw new TransportIdError(`'${token}' is not key:value`, input);
    pairs.push([token.slice(0, sep), token.slice(sep + 1)]);
  }
  return fromPairs(pairs, input);
}

/** Formats a transport ID back into SPDK's notation (parseTransportId's inverse). */
export function formatTransportId(trid: TransportId): string {
  const parts = [`trtype:${trid.trtype}`];
  if (trid.adrfam !== undefined) parts.push(`adrfam:${trid.adrfam}`);
  parts.push(`traddr:${trid.traddr}`);
  if (trid.trsvcid !== undefined) parts.push(`trsvcid:${trid.trsvcid}`);
  if (trid.subnqn !== undefined) parts.push(`subnqn:${trid.subnqn}`);
  if (trid.hostnqn !== undefined) parts.push(`hostnqn:${trid.hostnqn}`);
  if (trid.hostid !== undefined) parts.push(`hostid:${trid.hostid}`);
  for (const [k, v] of Object.entries(trid.params ?? {})) parts.push(`${k}:${v}`);
  return parts.join(' ');
}

/** A UUID string as its 16 bytes (RFC 9562 byte order, as the Connect data's HOSTID carries it). */
export function parseUuid(uuid: string): Uint8Array {
  try {
    return parseUuidBytes(uuid);
  } catch {
    throw new TransportIdError(`'${uuid}' is not a UUID`, uuid);
  }
}

/** 16 bytes as a lower-case UUID string. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
