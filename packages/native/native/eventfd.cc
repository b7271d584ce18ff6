// eventfd(2): the interrupt and doorbell wake-up primitive of vfio-user (IRQ eventfds).
// Hot path: no allocation besides the BigInt a read returns.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common.h"

namespace nvmu {

static Napi::Value EventfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t initval = 0;
  bool semaphore;
  if (!info[0].IsUndefined() && !ArgSize(info, 0, "initval", &initval)) return env.Undefined();
  if (!ArgBool(info, 1, "semaphore", false, &semaphore)) return env.Undefined();
  if (initval > UINT32_MAX) {
    Napi::RangeError::New(env, "initval must be below 2^32").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = eventfd(static_cast<unsigned>(initval), EFD_NONBLOCK | EFD_CLOEXEC | (semaphore ? EFD_SEMAPHORE : 0));
  if (fd < 0) {
    ThrowErrno(env, "eventfd", errno);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value EventfdRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt32(info, 0, "fd", &fd)) return env.Undefined();
  uint64_t value = 0;
  ssize_t r;
  do r = read(fd, &value, sizeof value);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    if (errno == EAGAIN) value = 0;  // counter is zero: nothing to read
    else {
      ThrowErrno(env, "read", errno);
      return env.Undefined();
    }
  } else if (r != sizeof value) {
    ThrowErrno(env, "read", EINVAL);  // not an eventfd
    return env.Undefined();
  }
  napi_value result;
  napi_create_bigint_uint64(env, value, &result);
  return Napi::Value(env, result);
}

static Napi::Value EventfdWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt32(info, 0, "fd", &fd)) return env.Undefined();
  uint64_t value = 1;
  Napi::Value v = info[1];
  if (v.IsBigInt()) {
    bool lossless = false;
    napi_get_value_bigint_uint64(env, v, &value, &lossless);
    if (!lossless) {
      Napi::RangeError::New(env, "value must fit in 64 bits, unsigned").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  } else if (!v.IsUndefined()) {
    int64_t n;
    if (!ArgSize(info, 1, "value", &n)) return env.Undefined();
    value = static_cast<uint64_t>(n);
  }
  ssize_t r;
  do r = write(fd, &value, sizeof value);
  while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, "write", errno);
  else if (r != sizeof value) ThrowErrno(env, "write", EINVAL);
  return env.Undefined();
}

void InitEventfd(Napi::Env env, Napi::Object exports) {
  exports.Set("eventfdCreate", Napi::Function::New(env, EventfdCreate, "eventfdCreate"));
  exports.Set("eventfdRead", Napi::Function::New(env, EventfdRead, "eventfdRead"));
  exports.Set("eventfdWrite", Napi::Function::New(env, EventfdWrite, "eventfdWrite"));
}

}  // namespace nvmu
