/**
 * Abort (NVMe Base 2.0 §5.1): SQID CDW10 15:0, CID CDW10 31:16. Best effort: a held
 * Asynchronous Event Request is aborted (it completes with Command Abort Requested and DW0 bit 0
 * of the Abort is 0); any other command is already executing and is not aborted (DW0 bit 0 = 1).
 * The Abort itself always succeeds.
 */
import { ctrlrOf } from '../controller-access.js';
import type { CommandEnv } from '../env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { S } from '../status.js';

export function abort(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const cdw10 = req.sqeView.getUint32(40, true);
  const sqid = cdw10 & 0xffff;
  const cid = cdw10 >>> 16;
  const aborted = sqid === 0 && ctrlrOf(qp).abortAer(cid);
  req.cqeView.setUint32(0, aborted ? 0 : 1, true);
  return S.Success;
}
