/**
 * The host's identity for Connect (NVMe-oF 1.1 §3.3: HOSTNQN and HOSTID in the Connect data).
 * Stable across runs, like nvme-cli's /etc/nvme/hostnqn and /etc/nvme/hostid:
 * 1. /etc/nvme/hostnqn and /etc/nvme/hostid when present (what the kernel initiator uses),
 * 2. else a UUID derived from /etc/machine-id (hashed: machine-id is confidential, see
 *    machine-id(5), and must not leave the machine as is),
 * 3. else a random UUID kept in `$XDG_CONFIG_HOME/nvmu/hostid` (or ~/.config/nvmu/hostid).
 * The NQN is the UUID form `nqn.2014-08.org.nvmexpress:uuid:<uuid>` (NVMe Base 2.0 §4.5).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatUuid, parseUuid } from './trid.js';

/** The host NQN and host ID the client uses when the caller gives none. */
export interface HostIdentity {
  /** Host NQN, e.g. `nqn.2014-08.org.nvmexpress:uuid:4f1c...`. */
  readonly hostnqn: string;
  /** Host ID as a UUID string. */
  readonly hostid: string;
}

/** Prefix of UUID-based NQNs (NVMe Base 2.0 §4.5). */
export const UUID_NQN_PREFIX = 'nqn.2014-08.org.nvmexpress:uuid:';

/** Where the identity is looked for; overridable for tests. */
export interface HostIdentitySources {
  readonly nvmeDir?: string;
  readonly machineIdFile?: string;
  readonly configFile?: string;
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    const s = (await readFile(file, 'utf8')).trim();
    return s === '' ? undefined : s;
  } catch {
    return undefined;
  }
}

function isUuid(s: string): boolean {
  try {
    parseUuid(s);
    return true;
  } catch {
    return false;
  }
}

/** A version 8 (RFC 9562 "custom") UUID from a hash of the machine id. */
export function uuidFromMachineId(machineId: string): string {
  const h = createHash('sha256').update('nvmu host id\0').update(machineId).digest();
  const b = Uint8Array.from(h.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x80; // version 8
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // variant 10xx
  return formatUuid(b);
}

function defaultConfigFile(): string {
  const base = process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config');
  return join(base, 'nvmu', 'hostid');
}

let cached: Promise<HostIdentity> | undefined;

/** Computes the identity from `sources` (no caching). */
export async function loadHostIdentity(sources: HostIdentitySources = {}): Promise<HostIdentity> {
  const nvmeDir = sources.nvmeDir ?? '/etc/nvme';
  const fileNqn = await readTrimmed(join(nvmeDir, 'hostnqn'));
  const fileId = await readTrimmed(join(nvmeDir, 'hostid'));
  let hostid: string | undefined = fileId !== undefined && isUuid(fileId) ? fileId.toLowerCase() : undefined;
  if (hostid === undefined && fileNqn?.startsWith(UUID_NQN_PREFIX) === true) {
    const u = fileNqn.slice(UUID_NQN_PREFIX.length);
    if (isUuid(u)) hostid = u.toLowerCase();
  }
  if (hostid === undefined) {
    const machineId = await readTrimmed(sources.machineIdFile ?? '/etc/machine-id');
    if (machineId !== undefined) hostid = uuidFromMachineId(machineId);
  }
  if (hostid === undefined) {
    const file = sources.configFile ?? defaultConfigFile();
    const stored = await readTrimmed(file);
    if (stored !== undefined && isUuid(stored)) hostid = stored.toLowerCase();
    else {
      hostid = randomUUID();
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, `${hostid}\n`, { mode: 0o644 });
      } catch {
        // Read-only home: the identity is then stable for this process only.
      }
    }
  }
  return { hostnqn: fileNqn ?? `${UUID_NQN_PREFIX}${hostid}`, hostid };
}

/** The process-wide default identity (computed once). */
export function defaultHostIdentity(): Promise<HostIdentity> {
  cached ??= loadHostIdentity();
  return cached;
}
