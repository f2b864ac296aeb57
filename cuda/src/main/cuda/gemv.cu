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

// One warp's row of w against each token's x: the lanes' partial sums in acc (summed by the
// caller), in the same order whatever the token count.
template <int T>
__device__ __forceinline__ void gemv_dot(const bf16* __restrict__ x, const bf16* __restrict__ w,
                                         int row, int k, float (&acc)[T]) {
  int lane = threadIdx.x & 31;
  const uint4* wr = reinterpret_cast<const uint4*>(w + (size_t)row * k);
  int chunks = k >> 3;
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
  float acc[T];
  gemv_dot<T>(x, w, row, k, acc);
  pdl_tail();
#pragma unroll
  for (int t = 0; t < T; t++) {
    float s = warp_sum(acc[t]);
    if (lane == 0) y[(size_t)t * rows + row] = s;
  }
}

#define GEMV_SWITCH(F, ...)                   \
  switch (tokens) {                           \
    case 1: F<1>(__VA_ARGS__); break;         \
    case 2: F<2>(__VA_ARGS__); break;         \
    case 3: F<3>(__VA_ARGS__); break;         \
    case 4: F<4>(__VA_ARGS__); break;         \
    case 5: F<5>(__VA_ARGS__); break;         \
    case 6: F<6>(__VA_ARGS__); break;         \
    case 7: F<7>(__VA_ARGS__); break;         \
    default: F<8>(__VA_ARGS__); break;        \
  }

extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS)
gemv_bf16(const bf16* __restrict__ x, const bf16* __restrict__ w, float* __restrict__ y,
          int tokens, int rows, int k) {
  pdl_enter();
  GEMV_SWITCH(gemv_rows, x, w, y, rows, k)
}

// The greedy pick as a 64-bit key that orders as the sampler does (sampling.cu: the larger
// logit, the lower id on ties; NaN never above anything): the logit's order-preserving bits
// above, the id's complement below, so the largest key is the pick and an atomicMax finds it
// whatever order the rows arrive in. -0 counts as +0 (they tie in the sampler), and NaN sits
// below -inf (key 0 high bits), so a row of NaN picks id 0 as the sampler does.
__device__ __forceinline__ unsigned long long greedy_key(float v, int id) {
  unsigned u = 0u;
  if (v == v) {
    if (v == 0.f) v = 0.f;
    u = __float_as_uint(v);
    u = (u & 0x80000000u) ? ~u : u | 0x80000000u;
  }
  return ((unsigned long long)u << 32) | (0xffffffffu - (unsigned)id);
}

// gemv_rows, and each token's greedy pick over all rows into picked[t]: each block's best into
// best[t] by an atomicMax, then the last block to count itself in (count: a word after best's
// GEMV_MAX_TOKENS, zero at first use and left zero) reads the keys and resets them. Why: at one
// token the sampler is a launch of one block scanning the 152k logits again (several us a step
// at batch 1, where the whole LM head takes 0.5 ms of 3.6); fused here, a greedy, unguided step
// launches no sampler (as layers_bf16.cu's lw_argmax does for its launch).
template <int T>
__device__ void gemv_pick_rows(const bf16* __restrict__ x, const bf16* __restrict__ w,
                               float* __restrict__ y, int rows, int k,
                               unsigned long long* __restrict__ best, int* __restrict__ picked) {
  __shared__ unsigned long long keys[T][GEMV_WARPS];
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int row = blockIdx.x * GEMV_WARPS + warp;
  bool live = row < rows;  // every warp stays for the block's pick
  float acc[T];
  if (live) gemv_dot<T>(x, w, row, k, acc);
  pdl_tail();
#pragma unroll
  for (int t = 0; t < T; t++) {
    float s = live ? warp_sum(acc[t]) : 0.f;
    if (lane == 0) {
      if (live) y[(size_t)t * rows + row] = s;
      keys[t][warp] = live ? greedy_key(s, row) : 0ull;
    }
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int t = 0; t < T; t++) {
    unsigned long long m = 0ull;
    for (int i = 0; i < GEMV_WARPS; i++) m = max(m, keys[t][i]);
    atomicMax(best + t, m);
  }
  __threadfence();
  unsigned* count = reinterpret_cast<unsigned*>(best + GEMV_MAX_TOKENS);
  if (atomicAdd(count, 1u) != gridDim.x - 1) return;
  __threadfence();
  for (int t = 0; t < T; t++)
    picked[t] = (int)(0xffffffffu - (unsigned)atomicExch(best + t, 0ull));
  *count = 0u;  // for the next launch
}

// Launch: as gemv_bf16. best: scratch of GEMV_MAX_TOKENS 64-bit keys and a count, zero at first
// use (Kernels.GEMV_PICK_SCRATCH_BYTES); picked: (tokens) int ids.
extern "C" __global__ void __launch_bounds__(32 * GEMV_WARPS)
gemv_pick_bf16(const bf16* __restrict__ x, const bf16* __restrict__ w, float* __restrict__ y,
               int tokens, int rows, int k, unsigned long long* __restrict__ best,
               int* __restrict__ picked) {
  pdl_enter();
  GEMV_SWITCH(gemv_pick_rows, x, w, y, rows, k, best, picked)
}
