#include "loss.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace slicewise {
namespace {

// Element (n, k, v) of the logits sits at n*sN + k*sK + v*sV for both memory formats, with v the flattened
// spatial index: contiguous (sK = V, sV = 1) or channels-last (sK = 1, sV = K).
struct Layout {
  int64_t N, K, V, sN, sK, sV;
};

Layout layoutOf(const torch::Tensor& logits) {
  Layout l{};
  l.N = logits.size(0);
  l.K = logits.size(1);
  l.V = logits.numel() / std::max<int64_t>(1, l.N * l.K);
  if (logits.is_contiguous()) {
    l.sN = l.K * l.V; l.sK = l.V; l.sV = 1;
  } else {
    l.sN = l.K * l.V; l.sK = 1; l.sV = l.K;
  }
  return l;
}

template <typename Label>
LossResult run(const torch::Tensor& logits, const Label* labels, const float* weights, const LossOptions& opt,
               bool computeGrad, double gradScale) {
  const Layout L = layoutOf(logits);
  const float* z = logits.data_ptr<float>();
  const int64_t K = L.K, total = L.N * L.V;
  const int groups = opt.batchDice ? 1 : static_cast<int>(L.N);
  // Per group and class: intersection, predicted mass, label mass; plus per-group annotated mass and CE sum.
  const int64_t stride = 3 * K + 2;
  const int threads = at::get_num_threads();
  std::vector<double> partial(static_cast<size_t>(threads) * groups * stride, 0.0);

  const int64_t grain = 4096;
  at::parallel_for(0, total, grain, [&](int64_t begin, int64_t end) {
    double* acc = partial.data() + static_cast<size_t>(at::get_thread_num()) * groups * stride;
    std::vector<double> p(K);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t label = static_cast<int64_t>(labels[i]);
      if (label == opt.ignoreIndex) continue;
      const double m = weights ? static_cast<double>(weights[i]) : 1.0;
      if (!(m > 0)) continue;
      if (label < 0 || label >= K)
        throw std::invalid_argument("label value " + std::to_string(label) + " is outside 0.." + std::to_string(K - 1) +
                                    " and is not the ignore value " + std::to_string(opt.ignoreIndex));
      const int64_t n = i / L.V, v = i % L.V;
      const float* zi = z + n * L.sN + v * L.sV;
      double mx = zi[0];
      for (int64_t k = 1; k < K; ++k) mx = std::max(mx, static_cast<double>(zi[k * L.sK]));
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += (p[k] = std::exp(zi[k * L.sK] - mx));
      const double logSum = std::log(sum);
      double* g = acc + (opt.batchDice ? 0 : n) * stride;
      for (int64_t k = 0; k < K; ++k) g[K + k] += m * p[k] / sum;               // predicted mass
      g[label] += m * p[label] / sum;                                             // intersection
      g[2 * K + label] += m;                                                      // label mass
      g[3 * K] += m;                                                              // annotated mass
      g[3 * K + 1] += m * (logSum + mx - zi[label * L.sK]);                       // −log p(label)
    }
  });
  std::vector<double> stats(static_cast<size_t>(groups) * stride, 0.0);
  for (int t = 0; t < threads; ++t)
    for (size_t j = 0; j < stats.size(); ++j) stats[j] += partial[static_cast<size_t>(t) * groups * stride + j];

  LossResult result;
  double annotated = 0, ceSum = 0;
  int diceTerms = 0;
  for (int g = 0; g < groups; ++g) {
    annotated += stats[g * stride + 3 * K];
    ceSum += stats[g * stride + 3 * K + 1];
    if (stats[g * stride + 3 * K] > 0) diceTerms += static_cast<int>(K - 1);
  }
  result.annotated = annotated;
  if (computeGrad) result.gradLogits = torch::zeros_like(logits);
  if (!(annotated > 0)) return result;  // nothing annotated: zero loss, zero gradient

  // dLoss/dp for each foreground class, per group: A·y + B (times the voxel weight).
  std::vector<double> coefA(groups * K, 0.0), coefB(groups * K, 0.0);
  double diceMean = 0;
  for (int g = 0; g < groups; ++g) {
    const double* s = stats.data() + g * stride;
    if (!(s[3 * K] > 0)) continue;
    for (int64_t k = 1; k < K; ++k) {
      const double inter = s[k], denom = s[K + k] + s[2 * K + k] + opt.smooth;
      diceMean += (2 * inter + opt.smooth) / denom / diceTerms;
      coefA[g * K + k] = -2.0 / denom / diceTerms;
      coefB[g * K + k] = (2 * inter + opt.smooth) / (denom * denom) / diceTerms;
    }
  }
  result.loss = ceSum / annotated + (1.0 - diceMean);
  if (!computeGrad) return result;

  float* grad = result.gradLogits.data_ptr<float>();
  const double ceScale = gradScale / annotated;
  at::parallel_for(0, total, grain, [&](int64_t begin, int64_t end) {
    std::vector<double> p(K), dp(K);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t label = static_cast<int64_t>(labels[i]);
      if (label == opt.ignoreIndex) continue;
      const double m = weights ? static_cast<double>(weights[i]) : 1.0;
      if (!(m > 0)) continue;
      const int64_t n = i / L.V, v = i % L.V;
      const int64_t offset = n * L.sN + v * L.sV;
      const float* zi = z + offset;
      double mx = zi[0];
      for (int64_t k = 1; k < K; ++k) mx = std::max(mx, static_cast<double>(zi[k * L.sK]));
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += (p[k] = std::exp(zi[k * L.sK] - mx));
      const int64_t g = opt.batchDice ? 0 : n;
      double dot = 0;
      for (int64_t k = 0; k < K; ++k) {
        p[k] /= sum;
        dp[k] = m * (coefA[g * K + k] * (k == label ? 1.0 : 0.0) + coefB[g * K + k]) * gradScale;
        dot += dp[k] * p[k];
      }
      float* gi = grad + offset;
      for (int64_t k = 0; k < K; ++k) {
        const double ce = m * (p[k] - (k == label ? 1.0 : 0.0)) * ceScale;
        gi[k * L.sK] = static_cast<float>(ce + p[k] * (dp[k] - dot));
      }
    }
  });
  return result;
}

}  // namespace

LossResult maskedDiceCrossEntropy(const torch::Tensor& logitsIn, const torch::Tensor& labelsIn, const torch::Tensor& weightsIn,
                                  const LossOptions& options, bool computeGrad, double gradScale) {
  if (logitsIn.dim() < 3) throw std::invalid_argument("loss: logits must be (N, K, *spatial)");
  if (logitsIn.size(1) < 2) throw std::invalid_argument("loss: needs at least 2 classes");
  torch::Tensor logits = logitsIn.detach().to(torch::kCPU, torch::kFloat);
  if (!logits.is_contiguous() && !logits.is_contiguous(logits.dim() == 4 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::ChannelsLast3d))
    logits = logits.contiguous();
  const int64_t perSample = logits.numel() / logits.size(0) / logits.size(1);
  if (labelsIn.numel() != logits.size(0) * perSample)
    throw std::invalid_argument("loss: labels have " + std::to_string(labelsIn.numel()) + " values, logits need " +
                                std::to_string(logits.size(0) * perSample));
  torch::Tensor labels = labelsIn.contiguous();
  torch::Tensor weights;
  if (weightsIn.defined()) {
    if (weightsIn.numel() != labels.numel())
      throw std::invalid_argument("loss: weights have " + std::to_string(weightsIn.numel()) + " values, labels have " +
                                  std::to_string(labels.numel()));
    weights = weightsIn.to(torch::kFloat).contiguous();
  }
  const float* w = weights.defined() ? weights.data_ptr<float>() : nullptr;
  switch (labels.scalar_type()) {
    case torch::kByte: return run(logits, labels.data_ptr<uint8_t>(), w, options, computeGrad, gradScale);
    case torch::kInt: return run(logits, labels.data_ptr<int32_t>(), w, options, computeGrad, gradScale);
    case torch::kLong: return run(logits, labels.data_ptr<int64_t>(), w, options, computeGrad, gradScale);
    default: throw std::invalid_argument("loss: labels must be uint8, int32 or int64");
  }
}

}  // namespace slicewise
