/*!
 * \file tensor/tensor_common.cc
 * \brief The non-template parts of the tensor library.
 */
#include <string>

#include "tensor_impl.h"

namespace mlc {
namespace llm {
namespace tensor {

int NumMatMulVariants() { return static_cast<int>(kTileConfigs.size()); }

std::string MatMulVariantName(int variant) {
  if (variant < 0 || variant >= NumMatMulVariants()) return "";
  const TileConfig& t = kTileConfigs[variant];
  return std::to_string(t.m) + "x" + std::to_string(t.n) + "x" + std::to_string(t.k);
}

}  // namespace tensor
}  // namespace llm
}  // namespace mlc
