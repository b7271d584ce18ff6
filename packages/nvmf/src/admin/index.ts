/**
 * Admin command dispatch (NVMe Base 2.0 §5; Figure 138). Before CC.EN = 1 / CSTS.RDY = 1 only
 * fabrics commands run (Command Sequence Error otherwise). A discovery controller accepts only
 * Identify, Get Log Page, Set/Get Features, Asynchronous Event Request and Keep Alive.
 * Namespace Management and Attachment (and every other unsupported opcode) answer Invalid Opcode.
 */
import { AdminOpcode } from '@nvmu/nvme-spec';
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { CommandStatus } from '../status.js';
import { abort } from './abort.js';
import { asyncEventRequest } from './async-event.js';
import { getFeatures, setFeatures } from './features.js';
import { getLogPage } from './get-log-page.js';
import { identify } from './identify.js';
import { keepAlive } from './keep-alive.js';

export function adminCommand(env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  const ctrlr = requireController(qp);
  // Any admin command shows the host is alive (traffic-based keep alive, lenient).
  ctrlr.touchKeepAlive();
  const opcode = req.opcode;
  if ((req.sqeBytes[1] ?? 0) & 0x3) return CommandStatus.InvalidField; // FUSE: fused operations not supported
  if (!ctrlr.ready) return CommandStatus.CommandSequenceError;
  switch (opcode) {
    case AdminOpcode.Identify:
      return identify(env, qp, req);
    case AdminOpcode.GetLogPage:
      return getLogPage(env, qp, req);
    case AdminOpcode.SetFeatures:
      return setFeatures(env, qp, req);
    case AdminOpcode.GetFeatures:
      return getFeatures(env, qp, req);
    case AdminOpcode.AsyncEventRequest:
      return asyncEventRequest(env, qp, req);
    case AdminOpcode.KeepAlive:
      return keepAlive(env, qp, req);
    case AdminOpcode.Abort:
      return ctrlr.isDiscovery ? CommandStatus.InvalidOpcode : abort(env, qp, req);
    default:
      return CommandStatus.InvalidOpcode;
  }
}
