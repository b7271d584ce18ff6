/**
 * Asynchronous Event Request (NVMe Base 2.0 §5.2): held by the controller until an event it has
 * enabled occurs; more than AERL+1 outstanding fails with Asynchronous Event Request Limit
 * Exceeded.
 */
import { ctrlrOf } from '../controller-access.js';
import type { CommandEnv } from '../env.js';
import type { CoreQPair, CoreRequest } from '../qpair.js';
import { PENDING, S } from '../status.js';

export function asyncEventRequest(_env: CommandEnv, qp: CoreQPair, req: CoreRequest): number {
  return ctrlrOf(qp).addAer(qp, req) ? PENDING : S.AsyncEventRequestLimitExceeded;
}
