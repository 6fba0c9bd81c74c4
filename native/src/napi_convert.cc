// N-API argument conversion for the addon: JS options objects ⇄ engine configs, typed arrays viewed as
// tensors, tensors handed back as typed arrays, and C++ exceptions turned into messages.
#include "napi_convert.h"

#include <new>

namespace slicewise {

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

TrainingConfig parseTrainingConfig(const Napi::Object& o, TrainingConfig c) {
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

}  // namespace slicewise
