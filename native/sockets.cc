// Socket side of the addon: sockets created inside a pod's network namespace
// (on a short-lived thread that enters the netns with setns, so no other
// thread ever changes namespace), socket options, cookies, and the
// original-destination lookup for sockets accepted on the outbound listener.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "../bpf/ambit_shared.h"
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
  int timeout_ms = 5000;  // connect timeout
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

class NetnsSocketWorker : public PromiseWorker {
 public:
  NetnsSocketWorker(Napi::Env env, bool listen, std::string netns, std::string address, int port, SocketOptions o)
      : PromiseWorker(env), listen_(listen), netns_(std::move(netns)), address_(std::move(address)), port_(port), opts_(o) {}

 protected:
  void Run() override {
    std::string target = address_ + ":" + std::to_string(port_) + " in netns " + netns_;
    Endpoint ep;
    if (!ParseEndpoint(address_, port_, &ep)) {
      failure_.set(EINVAL, "inet_pton", std::string(listen_ ? "listen on " : "connect to ") + target + " (not an IP address)");
      return;
    }
    InNetns(netns_, &failure_, [&]() {
      int fd = socket(ep.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        failure_.set(errno, "socket", "create socket for " + target);
        return;
      }
      std::string which;
      int err = ApplyOptions(fd, ep.family, opts_, listen_, &which);
      if (err != 0) {
        close(fd);
        failure_.set(err, "setsockopt", "set " + which + " on socket for " + target);
        return;
      }
      if (listen_) {
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
      } else {
        timeval tv{opts_.timeout_ms / 1000, (opts_.timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, reinterpret_cast<sockaddr*>(&ep.addr), ep.len) != 0) {
          failure_.set(errno, "connect", "connect to " + target);
          close(fd);
          return;
        }
        timeval none{0, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
      }
      // Node's libuv expects non-blocking fds.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fd_ = fd;
    });
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Number::New(env, fd_); }

 private:
  bool listen_;
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
  __u64 cookie_ = 0;
};

SocketOptions ReadOptions(const Napi::Value& value) {
  SocketOptions o;
  if (!value.IsObject()) return o;
  Napi::Object obj = value.As<Napi::Object>();
  if (obj.Get("mark").IsNumber()) o.mark = obj.Get("mark").As<Napi::Number>().Int32Value();
  if (obj.Get("transparent").IsBoolean()) o.transparent = obj.Get("transparent").As<Napi::Boolean>();
  if (obj.Get("reusePort").IsBoolean()) o.reuse_port = obj.Get("reusePort").As<Napi::Boolean>();
  if (obj.Get("backlog").IsNumber()) o.backlog = obj.Get("backlog").As<Napi::Number>().Int32Value();
  if (obj.Get("timeoutMs").IsNumber()) o.timeout_ms = obj.Get("timeoutMs").As<Napi::Number>().Int32Value();
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

Napi::Value NetnsSocket(const Napi::CallbackInfo& info, bool listen) {
  if (!CheckArgs(info, "ssn", 3)) return info.Env().Undefined();
  auto* worker = new NetnsSocketWorker(info.Env(), listen, info[0].As<Napi::String>(), info[1].As<Napi::String>(),
                                       info[2].As<Napi::Number>().Int32Value(), ReadOptions(info[3]));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value ListenInNetns(const Napi::CallbackInfo& info) { return NetnsSocket(info, true); }
Napi::Value ConnectInNetns(const Napi::CallbackInfo& info) { return NetnsSocket(info, false); }

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
  __u64 value = 0;
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

// Writes an address in the shared 16-byte form; returns its AMBIT_FAMILY_* and port (network order).
__u16 PutAddr(const sockaddr_storage& ss, __u8 out[16], __be16* port) {
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    std::memcpy(out, &v4->sin_addr, 4);
    *port = v4->sin_port;
    return AMBIT_FAMILY_INET;
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
  *port = v6->sin6_port;
  if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
    std::memcpy(out, &v6->sin6_addr.s6_addr[12], 4);
    return AMBIT_FAMILY_INET;
  }
  std::memcpy(out, &v6->sin6_addr, 16);
  return AMBIT_FAMILY_INET6;
}

// originalDst(tupleMapFd, socketFd) -> Buffer (struct ambit_orig_dst) or null
Napi::Value OriginalDst(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, "nn", 2)) return env.Undefined();
  int map_fd = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  sockaddr_storage local{}, peer{};
  socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
  tuple_dst_key key{};
  socklen_t cookie_len = sizeof(key.netns_cookie);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {
    ThrowErrno(env, errno, "getsockname", "read local address of fd " + std::to_string(fd));
    return env.Undefined();
  }
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
    if (errno == ENOTCONN) return env.Null();
    ThrowErrno(env, errno, "getpeername", "read peer address of fd " + std::to_string(fd));
    return env.Undefined();
  }
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &key.netns_cookie, &cookie_len) != 0) {
    ThrowErrno(env, errno, "getsockopt", "read SO_NETNS_COOKIE of fd " + std::to_string(fd));
    return env.Undefined();
  }
  // The app's socket: its source is our peer, its destination our local address.
  key.family = PutAddr(peer, key.src_addr, &key.src_port);
  PutAddr(local, key.dst_addr, &key.dst_port);
  Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, sizeof(ambit_orig_dst));
  if (bpf_map_lookup_elem(map_fd, &key, value.Data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, errno, "bpf_map_lookup_elem", "look up original destination of fd " + std::to_string(fd));
    return env.Undefined();
  }
  return value;
}

}  // namespace

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("listenInNetns", Napi::Function::New(env, ListenInNetns));
  exports.Set("connectInNetns", Napi::Function::New(env, ConnectInNetns));
  exports.Set("netnsCookieOfPath", Napi::Function::New(env, NetnsCookieOfPath));
  exports.Set("netnsCookie", Napi::Function::New(env, NetnsCookie));
  exports.Set("socketCookie", Napi::Function::New(env, SocketCookie));
  exports.Set("setSocketOption", Napi::Function::New(env, SetSocketOption));
  exports.Set("originalDst", Napi::Function::New(env, OriginalDst));
}

}  // namespace ambit
