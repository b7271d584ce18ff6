/**
 * Fabrics command dispatch (opcode 7Fh, FCTYPE in SQE byte 4; NVMe-oF 1.1 §6). Before a
 * successful Connect only Connect is accepted (Command Sequence Error otherwise).
 */
import { FabricsCommandType } from '@nvmu/nvme-spec';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';
import { connect } from './connect.js';
import { disconnect } from './disconnect.js';
import { propertyGet, propertySet } from './property.js';

export function fabricsCommand(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const fctype = req.sqeBytes[4] ?? 0;
  if (fctype === FabricsCommandType.Connect) return connect(env, qp, req);
  if (qp.state !== 'active') return CommandStatus.CommandSequenceError;
  switch (fctype) {
    case FabricsCommandType.PropertyGet:
      return qp.qid === 0 ? propertyGet(env, qp, req) : CommandStatus.InvalidOpcode;
    case FabricsCommandType.PropertySet:
      return qp.qid === 0 ? propertySet(env, qp, req) : CommandStatus.InvalidOpcode;
    case FabricsCommandType.Disconnect:
      return disconnect(env, qp, req);
    default:
      // Authentication Send/Receive: this target never asks for in-band authentication (AUTHREQ 0).
      return CommandStatus.InvalidOpcode;
  }
}
