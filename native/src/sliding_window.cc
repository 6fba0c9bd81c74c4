// Engine::predictSlidingWindow: nnU-Net-style tiled inference over a whole volume, each tile's softmax
// weighted by a Gaussian window (or uniformly) and averaged where tiles overlap.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine.h"
#include "shape_text.h"

namespace slicewise {
namespace {

// nnU-Net's tile positions: as few tiles as cover the axis with at most (1 − overlap)·patch between starts.
std::vector<int64_t> tileStarts(int64_t size, int64_t patch, double overlap) {
  const double target = std::max(1.0, patch * (1.0 - overlap));
  const int64_t steps = static_cast<int64_t>(std::ceil((size - patch) / target)) + 1;
  std::vector<int64_t> starts;
  if (steps <= 1) return {0};
  const double actual = static_cast<double>(size - patch) / (steps - 1);
  for (int64_t i = 0; i < steps; ++i) starts.push_back(static_cast<int64_t>(std::llround(actual * i)));
  return starts;
}

torch::Tensor gaussianWindow(const std::vector<int64_t>& patch) {
  torch::Tensor window;
  for (size_t d = 0; d < patch.size(); ++d) {
    const double sigma = patch[d] / 8.0, center = static_cast<double>(patch[d] / 2);
    torch::Tensor axis = torch::arange(patch[d], torch::kDouble);
    axis = torch::exp(-(axis - center).pow(2) / (2 * sigma * sigma));
    std::vector<int64_t> shape(patch.size(), 1);
    shape[d] = patch[d];
    axis = axis.view(shape);
    window = window.defined() ? window * axis : axis;
  }
  window = window / window.max();
  // No zero weights at the rim (nnU-Net does the same), so every voxel gets a finite average.
  window = window.clamp_min(1e-3);
  return window.to(torch::kFloat);
}

}  // namespace

torch::Tensor Engine::predictSlidingWindow(const torch::Tensor& volumeIn, const std::vector<int64_t>& patch, double overlap,
                                           int64_t batchSize, bool gaussian, bool argmax) {
  const int dims = modelConfig_.dims;
  if (volumeIn.dim() != dims + 1)
    throw std::invalid_argument("predictSlidingWindow: volume must be (C, " + std::string(dims == 2 ? "H, W" : "D, H, W") + "), got shape " +
                                shapeText(volumeIn));
  if (static_cast<int>(patch.size()) != dims)
    throw std::invalid_argument("predictSlidingWindow: patchSize needs " + std::to_string(dims) + " values");
  if (!(overlap >= 0 && overlap < 1)) throw std::invalid_argument("predictSlidingWindow: overlap must be in [0, 1)");
  if (batchSize < 1) throw std::invalid_argument("predictSlidingWindow: batchSize must be ≥ 1");
  const int64_t factor = int64_t{1} << (modelConfig_.depth - 1);
  for (auto p : patch)
    if (p < 1 || p % factor != 0)
      throw std::invalid_argument("predictSlidingWindow: patch size " + std::to_string(p) + " must be a positive multiple of " +
                                  std::to_string(factor) + " (2^(depth−1))");
  if (volumeIn.size(0) != modelConfig_.inChannels)
    throw std::invalid_argument("predictSlidingWindow: volume has " + std::to_string(volumeIn.size(0)) + " channels, the model takes " +
                                std::to_string(modelConfig_.inChannels));

  // Pad axes shorter than the patch symmetrically (zero = the mean of a z-scored image), crop at the end.
  std::vector<int64_t> pads, padBefore(dims, 0);
  for (int d = dims - 1; d >= 0; --d) {
    const int64_t extra = std::max<int64_t>(0, patch[d] - volumeIn.size(d + 1));
    padBefore[d] = extra / 2;
    pads.push_back(extra / 2);
    pads.push_back(extra - extra / 2);
  }
  torch::Tensor volume = at::constant_pad_nd(volumeIn.to(torch::kFloat), pads, 0.0);
  std::vector<std::vector<int64_t>> starts(dims);
  for (int d = 0; d < dims; ++d) starts[d] = tileStarts(volume.size(d + 1), patch[d], overlap);
  std::vector<std::vector<int64_t>> tiles;
  std::vector<int64_t> index(dims, 0);
  while (true) {
    std::vector<int64_t> origin(dims);
    for (int d = 0; d < dims; ++d) origin[d] = starts[d][index[d]];
    tiles.push_back(origin);
    int d = dims - 1;
    while (d >= 0 && ++index[d] == static_cast<int64_t>(starts[d].size())) index[d--] = 0;
    if (d < 0) break;
  }

  const torch::Tensor window = gaussian ? gaussianWindow(patch) : torch::ones(patch, torch::kFloat);
  std::vector<int64_t> accShape{modelConfig_.classes};
  for (int d = 0; d < dims; ++d) accShape.push_back(volume.size(d + 1));
  torch::Tensor accumulated = torch::zeros(accShape, torch::kFloat);
  torch::Tensor weightSum = torch::zeros(std::vector<int64_t>(accShape.begin() + 1, accShape.end()), torch::kFloat);
  for (size_t first = 0; first < tiles.size(); first += batchSize) {
    const size_t last = std::min(tiles.size(), first + static_cast<size_t>(batchSize));
    std::vector<torch::Tensor> crops;
    for (size_t t = first; t < last; ++t) {
      torch::Tensor crop = volume;
      for (int d = 0; d < dims; ++d) crop = crop.narrow(d + 1, tiles[t][d], patch[d]);
      crops.push_back(crop);
    }
    torch::Tensor probs = predict(torch::stack(crops), false);
    for (size_t t = first; t < last; ++t) {
      torch::Tensor target = accumulated, targetWeight = weightSum;
      for (int d = 0; d < dims; ++d) {
        target = target.narrow(d + 1, tiles[t][d], patch[d]);
        targetWeight = targetWeight.narrow(d, tiles[t][d], patch[d]);
      }
      target.add_(probs[static_cast<int64_t>(t - first)] * window);
      targetWeight.add_(window);
    }
  }
  torch::Tensor result = accumulated / weightSum;
  for (int d = 0; d < dims; ++d) result = result.narrow(d + 1, padBefore[d], volumeIn.size(d + 1));
  return argmax ? result.argmax(0).to(torch::kByte).contiguous() : result.contiguous();
}

}  // namespace slicewise
