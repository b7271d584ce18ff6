import { defineProject } from 'vitest/config';

// SPDK as a peer (spdk/spdk-peer.test.ts): only with NVMU_SPDK_DIR, never in `pnpm test`.
export default defineProject({
  test: {
    include: ['spdk/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
