/**
 * NVM I/O command dispatch (NVM Command Set 1.0 Figure 16). While the subsystem is paused, I/O
 * waits in its queue and runs on resume.
 */
import { NvmOpcode } from '@nvmu/nvme-spec';
import { ctrlrOf } from '../controller-access.js';
import type { CommandEnv } from '../env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, S } from '../status.js';
import { datasetManagement } from './dataset-management.js';
import { flush } from './flush.js';
import { compare, read, write } from './read-write.js';
import { writeZeroes } from './write-zeroes.js';

export function ioCommand(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = ctrlrOf(qp);
  const sub = ctrlr.subsystem;
  if (sub.state === 'paused') {
    sub.queueWhilePaused(req);
    return PENDING;
  }
  if ((req.sqeBytes[1] ?? 0) & 0x3) return S.InvalidField; // FUSE: fused operations not supported
  switch (req.opcode) {
    case NvmOpcode.Read:
      return read(env, qp, req);
    case NvmOpcode.Write:
      return write(env, qp, req);
    case NvmOpcode.Flush:
      return flush(env, qp, req);
    case NvmOpcode.WriteZeroes:
      return writeZeroes(env, qp, req);
    case NvmOpcode.DatasetManagement:
      return datasetManagement(env, qp, req);
    case NvmOpcode.Compare:
      return compare(env, qp, req);
    default:
      return S.InvalidOpcode;
  }
}
