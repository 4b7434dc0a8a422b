#!/usr/bin/env bash
# Packs what the GPU machine needs to run the product and the tools (the machine has Python and
# PyTorch but no Java): ../shared/gpu/pack.sh writes .gpu/ (a Java runtime, the spark-submit jar, DJL's
# JNI built for that machine's torch); the tools' classes go to .gpu/classes, which its on-gpu.sh puts
# on the classpath. Then, on the GPU machine, from the project root:
#   bash .gpu/on-gpu.sh --java dev.freedave.tools.Main forward-cost --shape llada-8b
# and, for CUDA graphs (docs/results.md, "CUDA graphs"):
#   bash native/cuda-graphs/build.sh .gpu/jdk-include /tmp/graphs
#   bash .gpu/on-gpu.sh --java -Dfreedave.cuda-graphs=/tmp/graphs/libfreedave_cuda_graphs.so dev.freedave.tools.Main bench ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests package
bash ../shared/gpu/pack.sh
rm -rf .gpu/classes .gpu/jdk-include
cp -r tools/target/classes .gpu/classes
# jni.h for native/cuda-graphs/build.sh, which builds there against that machine's torch
cp -r "$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")/include" .gpu/jdk-include
du -sh .gpu
