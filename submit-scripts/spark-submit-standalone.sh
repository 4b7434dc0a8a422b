#!/usr/bin/env bash
# A standalone cluster with GPU workers. Workers need in spark-env.sh / spark-defaults.conf:
#   spark.worker.resource.gpu.amount=<GPUs per node>
#   spark.worker.resource.gpu.discoveryScript=/path/to/submit-scripts/gpu-discovery.sh
# Usage: MASTER=spark://host:7077 EXECUTORS=4 submit-scripts/spark-submit-standalone.sh \
#          --config conf/llada-8b-instruct.conf --input hdfs:///prompts.jsonl --output hdfs:///out
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec spark-submit --master "${MASTER:?set MASTER=spark://host:7077}" --deploy-mode client \
  --class dev.freedave.job.Main --name freedave-generate \
  --conf spark.cores.max=$(( ${EXECUTORS:-2} * ${EXECUTOR_CORES:-4} )) \
  --conf spark.executor.memory="${EXECUTOR_MEMORY:-24g}" \
  "${GPU_CONF[@]}" "${DJL_CONF[@]}" \
  ${EXTRA_JARS:+--jars "$EXTRA_JARS"} \
  "$FREEDAVE_JAR" "$@"
