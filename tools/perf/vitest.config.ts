import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end runs share a 2-core machine with other builds: allow for slow moments.
    testTimeout: 30000,
  },
});
