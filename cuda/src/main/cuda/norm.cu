// Fused residual add + RMSNorm (Qwen2RMSNorm: w * x / sqrt(mean(x^2) + eps)).
#include "common.cuh"

// Launch: grid (rows), block 256 (any multiple of 32 up to 1024).
// x: (tokens, hidden) fp32 residual stream. If delta != null: x[src] += delta[src] first
// (delta is a GEMM output in fp32). out[r] = bf16(w * x[src] * inv_rms), src = rows ? rows[r] : r
// (rows selects e.g. each sequence's last token for the final norm).
extern "C" __global__ void add_rmsnorm_bf16(float* __restrict__ x, const float* __restrict__ delta,
                                            const int* __restrict__ rows,
                                            const bf16* __restrict__ w, bf16* __restrict__ out,
                                            int hidden, float eps) {
  __shared__ float scratch[32];
  int r = blockIdx.x;
  int src = rows ? rows[r] : r;
  float* xr = x + (size_t)src * hidden;
  float ss = 0.f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    float v = xr[i];
    if (delta) {
      v += delta[(size_t)src * hidden + i];
      xr[i] = v;
    }
    ss += v * v;
  }
  float inv = rsqrtf(block_sum(ss, scratch) / hidden + eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    out[(size_t)r * hidden + i] = to_bf(to_f(w[i]) * (xr[i] * inv));
}
