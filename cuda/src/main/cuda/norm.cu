// Fused residual add + RMSNorm (Qwen2RMSNorm: w * x / sqrt(mean(x^2) + eps)).
#include "common.cuh"

// The threads add_rmsnorm_bf16 runs with (Kernels.addRmsnorm). The fused GEMVs' norm prologue
// has its own, faster reduction: the two paths agree to bf16 rounding, not bit for bit.
#define NORM_THREADS 1024

// The arithmetic both norm paths share (explicit fmaf: no contraction left to the compiler).
__device__ __forceinline__ float sum_sq(float ss, float v) { return fmaf(v, v, ss); }
__device__ __forceinline__ float inv_rms(float ss, int hidden, float eps) {
  return rsqrtf(ss / hidden + eps);
}
__device__ __forceinline__ bf16 rms_scale(float x, float inv, bf16 w) {
  return to_bf(to_f(w) * (x * inv));
}

// Launch: grid (rows), block NORM_THREADS (any multiple of 32 up to 1024 works).
// x: (tokens, hidden) fp32 residual stream. If delta != null: x[src] += delta[src] first
// (delta is a GEMM output in fp32). out[r] = bf16(w * x[src] * inv_rms), src = rows ? rows[r] : r
// (rows selects e.g. each sequence's last token for the final norm).
extern "C" __global__ void add_rmsnorm_bf16(float* __restrict__ x, const float* __restrict__ delta,
                                            const int* __restrict__ rows,
                                            const bf16* __restrict__ w, bf16* __restrict__ out,
                                            int hidden, float eps) {
  __shared__ float scratch[32];
  pdl_enter();
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
    ss = sum_sq(ss, v);
  }
  float inv = inv_rms(block_sum(ss, scratch), hidden, eps);
  for (int i = threadIdx.x; i < hidden; i += blockDim.x)
    out[(size_t)r * hidden + i] = rms_scale(xr[i], inv, w[i]);
}
