/*!
 * \file backends.h
 * \brief Hooks implemented by the optional backend translation units (or by stubs).
 */
#ifndef MLC_LLM_BACKENDS_H_
#define MLC_LLM_BACKENDS_H_

#include <string>

namespace mlc {
namespace llm {

/*! \brief Physical devices Vulkan reports (-1 without Vulkan); names newline-separated. */
int VulkanDeviceCount(std::string* names, std::string* error);
/*! \brief The CUDA architectures compiled in, "80,86" ("" without CUDA). */
const char* CudaArchList();
/*! \brief CUDA devices visible (-1 without CUDA, 0 without a GPU). */
int CudaDeviceCount();
/*! \brief Run a saxpy kernel on n elements and check it (0 ok, -1 without CUDA, >0 error). */
int CudaSaxpyCheck(int n, std::string* error);

}  // namespace llm
}  // namespace mlc
#endif  // MLC_LLM_BACKENDS_H_
