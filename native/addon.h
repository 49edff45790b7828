#pragma once

#include <napi.h>

namespace ambit {

void InitBpf(Napi::Env env, Napi::Object exports);
void InitSockets(Napi::Env env, Napi::Object exports);

}  // namespace ambit
