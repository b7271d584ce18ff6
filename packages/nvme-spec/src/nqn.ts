/**
 * NVMe Qualified Names and UUIDs (NVMe Base 2.0 §4.5): NQNs are UTF-8 strings of at most 223
 * bytes, either `nqn.yyyy-mm.<reverse domain>[:<anything>]` or the UUID form
 * `nqn.2014-08.org.nvmexpress:uuid:<uuid>`. Host IDs, NGUIDs and UUIDs are 16 raw bytes.
 */

/** Longest NQN in bytes (the 256-byte fields leave room for the terminating NUL). */
export const NQN_MAX_LENGTH = 223;
/** Prefix of NQNs built from a UUID. */
export const NQN_UUID_PREFIX = 'nqn.2014-08.org.nvmexpress:uuid:';

const UUID_FORM = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DATE_FORM = /^nqn\.(\d{4})-(\d{2})\./;
// A domain label (RFC 1123 host name rules): letters, digits and hyphens, neither first nor
// last a hyphen.
const LABEL_FORM = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/**
 * Why `nqn` is not an NQN as NVMe Base 2.0 §4.5 defines it, or undefined when it is one:
 * at most 223 bytes of UTF-8, and either `nqn.2014-08.org.nvmexpress:uuid:<uuid>` or
 * `nqn.yyyy-mm.<reverse domain name>[:<string>]` (a valid month, at least one domain label,
 * a non-empty string after a colon). The one NQN check of every nvmu package.
 */
export function nqnProblem(nqn: string): string | undefined {
  const bytes = Buffer.byteLength(nqn, 'utf8');
  if (bytes === 0) return 'empty';
  if (bytes > NQN_MAX_LENGTH) return `longer than ${NQN_MAX_LENGTH} bytes (${bytes})`;
  if (nqn.startsWith(NQN_UUID_PREFIX)) {
    return UUID_FORM.test(nqn.slice(NQN_UUID_PREFIX.length)) ? undefined : 'the UUID form needs a UUID after "uuid:"';
  }
  const m = DATE_FORM.exec(nqn);
  if (m === null) return 'must start with "nqn.yyyy-mm."';
  const month = Number(m[2]);
  if (month < 1 || month > 12) return `invalid month ${m[2] ?? ''}`;
  const rest = nqn.slice(m[0].length);
  const colon = rest.indexOf(':');
  const domain = colon < 0 ? rest : rest.slice(0, colon);
  if (domain.length === 0) return 'missing reverse domain name';
  for (const label of domain.split('.')) {
    if (!LABEL_FORM.test(label)) return `invalid domain label "${label}"`;
  }
  if (colon >= 0 && colon === rest.length - 1) return 'empty string after ":"';
  return undefined;
}

/** True for a well-formed NQN (either form) of at most 223 bytes; see `nqnProblem`. */
export function isValidNqn(nqn: string): boolean {
  return nqnProblem(nqn) === undefined;
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
