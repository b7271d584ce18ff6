/** Keep Alive (NVMe Base 2.0 §5.25): restarts the Keep Alive Timer (§3.9). */
import { ctrlrOf } from '../controller-access.js';
import type { CommandEnv } from '../env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { S } from '../status.js';

export function keepAlive(_env: CommandEnv, qp: CoreQPair, _req: CoreRequest): number {
  ctrlrOf(qp).touchKeepAlive();
  return S.Success;
}
