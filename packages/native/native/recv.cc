// recvInto: one non-blocking receive into a caller's buffer, for busy-polling a socket that
// libuv also watches (the NVMe/TCP low-latency mode of @nvmu/transport-tcp).
//
// Node has no way to read a net.Socket's descriptor from JavaScript on demand: data comes only
// when the event loop's epoll says the socket is readable. A busy-poll loop instead asks the
// kernel itself, MSG_DONTWAIT, over and over for a bounded time. Doing so behind libuv's back is
// safe because both run on the one JavaScript thread: libuv reads a stream only from the event
// loop (uv__read, whose callback delivers every byte it read to JavaScript before it returns),
// never while JavaScript runs, so the two readers never interleave inside a chunk; bytes read
// here are simply not there for libuv, whose next read() gets EAGAIN (its epoll is level-
// triggered, and a drained socket is not reported again). The caller must feed what it reads
// into the same parser the socket's 'data' path feeds, and must not call this after the socket
// was closed (its descriptor number may then belong to another file).
//
// No allocation: the buffer's memory is used in place, the result is a small integer.
#include <sys/socket.h>

#include <cerrno>

#include "common.h"

namespace nvmu {

// recvInto(fd, buf, offset, length) → bytes (0 at end of stream), or -1 when nothing is there.
static Napi::Value RecvInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  char* data;
  size_t length;
  if (!ArgInt32(info, 0, "fd", &fd) || !ArgReadRange(info, 1, &data, &length)) return env.Undefined();
  ssize_t r;
  do r = recv(fd, data, length, MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "recv", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

void InitRecv(Napi::Env env, Napi::Object exports) {
  exports.Set("recvInto", Napi::Function::New(env, RecvInto, "recvInto"));
}

}  // namespace nvmu
