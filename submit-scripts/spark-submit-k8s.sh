#!/usr/bin/env bash
# Kubernetes: one GPU per executor pod (nvidia.com/gpu), the image holds Java 17, Spark 4.1, libtorch
# (LIBTORCH_DIR inside the image) and the model folder (or a mounted volume).
# Usage: K8S_MASTER=k8s://https://api:6443 IMAGE=registry/freedave:0.1 EXECUTORS=4 \
#          submit-scripts/spark-submit-k8s.sh --config conf/llada-8b-instruct.conf --output s3a://bucket/out
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec spark-submit --master "${K8S_MASTER:?set K8S_MASTER=k8s://https://host:port}" --deploy-mode cluster \
  --class dev.freedave.job.Main --name freedave-generate \
  --conf spark.kubernetes.container.image="${IMAGE:?set IMAGE}" \
  --conf spark.kubernetes.namespace="${NAMESPACE:-default}" \
  --conf spark.executor.instances="${EXECUTORS:-2}" \
  --conf spark.executor.memory="${EXECUTOR_MEMORY:-24g}" \
  --conf spark.executor.resource.gpu.vendor=nvidia.com \
  --conf spark.executor.resource.gpu.discoveryScript=/opt/freedave/gpu-discovery.sh \
  --conf spark.kubernetes.executor.podTemplateFile="${POD_TEMPLATE:-}" \
  "${GPU_CONF[@]}" "${DJL_CONF[@]}" \
  "local:///opt/freedave/$(basename "$FREEDAVE_JAR")" "$@"
