// What nvmu's tests share (a private workspace package, never published).
export { freePort } from './ports.js';
export { pattern } from './pattern.js';
export { startTarget, TEST_NQN } from './target.js';
export type { RunningTarget, StartTargetOptions } from './target.js';
export { MiniCore, MiniQPair, BLOCK } from './fake-core.js';
// The loopback target and the PCIe shim are on their own subpaths (`./loopback`, `./pcie-shim`):
// they load @nvmu/client and @nvmu/transport-loopback, which the transport packages' tests need not.
