// eBPF side of the addon: load objects and pin them (or reuse the pins),
// attach programs to cgroups and network namespaces as pinned BPF links,
// and read or write maps with Buffers as keys and values.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "addon.h"
#include "errno_error.h"

namespace ambit {
namespace {

// libbpf's messages (the verifier log among them) for the current thread's load.
thread_local std::string libbpf_log;

int CollectLibbpfLog(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), format, args);
  // Keep the tail: the verifier's reason is at the end of its log.
  libbpf_log += line;
  if (libbpf_log.size() > 8192) libbpf_log.erase(0, libbpf_log.size() - 8192);
  return n;
}

std::string LogTail(size_t max) {
  if (libbpf_log.empty()) return "";
  std::string tail = libbpf_log.size() > max ? libbpf_log.substr(libbpf_log.size() - max) : libbpf_log;
  return " [libbpf: " + tail + "]";
}

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int AttachTypeByName(const std::string& name, bpf_attach_type* out) {
  if (name == "connect4") *out = BPF_CGROUP_INET4_CONNECT;
  else if (name == "connect6") *out = BPF_CGROUP_INET6_CONNECT;
  else if (name == "sockops") *out = BPF_CGROUP_SOCK_OPS;
  else if (name == "sk_lookup") *out = BPF_SK_LOOKUP;
  else return -EINVAL;
  return 0;
}

// loadObject(objPath, pinDir) -> { programs: {name: fd}, maps: {name: fd}, loaded: bool }
class LoadObjectWorker : public PromiseWorker {
 public:
  LoadObjectWorker(Napi::Env env, std::string obj, std::string pin_dir)
      : PromiseWorker(env), obj_(std::move(obj)), pin_dir_(std::move(pin_dir)) {}

 protected:
  void Run() override {
    libbpf_log.clear();
    LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir_.c_str());
    bpf_object* obj = bpf_object__open_file(obj_.c_str(), &opts);
    if (obj == nullptr) {
      failure_.set(errno, "bpf_object__open_file", "open bpf object " + obj_ + LogTail(500));
      return;
    }
    std::vector<std::string> prog_names, map_names;
    bpf_program* prog;
    bpf_object__for_each_program(prog, obj) prog_names.emplace_back(bpf_program__name(prog));
    bpf_map* map;
    bpf_object__for_each_map(map, obj) {
      if (bpf_map__pin_path(map) != nullptr) map_names.emplace_back(bpf_map__name(map));
    }
    bool all_pinned = true;
    for (const auto& name : prog_names) all_pinned = all_pinned && PathExists(ProgPin(name));
    for (const auto& name : map_names) all_pinned = all_pinned && PathExists(pin_dir_ + "/" + name);

    if (!all_pinned) {
      int err = bpf_object__load(obj);
      if (err != 0) {
        bpf_object__close(obj);
        failure_.set(err, "bpf_object__load", "load bpf object " + obj_ + " with pins in " + pin_dir_ + LogTail(1500));
        return;
      }
      bpf_object__for_each_program(prog, obj) {
        std::string path = ProgPin(bpf_program__name(prog));
        unlink(path.c_str());
        err = bpf_program__pin(prog, path.c_str());
        if (err != 0) {
          bpf_object__close(obj);
          failure_.set(err, "bpf_program__pin", "pin program " + std::string(bpf_program__name(prog)) + " at " + path);
          return;
        }
      }
      loaded_ = true;
    }
    bpf_object__close(obj);
    // Open everything from the pins, so a fresh load and a reuse return the same kind of fds.
    for (const auto& name : prog_names) {
      if (!Open(ProgPin(name), &programs_[name])) return;
    }
    for (const auto& name : map_names) {
      if (!Open(pin_dir_ + "/" + name, &maps_[name])) return;
    }
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object result = Napi::Object::New(env);
    Napi::Object programs = Napi::Object::New(env);
    for (const auto& [name, fd] : programs_) programs.Set(name, Napi::Number::New(env, fd));
    Napi::Object maps = Napi::Object::New(env);
    for (const auto& [name, fd] : maps_) maps.Set(name, Napi::Number::New(env, fd));
    result.Set("programs", programs);
    result.Set("maps", maps);
    result.Set("loaded", Napi::Boolean::New(env, loaded_));
    return result;
  }

  void OnError(const Napi::Error& e) override {
    for (const auto& [name, fd] : programs_) close(fd);
    for (const auto& [name, fd] : maps_) close(fd);
    PromiseWorker::OnError(e);
  }

 private:
  std::string ProgPin(const std::string& name) const { return pin_dir_ + "/prog_" + name; }
  bool Open(const std::string& path, int* out) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
      failure_.set(errno, "bpf_obj_get", "open pin " + path);
      return false;
    }
    *out = fd;
    return true;
  }

  std::string obj_, pin_dir_;
  std::map<std::string, int> programs_, maps_;
  bool loaded_ = false;
};

// attach(progFd, targetPath, attachType, linkPin) -> true if newly attached, false if the pin existed.
class AttachWorker : public PromiseWorker {
 public:
  AttachWorker(Napi::Env env, int prog_fd, std::string target, std::string type, std::string pin)
      : PromiseWorker(env), prog_fd_(prog_fd), target_(std::move(target)), type_(std::move(type)), pin_(std::move(pin)) {}

 protected:
  void Run() override {
    bpf_attach_type attach_type;
    const bool netns = type_ == "sk_lookup";
    std::string what = "attach " + type_ + " to " + (netns ? "netns " : "cgroup ") + target_;
    if (AttachTypeByName(type_, &attach_type) != 0) {
      failure_.set(EINVAL, "bpf_link_create", what + " (unknown attach type)");
      return;
    }
    int existing = bpf_obj_get(pin_.c_str());
    if (existing >= 0) {
      // A pinned link is attached for as long as the pin exists: nothing to do.
      close(existing);
      return;
    }
    int target_fd = open(target_.c_str(), (netns ? O_RDONLY : O_RDONLY | O_DIRECTORY) | O_CLOEXEC);
    if (target_fd < 0) {
      failure_.set(errno, "open", what);
      return;
    }
    int link_fd = bpf_link_create(prog_fd_, target_fd, attach_type, nullptr);
    int link_errno = errno;
    close(target_fd);
    if (link_fd < 0) {
      failure_.set(link_errno, "bpf_link_create", what);
      return;
    }
    if (bpf_obj_pin(link_fd, pin_.c_str()) != 0) {
      int pin_errno = errno;
      bpf_link_detach(link_fd);
      close(link_fd);
      failure_.set(pin_errno, "bpf_obj_pin", what + ": pin link at " + pin_);
      return;
    }
    close(link_fd);
    attached_ = true;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, attached_); }

 private:
  int prog_fd_;
  std::string target_, type_, pin_;
  bool attached_ = false;
};

// detach(linkPin) -> true if a link was detached, false if there was no pin.
class DetachWorker : public PromiseWorker {
 public:
  DetachWorker(Napi::Env env, std::string pin) : PromiseWorker(env), pin_(std::move(pin)) {}

 protected:
  void Run() override {
    int fd = bpf_obj_get(pin_.c_str());
    if (fd < 0) {
      if (errno != ENOENT) failure_.set(errno, "bpf_obj_get", "open link pin " + pin_);
      return;
    }
    // Detach explicitly: another process may still hold an fd to the link.
    if (bpf_link_detach(fd) != 0 && errno != ENOLINK) {
      int e = errno;
      close(fd);
      failure_.set(e, "bpf_link_detach", "detach link " + pin_);
      return;
    }
    close(fd);
    if (unlink(pin_.c_str()) != 0 && errno != ENOENT) {
      failure_.set(errno, "unlink", "remove link pin " + pin_);
      return;
    }
    detached_ = true;
  }
  Napi::Value Result(Napi::Env env) override { return Napi::Boolean::New(env, detached_); }

 private:
  std::string pin_;
  bool detached_ = false;
};

bool ArgFd(const Napi::CallbackInfo& info, size_t i, int* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a file descriptor").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Number>().Int32Value();
  return true;
}

// A key or value size: a positive number no larger than a map value can be.
bool ArgSize(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber() || info[i].As<Napi::Number>().Int64Value() <= 0 ||
      info[i].As<Napi::Number>().Int64Value() > (1 << 20)) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a size in bytes").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

bool ArgBuffer(const Napi::CallbackInfo& info, size_t i, Napi::Buffer<uint8_t>* out) {
  if (info.Length() <= i || !info[i].IsBuffer()) {
    Napi::TypeError::New(info.Env(), "argument " + std::to_string(i) + " must be a Buffer").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Buffer<uint8_t>>();
  return true;
}

Napi::Value LoadObject(const Napi::CallbackInfo& info) {
  std::string obj, pin_dir;
  if (!ArgString(info, 0, &obj) || !ArgString(info, 1, &pin_dir)) return info.Env().Undefined();
  auto* worker = new LoadObjectWorker(info.Env(), obj, pin_dir);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Attach(const Napi::CallbackInfo& info) {
  int prog_fd;
  std::string target, type, pin;
  if (!ArgFd(info, 0, &prog_fd) || !ArgString(info, 1, &target) || !ArgString(info, 2, &type) ||
      !ArgString(info, 3, &pin))
    return info.Env().Undefined();
  auto* worker = new AttachWorker(info.Env(), prog_fd, target, type, pin);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value Detach(const Napi::CallbackInfo& info) {
  std::string pin;
  if (!ArgString(info, 0, &pin)) return info.Env().Undefined();
  auto* worker = new DetachWorker(info.Env(), pin);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// linkInfo(linkPin) -> { id, progId, type } or null when there is no pin.
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string pin;
  if (!ArgString(info, 0, &pin)) return env.Undefined();
  int fd = bpf_obj_get(pin.c_str());
  if (fd < 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, errno, "bpf_obj_get", "open link pin " + pin);
    return env.Undefined();
  }
  bpf_link_info link{};
  __u32 len = sizeof(link);
  int rc = bpf_obj_get_info_by_fd(fd, &link, &len);
  int e = errno;
  close(fd);
  if (rc != 0) {
    ThrowErrno(env, e, "bpf_obj_get_info_by_fd", "read link info of " + pin);
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", Napi::Number::New(env, link.id));
  out.Set("progId", Napi::Number::New(env, link.prog_id));
  out.Set("type", Napi::Number::New(env, link.type));
  return out;
}

Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  std::string path;
  if (!ArgString(info, 0, &path)) return info.Env().Undefined();
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    ThrowErrno(info.Env(), errno, "bpf_obj_get", "open pin " + path);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd;
  if (!ArgFd(info, 0, &fd)) return info.Env().Undefined();
  if (close(fd) != 0) ThrowErrno(info.Env(), errno, "close", "close fd " + std::to_string(fd));
  return info.Env().Undefined();
}

// The kernel reads key_size (and value_size) bytes from our pointers: refuse short buffers.
bool CheckMapBuffers(Napi::Env env, int fd, size_t key_len, long value_len, const char* op) {
  bpf_map_info map{};
  __u32 len = sizeof(map);
  if (bpf_obj_get_info_by_fd(fd, &map, &len) != 0) {
    ThrowErrno(env, errno, "bpf_obj_get_info_by_fd", std::string(op) + " map fd " + std::to_string(fd));
    return false;
  }
  size_t want_value = map.value_size;
  const bool per_cpu = map.type == BPF_MAP_TYPE_PERCPU_ARRAY || map.type == BPF_MAP_TYPE_PERCPU_HASH ||
                       map.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  if (per_cpu) want_value = ((map.value_size + 7) / 8) * 8 * libbpf_num_possible_cpus();
  if (key_len != map.key_size || (value_len >= 0 && static_cast<size_t>(value_len) != want_value)) {
    ThrowErrno(env, EINVAL, op,
               std::string(op) + " map " + map.name + ": key is " + std::to_string(key_len) + " bytes (map: " +
                   std::to_string(map.key_size) + ")" +
                   (value_len >= 0 ? ", value is " + std::to_string(value_len) + " bytes (map: " + std::to_string(want_value) + ")" : ""));
    return false;
  }
  return true;
}

Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  int fd;
  Napi::Buffer<uint8_t> key, value;
  if (!ArgFd(info, 0, &fd) || !ArgBuffer(info, 1, &key) || !ArgBuffer(info, 2, &value)) return info.Env().Undefined();
  if (!CheckMapBuffers(info.Env(), fd, key.Length(), static_cast<long>(value.Length()), "bpf_map_update_elem"))
    return info.Env().Undefined();
  __u64 flags = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Uint32Value() : static_cast<__u64>(BPF_ANY);
  if (bpf_map_update_elem(fd, key.Data(), value.Data(), flags) != 0)
    ThrowErrno(info.Env(), errno, "bpf_map_update_elem", "update map fd " + std::to_string(fd));
  return info.Env().Undefined();
}

// mapLookup(fd, key, valueSize) -> Buffer or null
Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Napi::Buffer<uint8_t> key;
  if (!ArgFd(info, 0, &fd) || !ArgBuffer(info, 1, &key) || !ArgSize(info, 2)) return env.Undefined();
  size_t size = info[2].As<Napi::Number>().Uint32Value();
  if (!CheckMapBuffers(env, fd, key.Length(), static_cast<long>(size), "bpf_map_lookup_elem")) return env.Undefined();
  Napi::Buffer<uint8_t> value = Napi::Buffer<uint8_t>::New(env, size);
  if (bpf_map_lookup_elem(fd, key.Data(), value.Data()) != 0) {
    if (errno == ENOENT) return env.Null();
    ThrowErrno(env, errno, "bpf_map_lookup_elem", "look up map fd " + std::to_string(fd));
    return env.Undefined();
  }
  return value;
}

Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Napi::Buffer<uint8_t> key;
  if (!ArgFd(info, 0, &fd) || !ArgBuffer(info, 1, &key)) return env.Undefined();
  if (!CheckMapBuffers(env, fd, key.Length(), -1, "bpf_map_delete_elem")) return env.Undefined();
  if (bpf_map_delete_elem(fd, key.Data()) != 0) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    ThrowErrno(env, errno, "bpf_map_delete_elem", "delete from map fd " + std::to_string(fd));
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

// mapKeys(fd, keySize) -> Buffer[]
Napi::Value MapKeys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ArgFd(info, 0, &fd) || !ArgSize(info, 1)) return env.Undefined();
  size_t size = info[1].As<Napi::Number>().Uint32Value();
  if (!CheckMapBuffers(env, fd, size, -1, "bpf_map_get_next_key")) return env.Undefined();
  std::vector<uint8_t> cur(size), next(size);
  Napi::Array keys = Napi::Array::New(env);
  const void* prev = nullptr;
  uint32_t n = 0;
  // Bounded by the map's max_entries in practice; the guard stops a map that keeps changing.
  for (uint32_t guard = 0; guard < (1u << 22); guard++) {
    if (bpf_map_get_next_key(fd, prev, next.data()) != 0) {
      if (errno == ENOENT) break;
      ThrowErrno(env, errno, "bpf_map_get_next_key", "iterate map fd " + std::to_string(fd));
      return env.Undefined();
    }
    keys.Set(n++, Napi::Buffer<uint8_t>::Copy(env, next.data(), size));
    cur.swap(next);
    prev = cur.data();
  }
  return keys;
}

// sockmapUpdate(mapFd, key, socketFd)
Napi::Value SockmapUpdate(const Napi::CallbackInfo& info) {
  int map_fd, sock_fd;
  Napi::Buffer<uint8_t> key;
  if (!ArgFd(info, 0, &map_fd) || !ArgBuffer(info, 1, &key) || !ArgFd(info, 2, &sock_fd)) return info.Env().Undefined();
  if (!CheckMapBuffers(info.Env(), map_fd, key.Length(), 8, "bpf_map_update_elem")) return info.Env().Undefined();
  __u64 value = static_cast<__u64>(sock_fd);
  if (bpf_map_update_elem(map_fd, key.Data(), &value, BPF_ANY) != 0)
    ThrowErrno(info.Env(), errno, "bpf_map_update_elem",
               "insert socket fd " + std::to_string(sock_fd) + " into sockmap fd " + std::to_string(map_fd));
  return info.Env().Undefined();
}

Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) {
    ThrowErrno(info.Env(), -n, "libbpf_num_possible_cpus", "count possible CPUs");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), n);
}

// mountBpffs(path) -> true if mounted now, false if bpffs was already there.
Napi::Value MountBpffs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, &path)) return env.Undefined();
  struct statfs fs;
  if (statfs(path.c_str(), &fs) == 0 && fs.f_type == BPF_FS_MAGIC) return Napi::Boolean::New(env, false);
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    ThrowErrno(env, errno, "mkdir", "create bpffs mount point " + path);
    return env.Undefined();
  }
  if (mount("bpf", path.c_str(), "bpf", 0, "mode=0700") != 0) {
    ThrowErrno(env, errno, "mount", "mount bpffs at " + path);
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  // libbpf prints to stderr by default; its messages reach JS inside Errors instead.
  libbpf_set_print(CollectLibbpfLog);
  exports.Set("loadObject", Napi::Function::New(env, LoadObject));
  exports.Set("attach", Napi::Function::New(env, Attach));
  exports.Set("detach", Napi::Function::New(env, Detach));
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo));
  exports.Set("objGet", Napi::Function::New(env, ObjGet));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapKeys", Napi::Function::New(env, MapKeys));
  exports.Set("sockmapUpdate", Napi::Function::New(env, SockmapUpdate));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("mountBpffs", Napi::Function::New(env, MountBpffs));
}

}  // namespace ambit
