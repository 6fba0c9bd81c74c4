#include "engine.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "shape_text.h"

namespace slicewise {
namespace {

std::atomic<int> gThreads{0};

at::MemoryFormat channelsLastFor(int dims) {
  return dims == 2 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::ChannelsLast3d;
}

// Nearest-neighbour downsampling of a (N, *spatial) label or weight map by `factor` on every spatial axis.
torch::Tensor subsample(const torch::Tensor& t, int64_t factor) {
  if (factor == 1 || !t.defined()) return t;
  torch::Tensor out = t;
  for (int64_t d = 1; d < t.dim(); ++d) out = out.slice(d, 0, c10::nullopt, factor);
  return out.contiguous();
}

}  // namespace

void setThreads(int threads) {
  if (threads < 1) throw std::invalid_argument("threads must be ≥ 1, got " + std::to_string(threads));
  gThreads = threads;
  at::set_num_threads(threads);
}
int threads() { return gThreads > 0 ? gThreads.load() : at::get_num_threads(); }
void applyThreads() {
  // OpenMP's thread count is per calling thread: each worker thread sets it before computing.
  if (gThreads > 0) at::set_num_threads(gThreads);
}

// ---- training configuration ---------------------------------------------------------------------------

void TrainingConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("training config: " + what); };
  if (optimizer != "sgd" && optimizer != "adam") fail("optimizer must be 'sgd' or 'adam', got '" + optimizer + "'");
  if (!(learningRate > 0)) fail("learningRate must be > 0");
  if (momentum < 0 || momentum >= 1) fail("momentum must be in [0, 1)");
  if (weightDecay < 0) fail("weightDecay must be ≥ 0");
  if (gradClip < 0) fail("gradClip must be ≥ 0 (0 disables clipping)");
  if (totalSteps < 1) fail("totalSteps must be ≥ 1");
  if (polyExponent < 0) fail("polyExponent must be ≥ 0");
}

std::string TrainingConfig::serialize() const {
  std::ostringstream s;
  s.precision(17);
  s << "training;optimizer=" << optimizer << ";lr=" << learningRate << ";momentum=" << momentum << ";wd=" << weightDecay
    << ";nesterov=" << nesterov << ";beta1=" << beta1 << ";beta2=" << beta2 << ";eps=" << epsilon << ";clip=" << gradClip
    << ";poly=" << polyExponent << ";total=" << totalSteps << ";ignore=" << loss.ignoreIndex << ";batchDice=" << loss.batchDice;
  return s.str();
}

TrainingConfig TrainingConfig::parse(const std::string& text) {
  TrainingConfig c;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ';')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "optimizer") c.optimizer = v;
    else if (k == "lr") c.learningRate = std::stod(v);
    else if (k == "momentum") c.momentum = std::stod(v);
    else if (k == "wd") c.weightDecay = std::stod(v);
    else if (k == "nesterov") c.nesterov = v == "1";
    else if (k == "beta1") c.beta1 = std::stod(v);
    else if (k == "beta2") c.beta2 = std::stod(v);
    else if (k == "eps") c.epsilon = std::stod(v);
    else if (k == "clip") c.gradClip = std::stod(v);
    else if (k == "poly") c.polyExponent = std::stod(v);
    else if (k == "total") c.totalSteps = std::stoll(v);
    else if (k == "ignore") c.loss.ignoreIndex = std::stoll(v);
    else if (k == "batchDice") c.loss.batchDice = v == "1";
  }
  c.validate();
  return c;
}

// ---- engine -----------------------------------------------------------------------------------------

static torch::Device parseDevice(const std::string& device) {
  if (device == "cpu") return torch::Device(torch::kCPU);
  if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw std::invalid_argument("device '" + device + "' requested but this libtorch has no usable CUDA device");
    return torch::Device(device);
  }
  throw std::invalid_argument("device must be 'cpu' or 'cuda[:N]', got '" + device + "'");
}

Engine::Engine(const UNetConfig& model, const TrainingConfig& training, uint64_t seed, const std::string& device)
    : modelConfig_(model), trainingConfig_(training), device_(parseDevice(device)) {
  modelConfig_.validate();
  trainingConfig_.validate();
  torch::manual_seed(seed);
  model_ = UNet(modelConfig_);
  model_->initialize();
  model_->to(device_);
  buildOptimizer();
}

void Engine::buildOptimizer() {
  const auto& t = trainingConfig_;
  if (t.optimizer == "sgd") {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        model_->parameters(),
        torch::optim::SGDOptions(t.learningRate).momentum(t.momentum).nesterov(t.nesterov && t.momentum > 0).weight_decay(t.weightDecay));
  } else {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        model_->parameters(),
        torch::optim::AdamOptions(t.learningRate).betas({t.beta1, t.beta2}).eps(t.epsilon).weight_decay(t.weightDecay));
  }
}

void Engine::setTrainingConfig(const TrainingConfig& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  config.validate();
  const bool rebuild = config.optimizer != trainingConfig_.optimizer;
  trainingConfig_ = config;
  if (rebuild) buildOptimizer();
  for (auto& group : optimizer_->param_groups()) {
    if (trainingConfig_.optimizer == "sgd") {
      auto& o = static_cast<torch::optim::SGDOptions&>(group.options());
      o.momentum(config.momentum).nesterov(config.nesterov && config.momentum > 0).weight_decay(config.weightDecay);
    } else {
      auto& o = static_cast<torch::optim::AdamOptions&>(group.options());
      o.betas({config.beta1, config.beta2}).eps(config.epsilon).weight_decay(config.weightDecay);
    }
  }
}

double Engine::scheduledLearningRate() const {
  const auto& t = trainingConfig_;
  const double progress = std::min(1.0, static_cast<double>(step_) / static_cast<double>(t.totalSteps));
  return t.learningRate * std::pow(1.0 - progress, t.polyExponent);
}

void Engine::checkImages(const torch::Tensor& images, const char* what) const {
  if (images.dim() != modelConfig_.dims + 2)
    throw std::invalid_argument(std::string(what) + ": images must be (N, C, " + (modelConfig_.dims == 2 ? "H, W" : "D, H, W") +
                                ") for a " + std::to_string(modelConfig_.dims) + "D model, got shape " + shapeText(images));
  if (images.size(1) != modelConfig_.inChannels)
    throw std::invalid_argument(std::string(what) + ": images have " + std::to_string(images.size(1)) + " channels, the model takes " +
                                std::to_string(modelConfig_.inChannels));
  for (int64_t d = 0; d < images.dim(); ++d)
    if (images.size(d) < 1) throw std::invalid_argument(std::string(what) + ": empty images, shape " + shapeText(images));
}

torch::Tensor Engine::toModelInput(const torch::Tensor& images) {
  torch::Tensor x = images.to(device_, torch::kFloat);
  if (modelConfig_.channelsLast) x = x.contiguous(channelsLastFor(modelConfig_.dims));
  return x;
}

StepResult Engine::trainStep(const torch::Tensor& images, const torch::Tensor& labels, const torch::Tensor& weights, double lr) {
  std::lock_guard<std::mutex> lock(mutex_);
  checkImages(images, "trainStep");
  const int64_t N = images.size(0);
  const int64_t factor = int64_t{1} << (modelConfig_.depth - 1);
  std::vector<int64_t> labelShape{N};
  for (int64_t d = 2; d < images.dim(); ++d) {
    if (images.size(d) % factor != 0)
      throw std::invalid_argument("trainStep: spatial size " + shapeText(images) + " must be divisible by " + std::to_string(factor) +
                                  " (2^(depth−1)) on every axis");
    labelShape.push_back(images.size(d));
  }
  int64_t voxels = 1;
  for (auto s : labelShape) voxels *= s;
  if (labels.numel() != voxels)
    throw std::invalid_argument("trainStep: labels have " + std::to_string(labels.numel()) + " values, images " + shapeText(images) +
                                " need " + std::to_string(voxels));
  if (weights.defined() && weights.numel() != voxels)
    throw std::invalid_argument("trainStep: weights have " + std::to_string(weights.numel()) + " values, need " + std::to_string(voxels));
  const torch::Tensor labelMap = labels.view(labelShape);
  const torch::Tensor weightMap = weights.defined() ? weights.view(labelShape) : weights;

  StepResult result;
  result.learningRate = lr >= 0 ? lr : scheduledLearningRate();
  ++step_;
  result.step = step_;
  // Nothing annotated: no forward pass, no update (weights and norm statistics stay as they are).
  torch::Tensor annotated = labelMap != trainingConfig_.loss.ignoreIndex;
  if (weightMap.defined()) annotated = annotated & (weightMap > 0);
  if (!annotated.any().item<bool>()) {
    result.skipped = true;
    return result;
  }

  model_->train();
  std::vector<torch::Tensor> outputs = model_->forward(toModelInput(images));
  // Deep supervision: weights 1, 1/2, 1/4, ... with the lowest resolution left out, normalized (nnU-Net).
  std::vector<double> dsWeights(outputs.size());
  double dsSum = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    dsWeights[i] = (outputs.size() > 1 && i + 1 == outputs.size()) ? 0.0 : std::pow(0.5, static_cast<double>(i));
    dsSum += dsWeights[i];
  }
  std::vector<torch::Tensor> used, grads;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (dsWeights[i] == 0) continue;
    const double w = dsWeights[i] / dsSum;
    const int64_t f = int64_t{1} << i;
    LossResult r = maskedDiceCrossEntropy(outputs[i], subsample(labelMap, f), subsample(weightMap, f), trainingConfig_.loss, true, w);
    result.loss += w * r.loss;
    used.push_back(outputs[i]);
    grads.push_back(r.gradLogits.to(outputs[i].device()));
  }
  torch::autograd::backward(used, grads);

  std::vector<torch::Tensor> params = model_->parameters();
  if (trainingConfig_.gradClip > 0) {
    result.gradNorm = torch::nn::utils::clip_grad_norm_(params, trainingConfig_.gradClip);
  } else {
    double sq = 0;
    for (auto& p : params)
      if (p.grad().defined()) sq += p.grad().pow(2).sum().item<double>();
    result.gradNorm = std::sqrt(sq);
  }
  for (auto& group : optimizer_->param_groups()) {
    if (trainingConfig_.optimizer == "sgd") static_cast<torch::optim::SGDOptions&>(group.options()).lr(result.learningRate);
    else static_cast<torch::optim::AdamOptions&>(group.options()).lr(result.learningRate);
  }
  optimizer_->step();
  for (auto& p : params) p.mutable_grad().reset();  // set to none: no memset next step
  return result;
}

torch::Tensor Engine::predict(const torch::Tensor& images, bool argmax) {
  std::lock_guard<std::mutex> lock(mutex_);
  checkImages(images, "predict");
  c10::InferenceMode inference;
  model_->eval();
  // Pad each spatial axis up to a multiple of 2^(depth−1), then crop the result back.
  const int64_t factor = int64_t{1} << (modelConfig_.depth - 1);
  std::vector<int64_t> pads;
  bool padded = false;
  for (int64_t d = images.dim() - 1; d >= 2; --d) {
    const int64_t extra = (factor - images.size(d) % factor) % factor;
    pads.push_back(0);
    pads.push_back(extra);
    padded = padded || extra > 0;
  }
  torch::Tensor x = toModelInput(images);
  if (padded) x = at::constant_pad_nd(x, pads, 0.0);
  torch::Tensor logits = model_->forward(x)[0];
  if (padded)
    for (int64_t d = 2; d < images.dim(); ++d) logits = logits.narrow(d, 0, images.size(d));
  torch::Tensor out = argmax ? logits.argmax(1).to(torch::kByte) : torch::softmax(logits, 1);
  return out.to(torch::kCPU).contiguous();
}

// ---- checkpoints ------------------------------------------------------------------------------------

void Engine::save(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::serialize::OutputArchive archive;
  archive.write("slicewise_format", c10::IValue(int64_t{1}));
  archive.write("slicewise_model", c10::IValue(modelConfig_.serialize()));
  archive.write("slicewise_training", c10::IValue(trainingConfig_.serialize()));
  archive.write("slicewise_step", c10::IValue(step_));
  torch::serialize::OutputArchive weights, optimizerState;
  model_->save(weights);
  optimizer_->save(optimizerState);
  archive.write("weights", weights);
  archive.write("optimizer", optimizerState);
  // Written beside the target, then renamed: a reader never sees half a checkpoint.
  const std::string temp = path + ".tmp-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  archive.save_to(temp);
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw std::runtime_error("cannot write checkpoint " + path);
  }
}

namespace {
struct Checkpoint {
  torch::serialize::InputArchive archive;
  UNetConfig model;
  TrainingConfig training;
  int64_t step = 0;
};

void readCheckpoint(const std::string& path, Checkpoint& c) {
  try {
    c.archive.load_from(path);
  } catch (const c10::Error& e) {
    throw std::invalid_argument(path + ": not a readable slicewise checkpoint (" + e.what_without_backtrace() + ")");
  }
  c10::IValue value;
  if (!c.archive.try_read("slicewise_model", value) || !value.isString())
    throw std::invalid_argument(path + ": not a slicewise checkpoint (no model configuration)");
  c.model = UNetConfig::parse(value.toStringRef());
  if (c.archive.try_read("slicewise_training", value) && value.isString()) c.training = TrainingConfig::parse(value.toStringRef());
  if (c.archive.try_read("slicewise_step", value) && value.isInt()) c.step = value.toInt();
}
}  // namespace

std::unique_ptr<Engine> Engine::load(const std::string& path, const std::string& device) {
  Checkpoint c;
  readCheckpoint(path, c);
  auto engine = std::make_unique<Engine>(c.model, c.training, 0, device);
  engine->loadState(path);
  return engine;
}

void Engine::loadState(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  Checkpoint c;
  readCheckpoint(path, c);
  if (!c.model.sameArchitecture(modelConfig_))
    throw std::invalid_argument(path + ": checkpoint holds a different model (" + c.model.serialize() + ") than this one (" +
                                modelConfig_.serialize() + ")");
  torch::serialize::InputArchive weights, optimizerState;
  c.archive.read("weights", weights);
  model_->load(weights);
  model_->to(device_);
  trainingConfig_ = c.training;
  buildOptimizer();
  if (c.archive.try_read("optimizer", optimizerState)) optimizer_->load(optimizerState);
  step_ = c.step;
}

double Engine::parameterChecksum() {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard noGrad;
  double sum = 0;
  for (auto& p : model_->parameters()) {
    torch::Tensor d = p.to(torch::kCPU, torch::kDouble);
    sum += d.sum().item<double>() + 0.5 * d.pow(2).sum().item<double>();
  }
  return sum;
}

torch::Tensor Engine::parameterVector() {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> flat;
  for (auto& p : model_->parameters()) flat.push_back(p.detach().to(torch::kCPU).reshape({-1}));
  return torch::cat(flat).contiguous();
}

}  // namespace slicewise
