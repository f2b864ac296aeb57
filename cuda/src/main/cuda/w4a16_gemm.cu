// GPTQ int4 projections for steps of 9 to 64 tokens (decode batches, short prompt chunks):
// w4a16.cu's arithmetic (its packed layout, unpacking in registers, one scale per 32-input
// chunk applied to fp32 partial sums) tiled as a GEMM. A block takes W4G_WARPS 16-row strips,
// one per warp, over the whole k, and stages each step's activations (every token, W4G_PS
// input pairs) once in shared memory for all its strips, beside the strips' codes, in a
// W4G_STAGES-deep cp.async ring; each warp multiplies its strip's codes by every n-tile of
// tokens. w4a16_mma's blocks hold one or two strips and load the activations per strip: at 32
// tokens a 14B gate/up read 566 MB of activations from L2 for 71 MB of codes and took 131 us,
// and 64 tokens (two launches) 262 us, where bf16 cuBLAS takes about 100.
//
// Rounding: the fused kernels' exactly (w4a16_fused.cu's w4_rows, which Kernels.w4a16 runs
// below 17 tokens and on narrow layers). Their 8 warps split k into `segs` ranges and their
// sums meet in warp order; here a warp walks the whole k but keeps one accumulator per range
// and adds them in the same order, so every token's result has the same bits at any batch
// size. Tokens beyond the step's are zero rows of the staged tile, never stored. Not for
// act-order layers (their strips read differently permuted inputs).
#include "common.cuh"

#define W4G_WARPS 8   // strips of a block (Kernels.W4G_WARPS)
#define W4G_PS 2      // input pairs (64 inputs) a stage
#define W4G_STAGES 3
// bf16 per token row of a staged activation tile: W4G_PS * 64 inputs, padded by 64 bytes so
// that the two token rows of a quarter-warp's 16-byte loads fall in different banks.
#define W4G_XROW (W4G_PS * 64 + 32)

template <int NT>
struct W4gStage {
  bf16 x[8 * NT][W4G_XROW];
  uint4 w[W4G_WARPS][W4G_PS][32];
};

// Launch: grid (ceil(rows / (16 * W4G_WARPS))), block 32 * W4G_WARPS, dynamic shared memory
// W4G_STAGES * sizeof(W4gStage<NT>) (Kernels.w4gSmem). x (tokens, k) bf16; codes, sz: w4a16.cu's
// layout; y (tokens, rows) fp32; tokens <= 8 * NT; groupShift as w4a16_mma's; segs: the k
// ranges to keep apart (8, the fused kernels' warps).
template <int NT, bool G64>
__device__ __forceinline__ void w4g(const bf16* __restrict__ x, const uint4* __restrict__ codes,
                                    const __half2* __restrict__ sz, float* __restrict__ y,
                                    int tokens, int rows, int k, int group, int groupShift,
                                    int segs) {
  extern __shared__ __align__(16) unsigned char w4g_smem[];
  W4gStage<NT>* st = reinterpret_cast<W4gStage<NT>*>(w4g_smem);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int g = lane >> 2, c = lane & 3;
  int strips = rows / 16, strip = blockIdx.x * W4G_WARPS + warp;
  bool live = strip < strips;
  int pairs = k >> 6, groups = k / group;
  int steps = (pairs + W4G_PS - 1) / W4G_PS;
  int sr = min(strip, strips - 1);
  const uint4* wsrc = codes + (size_t)sr * pairs * 32 + lane;
  const __half2* s0 = sz + (size_t)(16 * sr + g) * groups;
  const __half2* s8 = s0 + (size_t)8 * groups;
  // Stage `step` into slot step % W4G_STAGES as one cp.async group: the block's threads copy
  // the activation tile (zeros past the tokens and past k), each lane its own codes.
  auto issue = [&](int step) {
    W4gStage<NT>& s = st[step % W4G_STAGES];
    int p0 = step * W4G_PS;
    constexpr int CH = W4G_PS * 8;  // 16-byte chunks of a token row
    for (int i = threadIdx.x; i < 8 * NT * CH; i += 32 * W4G_WARPS) {
      int t = i / CH, ch = i - t * CH;
      int pos = p0 * 64 + ch * 8;
      bool ok = t < tokens && pos < k;
      cp_async16(&s.x[t][ch * 8], ok ? x + (size_t)t * k + pos : x, ok ? 16 : 0);
    }
#pragma unroll
    for (int pp = 0; pp < W4G_PS; pp++) {
      bool ok = live && p0 + pp < pairs;
      cp_async16(&s.w[warp][pp][lane], ok ? wsrc + (size_t)(p0 + pp) * 32 : wsrc, ok ? 16 : 0);
    }
    cp_async_commit();
  };
  pdl_wait();
#pragma unroll
  for (int s = 0; s < W4G_STAGES - 1; s++) {
    if (s < steps) issue(s);
    else cp_async_commit();
  }
  float acc[NT][4] = {}, tot[NT][4] = {};
  int seg = 0, next = pairs / segs;  // the current k range and where the next one starts
  for (int step = 0; step < steps; step++) {
    if (step + W4G_STAGES - 1 < steps) issue(step + W4G_STAGES - 1);
    else cp_async_commit();
    cp_async_wait<W4G_STAGES - 1>();
    __syncthreads();
    const W4gStage<NT>& s = st[step % W4G_STAGES];
#pragma unroll
    for (int pp = 0; pp < W4G_PS; pp++) {
      int p = step * W4G_PS + pp;
      if (p >= pairs) break;
      while (p == next) {  // a range ends: into the total, in range order
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
          for (int e = 0; e < 4; e++) {
            tot[nt][e] += acc[nt][e];
            acc[nt][e] = 0.f;
          }
        seg++;
        next = (int)((long long)(seg + 1) * pairs / segs);
      }
      uint4 w = s.w[warp][pp][lane];
      // The lane's activations of n-tile nt, chunk ch of the pair.
      auto xb = [&](int ch, int nt) {
        return *reinterpret_cast<const uint4*>(&s.x[8 * nt + g][pp * 64 + ch * 32 + 8 * c]);
      };
      if (G64 && W4_PAIR_SCALE) {  // the pair in one scale group: w4a16_fused.cu's w4f_pair
        int gi = groupShift >= 0 ? (64 * p) >> groupShift : 64 * p / group;
        w4f_pair<NT>(w, xb, __ldg(s0 + gi), __ldg(s8 + gi), acc);
      } else {
#pragma unroll
        for (int ch = 0; ch < 2; ch++) {
          int pos = 64 * p + 32 * ch;
          int gi = groupShift >= 0 ? pos >> groupShift : pos / group;
          float2 f0 = __half22float2(__ldg(s0 + gi)), f8 = __half22float2(__ldg(s8 + gi));
          uint32_t a0[4], a1[4];
          w4_frags(ch ? w.z : w.x, ch ? w.w : w.y, __float2bfloat162_rn(128.f + f0.y),
                   __float2bfloat162_rn(128.f + f8.y), a0, a1);
#pragma unroll
          for (int nt = 0; nt < NT; nt++) w4_mma_scaled(a0, a1, xb(ch, nt), f0.x, f8.x, acc[nt]);
        }
      }
    }
    __syncthreads();  // every warp is done with this slot before it is refilled
  }
  cp_async_wait_all();
  pdl_tail();
  if (!live) return;
  // C fragment: element e is row g + 8 (e / 2), token 2c + e % 2 of its n-tile.
#pragma unroll
  for (int nt = 0; nt < NT; nt++)
#pragma unroll
    for (int e = 0; e < 4; e++) {
      int n = 8 * nt + 2 * c + (e & 1);
      if (n < tokens)
        y[(size_t)n * rows + 16 * strip + g + 8 * (e >> 1)] = tot[nt][e] + acc[nt][e];
    }
}

// _g64: groups of a multiple of 64 inputs (or one), each pair's product scaled once.
#define W4G_ENTRY(NAME, NT, G64)                                                               \
  extern "C" __global__ void __launch_bounds__(32 * W4G_WARPS, 2)                             \
      NAME(const bf16* __restrict__ x, const uint4* __restrict__ codes,                       \
           const __half2* __restrict__ sz, float* __restrict__ y, int tokens, int rows, int k, \
           int group, int groupShift, int segs) {                                             \
    w4g<NT, G64>(x, codes, sz, y, tokens, rows, k, group, groupShift, segs);                  \
  }
W4G_ENTRY(w4a16_gemm_nt2, 2, false)
W4G_ENTRY(w4a16_gemm_nt4, 4, false)
W4G_ENTRY(w4a16_gemm_nt8, 8, false)
W4G_ENTRY(w4a16_gemm_nt2_g64, 2, true)
W4G_ENTRY(w4a16_gemm_nt4_g64, 4, true)
W4G_ENTRY(w4a16_gemm_nt8_g64, 8, true)
