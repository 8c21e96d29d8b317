/*!
 * \file tensor/tensor_u8.cc
 * \brief Kernels instantiated for uint8_t (one translation unit per dtype, as TVM splits its
 *        generated operators, so a parallel build spreads them over the cores).
 */
#include <cstdint>

#include "tensor_impl.h"

MLC_LLM_INSTANTIATE_TENSOR(uint8_t)
