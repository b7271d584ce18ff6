// The C allocator: give freed heap memory back to the system (malloc_trim(3), glibc only).
//
// glibc returns memory to the system only from the top of its main heap (brk) and from whole
// mmapped chunks; a free chunk in the middle of the heap stays resident until malloc_trim()
// madvises it away. A server whose connections come and go (each leaving small freed chunks
// between longer-lived ones) calls this after they are gone: nvmu's TCP target does.
#include "common.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace nvmu {

// mallocTrim(pad): true when memory was given back; false when there was none to give, or
// where the C library has no malloc_trim (then it does nothing).
static Napi::Value MallocTrim(const Napi::CallbackInfo& info) {
  int64_t pad = 0;
  if (!info[0].IsUndefined() && !ArgSize(info, 0, "pad", &pad)) return info.Env().Undefined();
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(static_cast<size_t>(pad)) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

// Whether mallocTrim can give anything back here (glibc's allocator).
void InitMalloc(Napi::Env env, Napi::Object exports) {
  exports.Set("mallocTrim", Napi::Function::New(env, MallocTrim, "mallocTrim"));
#if defined(__GLIBC__)
  exports.Set("mallocTrimSupported", Napi::Boolean::New(env, true));
#else
  exports.Set("mallocTrimSupported", Napi::Boolean::New(env, false));
#endif
}

}  // namespace nvmu
