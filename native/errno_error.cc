#include "errno_error.h"

#include <cstring>

namespace ambit {

Napi::Error MakeErrnoError(Napi::Env env, const Failure& f) {
  const char* name = strerrorname_np(f.err);
  std::string code = name != nullptr ? name : "E" + std::to_string(f.err);
  std::string message = f.what + ": " + code + " (" + std::strerror(f.err) + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, f.err));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, f.syscall));
  return error;
}

void ThrowErrno(Napi::Env env, int err, const std::string& syscall, const std::string& what) {
  Failure f;
  f.set(err, syscall, what);
  MakeErrnoError(env, f).ThrowAsJavaScriptException();
}

}  // namespace ambit
