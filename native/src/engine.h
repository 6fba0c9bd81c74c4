// One trainable model: the U-Net, its optimizer and schedule, the loss, prediction and checkpoints.
// Every public method takes the engine's mutex, so calls from several worker threads serialize.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "loss.h"
#include "unet.h"

namespace slicewise {

struct TrainingConfig {
  std::string optimizer = "sgd";  // "sgd" (Nesterov) or "adam"
  double learningRate = 1e-2;     // initial learning rate
  double momentum = 0.99;
  double weightDecay = 3e-5;
  bool nesterov = true;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;  // Adam
  double gradClip = 12.0;         // max global gradient norm; 0 disables clipping
  double polyExponent = 0.9;      // lr = initial · (1 − step/totalSteps)^exponent
  int64_t totalSteps = 1000;
  LossOptions loss;

  void validate() const;
  std::string serialize() const;
  static TrainingConfig parse(const std::string& text);
};

struct StepResult {
  double loss = 0, gradNorm = 0, learningRate = 0;
  int64_t step = 0;        // steps taken so far, this one included
  bool skipped = false;    // no annotated voxel: no update
};

class Engine {
 public:
  Engine(const UNetConfig& model, const TrainingConfig& training, uint64_t seed, const std::string& device);
  /** Restores a checkpoint written by save(), configuration included. */
  static std::unique_ptr<Engine> load(const std::string& path, const std::string& device);

  /** images (N, C, *spatial) float32; labels (N, *spatial); weights undefined or (N, *spatial); lr < 0: schedule. */
  StepResult trainStep(const torch::Tensor& images, const torch::Tensor& labels, const torch::Tensor& weights, double lr);
  /** Softmax probabilities (N, K, *spatial), contiguous float32, or argmax (N, *spatial) uint8. Any spatial size. */
  torch::Tensor predict(const torch::Tensor& images, bool argmax);
  /** volume (C, *spatial): Gaussian-weighted sliding-window probabilities (K, *spatial) or argmax (*spatial). */
  torch::Tensor predictSlidingWindow(const torch::Tensor& volume, const std::vector<int64_t>& patch, double overlap,
                                     int64_t batchSize, bool gaussian, bool argmax);

  void save(const std::string& path);
  /** Replaces weights and optimizer state; throws when the checkpoint's architecture differs. */
  void loadState(const std::string& path);

  double parameterChecksum();
  torch::Tensor parameterVector();
  const UNetConfig& modelConfig() const { return modelConfig_; }
  const TrainingConfig& trainingConfig() const { return trainingConfig_; }
  void setTrainingConfig(const TrainingConfig& config);
  int64_t step() const { return step_; }
  double scheduledLearningRate() const;

 private:
  void buildOptimizer();
  torch::Tensor toModelInput(const torch::Tensor& images);
  void checkImages(const torch::Tensor& images, const char* what) const;

  std::mutex mutex_;
  UNetConfig modelConfig_;
  TrainingConfig trainingConfig_;
  torch::Device device_;
  UNet model_{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t step_ = 0;
};

/** Global: intra-op threads used by every call (applied at the start of each worker's job). */
void setThreads(int threads);
int threads();
void applyThreads();

}  // namespace slicewise
