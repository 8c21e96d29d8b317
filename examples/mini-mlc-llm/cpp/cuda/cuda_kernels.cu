/*!
 * \file cuda/cuda_kernels.cu
 * \brief A saxpy kernel and the host functions that report the CUDA build.
 */
#include <cuda_runtime.h>

#include <cmath>
#include <string>
#include <vector>

#include "../backends.h"

#ifndef MLC_CUDA_ARCHS
#define MLC_CUDA_ARCHS ""
#endif

namespace {

__global__ void SaxpyKernel(int n, float a, const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

std::string CudaErrorString(const char* what, cudaError_t err) {
  return std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
}

}  // namespace

namespace mlc {
namespace llm {

const char* CudaArchList() { return MLC_CUDA_ARCHS; }

int CudaDeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error: no driver or no device
    return 0;
  }
  return count;
}

int CudaSaxpyCheck(int n, std::string* error) {
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i);
    y[i] = 1.0f;
  }
  float *dx = nullptr, *dy = nullptr;
  cudaError_t err = cudaMalloc(&dx, sizeof(float) * n);
  if (err != cudaSuccess) {
    *error = CudaErrorString("cudaMalloc", err);
    return 1;
  }
  cudaMalloc(&dy, sizeof(float) * n);
  cudaMemcpy(dx, x.data(), sizeof(float) * n, cudaMemcpyHostToDevice);
  cudaMemcpy(dy, y.data(), sizeof(float) * n, cudaMemcpyHostToDevice);
  SaxpyKernel<<<(n + 255) / 256, 256>>>(n, 2.0f, dx, dy);
  err = cudaGetLastError();
  if (err == cudaSuccess) err = cudaMemcpy(y.data(), dy, sizeof(float) * n, cudaMemcpyDeviceToHost);
  cudaFree(dx);
  cudaFree(dy);
  if (err != cudaSuccess) {
    *error = CudaErrorString("saxpy", err);
    return 2;
  }
  for (int i = 0; i < n; ++i) {
    if (std::fabs(y[i] - (2.0f * i + 1.0f)) > 1e-3f) {
      *error = "saxpy: wrong result at " + std::to_string(i);
      return 3;
    }
  }
  return 0;
}

}  // namespace llm
}  // namespace mlc
