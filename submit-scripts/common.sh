# Settings every spark-submit wrapper shares; source it, then override in the environment.
# FREEDAVE_JAR      the application jar (mvn package -> job/target/freedave-job-*-spark.jar)
# LIBTORCH_DIR      libtorch 2.7.x (CXX11 ABI) on every node, e.g. the folder DJL extracts into
#                   $DJL_CACHE_DIR/pytorch/2.7.1-*-linux-x86_64 or a CUDA build; empty = use the
#                   pytorch-native jar passed with --jars (CPU only)
# PYTORCH_FLAVOR    cpu | cu128 (must match LIBTORCH_DIR)
# DJL_CACHE_DIR     executor-local scratch where DJL unpacks natives (never a shared folder)
# TASK_THREADS      intra-op threads per task = executor cores / task slots
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FREEDAVE_JAR="${FREEDAVE_JAR:-$(ls "$ROOT"/job/target/freedave-job-*-spark.jar 2>/dev/null | head -1)}"
DJL_CACHE_DIR="${DJL_CACHE_DIR:-/tmp/djl-cache}"
PYTORCH_FLAVOR="${PYTORCH_FLAVOR:-cu128}"
TASK_THREADS="${TASK_THREADS:-4}"
if [[ -z "$FREEDAVE_JAR" ]]; then
  echo "no application jar: run 'mvn -B -DskipTests package' first or set FREEDAVE_JAR" >&2
  exit 1
fi
# DJL_OFFLINE: natives from the jar or LIBTORCH_DIR, never a download; OPT_OUT_TRACKING: no telemetry
# (DJL's call home first asks the EC2 metadata service). The job sets both itself too (DjlOffline);
# these cover the JVMs before our code runs, the driver (client mode: this shell) and cluster-mode drivers.
export DJL_OFFLINE=true OPT_OUT_TRACKING=true
DJL_CONF=(
  --conf "spark.executorEnv.DJL_CACHE_DIR=$DJL_CACHE_DIR"
  --conf "spark.executorEnv.DJL_OFFLINE=true"
  --conf "spark.executorEnv.OPT_OUT_TRACKING=true"
  --conf "spark.yarn.appMasterEnv.DJL_OFFLINE=true"
  --conf "spark.yarn.appMasterEnv.OPT_OUT_TRACKING=true"
  --conf "spark.kubernetes.driverEnv.DJL_OFFLINE=true"
  --conf "spark.kubernetes.driverEnv.OPT_OUT_TRACKING=true"
  --conf "spark.executor.extraJavaOptions=-Dai.djl.pytorch.num_threads=$TASK_THREADS -Dai.djl.pytorch.num_interop_threads=1"
)
if [[ -n "${LIBTORCH_DIR:-}" ]]; then
  DJL_CONF+=(
    --conf "spark.executorEnv.PYTORCH_LIBRARY_PATH=$LIBTORCH_DIR"
    --conf "spark.executorEnv.PYTORCH_FLAVOR=$PYTORCH_FLAVOR"
    --conf "spark.executorEnv.PYTORCH_VERSION=2.7.1"
  )
fi
# one GPU per executor and per task: each executor JVM holds one model on its GPU
GPU_CONF=(
  --conf spark.executor.resource.gpu.amount=1
  --conf spark.task.resource.gpu.amount=1
  --conf spark.executor.cores="${EXECUTOR_CORES:-4}"
  --conf spark.task.cpus="${EXECUTOR_CORES:-4}"
)
