// Skinny GEMM for decode: a few tokens times a large bf16 weight matrix. Bandwidth-bound, so
// the aim is the copy bandwidth: 16-byte loads of the weights, several in flight per lane, each
// weight row read once for all tokens. Each token's sum runs in the same order whatever the
// token count, so results do not depend on the batch size.
#include "common.cuh"

#define GEMV_MAX_TOKENS 8
#define GEMV_WARPS 8

__device__ __forceinline__ void fma8(float& acc, uint4 w, uint4 x) {
  const __nv_bfloat162* wp = reinterpret_cast<const __nv_bfloat162*>(&w);
  const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(&x);
#pragma unroll
  for (int i = 0; i < 4; i++) {
    float2 wf = __bfloat1622float2(wp[i]);
    float2 xf = __bfloat1622float2(xp[i]);
    acc = fmaf(wf.x, xf.x, acc);
    acc = fmaf(wf.y, xf.y, acc);
  }
}

// Launch: grid (ceil(rows / GEMV_WARPS)), block 32 * GEMV_WARPS. One warp per output row.
// x: (tokens, k) bf16; w: (rows, k) bf16 (nn.Linear layout); y: (tokens, rows) fp32.
// Requires k % 8 == 0 and tokens <= GEMV_MAX_TOKENS.
template <int T>
__device__ void gemv_rows(const bf16* __restrict__ x, const bf16* __restrict__ w,
                          float* __restrict__ y, int rows, int k) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int row = blockIdx.x * GEMV_WARPS + warp;
  if (row >= rows) return;  // an exited warp holds back no launch
  const uint4* wr = reinterpret_cast<const uint4*>(w + (size_t)row * k);
  int chunks = k >> 3;
  float acc[T];
#pragma unroll
  for (int t = 0; t < T; t++) acc[t] = 0.f;
  int c = lane;
  // Four weight loads in flight per lane before their use.
  for (; c + 96 < chunks; c += 128) {
    uint4 w0 = __ldg(wr + c), w1 = __ldg(wr + c + 32), w2 = __ldg(wr + c + 64),
          w3 = __ldg(wr + c + 96);
#pragma unroll
    for (int t = 0; t < T; t++) {
      const uint4* xr = reinterpret_cast<const uint4*>(x + (size_t)t * k);
      fma8(acc[t], w0, __ldg(xr + c));
      fma8(acc[t], w1, __ldg(xr + c + 32));
      fma8(acc[t], w2, __ldg(xr + c + 64));
      fma8(acc[t], w3, __ldg(xr + c + 96));
    }
  }
  for (; c < chunks; c += 32) {
    uint4 w0 = __ldg(wr + c);
#pragma unroll
    for (int t = 0; t < T; t++)
      fma8(acc[t], w0, __ldg(reinterpret_cast<const uint4*>(x + (size_t)t * k) + c));
  }
  pdl_tail();
#pragma unroll
  for (int t = 0; t < T; t++) {
    float s = warp_sum(acc[t]);
    if (lane == 0) y[(size_t)t * rows + row] = s;
  }
}

extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS)
gemv_bf16(const bf16* __restrict__ x, const bf16* __restrict__ w, float* __restrict__ y,
          int tokens, int rows, int k) {
  pdl_enter();
  switch (tokens) {
    case 1: gemv_rows<1>(x, w, y, rows, k); break;
    case 2: gemv_rows<2>(x, w, y, rows, k); break;
    case 3: gemv_rows<3>(x, w, y, rows, k); break;
    case 4: gemv_rows<4>(x, w, y, rows, k); break;
    case 5: gemv_rows<5>(x, w, y, rows, k); break;
    case 6: gemv_rows<6>(x, w, y, rows, k); break;
    case 7: gemv_rows<7>(x, w, y, rows, k); break;
    default: gemv_rows<8>(x, w, y, rows, k); break;
  }
}
