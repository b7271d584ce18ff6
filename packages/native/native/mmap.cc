// mmap(2) of a descriptor into an external ArrayBuffer, and its release.
//
// Each mapping has a Mapping record, the finalize hint of its ArrayBuffer. Two ways end a
// mapping, and exactly one of them calls munmap(2):
//  - munmap(buffer): unmaps now, marks the record unmapped and detaches the ArrayBuffer, so
//    no view can reach the address range afterwards (byteLength 0, views length 0);
//  - the finalizer, when the ArrayBuffer is collected: unmaps unless already unmapped.
// The record is freed by the finalizer only (it runs after detach too), so the finalizer never
// touches freed memory and never unmaps an address range that a later mmap() was given.
// Live mappings are found by address in a registry shared by every thread (a worker maps
// memory itself), hence the mutex.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <unordered_map>

#include "common.h"

namespace nvmu {

namespace {

struct Mapping {
  void* addr;
  size_t length;
  bool unmapped;
};

std::mutex registryMutex;
std::unordered_map<void*, Mapping*> registry;

void FinalizeMapping(napi_env /*env*/, void* /*data*/, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    if (!m->unmapped) {
      auto it = registry.find(m->addr);
      if (it != registry.end() && it->second == m) registry.erase(it);
      munmap(m->addr, m->length);
      m->unmapped = true;
    }
  }
  delete m;
}

}  // namespace

static Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  int64_t offset, length;
  bool writable;
  if (!ArgInt32(info, 0, "fd", &fd) || !ArgSize(info, 1, "offset", &offset) || !ArgSize(info, 2, "length", &length) ||
      !ArgBool(info, 3, "writable", true, &writable))
    return env.Undefined();
  if (length == 0) {
    ThrowErrno(env, "mmap", EINVAL);
    return env.Undefined();
  }
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* addr = mmap(nullptr, static_cast<size_t>(length), prot, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (addr == MAP_FAILED) {
    ThrowErrno(env, "mmap", errno);
    return env.Undefined();
  }
  Mapping* m = new Mapping{addr, static_cast<size_t>(length), false};
  napi_value result;
  napi_status status =
      napi_create_external_arraybuffer(env, addr, static_cast<size_t>(length), FinalizeMapping, m, &result);
  if (status != napi_ok) {
    munmap(addr, static_cast<size_t>(length));
    delete m;
    if (!env.IsExceptionPending())
      Napi::Error::New(env, "napi_create_external_arraybuffer failed (external buffers not allowed?)")
          .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    registry[addr] = m;
  }
  return Napi::Value(env, result);
}

static Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "buffer must be an ArrayBuffer returned by mmap()").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  napi_value ab = info[0];
  bool detached = false;
  napi_is_detached_arraybuffer(env, ab, &detached);
  if (detached) return env.Undefined();  // already unmapped: idempotent
  void* data = nullptr;
  size_t length = 0;
  napi_get_arraybuffer_info(env, ab, &data, &length);
  {
    std::lock_guard<std::mutex> lock(registryMutex);
    auto it = data == nullptr ? registry.end() : registry.find(data);
    if (it == registry.end() || it->second->length != length) {
      Napi::TypeError::New(env, "buffer is not an ArrayBuffer returned by mmap()").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Mapping* m = it->second;
    registry.erase(it);
    munmap(m->addr, m->length);
    m->unmapped = true;
  }
  napi_detach_arraybuffer(env, ab);
  return env.Undefined();
}

void InitMmap(Napi::Env env, Napi::Object exports) {
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(sysconf(_SC_PAGESIZE))));
}

}  // namespace nvmu
