#!/usr/bin/env bash
# Packs what the GPU machine needs to run the product and the tools (the machine has Python and
# PyTorch but no Java): ../shared/gpu/pack.sh writes .gpu/ (a Java runtime, the spark-submit jar, DJL's
# JNI built for that machine's torch); the tools' classes go to .gpu/classes, which its on-gpu.sh puts
# on the classpath. Then, on the GPU machine, from the project root:
#   bash .gpu/on-gpu.sh --java dev.freedave.tools.Main forward-cost --shape llada-8b
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mvn -B -q -DskipTests package
bash ../shared/gpu/pack.sh
rm -rf .gpu/classes
cp -r tools/target/classes .gpu/classes
du -sh .gpu
