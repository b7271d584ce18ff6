import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    include: ['test/**/*.test.ts'],
    // Guests boot in 5–20 s under TCG; a slow shared CI machine gets room.
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // One guest at a time: each takes both cores under TCG.
    fileParallelism: false,
  },
});
