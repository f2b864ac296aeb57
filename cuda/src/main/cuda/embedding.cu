// Embedding gather into the fp32 residual stream.
#include "common.cuh"

// A step's token id: ids[t], or where that is negative (a pipelined step's fed token) the id
// the step before sampled in row -1 - ids[t] (sampled, in stream order before this step), so
// no device copy of the samples into ids runs between the steps.
__device__ __forceinline__ int step_token(const int* ids, const int* sampled, int t) {
  int id = ids[t];
  return id >= 0 ? id : sampled[-1 - id];
}

// Launch: grid (numTokens), block 256.  x[t, :] = table[step_token(t), :]
extern "C" __global__ void embedding_bf16(const int* __restrict__ ids,
                                          const int* __restrict__ sampled,
                                          const bf16* __restrict__ table,
                                          float* __restrict__ x, int hidden) {
  pdl_enter();
  int t = blockIdx.x;
  const bf16* row = table + (size_t)step_token(ids, sampled, t) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) x[(size_t)t * hidden + i] = to_f(row[i]);
}
