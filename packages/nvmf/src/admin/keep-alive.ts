/** Keep Alive (NVMe Base 2.0 §5.25): restarts the Keep Alive Timer (§3.9). */
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';

export function keepAlive(_env: CommandEnv, qp: CoreQPair, _req: CoreRequest): number {
  requireController(qp).touchKeepAlive();
  return CommandStatus.Success;
}
