import { CapabilityDefaults } from './constants.js';
import { VfioUserProtocolError } from './errors.js';
import type { VersionCapabilities, VersionData } from './types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(field: string, detail: string): VfioUserProtocolError {
  return new VfioUserProtocolError('BAD_VERSION_DATA', field, detail, 'EINVAL');
}

function checkCount(caps: Record<string, unknown>, key: string, path: string): void {
  const value = caps[key];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw bad(`${path}.${key}`, `${key} must be a non-negative integer`);
  }
}

function checkBoolean(caps: Record<string, unknown>, key: string, path: string): void {
  const value = caps[key];
  if (value !== undefined && typeof value !== 'boolean') {
    throw bad(`${path}.${key}`, `${key} must be a boolean`);
  }
}

/** Checks the documented capability keys' types (vfio-user §VFIO_USER_VERSION); others pass through. */
function checkVersionData(data: Record<string, unknown>): void {
  const caps = data.capabilities;
  if (caps === undefined) return;
  if (!isPlainObject(caps)) throw bad('capabilities', 'capabilities must be an object');
  for (const key of ['max_msg_fds', 'max_data_xfer_size', 'pgsizes', 'max_dma_maps']) {
    checkCount(caps, key, 'capabilities');
  }
  checkBoolean(caps, 'write_multiple', 'capabilities');
  const migration = caps.migration;
  if (migration !== undefined) {
    if (!isPlainObject(migration)) throw bad('capabilities.migration', 'migration must be an object');
    checkCount(migration, 'pgsize', 'capabilities.migration');
    checkCount(migration, 'max_bitmap_size', 'capabilities.migration');
  }
  const twin = caps.twin_socket;
  if (twin !== undefined) {
    if (!isPlainObject(twin)) throw bad('capabilities.twin_socket', 'twin_socket must be an object');
    checkBoolean(twin, 'supported', 'capabilities.twin_socket');
    checkCount(twin, 'fd_index', 'capabilities.twin_socket');
  }
}

/**
 * Parses the version data (bytes after major/minor, including the terminating NUL). Returns
 * null for an empty string. Throws VfioUserProtocolError for a missing NUL, invalid UTF-8,
 * invalid JSON, a non-object, or documented keys of the wrong type.
 */
export function parseVersionData(bytes: Uint8Array): VersionData | null {
  if (bytes.length === 0) return null;
  if (bytes[bytes.length - 1] !== 0) {
    throw bad('version data', 'the JSON string does not end with a NUL');
  }
  let text: string;
  try {
    text = utf8.decode(bytes.subarray(0, bytes.length - 1));
  } catch {
    throw bad('version data', 'the JSON string is not valid UTF-8');
  }
  if (text.length === 0) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('version data', 'the version data is not valid JSON');
  }
  if (!isPlainObject(parsed)) throw bad('version data', 'the version data must be a JSON object');
  checkVersionData(parsed);
  return parsed;
}

/** The version data as UTF-8 JSON followed by a NUL, or an empty array for null. */
export function serializeVersionData(data: VersionData | null): Uint8Array {
  if (data === null) return new Uint8Array(0);
  const json = utf8Encoder.encode(JSON.stringify(data));
  const out = new Uint8Array(json.length + 1);
  out.set(json, 0);
  return out;
}

/** Limits that follow from a peer's capabilities, with the spec's defaults for missing keys. */
export interface NegotiatedLimits {
  /** Most fds the peer accepts in one message (default 1). */
  maxMsgFds: number;
  /** Largest count of a data transfer message to the peer (default 1 MiB). */
  maxDataXferSize: number;
  /** Most DMA mappings at once (default 65535). */
  maxDmaMaps: number;
  /** Page sizes supported for DMA maps, or'ed together (default 4096). */
  pgsizes: number;
  /** Whether the peer takes REGION_WRITE_MULTI (default false). */
  writeMultiple: boolean;
  /** Whether the peer supports twin-socket mode. */
  twinSocket: boolean;
  /** Dirty-bitmap page size of the migration capability, when given. */
  migrationPgsize: number | undefined;
}

/** Applies the spec's defaults (vfio-user §VFIO_USER_VERSION capability table) to a peer's capabilities. */
export function negotiatedLimits(caps: VersionCapabilities | undefined): NegotiatedLimits {
  return {
    maxMsgFds: caps?.max_msg_fds ?? CapabilityDefaults.maxMsgFds,
    maxDataXferSize: caps?.max_data_xfer_size ?? CapabilityDefaults.maxDataXferSize,
    maxDmaMaps: caps?.max_dma_maps ?? CapabilityDefaults.maxDmaMaps,
    pgsizes: caps?.pgsizes ?? CapabilityDefaults.pgsizes,
    writeMultiple: caps?.write_multiple ?? false,
    twinSocket: caps?.twin_socket?.supported ?? false,
    migrationPgsize: caps?.migration?.pgsize,
  };
}
