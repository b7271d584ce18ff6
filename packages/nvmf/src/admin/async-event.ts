/**
 * Asynchronous Event Request (NVMe Base 2.0 §5.2): held by the controller until an event it has
 * enabled occurs; more than AERL+1 outstanding fails with Asynchronous Event Request Limit
 * Exceeded.
 */
import { requireController } from '../qpair-controller.js';
import type { CommandEnv } from '../command-env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, CommandStatus } from '../status.js';

export function asyncEventRequest(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  return requireController(qp).addAer(qp, req) ? PENDING : CommandStatus.AsyncEventRequestLimitExceeded;
}
