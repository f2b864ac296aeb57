// SiLU-gated MLP activation.
#include "common.cuh"

// Launch: grid (tokens), block 256.  gate_up: (tokens, 2*inter) fp32, gate then up.
// out[t, i] = bf16(silu(gate) * up)
extern "C" __global__ void silu_mul_bf16(const float* __restrict__ gate_up, bf16* __restrict__ out,
                                         int inter) {
  int t = blockIdx.x;
  const float* g = gate_up + (size_t)t * 2 * inter;
  for (int i = threadIdx.x; i < inter; i += blockDim.x) {
    float a = g[i];
    out[(size_t)t * inter + i] = to_bf(a / (1.f + expf(-a)) * g[inter + i]);
  }
}
