// N-API argument conversion shared by the addon's Model class and module functions: option fields with
// fallbacks and type checks, engine configs ⇄ JS objects, typed arrays ⇄ tensors, C++ errors → JS errors.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <exception>
#include <string>
#include <vector>

#include "engine.h"
#include "unet.h"

namespace slicewise {

/** A one-line message for any C++ exception (libtorch errors without their backtrace). */
std::string describe(const std::exception_ptr& error);

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

// Option fields: undefined or null gives the fallback; a value of the wrong type throws a TypeError.
double numberField(const Napi::Object& o, const char* key, double fallback);
bool boolField(const Napi::Object& o, const char* key, bool fallback);
std::string stringField(const Napi::Object& o, const char* key, const std::string& fallback);
int intField(const Napi::Object& o, const char* key, int fallback);

UNetConfig parseModelConfig(const Napi::Object& o);
/** Fields absent from `o` keep their value in `c`. */
TrainingConfig parseTrainingConfig(const Napi::Object& o, TrainingConfig c = TrainingConfig());
Napi::Object modelConfigObject(Napi::Env env, const UNetConfig& c);
Napi::Object trainingConfigObject(Napi::Env env, const TrainingConfig& c);

/** An array of positive integer sizes. */
std::vector<int64_t> shapeArg(const Napi::Value& v, const char* what);
// A tensor viewing a typed array's memory (no copy); the caller keeps the array referenced while in use.
torch::Tensor viewOf(const Napi::Value& v, const char* what, std::vector<napi_typedarray_type> allowed);
int64_t product(const std::vector<int64_t>& shape);
// Hands a contiguous CPU tensor to JS without copying: the ArrayBuffer owns a reference to the tensor.
Napi::Value typedArrayOf(Napi::Env env, const torch::Tensor& in);

}  // namespace slicewise
