/**
 * NVMe Qualified Names (NVMe Base 2.0 §4.5). The grammar, the length limit and the discovery
 * NQN live in @nvmu/nvme-spec (the one NQN check of every nvmu package); the core adds the
 * error it throws for an invalid one.
 */
import { DISCOVERY_NQN, NQN_MAX_LENGTH, isValidNqn, nqnProblem } from '@nvmu/nvme-spec';

export { DISCOVERY_NQN, isValidNqn, nqnProblem };

/** Maximum NQN length in bytes (NVMe Base 2.0 §4.5); `NQN_MAX_LENGTH` of @nvmu/nvme-spec. */
export const NQN_MAX_BYTES = NQN_MAX_LENGTH;

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
