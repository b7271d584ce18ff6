// Module entry: per-environment state, the error helper, argument checks.
#include "common.h"

#include <cmath>
#include <cstring>

namespace nvmu {

EnvState* State(Napi::Env env) { return env.GetInstanceData<EnvState>(); }

Napi::Value MakeErrno(Napi::Env env, const char* syscall, int err, const char* path) {
  EnvState* state = State(env);
  if (state == nullptr || state->errorClass.IsEmpty()) {
    // setup() not called yet: still an error, without the class.
    Napi::Error e = Napi::Error::New(env, std::string(syscall) + " failed: " + std::strerror(err));
    e.Set("errno", Napi::Number::New(env, err));
    e.Set("syscall", Napi::String::New(env, syscall));
    return e.Value();
  }
  napi_value path_ = path == nullptr ? env.Undefined() : Napi::String::New(env, path);
  return state->errorClass.New({Napi::String::New(env, syscall), Napi::Number::New(env, err), path_});
}

void ThrowErrno(Napi::Env env, const char* syscall, int err, const char* path) {
  Napi::Value error = MakeErrno(env, syscall, err, path);
  if (env.IsExceptionPending()) return;  // the constructor itself threw
  Napi::Error(env, error).ThrowAsJavaScriptException();
}

bool ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out) {
  napi_value v = info[i];
  double d;
  if (napi_get_value_double(info.Env(), v, &d) != napi_ok) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  if (!(d >= INT32_MIN && d <= INT32_MAX) || d != std::trunc(d)) {
    Napi::RangeError::New(info.Env(), std::string(name) + " must be a 32-bit integer").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int32_t>(d);
  return true;
}

bool ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t* out) {
  napi_value v = info[i];
  double d;
  if (napi_get_value_double(info.Env(), v, &d) != napi_ok) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  if (!(d >= 0 && d <= 9007199254740991.0) || d != std::trunc(d)) {
    Napi::RangeError::New(info.Env(), std::string(name) + " must be a non-negative safe integer")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool fallback, bool* out) {
  Napi::Value v = info[i];
  if (v.IsUndefined()) {
    *out = fallback;
    return true;
  }
  if (!v.IsBoolean()) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must be a boolean").ThrowAsJavaScriptException();
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, char* out, size_t max) {
  napi_value v = info[i];
  size_t len = 0;
  if (napi_get_value_string_utf8(info.Env(), v, nullptr, 0, &len) != napi_ok) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  if (len > max) {
    Napi::RangeError::New(info.Env(), std::string(name) + " is too long (" + std::to_string(len) + " bytes, at most " +
                                          std::to_string(max) + ")")
        .ThrowAsJavaScriptException();
    return false;
  }
  napi_get_value_string_utf8(info.Env(), v, out, max + 1, &len);
  if (std::strlen(out) != len) {
    Napi::TypeError::New(info.Env(), std::string(name) + " must not contain NUL").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ArgReadRange(const Napi::CallbackInfo& info, size_t i, char** out, size_t* outLen) {
  Napi::Env env = info.Env();
  bool isTyped = false;
  napi_is_typedarray(env, info[i], &isTyped);
  napi_typedarray_type type = napi_int8_array;
  size_t bytes = 0;
  void* data = nullptr;
  if (isTyped) napi_get_typedarray_info(env, info[i], &type, &bytes, &data, nullptr, nullptr);
  if (!isTyped || type != napi_uint8_array) {
    Napi::TypeError::New(env, "buf must be a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  int64_t offset, length;
  if (!ArgSize(info, i + 1, "offset", &offset) || !ArgSize(info, i + 2, "length", &length)) return false;
  if (length == 0 || static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) > bytes) {
    Napi::RangeError::New(env, "buf[offset, offset + length) must be non-empty and inside buf")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<char*>(data) + offset;
  *outLen = static_cast<size_t>(length);
  return true;
}

// setup(NativeError): the TypeScript side's error class, constructed for every errno failure.
static Napi::Value Setup(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "setup(errorClass): a constructor").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  State(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new EnvState());  // deleted by node-addon-api when the environment ends
  exports.Set("setup", Napi::Function::New(env, Setup, "setup"));
  InitFd(env, exports);
  InitMmap(env, exports);
  InitEventfd(env, exports);
  InitSocket(env, exports);
  InitPoll(env, exports);
  InitRecv(env, exports);
  InitMalloc(env, exports);
  return exports;
}

}  // namespace nvmu

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return nvmu::Init(env, exports); }

NODE_API_MODULE(nvmu_native, InitModule)
