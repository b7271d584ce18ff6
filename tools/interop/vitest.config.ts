import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    include: ['test/**/*.test.ts'],
    // Guests boot in 8–20 s under TCG; a slow shared CI machine gets room.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
