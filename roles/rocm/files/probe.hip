// Probe kernel of the rocm role: compiled for each rocm_gpu_targets entry (device code
// only, no GPU needed) to learn which offload archs the installed hipcc supports.
#include <hip/hip_runtime.h>

__global__ void rocm_role_probe(const float* a, const float* b, float* c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}
