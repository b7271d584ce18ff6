/**
 * NVMe Qualified Names (NVMe Base 2.0 §4.5): `nqn.yyyy-mm.<reverse domain>[:<string>]` or the
 * UUID form `nqn.2014-08.org.nvmexpress:uuid:<uuid>`, at most 223 bytes of UTF-8.
 */

/** The well-known discovery subsystem NQN (NVMe-oF 1.1 §5). */
export const DISCOVERY_NQN = 'nqn.2014-08.org.nvmexpress.discovery';

/** Maximum NQN length in bytes (NVMe Base 2.0 §4.5). */
export const NQN_MAX_BYTES = 223;

const UUID_PREFIX = 'nqn.2014-08.org.nvmexpress:uuid:';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_RE = /^nqn\.(\d{4})-(\d{2})\./;
// A domain label: starts with a letter, letters/digits/hyphens, does not end with a hyphen.
const LABEL_RE = /^[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Why an NQN is invalid, or undefined when it is valid. */
export function nqnProblem(nqn: string): string | undefined {
  const bytes = Buffer.byteLength(nqn, 'utf8');
  if (bytes > NQN_MAX_BYTES) return `longer than ${NQN_MAX_BYTES} bytes (${bytes})`;
  if (nqn.startsWith(UUID_PREFIX)) {
    return UUID_RE.test(nqn.slice(UUID_PREFIX.length)) ? undefined : 'the UUID form needs a UUID after "uuid:"';
  }
  const m = DATE_RE.exec(nqn);
  if (m === null) return 'must start with "nqn.yyyy-mm."';
  const month = Number(m[2]);
  if (month < 1 || month > 12) return `invalid month ${m[2] ?? ''}`;
  const rest = nqn.slice(m[0].length);
  const colon = rest.indexOf(':');
  const domain = colon < 0 ? rest : rest.slice(0, colon);
  if (domain.length === 0) return 'missing reverse domain name';
  for (const label of domain.split('.')) {
    if (!LABEL_RE.test(label)) return `invalid domain label "${label}"`;
  }
  if (colon >= 0 && colon === rest.length - 1) return 'empty string after ":"';
  return undefined;
}

/** True when `nqn` is a valid NQN. */
export function isValidNqn(nqn: string): boolean {
  return nqnProblem(nqn) === undefined;
}

/** Thrown by APIs given an invalid NQN. */
export class InvalidNqnError extends TypeError {
  override readonly name = 'InvalidNqnError';
  readonly code = 'ERR_NVMF_INVALID_NQN';
  constructor(
    readonly nqn: string,
    readonly problem: string,
  ) {
    super(`invalid NQN "${nqn}": ${problem}`);
  }
}

/** Throw `InvalidNqnError` unless `nqn` is valid. */
export function assertNqn(nqn: string): void {
  const p = nqnProblem(nqn);
  if (p !== undefined) throw new InvalidNqnError(nqn, p);
}
