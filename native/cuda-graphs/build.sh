#!/usr/bin/env bash
# Builds libfreedave_cuda_graphs.so, for -Dfreedave.cuda-graphs=<the .so> (docs/results.md, "CUDA
# graphs"), against the torch of the machine it runs on (the executors' torch): needs python3 with
# that torch, CMake, Ninja, a C++17 compiler and the CUDA toolkit that torch wants. About a minute.
#   bash native/cuda-graphs/build.sh JDK_INCLUDE_DIR OUT_DIR
# JDK_INCLUDE_DIR is a JDK's include folder (jni.h); tools/gpu-pack.sh packs one as .gpu/jdk-include.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
inc="$(cd "$1" && pwd)"
mkdir -p "$2"
out="$(cd "$2" && pwd)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DJNI_INCLUDE="$inc" \
  -DCMAKE_PREFIX_PATH="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')" > "$build/cmake.log" \
  || { cat "$build/cmake.log"; exit 1; }
cmake --build "$build"
cp "$build/libfreedave_cuda_graphs.so" "$out/"
echo "$out/libfreedave_cuda_graphs.so"
