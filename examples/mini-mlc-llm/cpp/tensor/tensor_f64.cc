/*!
 * \file tensor/tensor_f64.cc
 * \brief Kernels instantiated for double (one translation unit per dtype, as TVM splits its
 *        generated operators, so a parallel build spreads them over the cores).
 */
#include <cstdint>

#include "tensor_impl.h"

MLC_LLM_INSTANTIATE_TENSOR(double)
