/**
 * NVMe Qualified Names and UUIDs (NVMe Base 2.0 §4.5): NQNs are UTF-8 strings of at most 223
 * bytes, either `nqn.yyyy-mm.<reverse domain>[:<anything>]` or the UUID form
 * `nqn.2014-08.org.nvmexpress:uuid:<uuid>`. Host IDs, NGUIDs and UUIDs are 16 raw bytes.
 */

/** Longest NQN in bytes (the 256-byte fields leave room for the terminating NUL). */
export const NQN_MAX_LENGTH = 223;
/** Prefix of NQNs built from a UUID. */
export const NQN_UUID_PREFIX = 'nqn.2014-08.org.nvmexpress:uuid:';

const NQN_DATE_FORM = /^nqn\.\d{4}-(0[1-9]|1[0-2])\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:.+)?$/;
const UUID_FORM = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** True for a well-formed NQN (either form) of at most 223 bytes. */
export function isValidNqn(nqn: string): boolean {
  if (Buffer.byteLength(nqn, 'utf8') > NQN_MAX_LENGTH) return false;
  if (nqn.startsWith(NQN_UUID_PREFIX)) return UUID_FORM.test(nqn.slice(NQN_UUID_PREFIX.length));
  return NQN_DATE_FORM.test(nqn);
}

/** Format 16 bytes as a lower-case UUID string (8-4-4-4-12). */
export function formatUuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`a UUID has 16 bytes, got ${bytes.length}`);
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Parse a UUID string into 16 bytes; throws RangeError when malformed. */
export function parseUuid(uuid: string): Uint8Array {
  if (!UUID_FORM.test(uuid)) throw new RangeError(`not a UUID: ${uuid}`);
  return Uint8Array.from(Buffer.from(uuid.replaceAll('-', ''), 'hex'));
}

/** The host NQN for a host UUID, as nvme-cli's `gen-hostnqn` makes it. */
export function hostNqnFromUuid(uuid: string | Uint8Array): string {
  return NQN_UUID_PREFIX + (typeof uuid === 'string' ? formatUuid(parseUuid(uuid)) : formatUuid(uuid));
}

/** The UUID in a UUID-form NQN, or undefined. */
export function uuidFromNqn(nqn: string): string | undefined {
  if (!nqn.startsWith(NQN_UUID_PREFIX)) return undefined;
  const u = nqn.slice(NQN_UUID_PREFIX.length);
  return UUID_FORM.test(u) ? u.toLowerCase() : undefined;
}
