// Node binding: a Model class (create / load, train step, predict, sliding window, checkpoints) and a few
// module functions. Typed arrays are viewed in place (torch::from_blob), kept alive by references held in
// the async worker; results come back as external ArrayBuffers that own their tensor. Every C++ error
// becomes a JS exception or a rejected Promise, never an abort.
#include <napi.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "allocator.h"
#include "engine.h"
#include "loss.h"

namespace slicewise {
namespace {

std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::Error& e) {
    return std::string("libtorch: ") + e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    return "out of memory (the batch, patch or model is too large for this machine)";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

// Runs `fn`, turning any C++ exception into a JS exception.
template <typename Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(env, describe(std::current_exception()));
  }
}

// ---- argument helpers ---------------------------------------------------------------------------------

double numberField(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}
bool boolField(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
std::string stringField(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
int intField(const Napi::Object& o, const char* key, int fallback) {
  const double v = numberField(o, key, fallback);
  if (v != static_cast<int>(v)) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be an integer");
  return static_cast<int>(v);
}

UNetConfig parseModelConfig(const Napi::Object& o) {
  UNetConfig c;
  c.dims = intField(o, "dims", 2);
  c.inChannels = intField(o, "inChannels", 1);
  c.classes = intField(o, "classes", 2);
  c.depth = intField(o, "depth", 4);
  c.baseWidth = intField(o, "baseWidth", 32);
  c.maxWidth = intField(o, "maxWidth", 0);
  const std::string norm = stringField(o, "norm", "instance");
  if (norm != "instance" && norm != "batch") throw Napi::TypeError::New(o.Env(), "norm must be 'instance' or 'batch'");
  c.instanceNorm = norm == "instance";
  c.deepSupervision = boolField(o, "deepSupervision", false);
  c.channelsLast = boolField(o, "channelsLast", false);
  return c;
}

TrainingConfig parseTrainingConfig(const Napi::Object& o, TrainingConfig c = TrainingConfig()) {
  c.optimizer = stringField(o, "optimizer", c.optimizer);
  c.learningRate = numberField(o, "learningRate", c.learningRate);
  c.momentum = numberField(o, "momentum", c.momentum);
  c.weightDecay = numberField(o, "weightDecay", c.weightDecay);
  c.nesterov = boolField(o, "nesterov", c.nesterov);
  c.beta1 = numberField(o, "beta1", c.beta1);
  c.beta2 = numberField(o, "beta2", c.beta2);
  c.epsilon = numberField(o, "epsilon", c.epsilon);
  c.gradClip = numberField(o, "gradClip", c.gradClip);
  c.polyExponent = numberField(o, "polyExponent", c.polyExponent);
  c.totalSteps = static_cast<int64_t>(numberField(o, "totalSteps", static_cast<double>(c.totalSteps)));
  c.loss.ignoreIndex = static_cast<int64_t>(numberField(o, "ignoreIndex", static_cast<double>(c.loss.ignoreIndex)));
  c.loss.batchDice = boolField(o, "batchDice", c.loss.batchDice);
  return c;
}

Napi::Object modelConfigObject(Napi::Env env, const UNetConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("dims", c.dims);
  o.Set("inChannels", c.inChannels);
  o.Set("classes", c.classes);
  o.Set("depth", c.depth);
  o.Set("baseWidth", c.baseWidth);
  o.Set("maxWidth", c.maxWidth > 0 ? c.maxWidth : (c.dims == 2 ? 512 : 320));
  o.Set("norm", c.instanceNorm ? "instance" : "batch");
  o.Set("deepSupervision", c.deepSupervision);
  o.Set("channelsLast", c.channelsLast);
  return o;
}

Napi::Object trainingConfigObject(Napi::Env env, const TrainingConfig& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("optimizer", c.optimizer);
  o.Set("learningRate", c.learningRate);
  o.Set("momentum", c.momentum);
  o.Set("weightDecay", c.weightDecay);
  o.Set("nesterov", c.nesterov);
  o.Set("beta1", c.beta1);
  o.Set("beta2", c.beta2);
  o.Set("epsilon", c.epsilon);
  o.Set("gradClip", c.gradClip);
  o.Set("polyExponent", c.polyExponent);
  o.Set("totalSteps", static_cast<double>(c.totalSteps));
  o.Set("ignoreIndex", static_cast<double>(c.loss.ignoreIndex));
  o.Set("batchDice", c.loss.batchDice);
  return o;
}

std::vector<int64_t> shapeArg(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be an array of sizes");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value s = a.Get(i);
    if (!s.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must hold numbers");
    const double d = s.As<Napi::Number>().DoubleValue();
    if (d < 1 || d != static_cast<int64_t>(d)) throw Napi::TypeError::New(v.Env(), std::string(what) + " must hold positive integers");
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

// A tensor viewing a typed array's memory (no copy); the caller keeps the array referenced while in use.
torch::Tensor viewOf(const Napi::Value& v, const char* what, std::vector<napi_typedarray_type> allowed) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a typed array");
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  const auto type = a.TypedArrayType();
  bool ok = false;
  for (auto t : allowed) ok = ok || t == type;
  if (!ok) throw Napi::TypeError::New(v.Env(), std::string(what) + " has the wrong element type");
  torch::ScalarType dtype = type == napi_float32_array ? torch::kFloat : type == napi_int32_array ? torch::kInt : torch::kByte;
  void* data = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return torch::from_blob(data, {static_cast<int64_t>(a.ElementLength())}, torch::TensorOptions().dtype(dtype));
}

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

// Hands a contiguous CPU tensor to JS without copying: the ArrayBuffer owns a reference to the tensor.
Napi::Value typedArrayOf(Napi::Env env, const torch::Tensor& in) {
  auto* owner = new torch::Tensor(in.contiguous());
  const size_t bytes = owner->numel() * owner->element_size();
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, owner->data_ptr(), bytes,
                                                    [](Napi::Env, void*, torch::Tensor* t) { delete t; }, owner);
  const size_t n = owner->numel();
  switch (owner->scalar_type()) {
    case torch::kFloat: return Napi::Float32Array::New(env, n, buffer, 0);
    case torch::kByte: return Napi::Uint8Array::New(env, n, buffer, 0);
    default: throw Napi::Error::New(env, "internal: unexpected result type");
  }
}

// ---- async work ---------------------------------------------------------------------------------------

// Runs `job` on a libuv worker thread; resolves with `finish(env)` on the main thread.
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
      applyThreads();
      job_();
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
