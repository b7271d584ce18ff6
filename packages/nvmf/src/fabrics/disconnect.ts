/**
 * Fabrics Disconnect (NVMe-oF 1.1 §3.6; NVMe Base 2.0 §6.4): deletes an I/O queue. The command
 * completes first, then the transport is asked to close the queue. Not allowed on the admin
 * queue (the host deletes the association by closing it).
 */
import { CONNECT_RECFMT, DisconnectCommandView } from '@nvmu/nvme-spec';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';

export function disconnect(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  if (new DisconnectCommandView(req.sqeBytes).recfmt !== CONNECT_RECFMT) return CommandStatus.ConnectIncompatibleFormat; // RECFMT
  // The admin queue goes away with the association (the host closes it): Invalid Queue Type.
  if (qp.qid === 0) return CommandStatus.InvalidQueueType;
  qp.complete(req, CommandStatus.Success);
  qp.close('disconnect');
  return PENDING;
}
