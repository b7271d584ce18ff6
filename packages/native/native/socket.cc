// AF_UNIX stream sockets and descriptor passing (SCM_RIGHTS), as vfio-user carries it: a
// message's descriptors travel as ancillary data with its bytes (vfio-user §Message Format,
// "file descriptors").
//
// sendmsg/recvmsg are the hot path: no heap allocation for up to kStackIov chunks, the
// control buffer on the stack, the typed arrays' memory used in place.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common.h"

namespace nvmu {

// Linux's limit of descriptors in one SCM_RIGHTS message (include/net/scm.h).
static constexpr size_t kScmMaxFd = 253;
static constexpr size_t kStackIov = 64;
static constexpr size_t kSunPathMax = sizeof(sockaddr_un::sun_path) - 1;

// A control buffer big enough for the largest SCM_RIGHTS message, aligned for cmsghdr.
union ControlBuffer {
  char buf[CMSG_SPACE(sizeof(int) * kScmMaxFd)];
  cmsghdr align;
};

static size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;
  }
}

// The bytes of a typed array in place: data already includes the view's byteOffset.
static bool TypedArrayBytes(napi_env env, napi_value v, void** data, size_t* bytes, napi_typedarray_type* type) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  size_t length = 0;
  napi_get_typedarray_info(env, v, type, &length, data, nullptr, nullptr);
  *bytes = length * ElementSize(*type);
  return true;
}

static bool FillSockaddr(const Napi::CallbackInfo& info, sockaddr_un* addr, char* path) {
  if (!ArgString(info, 0, "path", path, kSunPathMax)) return false;
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path, std::strlen(path));
  return true;
}

static Napi::Value UnixListen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un addr;
  char path[kSunPathMax + 1];
  int32_t backlog = 511;  // what Node's net.Server uses
  if (!FillSockaddr(info, &addr, path)) return env.Undefined();
  if (!info[1].IsUndefined() && !ArgInt32(info, 1, "backlog", &backlog)) return env.Undefined();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, "socket", errno);
    return env.Undefined();
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "bind", err, path);
    return env.Undefined();
  }
  if (listen(fd, backlog) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "listen", err, path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value UnixConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  sockaddr_un addr;
  char path[kSunPathMax + 1];
  if (!FillSockaddr(info, &addr, path)) return env.Undefined();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, "socket", errno);
    return env.Undefined();
  }
  int r = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (r < 0 && errno == EINTR) {
    // An interrupted connect goes on in the background: wait for it, then read its result.
    pollfd p{fd, POLLOUT, 0};
    while ((r = poll(&p, 1, -1)) < 0 && errno == EINTR) {
    }
    if (r >= 0) {
      int soerr = 0;
      socklen_t len = sizeof soerr;
      r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
      if (r == 0 && soerr != 0) {
        errno = soerr;
        r = -1;
      }
    }
  }
  if (r < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect", err, path);
    return env.Undefined();
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "fcntl", err);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t listenFd;
  if (!ArgInt32(info, 0, "listenFd", &listenFd)) return env.Undefined();
  for (;;) {
    int fd = accept4(listenFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return Napi::Number::New(env, fd);
    // A connection reset before it was accepted is gone; look for the next one.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "accept4", errno);
    return env.Undefined();
  }
}

static Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    ThrowErrno(env, "socketpair", errno);
    return env.Undefined();
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, sv[0]));
  pair.Set(1u, Napi::Number::New(env, sv[1]));
  return pair;
}

// sendmsg(fd, chunks, fds?) → bytes sent, or -1 when the socket buffer is full (EAGAIN).
static Napi::Value Sendmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt32(info, 0, "fd", &fd)) return env.Undefined();
  napi_value chunks = info[1];
  bool isArray = false;
  napi_is_array(env, chunks, &isArray);
  if (!isArray) {
    Napi::TypeError::New(env, "chunks must be an array of Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t count = 0;
  napi_get_array_length(env, chunks, &count);
  iovec stackIov[kStackIov];
  std::vector<iovec> heapIov;
  iovec* iov = stackIov;
  if (count > kStackIov) {
    heapIov.resize(count);
    iov = heapIov.data();
  }
  size_t total = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value chunk;
    napi_get_element(env, chunks, i, &chunk);
    napi_typedarray_type type;
    if (!TypedArrayBytes(env, chunk, &iov[i].iov_base, &iov[i].iov_len, &type)) {
      Napi::TypeError::New(env, "chunks[" + std::to_string(i) + "] must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    total += iov[i].iov_len;
  }

  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ControlBuffer control;
  napi_value fds = info[2];
  napi_valuetype fdsType;
  napi_typeof(env, fds, &fdsType);
  if (fdsType != napi_undefined && fdsType != napi_null) {
    int list[kScmMaxFd];
    size_t n = 0;
    void* data;
    size_t bytes;
    napi_typedarray_type type;
    napi_is_array(env, fds, &isArray);
    if (isArray) {
      uint32_t len = 0;
      napi_get_array_length(env, fds, &len);
      if (len > kScmMaxFd) {
        ThrowErrno(env, "sendmsg", EINVAL);
        return env.Undefined();
      }
      for (uint32_t i = 0; i < len; i++) {
        napi_value e;
        napi_get_element(env, fds, i, &e);
        if (napi_get_value_int32(env, e, &list[i]) != napi_ok) {
          Napi::TypeError::New(env, "fds[" + std::to_string(i) + "] must be a number").ThrowAsJavaScriptException();
          return env.Undefined();
        }
      }
      n = len;
    } else if (TypedArrayBytes(env, fds, &data, &bytes, &type) && type == napi_int32_array) {
      n = bytes / sizeof(int);
      if (n > kScmMaxFd) {
        ThrowErrno(env, "sendmsg", EINVAL);
        return env.Undefined();
      }
      std::memcpy(list, data, bytes);
    } else {
      Napi::TypeError::New(env, "fds must be an array of numbers or an Int32Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (n > 0 && total == 0) {
      // A stream socket sends nothing for zero bytes, and the descriptors would be dropped.
      Napi::RangeError::New(env, "descriptors need at least one byte to travel with").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (n > 0) {
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * n);
      std::memcpy(CMSG_DATA(c), list, sizeof(int) * n);
    }
  }

  ssize_t r;
  do r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "sendmsg", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

static void CloseAll(const int* fds, size_t n) {
  for (size_t i = 0; i < n; i++) close(fds[i]);
}

// recvmsg(fd, buf, offset, length, fdsOut) → bytes (0 at end of stream), or -1 (EAGAIN).
static Napi::Value Recvmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  char* data;
  size_t length;
  if (!ArgInt32(info, 0, "fd", &fd) || !ArgReadRange(info, 1, &data, &length)) return env.Undefined();
  napi_typedarray_type type;
  void* outData;
  size_t outBytes;
  if (!TypedArrayBytes(env, info[4], &outData, &outBytes, &type) || type != napi_int32_array) {
    Napi::TypeError::New(env, "fdsOut must be an Int32Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int* fdsOut = static_cast<int*>(outData);
  size_t fdsCap = outBytes / sizeof(int);

  iovec iov{data, length};
  ControlBuffer control;
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t r;
  do r = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      for (size_t i = 0; i < fdsCap; i++) fdsOut[i] = -1;  // fdsOut always says what came
      return Napi::Number::New(env, -1);
    }
    ThrowErrno(env, "recvmsg", errno);
    return env.Undefined();
  }

  int received[kScmMaxFd];
  size_t n = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    if (n + k > kScmMaxFd) k = kScmMaxFd - n;  // cannot happen with this buffer; stay in bounds
    std::memcpy(received + n, CMSG_DATA(c), k * sizeof(int));
    n += k;
  }
  if (n > fdsCap || (msg.msg_flags & MSG_CTRUNC) != 0) {
    // More descriptors than the caller takes: none is kept, none leaks.
    CloseAll(received, n);
    ThrowErrno(env, "recvmsg", EMSGSIZE);
    return env.Undefined();
  }
  for (size_t i = 0; i < n; i++) fdsOut[i] = received[i];
  for (size_t i = n; i < fdsCap; i++) fdsOut[i] = -1;
  return Napi::Number::New(env, static_cast<double>(r));
}

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("unixListen", Napi::Function::New(env, UnixListen, "unixListen"));
  exports.Set("unixConnect", Napi::Function::New(env, UnixConnect, "unixConnect"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("socketpair", Napi::Function::New(env, Socketpair, "socketpair"));
  exports.Set("sendmsg", Napi::Function::New(env, Sendmsg, "sendmsg"));
  exports.Set("recvmsg", Napi::Function::New(env, Recvmsg, "recvmsg"));
}

}  // namespace nvmu
