// Loads the compiled addon (build/Release/nvmu_native.node, built on install by node-gyp) and
// types what it exports. Internal: the public API is in the modules beside this one.
import { createRequire } from 'node:module';
import { NativeError } from './native-error.js';

/** The uv_poll_t wrapper of native/poll.cc. */
export interface PollBinding {
  start(events: number): void;
  stop(): void;
  close(): void;
  ref(): void;
  unref(): void;
}

/** Exactly what native/*.cc registers on the module's exports. */
export interface Binding {
  setup(errorClass: typeof NativeError): void;
  pageSize: number;
  memfdCreate(name: string, allowSealing: boolean | undefined): number;
  ftruncate(fd: number, length: number): void;
  fdSize(fd: number): number;
  closeFd(fd: number): void;
  dupFd(fd: number): number;
  mmap(fd: number, offset: number, length: number, writable: boolean | undefined): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  eventfdCreate(initval: number | undefined, semaphore: boolean | undefined): number;
  eventfdRead(fd: number): bigint;
  eventfdWrite(fd: number, value: bigint | undefined): void;
  unixListen(path: string, backlog: number | undefined): number;
  unixConnect(path: string): number;
  accept(listenFd: number): number;
  socketpair(): [number, number];
  sendmsg(fd: number, chunks: readonly Uint8Array[], fds: readonly number[] | Int32Array | undefined): number;
  recvmsg(fd: number, buf: Uint8Array, offset: number, length: number, fdsOut: Int32Array): number;
  recvInto(fd: number, buf: Uint8Array, offset: number, length: number): number;
  mallocTrim(pad: number | undefined): boolean;
  mallocTrimSupported: boolean;
  Poll: new (fd: number, callback: (events: number, error?: NativeError) => void) => PollBinding;
}

// src/binding.ts and dist/binding.js both sit one folder below the package root.
const require = createRequire(import.meta.url);

function load(): Binding {
  try {
    return require('../build/Release/nvmu_native.node') as Binding;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `@nvmu/native: the addon is not built (${why}). It is built on install; run \`node scripts/build-addon.mjs\` in the package folder.`,
      { cause: e },
    );
  }
}

export const binding: Binding = load();
binding.setup(NativeError);
