/*!
 * \file backends_stub.cc
 * \brief Stubs for the backends this build leaves out (each guarded by its USE_* switch).
 */
#include <string>

#include "backends.h"

namespace mlc {
namespace llm {

#ifndef MLC_USE_VULKAN
int VulkanDeviceCount(std::string* names, std::string* error) {
  if (names != nullptr) names->clear();
  if (error != nullptr) *error = "built without Vulkan (USE_VULKAN=OFF)";
  return -1;
}
#endif

#ifndef MLC_USE_CUDA
const char* CudaArchList() { return ""; }
int CudaDeviceCount() { return -1; }
int CudaSaxpyCheck(int /*n*/, std::string* error) {
  if (error != nullptr) *error = "built without CUDA (USE_CUDA=OFF)";
  return -1;
}
#endif

}  // namespace llm
}  // namespace mlc
