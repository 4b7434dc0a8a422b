#!/usr/bin/env bash
# YARN with GPU scheduling (yarn.io/gpu enabled in the NodeManagers; Spark maps it to "gpu").
# The model folder must be readable on every node (a shared mount, or ship it with --archives
# model.tgz#model and pass --model ./model).
# Usage: EXECUTORS=8 submit-scripts/spark-submit-yarn.sh --config conf/llada-8b-instruct.conf --output hdfs:///out
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec spark-submit --master yarn --deploy-mode "${DEPLOY_MODE:-cluster}" \
  --class dev.freedave.job.Main --name freedave-generate \
  --num-executors "${EXECUTORS:-2}" \
  --executor-memory "${EXECUTOR_MEMORY:-24g}" \
  --conf spark.executor.resource.gpu.discoveryScript="${GPU_DISCOVERY:-./gpu-discovery.sh}" \
  --files "$(dirname "${BASH_SOURCE[0]}")/gpu-discovery.sh" \
  "${GPU_CONF[@]}" "${DJL_CONF[@]}" \
  ${EXTRA_JARS:+--jars "$EXTRA_JARS"} ${ARCHIVES:+--archives "$ARCHIVES"} \
  "$FREEDAVE_JAR" "$@"
