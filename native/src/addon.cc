// Node binding: a Model class (create / load, train step, predict, sliding window, checkpoints) and a few
// module functions. Typed arrays are viewed in place (torch::from_blob), kept alive by references held in
// the async worker; results come back as external ArrayBuffers that own their tensor. Every C++ error
// becomes a JS exception or a rejected Promise, never an abort.
#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "allocator.h"
#include "compute_thread.h"
#include "engine.h"
#include "loss.h"
#include "napi_convert.h"

namespace slicewise {
namespace {

// ---- async work ---------------------------------------------------------------------------------------

// Runs `job` on the compute thread (a libuv pool thread waits for it); resolves with `finish(env)` on the main thread.
class Job : public Napi::AsyncWorker {
 public:
  Job(Napi::Env env, std::function<void()> job, std::function<Napi::Value(Napi::Env)> finish, std::vector<Napi::Value> keepAlive)
      : Napi::AsyncWorker(env, "slicewise.engine"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)),
        finish_(std::move(finish)) {
    for (auto& v : keepAlive)
      if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      runOnComputeThread([this] {
        applyThreads();
        job_();
      });
    } catch (...) {
      SetError(describe(std::current_exception()));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(finish_(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(Napi::Error::New(env, describe(std::current_exception())).Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> job_;
  std::function<Napi::Value(Napi::Env)> finish_;
  std::vector<Napi::ObjectReference> refs_;
};

Napi::Promise queue(Napi::Env env, std::function<void()> job, std::function<Napi::Value(Napi::Env)> finish,
                    std::vector<Napi::Value> keepAlive) {
  auto* worker = new Job(env, std::move(job), std::move(finish), std::move(keepAlive));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// ---- Model class --------------------------------------------------------------------------------------

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("trainStep", &Model::trainStep), InstanceMethod("predict", &Model::predict),
                        InstanceMethod("predictSlidingWindow", &Model::predictSlidingWindow), InstanceMethod("save", &Model::save),
                        InstanceMethod("loadState", &Model::loadState), InstanceMethod("parameterChecksum", &Model::checksum),
                        InstanceMethod("parameterVector", &Model::parameterVector), InstanceMethod("info", &Model::info),
                        InstanceMethod("setTraining", &Model::setTraining)});
  }

  // new Model({model, training, seed, device}) or new Model({checkpoint, device})
  explicit Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "Model: expected an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    const std::string device = stringField(o, "device", "cpu");
    guarded(env, [&] {
      if (o.Has("checkpoint")) {
        engine_ = Engine::load(stringField(o, "checkpoint", ""), device);
      } else {
        if (!o.Get("model").IsObject()) throw Napi::TypeError::New(env, "Model: options.model must be an object");
        const UNetConfig model = parseModelConfig(o.Get("model").As<Napi::Object>());
        const TrainingConfig training = o.Get("training").IsObject() ? parseTrainingConfig(o.Get("training").As<Napi::Object>()) : TrainingConfig();
        const double seed = numberField(o, "seed", 0);
        engine_ = std::make_shared<Engine>(model, training, static_cast<uint64_t>(seed), device);
      }
      return 0;
    });
  }

 private:
  // trainStep(images, labels, weights | null, shape [N, C, ...spatial], lr (< 0: schedule)) → Promise<StepResult>
  Napi::Value trainStep(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const auto shape = shapeArg(info[3], "shape");
      torch::Tensor images = viewOf(info[0], "images", {napi_float32_array});
      if (images.numel() != product(shape))
        throw std::invalid_argument("trainStep: images have " + std::to_string(images.numel()) + " values, shape needs " +
                                    std::to_string(product(shape)));
      images = images.view(shape);
      torch::Tensor labels = viewOf(info[1], "labels", {napi_uint8_array, napi_int32_array});
      torch::Tensor weights;
      if (!info[2].IsNull() && !info[2].IsUndefined()) weights = viewOf(info[2], "weights", {napi_float32_array});
      const double lr = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : -1;
      auto engine = engine_;
      auto result = std::make_shared<StepResult>();
      return queue(
          env, [=] { *result = engine->trainStep(images, labels, weights, lr); },
          [=](Napi::Env e) -> Napi::Value {
            Napi::Object o = Napi::Object::New(e);
            o.Set("loss", result->loss);
            o.Set("gradNorm", result->gradNorm);
            o.Set("learningRate", result->learningRate);
            o.Set("step", static_cast<double>(result->step));
            o.Set("skipped", result->skipped);
            return o;
          },
          {info[0], info[1], info[2]});
    });
  }

  // predict(images, shape, argmax) → Promise<Float32Array | Uint8Array>
  Napi::Value predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const auto shape = shapeArg(info[1], "shape");
      torch::Tensor images = viewOf(info[0], "images", {napi_float32_array});
      if (images.numel() != product(shape))
        throw std::invalid_argument("predict: images have " + std::to_string(images.numel()) + " values, shape needs " +
                                    std::to_string(product(shape)));
      images = images.view(shape);
      const bool argmax = info[2].ToBoolean().Value();
      auto engine = engine_;
      auto out = std::make_shared<torch::Tensor>();
      return queue(
          env, [=] { *out = engine->predict(images, argmax); }, [=](Napi::Env e) { return typedArrayOf(e, *out); }, {info[0]});
    });
  }

  // predictSlidingWindow(volume, shape [C, ...spatial], {patchSize, overlap, batchSize, gaussian, argmax}) → Promise
  Napi::Value predictSlidingWindow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      const auto shape = shapeArg(info[1], "shape");
      torch::Tensor volume = viewOf(info[0], "volume", {napi_float32_array});
      if (volume.numel() != product(shape))
        throw std::invalid_argument("predictSlidingWindow: volume has " + std::to_string(volume.numel()) + " values, shape needs " +
                                    std::to_string(product(shape)));
      volume = volume.view(shape);
      if (!info[2].IsObject()) throw Napi::TypeError::New(env, "predictSlidingWindow: options must be an object");
      Napi::Object o = info[2].As<Napi::Object>();
      const auto patch = shapeArg(o.Get("patchSize"), "patchSize");
      const double overlap = numberField(o, "overlap", 0.5);
      const int64_t batchSize = intField(o, "batchSize", 2);
      const bool gaussian = boolField(o, "gaussian", true), argmax = boolField(o, "argmax", true);
      auto engine = engine_;
      auto out = std::make_shared<torch::Tensor>();
      return queue(
          env, [=] { *out = engine->predictSlidingWindow(volume, patch, overlap, batchSize, gaussian, argmax); },
          [=](Napi::Env e) { return typedArrayOf(e, *out); }, {info[0]});
    });
  }

  Napi::Value save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string path = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (path.empty()) throw Napi::TypeError::New(env, "save: expected a file path");
    guarded(env, [&] { engine_->save(path); return 0; });
    return env.Undefined();
  }

  Napi::Value loadState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::string path = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (path.empty()) throw Napi::TypeError::New(env, "loadState: expected a file path");
    guarded(env, [&] { engine_->loadState(path); return 0; });
    return env.Undefined();
  }

  Napi::Value checksum(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), guarded(info.Env(), [&] { return engine_->parameterChecksum(); }));
  }

  Napi::Value parameterVector(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&] { return typedArrayOf(info.Env(), engine_->parameterVector()); });
  }

  Napi::Value info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("model", modelConfigObject(env, engine_->modelConfig()));
    o.Set("training", trainingConfigObject(env, engine_->trainingConfig()));
    o.Set("step", static_cast<double>(engine_->step()));
    o.Set("learningRate", engine_->scheduledLearningRate());
    return o;
  }

  Napi::Value setTraining(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "setTraining: expected an object");
    const TrainingConfig c = parseTrainingConfig(info[0].As<Napi::Object>(), engine_->trainingConfig());
    guarded(env, [&] { engine_->setTrainingConfig(c); return 0; });
    return env.Undefined();
  }

  std::shared_ptr<Engine> engine_;
};

// ---- module functions ---------------------------------------------------------------------------------

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "setThreads: expected a number");
  guarded(env, [&] { setThreads(info[0].As<Napi::Number>().Int32Value()); return 0; });
  return env.Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threads()); }

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "manualSeed: expected a number");
  torch::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  return info.Env().Undefined();
}

// maskedLoss(logits, shape [N, K, ...spatial], labels, weights | null, {ignoreIndex, batchDice}) → {loss, annotated, grad}
Napi::Value MaskedLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const auto shape = shapeArg(info[1], "shape");
    torch::Tensor logits = viewOf(info[0], "logits", {napi_float32_array});
    if (logits.numel() != product(shape)) throw std::invalid_argument("maskedLoss: logits do not match shape");
    logits = logits.view(shape);
    std::vector<int64_t> labelShape{shape[0]};
    labelShape.insert(labelShape.end(), shape.begin() + 2, shape.end());
    torch::Tensor labels = viewOf(info[2], "labels", {napi_uint8_array, napi_int32_array});
    torch::Tensor weights;
    if (!info[3].IsNull() && !info[3].IsUndefined()) weights = viewOf(info[3], "weights", {napi_float32_array});
    LossOptions options;
    if (info[4].IsObject()) {
      Napi::Object o = info[4].As<Napi::Object>();
      options.ignoreIndex = static_cast<int64_t>(numberField(o, "ignoreIndex", -1));
      options.batchDice = boolField(o, "batchDice", true);
    }
    applyThreads();
    LossResult r = maskedDiceCrossEntropy(logits, labels, weights, options, true);
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", r.loss);
    o.Set("annotated", r.annotated);
    o.Set("grad", typedArrayOf(env, r.gradLogits));
    return o;
  });
}

// releaseMemory() → bytes of cached activation memory given back to the system.
Napi::Value ReleaseMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(releaseCachedMemory()));
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("cuda", torch::cuda::is_available());
  o.Set("parallel", at::get_parallel_info());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installCachingAllocator();
  exports.Set("Model", Model::define(env));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("maskedLoss", Napi::Function::New(env, MaskedLoss));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("releaseMemory", Napi::Function::New(env, ReleaseMemory));
  return exports;
}

}  // namespace
}  // namespace slicewise

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return slicewise::Init(env, exports); }

NODE_API_MODULE(slicewise_engine, InitModule)
