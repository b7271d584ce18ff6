/**
 * NVM I/O command dispatch (NVM Command Set 1.0 Figure 16). While the subsystem is paused, I/O
 * waits in its queue and runs on resume.
 */
import { NvmOpcode } from '@nvmu/nvme-spec';
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';
import { datasetManagement } from './dataset-management.js';
import { flush } from './flush.js';
import { compare, read, write } from './read-write.js';
import { writeZeroes } from './write-zeroes.js';

export function ioCommand(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  const sub = ctrlr.subsystem;
  if (sub.state === 'paused') {
    sub.queueWhilePaused(req);
    return PENDING;
  }
  if ((req.sqeBytes[1] ?? 0) & 0x3) return CommandStatus.InvalidField; // FUSE: fused operations not supported
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
      return CommandStatus.InvalidOpcode;
  }
}
