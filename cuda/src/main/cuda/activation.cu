// SiLU-gated MLP activation.
#include "common.cuh"

// silu(gate) * up in fp32, shared with the fused gate/up GEMV so both paths round alike.
__device__ __forceinline__ float silu_mul(float gate, float up) {
  return gate / (1.f + expf(-gate)) * up;
}

__device__ __forceinline__ float as_f(float v) { return v; }
__device__ __forceinline__ float as_f(bf16 v) { return to_f(v); }

// out[t, i] = bf16(silu(gate) * up) of a gate_up row (gate then up) of fp32 or bf16.
// Rows t = blockIdx.y, + gridDim.y, ...: a grid's y dimension stops at 65,535, and a step may
// hold more tokens (maxNumBatchedTokens).
template <typename In>
__device__ __forceinline__ void silu_mul_rows(const In* __restrict__ gate_up,
                                              bf16* __restrict__ out, int inter, int tokens) {
  pdl_enter();
  int end = min(inter, (int)(blockIdx.x + 1) * 1024);
  for (int t = blockIdx.y; t < tokens; t += gridDim.y) {
    const In* g = gate_up + (size_t)t * 2 * inter;
    for (int i = blockIdx.x * 1024 + threadIdx.x; i < end; i += blockDim.x) {
      out[(size_t)t * inter + i] = to_bf(silu_mul(as_f(g[i]), as_f(g[inter + i])));
    }
  }
}

// Launch (both): grid (ceil(inter / 1024), min(tokens, 65535)), block 256: a decode token
// spreads over many SMs. gate_up: (tokens, 2*inter), gate then up.
extern "C" __global__ void silu_mul_bf16(const float* __restrict__ gate_up, bf16* __restrict__ out,
                                         int inter, int tokens) {
  silu_mul_rows(gate_up, out, inter, tokens);
}

// The same over a bf16 gate_up, as cuBLAS writes it for prompt chunks and large decode batches:
// half the bytes of the fp32 output both ways (the 7B gate/up output of an 8,192-token step is
// 1.2 GB in fp32), and the rounding HF's bf16 MLP applies there too.
extern "C" __global__ void silu_mul_bf16in(const bf16* __restrict__ gate_up,
                                           bf16* __restrict__ out, int inter, int tokens) {
  silu_mul_rows(gate_up, out, inter, tokens);
}
