/**
 * Reconnecting after a failure (Linux's reconnect_delay / ctrl_loss_tmo; SPDK's
 * nvme_ctrlr_reset): bring-up attempts every `delayMs` until one succeeds or
 * `ctrlLossTimeoutMs` passed. The controller owns the states; this owns the policy.
 */
import { NvmeCommandAbortedError } from './errors.js';
import { sleep } from './registers.js';

/** The `reconnect` option, defaults filled. */
export interface ReconnectPolicy {
  readonly delayMs: number;
  readonly ctrlLossTimeoutMs: number;
}

/** How one reconnect attempt is made and undone. */
export interface ReconnectSteps {
  /** False once the controller left 'resetting' (closed meanwhile): stop without a verdict. */
  stillResetting(): boolean;
  /** One bring-up. */
  attempt(): Promise<void>;
  /** Tears down what a failed attempt left. */
  undo(): Promise<void>;
}

/** 'ready' after a bring-up succeeded, 'abandoned' when the controller was closed, else the last error. */
export type ReconnectOutcome = 'ready' | 'abandoned' | Error;

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Runs attempts per `policy`: none when it is false, except that a `manual` reset always makes
 * one attempt; `cause` is the verdict when no attempt is made.
 */
export async function reconnectPerPolicy(policy: ReconnectPolicy | false, manual: boolean, cause: Error | undefined, steps: ReconnectSteps): Promise<ReconnectOutcome> {
  const deadline = Date.now() + (policy === false ? 0 : policy.ctrlLossTimeoutMs);
  const maxAttempts = policy === false ? (manual ? 1 : 0) : Infinity;
  let lastError: Error = cause ?? new NvmeCommandAbortedError('reset', undefined);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (!steps.stillResetting()) return 'abandoned';
    try {
      await steps.attempt();
      return steps.stillResetting() ? 'ready' : 'abandoned';
    } catch (e) {
      lastError = toError(e);
      await steps.undo();
    }
    if (policy === false || Date.now() + policy.delayMs > deadline) break;
    await sleep(policy.delayMs);
  }
  return steps.stillResetting() ? lastError : 'abandoned';
}
