/*!
 * \file tensor/tensor_i32.cc
 * \brief Kernels instantiated for int32_t (one translation unit per dtype, as TVM splits its
 *        generated operators, so a parallel build spreads them over the cores).
 */
#include <cstdint>

#include "tensor_impl.h"

MLC_LLM_INSTANTIATE_TENSOR(int32_t)
