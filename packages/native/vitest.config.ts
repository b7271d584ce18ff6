import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file counts /proc/self/fd before and after its groups: files run in their own
    // processes (forks), so another file's sockets never show up in the count.
    pool: 'forks',
  },
});
