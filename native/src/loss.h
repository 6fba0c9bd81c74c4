// Masked soft Dice + cross-entropy, fused: one pass accumulates the softmax statistics, a second writes the
// gradient with respect to the logits, so autograd never records the loss graph.
#pragma once
#include <torch/torch.h>

namespace slicewise {

struct LossOptions {
  int64_t ignoreIndex = -1;  // label value excluded from the loss (-1: none)
  bool batchDice = true;     // Dice sums over the whole batch (nnU-Net's batch Dice) rather than per sample
  double smooth = 1e-5;      // nnU-Net's Dice smoothing
};

struct LossResult {
  double loss = 0;           // cross-entropy + (1 − mean foreground soft Dice); 0 when nothing is annotated
  double annotated = 0;      // sum of voxel weights over annotated voxels
  torch::Tensor gradLogits;  // d loss / d logits, same shape and memory format as the logits (if requested)
};

/**
 * logits: (N, K, *spatial) float, contiguous or channels-last; labels: (N, *spatial) uint8/int32/int64 class
 * indices in 0..K−1 or the ignore value; weights: undefined or (N, *spatial) float ≥ 0 per-voxel weights.
 * `gradScale` multiplies the gradient (deep-supervision weight).
 */
LossResult maskedDiceCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& weights,
                                  const LossOptions& options, bool computeGrad, double gradScale = 1.0);

}  // namespace slicewise
