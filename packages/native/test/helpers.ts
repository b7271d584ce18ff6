import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';

/**
 * The descriptors this process has open, from /proc/self/fd, each with what it points at
 * (`socket:[…]`, `anon_inode:[eventfd]`, `/memfd:name (deleted)`). The listing's own directory
 * descriptor is closed by the time its link is read, so it drops out.
 */
export function openFds(): Map<number, string> {
  const fds = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      fds.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // closed in between (the listing's own descriptor)
    }
  }
  return fds;
}

/** The kinds of descriptor this package makes: sockets, eventfds, memfds. */
const ours = /^(socket:|anon_inode:\[eventfd\]|\/memfd:)/;

/**
 * Fails the enclosing describe() when it leaves open a socket, eventfd or memfd that was not
 * open before it. Call at the top of a describe() block.
 */
export function checkNoFdLeak(): void {
  let before: Map<number, string>;
  beforeAll(() => {
    before = openFds();
  });
  afterAll(() => {
    const leaked = [...openFds()]
      .filter(([fd, target]) => ours.test(target) && before.get(fd) !== target)
      .map(([fd, target]) => `${fd} → ${target}`);
    expect(leaked, 'descriptors left open').toEqual([]);
  });
}

/** Resolves after the event loop's next check phase (pending I/O callbacks have run). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
