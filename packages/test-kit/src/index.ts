// What nvmu's tests share (a private workspace package, never published).
export { freePort } from './ports.js';
export { pattern } from './pattern.js';
export { startTarget, TEST_NQN } from './target.js';
export type { RunningTarget, StartTargetOptions } from './target.js';
export { MiniCore, MiniQPair, BLOCK } from './fake-core.js';
