// ambit_native: the node agent's capture layer (eBPF maps, programs and
// links; sockets inside pod network namespaces). Only
// src/ztunnel/redirect/ loads it.
#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  ambit::InitBpf(env, exports);
  ambit::InitSockets(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(ambit_native, Init)
