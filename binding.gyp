{
  "targets": [
    {
      "target_name": "ambit_bpf_objects",
      "type": "none",
      "actions": [
        {
          "action_name": "build_bpf",
          "inputs": ["bpf/build.sh", "bpf/ambit_shared.h", "bpf/ambit_maps.h", "bpf/connect.bpf.c", "bpf/sockops.bpf.c", "bpf/sk_lookup.bpf.c"],
          "outputs": ["<(PRODUCT_DIR)/bpf/connect.bpf.o", "<(PRODUCT_DIR)/bpf/sockops.bpf.o", "<(PRODUCT_DIR)/bpf/sk_lookup.bpf.o"],
          "action": ["sh", "bpf/build.sh", "<(PRODUCT_DIR)/bpf"]
        }
      ]
    },
    {
      "target_name": "ambit_native",
      "dependencies": ["ambit_bpf_objects"],
      "sources": ["native/addon.cc", "native/bpf.cc", "native/sockets.cc", "native/errno_error.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
