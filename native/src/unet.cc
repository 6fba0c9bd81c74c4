#include "unet.h"

#include <sstream>
#include <stdexcept>

namespace slicewise {

void UNetConfig::validate() const {
  auto fail = [](const std::string& what) { throw std::invalid_argument("model config: " + what); };
  if (dims != 2 && dims != 3) fail("dims must be 2 or 3, got " + std::to_string(dims));
  if (inChannels < 1) fail("inChannels must be ≥ 1, got " + std::to_string(inChannels));
  if (classes < 2 || classes > 255) fail("classes must be in 2..255 (background included), got " + std::to_string(classes));
  if (depth < 1 || depth > 8) fail("depth must be in 1..8, got " + std::to_string(depth));
  if (baseWidth < 1 || baseWidth > 4096) fail("baseWidth must be in 1..4096, got " + std::to_string(baseWidth));
  if (maxWidth < 0) fail("maxWidth must be ≥ 0, got " + std::to_string(maxWidth));
}

int UNetConfig::width(int stage) const {
  const int cap = maxWidth > 0 ? maxWidth : (dims == 2 ? 512 : 320);
  long w = static_cast<long>(baseWidth) << stage;
  return static_cast<int>(std::min<long>(w, cap));
}

std::string UNetConfig::serialize() const {
  std::ostringstream s;
  s << "unet;dims=" << dims << ";in=" << inChannels << ";classes=" << classes << ";depth=" << depth
    << ";base=" << baseWidth << ";max=" << (maxWidth > 0 ? maxWidth : (dims == 2 ? 512 : 320))
    << ";norm=" << (instanceNorm ? "instance" : "batch") << ";ds=" << (deepSupervision ? 1 : 0);
  return s.str();
}

UNetConfig UNetConfig::parse(const std::string& text) {
  UNetConfig c;
  std::istringstream in(text);
  std::string item;
  bool sawTag = false;
  while (std::getline(in, item, ';')) {
    if (item == "unet") { sawTag = true; continue; }
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("checkpoint config is malformed: " + text);
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "norm") { c.instanceNorm = value == "instance"; continue; }
    const int v = std::stoi(value);
    if (key == "dims") c.dims = v;
    else if (key == "in") c.inChannels = v;
    else if (key == "classes") c.classes = v;
    else if (key == "depth") c.depth = v;
    else if (key == "base") c.baseWidth = v;
    else if (key == "max") c.maxWidth = v;
    else if (key == "ds") c.deepSupervision = v != 0;
  }
  if (!sawTag) throw std::invalid_argument("checkpoint config is not a slicewise U-Net: " + text);
  c.validate();
  return c;
}

UNetImpl::UNetImpl(const UNetConfig& config) : config_(config) {
  config_.validate();
  const int L = config_.depth;
  encoder_.resize(L);
  for (int s = 0; s < L; ++s) {
    const int in = s == 0 ? config_.inChannels : config_.width(s - 1);
    const int out = config_.width(s);
    const std::string p = "encoder" + std::to_string(s) + "_";
    encoder_[s].push_back(makeBlock(p + "0", in, out, s == 0 ? 1 : 2));
    encoder_[s].push_back(makeBlock(p + "1", out, out, 1));
  }
  decoder_.resize(L > 0 ? L - 1 : 0);
  ups_.resize(decoder_.size());
  heads_.resize(decoder_.size());
  for (int s = L - 2; s >= 0; --s) {
    const int below = config_.width(s + 1), out = config_.width(s);
    const std::string p = "decoder" + std::to_string(s) + "_";
    ups_[s] = makeProjection(p + "up", below, out, true);
    decoder_[s].push_back(makeBlock(p + "0", 2 * out, out, 1));
    decoder_[s].push_back(makeBlock(p + "1", out, out, 1));
    if (config_.deepSupervision || s == 0) heads_[s] = makeProjection(p + "head", out, config_.classes, false);
  }
  if (L == 1) {  // no decoder: a head on the single stage
    heads_.resize(1);
    heads_[0] = makeProjection("head", config_.width(0), config_.classes, false);
  }
}

static std::vector<int64_t> kernelShape(int dims, int64_t out, int64_t in, int64_t k) {
  std::vector<int64_t> shape{out, in};
  for (int d = 0; d < dims; ++d) shape.push_back(k);
  return shape;
}

UNetImpl::ConvBlock UNetImpl::makeBlock(const std::string& name, int in, int out, int stride) {
  ConvBlock b;
  b.stride = stride;
  b.weight = register_parameter(name + "_conv_weight", torch::empty(kernelShape(config_.dims, out, in, 3)));
  b.bias = register_parameter(name + "_conv_bias", torch::zeros({out}));
  b.normWeight = register_parameter(name + "_norm_weight", torch::ones({out}));
  b.normBias = register_parameter(name + "_norm_bias", torch::zeros({out}));
  if (!config_.instanceNorm) {
    b.runningMean = register_buffer(name + "_norm_running_mean", torch::zeros({out}));
    b.runningVar = register_buffer(name + "_norm_running_var", torch::ones({out}));
  }
  initOrder_.push_back(b.weight);
  return b;
}

UNetImpl::Projection UNetImpl::makeProjection(const std::string& name, int in, int out, bool transposed) {
  Projection p;
  // Transposed conv weights are (in, out, 2, ...), as PyTorch stores them; heads are 1×1 convs.
  p.weight = register_parameter(name + "_weight", transposed ? torch::empty(kernelShape(config_.dims, in, out, 2))
                                                             : torch::empty(kernelShape(config_.dims, out, in, 1)));
  p.bias = register_parameter(name + "_bias", torch::zeros({out}));
  initOrder_.push_back(p.weight);
  return p;
}

void UNetImpl::initialize() {
  torch::NoGradGuard noGrad;
  for (auto& w : initOrder_) torch::nn::init::kaiming_normal_(w, 0.01, torch::kFanIn, torch::kLeakyReLU);
  for (auto& kv : named_parameters()) {
    const std::string& key = kv.key();
    if (key.size() >= 5 && key.compare(key.size() - 5, 5, "_bias") == 0) kv.value().zero_();
    if (key.find("_norm_weight") != std::string::npos) kv.value().fill_(1.0);
  }
  for (auto& kv : named_buffers()) {
    if (kv.key().find("running_var") != std::string::npos) kv.value().fill_(1.0);
    else kv.value().zero_();
  }
}

torch::Tensor UNetImpl::runBlock(const ConvBlock& b, const torch::Tensor& x) {
  torch::Tensor y = config_.dims == 2 ? at::conv2d(x, b.weight, b.bias, b.stride, 1)
                                      : at::conv3d(x, b.weight, b.bias, b.stride, 1);
  if (config_.instanceNorm) {
    // Instance norm is group norm with one channel per group: one fused kernel (forward and backward)
    // that keeps the memory format, where instance_norm reshapes into a batch norm over N·C channels.
    y = at::group_norm(y, y.size(1), b.normWeight, b.normBias, 1e-5, false);
  } else {
    y = at::batch_norm(y, b.normWeight, b.normBias, b.runningMean, b.runningVar, is_training(), 0.1, 1e-5, false);
  }
  return at::leaky_relu_(y, 0.01);
}

torch::Tensor UNetImpl::runUp(const Projection& up, const torch::Tensor& x) {
  return config_.dims == 2 ? at::conv_transpose2d(x, up.weight, up.bias, 2) : at::conv_transpose3d(x, up.weight, up.bias, 2);
}

torch::Tensor UNetImpl::runHead(const Projection& head, const torch::Tensor& x) {
  return config_.dims == 2 ? at::conv2d(x, head.weight, head.bias) : at::conv3d(x, head.weight, head.bias);
}

std::vector<torch::Tensor> UNetImpl::forward(torch::Tensor x) {
  const int L = config_.depth;
  std::vector<torch::Tensor> skips;
  for (int s = 0; s < L; ++s) {
    for (const auto& b : encoder_[s]) x = runBlock(b, x);
    skips.push_back(x);
  }
  std::vector<torch::Tensor> outputs;
  if (L == 1) return {runHead(heads_[0], x)};
  const bool allHeads = config_.deepSupervision && is_training();
  for (int s = L - 2; s >= 0; --s) {
    x = at::cat({runUp(ups_[s], x), skips[s]}, 1);
    for (const auto& b : decoder_[s]) x = runBlock(b, x);
    if (allHeads || s == 0) outputs.push_back(runHead(heads_[s], x));
  }
  std::reverse(outputs.begin(), outputs.end());
  return outputs;
}

}  // namespace slicewise
