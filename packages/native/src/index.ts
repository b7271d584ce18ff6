export { NativeError } from './native-error.js';
export { memfdCreate, ftruncate, fdSize, closeFd, dupFd, type MemfdOptions } from './fd.js';
export { mmap, munmap, PAGE_SIZE, type MmapOptions } from './mmap.js';
export { eventfdCreate, eventfdRead, eventfdWrite, type EventfdOptions } from './eventfd.js';
export { unixListen, unixConnect, accept, socketpair, sendmsg, recvmsg, MAX_FDS_PER_MESSAGE } from './socket.js';
export { FdWatcher, READABLE, WRITABLE } from './fd-watcher.js';
export { recvInto, socketFd, RECV_EMPTY } from './recv.js';
export { mallocTrim, MALLOC_TRIM_SUPPORTED } from './malloc.js';
