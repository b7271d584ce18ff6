// Plain descriptor calls: memfd_create, ftruncate, fstat, close, dup.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common.h"

namespace nvmu {

// memfd_create(2) names show up in /proc/<pid>/maps as "/memfd:<name>"; the kernel allows
// 249 bytes (NAME_MAX less the "memfd:" prefix).
static constexpr size_t kMemfdNameMax = 249;

static Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char name[kMemfdNameMax + 1];
  bool allowSealing;
  if (!ArgString(info, 0, "name", name, kMemfdNameMax) || !ArgBool(info, 1, "allowSealing", false, &allowSealing))
    return env.Undefined();
  unsigned flags = MFD_CLOEXEC | (allowSealing ? MFD_ALLOW_SEALING : 0u);
  int fd = memfd_create(name, flags);
  if (fd < 0) {
    ThrowErrno(env, "memfd_create", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value Ftruncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  int64_t length;
  if (!ArgInt32(info, 0, "fd", &fd) || !ArgSize(info, 1, "length", &length)) return env.Undefined();
  int r;
  do r = ftruncate(fd, static_cast<off_t>(length));
  while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, "ftruncate", errno);
  return env.Undefined();
}

static Napi::Value FdSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt32(info, 0, "fd", &fd)) return env.Undefined();
  struct stat st;
  if (fstat(fd, &st) < 0) {
    ThrowErrno(env, "fstat", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(st.st_size));
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt32(info, 0, "fd", &fd)) return env.Undefined();
  // On Linux the descriptor is released even when close() reports EINTR: never retry (a retry
  // could close a descriptor another thread has just been given), and do not report it.
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(env, "close", errno);
  return env.Undefined();
}

static Napi::Value DupFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt32(info, 0, "fd", &fd)) return env.Undefined();
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (r < 0) {
    ThrowErrno(env, "fcntl", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, r);
}

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("ftruncate", Napi::Function::New(env, Ftruncate, "ftruncate"));
  exports.Set("fdSize", Napi::Function::New(env, FdSize, "fdSize"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
}

}  // namespace nvmu
