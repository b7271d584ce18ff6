import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    include: ['test/**/*.test.ts'],
    // The tiny end-to-end bench starts several processes on a busy 2-core machine.
    testTimeout: 120000,
  },
});
