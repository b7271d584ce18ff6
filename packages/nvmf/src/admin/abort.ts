/**
 * Abort (NVMe Base 2.0 §5.1): SQID CDW10 15:0, CID CDW10 31:16. Best effort: a held
 * Asynchronous Event Request, or an I/O command waiting in a paused subsystem's queue, is aborted
 * (it completes with Command Abort Requested and DW0 bit 0 of the Abort is 0); a command already
 * executing is not aborted (DW0 bit 0 = 1). The Abort itself always succeeds.
 */
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';

export function abort(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const cdw10 = req.sqe.cdw10;
  const sqid = cdw10 & 0xffff;
  const cid = cdw10 >>> 16;
  const ctrlr = requireController(qp);
  let aborted = false;
  if (sqid === 0) aborted = ctrlr.abortAer(cid);
  else {
    const target = ctrlr.qpairs[sqid];
    const victim = target?.pool.find((r) => r.state === 'executing' && r.cid === cid);
    if (victim !== undefined && target !== undefined && ctrlr.subsystem.unqueue(victim)) {
      target.complete(victim, CommandStatus.AbortedByRequest);
      aborted = true;
    }
  }
  req.cqe.dw0 = aborted ? 0 : 1;
  return CommandStatus.Success;
}
