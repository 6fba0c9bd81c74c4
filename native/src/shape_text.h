// Tensor shapes as text for error messages, shared by engine.cc and sliding_window.cc.
#pragma once
#include <torch/torch.h>

#include <sstream>
#include <string>

namespace slicewise {

inline std::string shapeText(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

}  // namespace slicewise
