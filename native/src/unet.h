// U-Net 2D/3D in the nnU-Net layout: per stage two (conv 3 → norm → LeakyReLU 0.01) blocks, stride-2
// convolution to go down, transposed convolution (kernel 2, stride 2) to go up, skip concatenation, a 1×1
// segmentation head per decoder stage when deep supervision is on.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace slicewise {

struct UNetConfig {
  int dims = 2;             // 2 or 3 spatial dimensions
  int inChannels = 1;
  int classes = 2;          // including background
  int depth = 4;            // resolution stages (depth − 1 downsamplings)
  int baseWidth = 32;
  int maxWidth = 0;         // 0: nnU-Net's cap (512 in 2D, 320 in 3D)
  bool instanceNorm = true; // false: batch norm
  bool deepSupervision = false;
  // Channels-last activations: measured slower here (group norm has no fast channels-last CPU kernel in
  // libtorch 1.13, and mkldnn convolutions are as fast on contiguous tensors), so off by default.
  bool channelsLast = false;

  void validate() const;
  int width(int stage) const;
  /** Stable text form, stored in checkpoints and compared on load (channelsLast excluded). */
  std::string serialize() const;
  static UNetConfig parse(const std::string& text);
  bool sameArchitecture(const UNetConfig& other) const { return serialize() == other.serialize(); }
};

class UNetImpl : public torch::nn::Module {
 public:
  explicit UNetImpl(const UNetConfig& config);
  /** Logits, full resolution first; lower-resolution heads only when deep supervision is on and training. */
  std::vector<torch::Tensor> forward(torch::Tensor x);
  const UNetConfig& config() const { return config_; }
  /** nnU-Net's He initialization (kaiming normal, a = 0.01), zero biases, unit norm scales. */
  void initialize();

 private:
  struct ConvBlock {
    torch::Tensor weight, bias, normWeight, normBias, runningMean, runningVar;
    int stride = 1;
  };
  struct Projection {  // transposed conv or 1×1 head
    torch::Tensor weight, bias;
  };
  ConvBlock makeBlock(const std::string& name, int in, int out, int stride);
  Projection makeProjection(const std::string& name, int in, int out, bool transposed);
  torch::Tensor runBlock(const ConvBlock& block, const torch::Tensor& x);
  torch::Tensor runUp(const Projection& up, const torch::Tensor& x);
  torch::Tensor runHead(const Projection& head, const torch::Tensor& x);

  UNetConfig config_;
  std::vector<std::vector<ConvBlock>> encoder_, decoder_;
  std::vector<Projection> ups_, heads_;
  std::vector<torch::Tensor> initOrder_;  // conv weights in module-creation order, for initialize()
};
TORCH_MODULE(UNet);

}  // namespace slicewise
