// Embedding gather into the fp32 residual stream.
#include "common.cuh"

// Launch: grid (numTokens), block 256.  x[t, :] = table[ids[t], :]
extern "C" __global__ void embedding_bf16(const int* __restrict__ ids,
                                          const bf16* __restrict__ table,
                                          float* __restrict__ x, int hidden) {
  pdl_enter();
  int t = blockIdx.x;
  const bf16* row = table + (size_t)ids[t] * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) x[(size_t)t * hidden + i] = to_f(row[i]);
}
