#!/bin/sh
# Builds the eBPF objects: bpf/build.sh <output-dir>
# vmlinux.h is generated from the running kernel's BTF into the output
# directory (never committed); the objects are CO-RE, so they relocate on load.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: bpf/build.sh <output-dir>}
mkdir -p "$out"
btf=${AMBIT_VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
if [ ! -s "$out/vmlinux.h" ] || [ "$btf" -nt "$out/vmlinux.h" ]; then
  bpftool btf dump file "$btf" format c > "$out/vmlinux.h.tmp"
  mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
for src in "$here"/*.bpf.c; do
  obj="$out/$(basename "$src" .c).o"
  clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_"$arch" \
    -I"$out" -I"$here" -c "$src" -o "$obj"
done
