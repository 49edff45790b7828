// Socket side of the addon: sockets created inside a pod's network namespace
// (a short-lived thread enters the netns with setns for the socket() call
// only, so no other thread ever changes namespace and nothing waits on the
// network there), socket options (mark, transparent, TCP keepalive and
// TCP_USER_TIMEOUT), and cookies.
//
// A connect is not made here: socketInNetns returns an unconnected
// non-blocking socket, and the caller hands it to a net.Socket that connects
// it on the event loop, so the deadline and the wait belong to JS and no
// libuv pool thread is held for the length of a connect attempt.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "addon.h"
#include "errno_error.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace ambit {
namespace {

struct SocketOptions {
  int mark = -1;          // SO_MARK; -1 = leave unset
  bool transparent = false;
  bool reuse_port = false;
  int backlog = 511;
  // TCP keepalive: SO_KEEPALIVE with TCP_KEEPIDLE / TCP_KEEPINTVL (seconds)
  // and TCP_KEEPCNT; keepalive_idle_s 0 = leave keepalive off.
  int keepalive_idle_s = 0;
  int keepalive_interval_s = 0;
  int keepalive_count = 0;
  int user_timeout_ms = 0;  // TCP_USER_TIMEOUT; 0 = leave the kernel default
};

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};

bool ParseEndpoint(const std::string& address, int port, Endpoint* out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->addr);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    out->len = sizeof(sockaddr_in);
    out->family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    out->len = sizeof(sockaddr_in6);
    out->family = AF_INET6;
    return true;
  }
  return false;
}

// Runs fn on a new thread that has entered the network namespace at netns_path.
// fn must be short (a socket() call): the calling thread waits for it.
template <typename Fn>
void InNetns(const std::string& netns_path, Failure* failure, Fn fn) {
  std::thread thread([&]() {
    int ns = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      failure->set(errno, "open", "open netns " + netns_path);
      return;
    }
    if (setns(ns, CLONE_NEWNET) != 0) {
      failure->set(errno, "setns", "enter netns " + netns_path);
      close(ns);
      return;
    }
    close(ns);
    fn();
  });
  thread.join();
}

// A non-blocking TCP socket of `family` created inside the netns, or -1 with failure set.
int SocketInNetns(const std::string& netns_path, int family, const std::string& target, Failure* failure) {
  int fd = -1;
  InNetns(netns_path, failure, [&]() {
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) failure->set(errno, "socket", "create socket for " + target);
  });
  return failure->failed() ? -1 : fd;
}

int ApplyOptions(int fd, int family, const SocketOptions& o, bool listener, std::string* which) {
  int one = 1;
  if (o.mark >= 0) {
    *which = "SO_MARK";
    if (setsockopt(fd, SOL_SOCKET, SO_MARK, &o.mark, sizeof(o.mark)) != 0) return errno;
  }
  if (o.transparent) {
    *which = family == AF_INET6 ? "IPV6_TRANSPARENT" : "IP_TRANSPARENT";
    int rc = family == AF_INET6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
                                : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
    if (rc != 0) return errno;
  }
  if (o.keepalive_idle_s > 0) {
    // On a listener these are inherited by every accepted socket.
    *which = "SO_KEEPALIVE";
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0) return errno;
    *which = "TCP_KEEPIDLE";
    if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o.keepalive_idle_s, sizeof(int)) != 0) return errno;
    *which = "TCP_KEEPINTVL";
    if (o.keepalive_interval_s > 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o.keepalive_interval_s, sizeof(int)) != 0)
      return errno;
    *which = "TCP_KEEPCNT";
    if (o.keepalive_count > 0 && setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o.keepalive_count, sizeof(int)) != 0)
      return errno;
  }
  if (o.user_timeout_ms > 0) {
    *which = "TCP_USER_TIMEOUT";
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &o.user_timeout_ms, sizeof(int)) != 0) return errno;
  }
  if (listener) {
    *which = "SO_REUSEADDR";
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return errno;
    if (o.reuse_port) {
      *which = "SO_REUSEPORT";
      if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) return errno;
    }
    if (family == AF_INET6) {
      int zero = 0;  // "::" serves IPv4 too
      *which = "IPV6_V6ONLY";
      if (setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0) return errno;
    }
  }
  return 0;
}

// A listening socket: the netns is entered for socket() only; bind and
// listen act on the socket, whose namespace is fixed at creation.
class NetnsListenWorker : public PromiseWorker {
 public:
  NetnsListenWorker(Napi::Env env, std::string netns, std::string address, int port, SocketOptions o)
      : PromiseWorker(env), netns_(std::move(netns)), address_(std::move(address)), port_(port), opts_(o) {}

 protected:
  void Run() override {
    std::string target = address_ + ":" + std::to_string(port_) + " in netns " + netns_;
    Endpoint ep;
    if (!ParseEndpoint(address_, port_, &ep)) {
      failure_.set(EINVAL, "inet_pton", "listen on " + target + " (not an IP address)");
      return;
    }
    int fd = SocketInNetns(netns_, ep.family, target, &failure_);
    if (fd < 0) return;
    std::string which;
    int err = ApplyOptions(fd, ep.family, opts_, true, &which);
    if (err != 0) {
      close(fd);
      failure_.set(err, "setsockopt", "set " + which + " on socket for " + target);
      return;
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&ep.addr), ep.len) != 0) {
      failure_.set(errno, "bind", "bind " + target);
      close(fd);
      return;
    }
    if (listen(fd, opts_.backlog) != 0) {
      failure_.set(errno, "listen", "listen on " + target);
      close(fd);
      return;
    }
    fd_ = fd;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  std::string netns_, address_;
  int port_;
  SocketOptions opts_;
  int fd_ = -1;
};

class NetnsCookieWorker : public PromiseWorker {
 public:
  NetnsCookieWorker(Napi::Env env, std::string netns) : PromiseWorker(env), netns_(std::move(netns)) {}

 protected:
  void Run() override {
    InNetns(netns_, &failure_, [&]() {
      int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        failure_.set(errno, "socket", "create probe socket in netns " + netns_);
        return;
      }
      socklen_t len = sizeof(cookie_);
      if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie_, &len) != 0)
        failure_.set(errno, "getsockopt", "read SO_NETNS_COOKIE in netns " + netns_);
      close(fd);
    });
  }
  Napi::Value Result(Napi::Env env) override { return Napi::BigInt::New(env, static_cast<uint64_t>(cookie_)); }

 private:
  std::string netns_;
  uint64_t cookie_ = 0;
};

SocketOptions ReadOptions(const Napi::Value& value) {
  SocketOptions o;
  if (!value.IsObject()) return o;
  Napi::Object obj = value.As<Napi::Object>();
  if (obj.Get("mark").IsNumber()) o.mark = obj.Get("mark").As<Napi::Number>().Int32Value();
  if (obj.Get("transparent").IsBoolean()) o.transparent = obj.Get("transparent").As<Napi::Boolean>();
  if (obj.Get("reusePort").IsBoolean()) o.reuse_port = obj.Get("reusePort").As<Napi::Boolean>();
  if (obj.Get("backlog").IsNumber()) o.backlog = obj.Get("backlog").As<Napi::Number>().Int32Value();
  if (obj.Get("keepalive").IsObject()) {
    Napi::Object ka = obj.Get("keepalive").As<Napi::Object>();
    if (ka.Get("idleSeconds").IsNumber()) o.keepalive_idle_s = ka.Get("idleSeconds").As<Napi::Number>().Int32Value();
    if (ka.Get("intervalSeconds").IsNumber())
      o.keepalive_interval_s = ka.Get("intervalSeconds").As<Napi::Number>().Int32Value();
    if (ka.Get("count").IsNumber()) o.keepalive_count = ka.Get("count").As<Napi::Number>().Int32Value();
  }
  if (obj.Get("userTimeoutMs").IsNumber()) o.user_timeout_ms = obj.Get("userTimeoutMs").As<Napi::Number>().Int32Value();
  return o;
}

bool CheckArgs(const Napi::CallbackInfo& info, const char* shape, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bool ok = shape[i] == 's' ? info[i].IsString() : info[i].IsNumber();
    if (!ok) {
      Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + (shape[i] == 's' ? " must be a string" : " must be a number"))
          .ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

Napi::Value ListenInNetns(const Napi::CallbackInfo& info) {
  if (!CheckArgs(info, "ssn", 3)) return info.Env().Undefined();
  auto* worker = new NetnsListenWorker(info.Env(), info[0].As<Napi::String>(), info[1].As<Napi::String>(),
                                       info[2].As<Napi::Number>().Int32Value(), ReadOptions(info[3]));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// An unconnected, non-blocking TCP socket made inside the netns, options
// applied. Off the JS thread because entering a netns costs a thread (about
// 0.1 ms); the pool thread is held only for that, never for a connect.
class NetnsSocketWorker : public PromiseWorker {
 public:
  NetnsSocketWorker(Napi::Env env, std::string netns, int version, SocketOptions o)
      : PromiseWorker(env), netns_(std::move(netns)), version_(version), opts_(o) {}

 protected:
  void Run() override {
    int family = version_ == 6 ? AF_INET6 : AF_INET;
    std::string target = std::string(version_ == 6 ? "an IPv6" : "an IPv4") + " connect in netns " + netns_;
    int fd = SocketInNetns(netns_, family, target, &failure_);
    if (fd < 0) return;
    std::string which;
    int err = ApplyOptions(fd, family, opts_, false, &which);
    if (err != 0) {
      close(fd);
      failure_.set(err, "setsockopt", "set " + which + " on socket for " + target);
      return;
    }
    fd_ = fd;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  std::string netns_;
  int version_;
  SocketOptions opts_;
  int fd_ = -1;
};

// socketInNetns(netnsPath, family 4 | 6, options) -> Promise<fd>
Napi::Value SocketInNetnsFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, "sn", 2)) return env.Undefined();
  std::string netns = info[0].As<Napi::String>();
  int version = info[1].As<Napi::Number>().Int32Value();
  if (version != 4 && version != 6) {
    ThrowErrno(env, EAFNOSUPPORT, "socket", "create socket in netns " + netns + ": family must be 4 or 6");
    return env.Undefined();
  }
  auto* worker = new NetnsSocketWorker(env, netns, version, ReadOptions(info[2]));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value NetnsCookieOfPath(const Napi::CallbackInfo& info) {
  if (!CheckArgs(info, "s", 1)) return info.Env().Undefined();
  auto* worker = new NetnsCookieWorker(info.Env(), info[0].As<Napi::String>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value SocketU64(const Napi::CallbackInfo& info, int opt, const char* name) {
  if (!CheckArgs(info, "n", 1)) return info.Env().Undefined();
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint64_t value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, opt, &value, &len) != 0) {
    ThrowErrno(info.Env(), errno, "getsockopt", std::string("read ") + name + " of fd " + std::to_string(fd));
    return info.Env().Undefined();
  }
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(value));
}

Napi::Value NetnsCookie(const Napi::CallbackInfo& info) { return SocketU64(info, SO_NETNS_COOKIE, "SO_NETNS_COOKIE"); }
Napi::Value SocketCookie(const Napi::CallbackInfo& info) { return SocketU64(info, SO_COOKIE, "SO_COOKIE"); }

// setSocketOption(fd, 'mark' | 'transparent' | 'reusePort', value)
Napi::Value SetSocketOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, "nsn", 3)) return env.Undefined();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>();
  int value = info[2].As<Napi::Number>().Int32Value();
  int rc;
  if (name == "mark") {
    rc = setsockopt(fd, SOL_SOCKET, SO_MARK, &value, sizeof(value));
  } else if (name == "reusePort") {
    rc = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &value, sizeof(value));
  } else if (name == "transparent") {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    rc = ss.ss_family == AF_INET6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &value, sizeof(value))
                                  : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &value, sizeof(value));
  } else {
    ThrowErrno(env, EINVAL, "setsockopt", "set unknown socket option " + name + " on fd " + std::to_string(fd));
    return env.Undefined();
  }
  if (rc != 0) ThrowErrno(env, errno, "setsockopt", "set " + name + "=" + std::to_string(value) + " on fd " + std::to_string(fd));
  return env.Undefined();
}

int GetInt(int fd, int level, int opt) {
  int value = 0;
  socklen_t len = sizeof(value);
  return getsockopt(fd, level, opt, &value, &len) == 0 ? value : -1;
}

// tcpKeepalive(fd) -> { enabled, idleSeconds, intervalSeconds, count, userTimeoutMs }
Napi::Value TcpKeepalive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, "n", 1)) return env.Undefined();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int enabled = GetInt(fd, SOL_SOCKET, SO_KEEPALIVE);
  if (enabled < 0) {
    ThrowErrno(env, errno, "getsockopt", "read SO_KEEPALIVE of fd " + std::to_string(fd));
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("enabled", Napi::Boolean::New(env, enabled != 0));
  out.Set("idleSeconds", Napi::Number::New(env, GetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE)));
  out.Set("intervalSeconds", Napi::Number::New(env, GetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL)));
  out.Set("count", Napi::Number::New(env, GetInt(fd, IPPROTO_TCP, TCP_KEEPCNT)));
  out.Set("userTimeoutMs", Napi::Number::New(env, GetInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT)));
  return out;
}

}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("listenInNetns", Napi::Function::New(env, ListenInNetns));
  exports.Set("socketInNetns", Napi::Function::New(env, SocketInNetnsFn));
  exports.Set("netnsCookieOfPath", Napi::Function::New(env, NetnsCookieOfPath));
  exports.Set("netnsCookie", Napi::Function::New(env, NetnsCookie));
  exports.Set("socketCookie", Napi::Function::New(env, SocketCookie));
  exports.Set("setSocketOption", Napi::Function::New(env, SetSocketOption));
  exports.Set("tcpKeepalive", Napi::Function::New(env, TcpKeepalive));
}

}  // namespace ambit
