// Shared helpers of the addon: argument checks and errno errors.
//
// Errors: every failed system call throws the NativeError class that the TypeScript side hands
// over at load time (setup()), constructed as `new NativeError(syscall, errno, path?)`, so the
// `code` names and messages come from Node's own errno table (util.getSystemErrorMap()).
// C++ exceptions are off (NAPI_DISABLE_CPP_EXCEPTIONS): a function that throws returns
// undefined right after, and JavaScript sees the pending exception.
#pragma once

#include <napi.h>

#include <cstdint>

namespace nvmu {

// Per-environment state (main thread and each worker have their own), kept with
// napi_set_instance_data.
struct PollSet;
struct EnvState {
  Napi::FunctionReference errorClass;
  // The open uv_poll handles of this environment (poll.cc). It lives apart from EnvState
  // because its async cleanup hook, not the environment's instance data, ends it.
  PollSet* polls = nullptr;
};

EnvState* State(Napi::Env env);

// NativeError(syscall, err, path), not thrown.
Napi::Value MakeErrno(Napi::Env env, const char* syscall, int err, const char* path = nullptr);
// Throws NativeError(syscall, err, path) as a pending exception.
void ThrowErrno(Napi::Env env, const char* syscall, int err, const char* path = nullptr);

// Argument checks. Each returns false (with a TypeError or RangeError pending) when the
// argument is not what it must be.
bool ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out);
// A non-negative integer below 2^53 (a file offset or a length).
bool ArgSize(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t* out);
// An optional boolean (undefined → fallback).
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool fallback, bool* out);
// A string (UTF-8) no longer than max bytes (without the NUL); out gets it NUL-terminated.
bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, char* out, size_t max);

// Where a read goes: info[i] a Uint8Array (a Buffer), info[i + 1] an offset and info[i + 2] a
// length, [offset, offset + length) non-empty (a zero-byte read would look like the end of a
// stream) and inside the array. out / outLen get that range's memory.
bool ArgReadRange(const Napi::CallbackInfo& info, size_t i, char** out, size_t* outLen);

// Registration of each concern's functions on the exports object.
void InitFd(Napi::Env env, Napi::Object exports);
void InitMmap(Napi::Env env, Napi::Object exports);
void InitEventfd(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);
void InitRecv(Napi::Env env, Napi::Object exports);
void InitMalloc(Napi::Env env, Napi::Object exports);

}  // namespace nvmu
