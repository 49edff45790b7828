// Errors the addon throws: a JS Error with errno (number), code ("ENOENT"),
// syscall, and a message naming the call and what it was given.
#pragma once

#include <napi.h>

#include <cerrno>
#include <string>

namespace ambit {

struct Failure {
  int err = 0;             // positive errno; 0 = no failure
  std::string syscall;     // e.g. "bpf_link_create"
  std::string what;        // e.g. "attach sk_lookup to netns /var/run/netns/x"

  bool failed() const { return err != 0; }
  void set(int e, std::string call, std::string description) {
    err = e < 0 ? -e : e;
    if (err == 0) err = EIO;
    syscall = std::move(call);
    what = std::move(description);
  }
};

Napi::Error MakeErrnoError(Napi::Env env, const Failure& f);
void ThrowErrno(Napi::Env env, int err, const std::string& syscall, const std::string& what);

// An AsyncWorker that settles a Promise; Execute() fills `failure_` instead of throwing.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual Napi::Value Result(Napi::Env env) = 0;
  virtual void Run() = 0;

  void Execute() override {
    Run();
    if (failure_.failed()) SetError(failure_.what);
  }
  void OnOK() override { deferred_.Resolve(Result(Env())); }
  void OnError(const Napi::Error&) override { deferred_.Reject(MakeErrnoError(Env(), failure_).Value()); }

  Failure failure_;

 private:
  Napi::Promise::Deferred deferred_;
};

}  // namespace ambit
