/** The controller a connected qpair belongs to (its `owner`, set by Connect). */
import { Controller } from './controller.js';
import type { CoreQPair } from './qpair.js';

export { Controller };

/** The controller of an active qpair. Only call on qpairs past Connect (dispatch guarantees it). */
export function requireController(qp: CoreQPair): Controller {
  const owner = qp.owner;
  if (!(owner instanceof Controller)) throw new Error('qpair has no controller (not connected)');
  return owner;
}

/** The controller of a qpair, or undefined once it disconnected. */
export function findController(qp: CoreQPair): Controller | undefined {
  const owner = qp.owner;
  return owner instanceof Controller ? owner : undefined;
}
