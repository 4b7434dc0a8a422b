// CUDA graphs of the scripted core's forwards, for dev.freedave.model.CudaGraphs (JNI).
//
// A forward of the demo model dispatches ~150 ops from the host, ~10 us each, while the GPU needs
// a fraction of that (notebooks/cuda_graph_probe.py: 1.8 ms called, 0.2 ms replayed). Neither
// TorchScript nor DJL's JNI can capture a graph, so this library does, for one method call of a
// module DJL loaded: it takes the handles DJL's Java objects hold (a torch::jit::Module*, and
// torch::IValue* / torch::Tensor* as DJL's IValue and PtNDArray make them) and runs against the
// same libtorch. Built on the GPU machine by build.sh; the Java side loads it only when asked.
#include <jni.h>

#include <memory>
#include <string>
#include <vector>

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/script.h>

namespace {

// One captured call: the graph, the static tensors it reads its tensor arguments from (in argument
// order) and the tensors it writes its result to (the method's tensor, or each of its tuple's).
struct Captured {
  at::cuda::CUDAGraph graph;
  std::vector<at::Tensor> inputs;
  std::vector<at::Tensor> outputs;
};

void rethrow(JNIEnv* env, const char* what) {
  env->ThrowNew(env->FindClass("java/lang/IllegalStateException"), what);
}

std::vector<jlong> longs(JNIEnv* env, jlongArray array) {
  std::vector<jlong> out(env->GetArrayLength(array));
  env->GetLongArrayRegion(array, 0, static_cast<jsize>(out.size()), out.data());
  return out;
}

void synchronize() {
  cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("cudaDeviceSynchronize: ") + cudaGetErrorString(e));
  }
}

std::vector<at::Tensor> tensorsOf(const c10::IValue& out) {
  std::vector<at::Tensor> t;
  if (out.isTuple()) {
    for (const auto& e : out.toTuple()->elements()) {
      t.push_back(e.toTensor());
    }
  } else {
    t.push_back(out.toTensor());
  }
  return t;
}

// new torch::Tensor copies of tensors, which the Java side owns, after `head`; as a Java long[]
jlongArray copies(JNIEnv* env, std::vector<jlong> head, const std::vector<at::Tensor>& tensors) {
  for (const auto& t : tensors) {
    head.push_back(reinterpret_cast<jlong>(new at::Tensor(t.clone())));
  }
  jlongArray result = env->NewLongArray(static_cast<jsize>(head.size()));
  env->SetLongArrayRegion(result, 0, static_cast<jsize>(head.size()), head.data());
  return result;
}

}  // namespace

extern "C" {

// Runs module.method(args) and captures it: each tensor argument is replaced by a static copy of it
// (what replay writes the next call's tensors into); every other argument (the weight list, flags)
// is baked in as it is, so the caller keeps those alive and unchanged while the graph lives. The
// call runs once on a side stream (as a capture needs; its result is this call's), is captured,
// and the graph is replayed once: it is kept only if that replay gives the run's result bit for
// bit. Returns [graph, or 0 when refused; then a copy of each result tensor, owned by the caller].
JNIEXPORT jlongArray JNICALL Java_dev_freedave_model_CudaGraphs_capture(JNIEnv* env, jclass, jlong module,
                                                                        jstring jmethod, jlongArray jargs) {
  try {
    auto* m = reinterpret_cast<torch::jit::script::Module*>(module);
    const char* chars = env->GetStringUTFChars(jmethod, nullptr);
    std::string name(chars);
    env->ReleaseStringUTFChars(jmethod, chars);
    c10::InferenceMode inference;  // as DJL runs a method
    auto c = std::make_unique<Captured>();
    std::vector<c10::IValue> args;
    for (jlong p : longs(env, jargs)) {
      const auto& v = *reinterpret_cast<c10::IValue*>(p);
      if (v.isTensor()) {
        c->inputs.push_back(v.toTensor().clone());
        args.emplace_back(c->inputs.back());
      } else {
        args.push_back(v);
      }
    }
    torch::jit::Method method = m->get_method(name);
    synchronize();
    std::vector<at::Tensor> ran;
    bool same = true;
    {
      c10::cuda::CUDAStreamGuard side(c10::cuda::getStreamFromPool());
      ran = tensorsOf(method(args));
      c->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        c->outputs = tensorsOf(method(args));
      } catch (...) {
        try {
          c->graph.capture_end();  // leave the stream out of capture mode, whatever the graph holds
        } catch (...) {
        }
        throw;
      }
      c->graph.capture_end();
      c->graph.replay();
      for (size_t i = 0; same && i < ran.size(); ++i) {
        same = c->outputs[i].equal(ran[i]);
      }
    }
    synchronize();
    return copies(env, {same ? reinterpret_cast<jlong>(c.release()) : 0}, ran);
  } catch (const std::exception& e) {
    rethrow(env, e.what());
    return nullptr;
  }
}

// Copies the call's tensors (torch::Tensor handles, one per static input, in order) into the static
// inputs, replays the graph and returns copies of its results (new torch::Tensor handles, which the
// caller owns: the static outputs are overwritten by the next replay).
JNIEXPORT jlongArray JNICALL Java_dev_freedave_model_CudaGraphs_replay(JNIEnv* env, jclass, jlong graph,
                                                                       jlongArray jtensors) {
  try {
    auto* c = reinterpret_cast<Captured*>(graph);
    std::vector<jlong> tensors = longs(env, jtensors);
    if (tensors.size() != c->inputs.size()) {
      throw std::invalid_argument("replay: " + std::to_string(tensors.size()) + " tensors for " +
                                  std::to_string(c->inputs.size()) + " inputs");
    }
    c10::InferenceMode inference;
    for (size_t i = 0; i < tensors.size(); ++i) {
      c->inputs[i].copy_(*reinterpret_cast<at::Tensor*>(tensors[i]), true);
    }
    c->graph.replay();
    return copies(env, {}, c->outputs);
  } catch (const std::exception& e) {
    rethrow(env, e.what());
    return nullptr;
  }
}

JNIEXPORT void JNICALL Java_dev_freedave_model_CudaGraphs_release(JNIEnv*, jclass, jlong graph) {
  delete reinterpret_cast<Captured*>(graph);
}

}  // extern "C"
