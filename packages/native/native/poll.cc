// Fd readiness without a thread per descriptor: one libuv uv_poll_t per watched fd, on the
// loop Node runs (napi_get_uv_event_loop). libuv's ABI is stable within a major version, and
// every Node that has Node-API 8 ships libuv 1.x, so this stays beside Node-API.
//
// Lifetime: Poll (the JavaScript object) owns a PollHandle (the uv_poll_t, heap-allocated
// because libuv frees it only in its close callback). While started, Poll holds a strong
// reference to itself, as Node's own handles do, so a started watcher is never collected.
// close() calls uv_close at once (no callback after it); the PollHandle is freed in the close
// callback. When the environment ends (process exit, worker exit) an async cleanup hook closes
// every handle still open, so libuv's loop closes clean.
#include <uv.h>

#include <unordered_set>

#include "common.h"

namespace nvmu {

class Poll;
struct PollHandle;

struct PollSet {
  std::unordered_set<PollHandle*> open;
  napi_async_cleanup_hook_handle hook = nullptr;
  bool ending = false;
};

struct PollHandle {
  uv_poll_t poll;
  Poll* owner;  // null once closed
  PollSet* set;
  bool closing;
};

static void OnClosed(uv_handle_t* h) {
  PollHandle* handle = reinterpret_cast<PollHandle*>(h);
  PollSet* set = handle->set;
  set->open.erase(handle);
  delete handle;
  if (set->ending && set->open.empty()) {
    napi_remove_async_cleanup_hook(set->hook);
    delete set;
  }
}

static void ForgetHandle(Poll* owner);

static void CloseHandle(PollHandle* handle) {
  if (handle->closing) return;
  handle->closing = true;
  if (handle->owner != nullptr) ForgetHandle(handle->owner);
  handle->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll), OnClosed);
}

static void OnEnvEnding(napi_async_cleanup_hook_handle hook, void* arg) {
  PollSet* set = static_cast<PollSet*>(arg);
  set->ending = true;
  if (set->open.empty()) {
    napi_remove_async_cleanup_hook(hook);
    delete set;
    return;
  }
  // Copy: CloseHandle does not erase (OnClosed does), but stay safe against changes.
  std::unordered_set<PollHandle*> open = set->open;
  for (PollHandle* handle : open) CloseHandle(handle);
}

static PollSet* Polls(Napi::Env env) {
  EnvState* state = State(env);
  if (state->polls == nullptr) {
    state->polls = new PollSet();
    napi_add_async_cleanup_hook(env, OnEnvEnding, state->polls, &state->polls->hook);
  }
  return state->polls;
}

class Poll : public Napi::ObjectWrap<Poll> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Poll",
                       {
                           InstanceMethod<&Poll::Start>("start"),
                           InstanceMethod<&Poll::Stop>("stop"),
                           InstanceMethod<&Poll::Close>("close"),
                           InstanceMethod<&Poll::RefHandle>("ref"),
                           InstanceMethod<&Poll::UnrefHandle>("unref"),
                       });
  }

  // new Poll(fd, callback)
  explicit Poll(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poll>(info) {
    Napi::Env env = info.Env();
    int32_t fd;
    if (!ArgInt32(info, 0, "fd", &fd)) return;
    if (!info[1].IsFunction()) {
      Napi::TypeError::New(env, "callback must be a function").ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "no libuv loop for this environment").ThrowAsJavaScriptException();
      return;
    }
    PollSet* set = Polls(env);
    if (set->ending) {
      Napi::Error::New(env, "the environment is ending").ThrowAsJavaScriptException();
      return;
    }
    PollHandle* handle = new PollHandle{{}, this, set, false};
    int r = uv_poll_init(loop, &handle->poll, fd);
    if (r < 0) {
      delete handle;  // uv_poll_init failed: the handle is not on the loop
      ThrowErrno(env, "uv_poll_init", -r);
      return;
    }
    handle->poll.data = handle;
    set->open.insert(handle);
    handle_ = handle;
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    napi_async_init(env, info.This(), Napi::String::New(env, "nvmu.FdWatcher"), &asyncContext_);
  }

  ~Poll() override {
    if (handle_ != nullptr) CloseHandle(handle_);  // collected while not started, never closed
    if (asyncContext_ != nullptr) napi_async_destroy(Env(), asyncContext_);
  }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int32_t events;
    if (!ArgInt32(info, 0, "events", &events)) return env.Undefined();
    if (events < 1 || events > 3) {
      Napi::RangeError::New(env, "events must be READABLE (1), WRITABLE (2) or both (3)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!LiveOrThrow(env)) return env.Undefined();
    // Our READABLE/WRITABLE are libuv's UV_READABLE (1) and UV_WRITABLE (2).
    int r = uv_poll_start(&handle_->poll, events, OnPoll);
    if (r < 0) {
      ThrowErrno(env, "uv_poll_start", -r);
      return env.Undefined();
    }
    Pin();
    return env.Undefined();
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_poll_stop(&handle_->poll);
    Unpin();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) CloseHandle(handle_);  // sets handle_ to null
    Unpin();
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    return info.Env().Undefined();
  }

  friend void ForgetHandle(Poll* owner);

  bool LiveOrThrow(Napi::Env env) {
    if (handle_ != nullptr) return true;
    Napi::Error::New(env, "FdWatcher is closed").ThrowAsJavaScriptException();
    return false;
  }

  void Pin() {
    if (!pinned_) {
      Ref();
      pinned_ = true;
    }
  }

  void Unpin() {
    if (pinned_) {
      Unref();
      pinned_ = false;
    }
  }

  static void OnPoll(uv_poll_t* p, int status, int events) {
    PollHandle* handle = static_cast<PollHandle*>(p->data);
    Poll* self = handle->owner;
    if (self == nullptr) return;  // closed: no callback after close()
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    napi_value argv[2];
    size_t argc = 1;
    if (status < 0) {
      argv[0] = Napi::Number::New(env, 0);
      argv[1] = MakeErrno(env, "uv_poll", -status);
      argc = 2;
    } else {
      argv[0] = Napi::Number::New(env, events & (UV_READABLE | UV_WRITABLE));
    }
    napi_value result;
    // napi_make_callback, not napi_call_function: runs the microtask and nextTick queues after
    // the callback, as for any callback Node itself makes from the loop.
    napi_value recv = env.Global();  // napi_make_callback needs an object receiver
    napi_make_callback(env, self->asyncContext_, recv, self->callback_.Value(), argc, argv, &result);
    if (env.IsExceptionPending()) {
      Napi::Error error = env.GetAndClearPendingException();
      napi_fatal_exception(env, error.Value());  // 'uncaughtException', as for a throwing socket handler
    }
  }

  PollHandle* handle_ = nullptr;
  Napi::FunctionReference callback_;
  napi_async_context asyncContext_ = nullptr;
  bool pinned_ = false;
};

// The environment is ending and closed the handle (OnEnvEnding), or close() did.
void ForgetHandle(Poll* owner) { owner->handle_ = nullptr; }

void InitPoll(Napi::Env env, Napi::Object exports) { exports.Set("Poll", Poll::Define(env)); }

}  // namespace nvmu
