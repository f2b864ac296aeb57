// The fused decode kernels of gemv_fused.cu for GPTQ int4 weights: a decoder layer of a
// one-token step in five launches with the int4 projections read straight from w4a16.cu's
// packed layout, the norms, RoPE + cache write, SiLU and residual adds inside them.
//
//   w4_rmsnorm_qkv_rope   RMSNorm prologue, QKV bias + RoPE + KV-cache write epilogue
//   w4_rmsnorm_silu       RMSNorm prologue, SiLU-and-mul epilogue (gate/up)
//   w4_residual           residual add epilogue (O and down projections)
//
// Work is handed out in unit groups: 16 epilogue units u = 16j .. 16j + 15 whose rows
// row(u, 0) are one 16-row strip of the packed layer (A) and whose rows row(u, 1) another (B):
// a RoPE pair's halves, a gate row and its up row, or two neighbouring strips. A block takes a
// group at a time; its warps split the k / 64 input pairs and stream both strips' codes,
// unpack them in registers and multiply on tensor cores exactly as w4a16_mma does (tokens as
// the n dimension, so 1 to 8 tokens cost the same); the warps' sums meet in shared memory, in
// warp order, and one thread per (row, token) runs the epilogue. w4a16_mma_1x1 gives every
// 16-row strip its own block and wave slot, with a few pairs per warp: this kernel keeps the
// weights of many strips per warp in flight and runs the norm once per block.
//
// Rounding: each chunk's MMA and scaling is w4a16_mma's, except in the _g64 kernels (groups of
// a multiple of 64 inputs), which scale each 64-input pair's product once (w4f_pair); the
// warps split k by the shape alone (never by the token count), so a token's result does not
// depend on the batch. The norm prologue is gemv_fused.cu's.
#include "common.cuh"
#include <cuda.h>  // CUtensorMap

#define W4F_WARPS 8  // warps per block (Kernels.W4F_THREADS)
#define W4M_MAX_TOKENS 16  // most tokens of the many-token kernels (Kernels.W4M_MAX_TOKENS)
// Floats of shared memory for the warps' sums (w4f_units' red) with NT n-tiles of tokens.
#define W4_RED(NT) (W4F_WARPS * 2 * (NT) * 4 * 32)

// One load stage of a lane: U input pairs of both strips' codes, and their groups' {scale,
// zero} for rows g and g + 8 of each strip, per 32-input chunk (G64: groups span whole pairs,
// so one serves both chunks). U = 4 pairs put 8 x 16 bytes of codes in flight per lane at
// once; groups of 32 (twice the scales) take 2 to stay in registers.
template <int U, bool G64>
struct W4FStage {
  uint4 w[U][2];
  __half2 sz[U][2][G64 ? 1 : 2][2];  // [pair][strip][chunk][row g, g + 8]
};

// Where a lane reads: strip s's codes, its rows' scale/zero rows, its token's activations.
struct W4FLane {
  const uint4* w[2];
  const __half2* sz[2][2];  // [strip][row g, g + 8], indexed by group
  const bf16* x[2];         // [strip]: token g, inputs 8c of each chunk, in the strip's part
  const void* zs[2];        // [strip]: entry g of group 0 of w4a16_chain.cu's szs (W4MStage)
};

__device__ __forceinline__ int w4f_group(int pos, int group, int group_shift) {
  return group_shift >= 0 ? pos >> group_shift : pos / group;
}

// Loads pairs p .. p + U - 1 of a stage (those at or past p1 skipped).
template <int U, bool G64>
__device__ __forceinline__ void w4f_load(W4FStage<U, G64>& st, const W4FLane& ln, int p, int p1,
                                         int group, int group_shift) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    if (p + u >= p1) break;
    int pos = 64 * (p + u);
#pragma unroll
    for (int s = 0; s < 2; s++) {
      st.w[u][s] = ld_stream(ln.w[s] + (size_t)(p + u) * 32);
#pragma unroll
      for (int ch = 0; ch < (G64 ? 1 : 2); ch++) {
        int gi = w4f_group(pos + 32 * ch, group, group_shift);
#pragma unroll
        for (int h = 0; h < 2; h++) st.sz[u][s][ch][h] = __ldg(ln.sz[s][h] + gi);
      }
    }
  }
}

// One 32-input chunk of a strip (k-tile words w0, w1) into acc, one n-tile of activations
// b[t] (8 tokens) at a time, scaled per row in fp32: w4a16_mma's arithmetic (w4_chunk) with the
// scale and zero fresh from their half2.
template <int NT>
__device__ __forceinline__ void w4f_chunk(uint32_t w0, uint32_t w1, const uint4 (&b)[NT],
                                          __half2 s0, __half2 s8, float (&acc)[NT][4]) {
  uint32_t a0[4], a1[4];
  w4_frags(w0, w1, __float2bfloat162_rn(128.f + __high2float(s0)),
           __float2bfloat162_rn(128.f + __high2float(s8)), a0, a1);
#pragma unroll
  for (int t = 0; t < NT; t++)
    w4_mma_scaled(a0, a1, b[t], __low2float(s0), __low2float(s8), acc[t]);
}

#ifndef W4_PAIR_SCALE  // measurement: 0 scales every 32-input chunk in the _g64 kernels too
#define W4_PAIR_SCALE 1
#endif

// One 64-input pair of a strip (words w) in one scale group, rows g and g + 8 with 128 + zero
// z0, z8 and scales f0, f8: the four MMAs of each n-tile of activations (b(ch, t): chunk ch,
// tile t) into one product, scaled once. Against a scaling per 32-input chunk (w4f_chunk) it
// halves the fp32 FMAs, which at 16 tokens and more are a third of the loop's instructions.
// w4a16_chain.cu's consumers and w4a16_gemm.cu's _g64 kernels run it too.
template <int NT, class B>
__device__ __forceinline__ void w4_pair_mma(const uint4& w, const B& b, __nv_bfloat162 z0,
                                            __nv_bfloat162 z8, float f0, float f8,
                                            float (&acc)[NT][4]) {
  uint32_t a0[4], a1[4], a2[4], a3[4];
  w4_frags(w.x, w.y, z0, z8, a0, a1);
  w4_frags(w.z, w.w, z0, z8, a2, a3);
#pragma unroll
  for (int t = 0; t < NT; t++) {
    float d[4] = {0.f, 0.f, 0.f, 0.f};
    uint4 b0 = b(0, t), b1 = b(1, t);
    mma_bf16_16816(d, a0, b0.x, b0.y);
    mma_bf16_16816(d, a1, b0.z, b0.w);
    mma_bf16_16816(d, a2, b1.x, b1.y);
    mma_bf16_16816(d, a3, b1.z, b1.w);
    acc[t][0] = fmaf(f0, d[0], acc[t][0]);
    acc[t][1] = fmaf(f0, d[1], acc[t][1]);
    acc[t][2] = fmaf(f8, d[2], acc[t][2]);
    acc[t][3] = fmaf(f8, d[3], acc[t][3]);
  }
}

// w4_pair_mma with rows g and g + 8's entry e of the strip-major scales (w4a16_chain.cu's szs:
// {fp16 scale of g, of g + 8; bf16 128 + zero of each}): the chain and the _szs kernels.
template <int NT, class B>
__device__ __forceinline__ void w4_pair_szs(const uint4& w, const B& b, uint2 e,
                                            float (&acc)[NT][4]) {
  __nv_bfloat162 bias = *reinterpret_cast<const __nv_bfloat162*>(&e.y);
  float2 f = __half22float2(*reinterpret_cast<const __half2*>(&e.x));
  w4_pair_mma<NT>(w, b, __low2bfloat162(bias), __high2bfloat162(bias), f.x, f.y, acc);
}

// The same over a scale-only entry e ({fp16 scale of g, of g + 8}: the layer's zero points are
// all 8, GPTQ's symmetric quantization), so 128 + zero is the constant 136.
template <int NT, class B>
__device__ __forceinline__ void w4_pair_szs(const uint4& w, const B& b, unsigned e,
                                            float (&acc)[NT][4]) {
  float2 f = __half22float2(*reinterpret_cast<const __half2*>(&e));
  // bf16 136 in both halves, as bits: __floats2bfloat162_rn(136.f, 136.f) cost the chain's
  // consumers an F2FP a pair (one H200, same call: 14B GPTQ batch 1 321.6 / 321.5 decode
  // tokens/s a sequence against 316.7 / 316.5, batch 2 594 against 586, 7B 530.2 against 525.1)
  const unsigned z136 = 0x43084308u;
  const __nv_bfloat162 z = *reinterpret_cast<const __nv_bfloat162*>(&z136);
  w4_pair_mma<NT>(w, b, z, z, f.x, f.y, acc);
}

// w4_pair_mma with rows g and g + 8's {scale, zero} as w4a16.cu stores them (the _g64 kernels).
template <int NT, class B>
__device__ __forceinline__ void w4f_pair(const uint4& w, const B& b, __half2 s0, __half2 s8,
                                         float (&acc)[NT][4]) {
  w4_pair_mma<NT>(w, b, __float2bfloat162_rn(128.f + __high2float(s0)),
                  __float2bfloat162_rn(128.f + __high2float(s8)), __low2float(s0),
                  __low2float(s8), acc);
}

// Multiplies a loaded stage. XS: activations in shared memory, else global (through L1).
// NT n-tiles of 8 tokens; tile t of strip s's activations at ln.x[s] + t * tile_step.
// SAME: both strips read the same activations (every layer but an act-order gate/up), known
// at compile time, so strip 1's B fragments are strip 0's registers.
template <bool XS, int NT, bool STAGED, bool SAME, int U, bool G64>
__device__ __forceinline__ void w4f_compute(const W4FStage<U, G64>& st, const W4FLane& ln, int p,
                                            int p1, int ok_tiles, size_t tile_step,
                                            const uint4* staged, float (&acc)[2][NT][4]) {
  auto ldx = [&](const bf16* q, int t) {
    if (t >= ok_tiles) return make_uint4(0, 0, 0, 0);
    q += t * tile_step;
    return XS ? *reinterpret_cast<const uint4*>(q) : __ldg(reinterpret_cast<const uint4*>(q));
  };
#pragma unroll
  for (int u = 0; u < U; u++) {
    if (p + u >= p1) break;
    int pos = 64 * (p + u);
    uint4 b[2][2][NT];  // [strip][chunk][tile]
#pragma unroll
    for (int ch = 0; ch < 2; ch++)
#pragma unroll
      for (int t = 0; t < NT; t++) {
        b[0][ch][t] =
            STAGED ? staged[((u * 2 + ch) * NT + t) * 32] : ldx(ln.x[0] + pos + 32 * ch, t);
        b[1][ch][t] = SAME || ln.x[1] == ln.x[0] ? b[0][ch][t] : ldx(ln.x[1] + pos + 32 * ch, t);
      }
#pragma unroll
    for (int s = 0; s < 2; s++) {
      const uint4& w = st.w[u][s];
      if (G64 && W4_PAIR_SCALE) {
        w4f_pair<NT>(w, [&](int ch, int t) { return b[s][ch][t]; }, st.sz[u][s][0][0],
                     st.sz[u][s][0][1], acc[s]);
      } else {
#pragma unroll
        for (int ch = 0; ch < 2; ch++)
          w4f_chunk<NT>(ch == 0 ? w.x : w.z, ch == 0 ? w.y : w.w, b[s][ch],
                        st.sz[u][s][G64 ? 0 : ch][0], st.sz[u][s][G64 ? 0 : ch][1], acc[s]);
      }
    }
  }
}

// A many-token stage over the strip-major scales (w4a16_chain.cu's szs, made at load): one
// 8-byte load a strip and pair holds both of a lane's rows' scales and their zero points
// already as bf16 128 + zero, where W4FStage takes two loads, two fp16 -> bf16 conversions and
// their 64-bit addresses: the gate/up loop came to 762 instructions per two stages against
// 1,053, and these kernels are bound by issue. The same arithmetic, so the same bits
// (w4_pair_szs). Groups of a multiple of 64 inputs that are a power of two (group_shift >= 0).
// StageOf<c, A, B>::type: A where c, else B.
template <bool C, class A, class B>
struct StageOf {
  typedef A type;
};
template <class A, class B>
struct StageOf<false, A, B> {
  typedef B type;
};

// E: uint2 entries, or unsigned ones where every zero point is 8 (scales only, w4_pair_szs; the
// _z8 kernels): half the scales' bytes and loads, the zero a constant. One H100, same call,
// 14B GPTQ batch 16 2,685 output tokens/s against 2,633 over the entries with zero points.
template <int U, class E>
struct W4MStage {
  uint4 w[U][2];
  E e[U][2];  // [pair][strip]: {fp16 scale of row g, of g + 8; bf16 128 + zero of each}, or
              // the scales alone (unsigned E)
};

// The entry type of SZS (w4f_units): 1 the full entries, 2 scales only.
template <int SZS>
using SzsEntry = typename StageOf<SZS == 2, unsigned, uint2>::type;

// Timing probes, wrong sums (the benchmarks README): 1 stages no activations, 2 loads no codes
// in the _szs / _z8 loop, 3 both. One H200, same call, 14B GPTQ batch 16: 235.7, 247.1 and
// 291.9 against 202.7 decode tokens/s a sequence (before W4M_X_L1). 4 stages only a block's
// first group part's activations (what keeping them across its groups could give at most):
// 212.0 against 208.8 (a later call, through L1). 8 stages only the first pair's activations of
// each two-pair stage (W4M_MANY_U=2; half the copies, the MMAs reading stale slots for the
// second): 222.5 against 208.1; 16 none for a block's first stage, so no launch waits on the
// previous kernel's activations before its first MMAs: 210.3 (a later call). So it is the
// copies themselves, not the launch boundary, that cost.
#ifndef W4M_PROBE
#define W4M_PROBE 0
#endif
template <int U, class E>
__device__ __forceinline__ void w4f_load(W4MStage<U, E>& st, const W4FLane& ln, int p, int p1,
                                         int group, int group_shift) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    if (p + u >= p1) break;
    unsigned pu = (unsigned)(p + u), gi = (64u * pu) >> group_shift;
#pragma unroll
    for (int s = 0; s < 2; s++) {
      st.w[u][s] =
          W4M_PROBE & 2 ? make_uint4(pu, s, gi, pu ^ gi) : ld_stream(ln.w[s] + pu * 32u);
      st.e[u][s] = __ldg(static_cast<const E*>(ln.zs[s]) + gi * 8u);
    }
  }
}

// TMA: staged is the stage's box as the tensor copy left it (W4MTma), read at the lane's
// swizzled slots xo (chunks 0 and 1 of tile 0; tile 1 64 slots on); else the lane's own
// cp.async slots. two (TMA): tile 1 holds live tokens; steps of up to 8 tokens skip its reads,
// MMAs and scalings (the same branch for the whole warp), which leaves its sums zero.
template <bool XS, int NT, bool STAGED, bool SAME, int U, class E, bool TMA = false>
__device__ __forceinline__ void w4f_compute(const W4MStage<U, E>& st, const W4FLane& ln, int p,
                                            int p1, int ok_tiles, size_t tile_step,
                                            const uint4* staged, float (&acc)[2][NT][4],
                                            int2 xo = make_int2(0, 0), bool two = true) {
  static_assert(STAGED && SAME, "strip-major scales: the many-token kernels' SAME loop only");
  static_assert(!TMA || (U == 1 && NT == 2), "the TMA box is one pair of 16 tokens");
  if constexpr (TMA) {
    if (p >= p1) return;
    if (!two) {
      uint4 b0 = staged[xo.x], b1 = staged[xo.y];  // tile 0, chunks 0 and 1
#pragma unroll
      for (int s = 0; s < 2; s++)
        w4_pair_szs<1>(st.w[0][s], [&](int ch, int) { return ch == 0 ? b0 : b1; }, st.e[0][s],
                       reinterpret_cast<float(&)[1][4]>(acc[s]));
      return;
    }
  }
#pragma unroll
  for (int u = 0; u < U; u++) {
    if (p + u >= p1) break;
    uint4 b[2][NT];  // [chunk][tile]
#pragma unroll
    for (int ch = 0; ch < 2; ch++)
#pragma unroll
      for (int t = 0; t < NT; t++)
        b[ch][t] = TMA ? staged[64 * t + (ch == 0 ? xo.x : xo.y)]
                       : staged[((u * 2 + ch) * NT + t) * 32];
#pragma unroll
    for (int s = 0; s < 2; s++)
      w4_pair_szs<NT>(st.w[u][s], [&](int ch, int t) { return b[ch][t]; }, st.e[u][s], acc[s]);
  }
}

// Most bytes of codes the normed kernels prefetch (the first blocks' first groups), as the bf16
// kernels cap theirs (gemv_fused.cu): 14B GPTQ batch 1 ran at 168-169 tokens/s prefetching
// every block's first group, 173 with none, 174-175 with 4 MB, 171-172 with 8 (one H100).
#ifndef W4_PREFETCH_BYTES
#define W4_PREFETCH_BYTES (4 << 20)
#endif

// Starts streaming a warp's share of its block's first unit group (input width k) into L2,
// so the codes arrive while the block waits for the previous kernel (pdl_wait) and computes
// its norm prologue, then enters (pdl_enter); blocks past W4_PREFETCH_BYTES do not. Only the
// normed kernels: prefetching in the others, which start streaming at once, cost 7B and 14B
// batch 1 some 8 % (bench decode).
template <class Epi>
__device__ __forceinline__ void w4f_prefetch_enter(const uint4* __restrict__ codes, int k,
                                                   int units, const Epi& epi) {
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int pairs = k >> 6, p0 = warp * pairs / warps, p1 = (warp + 1) * pairs / warps;
  if (blockIdx.x < units / 16 && blockIdx.x < W4_PREFETCH_BYTES / (16 * k)) {
#pragma unroll
    for (int s = 0; s < 2; s++) {
      int strip = epi.row(16 * blockIdx.x, s) >> 4;
      const char* base = reinterpret_cast<const char*>(codes + ((size_t)strip * pairs + p0) * 32);
      for (int off = lane * 128; off < (p1 - p0) * 512; off += 32 * 128) prefetch_l2(base + off);
    }
  }
  pdl_enter();
}

// Many-token kernels: a lane's activations of strip 0 for the U pairs from p, copied by
// cp.async into its own slots of shared memory (slot (u * 2 + chunk) * NT + t at dst + slot *
// 32; zeros past p1 or the live tokens), a stage ahead of the MMAs that read them: issued
// beside the codes' loads, they no longer add an L1/L2 round trip per stage after the codes
// arrive, and cost no registers. Each lane reads only what it copied.
// A many-token stage is one input pair (W4M_MANY_U): one H200, same call, 14B GPTQ batch 16
// 210.0 / 210.4 decode tokens/s a sequence against 208.0 / 207.8 with two pairs a stage (7B
// 368.4 against 354.7, a later call). The MMAs and sums are the same, pair after pair, so the
// bits are too; the staged activations take half the shared memory (32 KB a block; not why it
// gains: with every activation an L1 hit the loop read the same). With three blocks an SM it
// spilled 56-68 bytes and read 163.5.
#ifndef W4M_MANY_U
#define W4M_MANY_U 1
#endif
#define W4M_SLOTS (4 * W4M_MANY_U)  // per stage and lane: U pairs x 2 chunks x 2 n-tiles
// The activations' copies through L1 (cp.async.ca): the two blocks of an SM, and a block's
// next groups, read the same activations (every unit group reads all of them: twice the
// codes' bytes from L2). One H200, same call, 14B GPTQ batch 16 decode tokens/s a sequence:
// 209.0 / 209.0 against 202.9 / 202.8 through L2 only (cp.async.cg).
#ifndef W4M_X_L1
#define W4M_X_L1 1
#endif
#ifndef W4M_AHEAD  // measurement: 0 loads a group's first stage after the previous epilogue
#define W4M_AHEAD 1
#endif
#ifndef W4M_EARLY  // measurement: 0 loads a block's first codes after pdl_enter
#define W4M_EARLY 1
#endif
// A lane's activation rows, set once per unit group: n-tile t's token row (token 0's where t is
// past the live tokens, which copy no bytes: zeros).
template <int NT>
struct W4MRows {
  const bf16* at[NT];
  int bytes[NT];

  __device__ W4MRows(const bf16* x0, int ok_tiles, size_t tile_step) {
#pragma unroll
    for (int t = 0; t < NT; t++) {
      bool on = t < ok_tiles;
      at[t] = x0 + (on ? t * tile_step : 0);
      bytes[t] = on ? 16 : 0;
    }
  }
};

template <int NT, int U>
__device__ __forceinline__ void w4f_stage_x(uint4* dst, const W4MRows<NT>& xr, int p, int p1,
                                            bool probe_skip = false) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    bool live = p + u < p1;
    int at = live ? 64 * (p + u) : 0;  // a pair past p1 copies nothing, from a valid address
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
      for (int ch = 0; ch < 2; ch++) {
        uint4* d = dst + ((u * 2 + ch) * NT + t) * 32;
        const bf16* src = xr.at[t] + at + 32 * ch;
        int bytes = live ? xr.bytes[t] : 0;
        if ((W4M_PROBE & 1) || probe_skip || ((W4M_PROBE & 8) && u == 1)) continue;
        if (W4M_X_L1)
          cp_async16_ca(d, src, bytes);
        else
          cp_async16(d, src, bytes);
      }
  }
  cp_async_commit();
}

// The _tma twins of the many-token SAME loop: a warp's stage of activations (the live tokens x
// one input pair, into a buffer of 2,048 bytes) is one tensor copy issued by lane 0 and counted
// on the warp's mbarrier for that buffer, in place of w4f_stage_x's four cp.async a lane. The
// probe that moved a stage as one bulk copy (wrong sums, the layout not matching) read 217.4
// against 209.2 decode tokens/s a sequence, 14B GPTQ batch 16; a bulk copy a token row lost
// 11 %, its 16 copies issued one after another (docs/benchmarks). The map (Kernels.w4ManyXMap) is x
// (tokens, k) in boxes of the live tokens x 64 inputs: a token's 128 bytes a row, the 16-byte
// slot of input chunk c8 (0-7) at c8 ^ (token % 8) (the 128-byte swizzle). Rows past the live
// tokens keep what they held: their columns' sums are never stored. (A box of 16 rows with
// the dead ones outside the map, filled with zeros by the copy, cost 20 % at 4 tokens: one
// H200, 14B GPTQ batch 4 through these kernels 178.3 decode tokens/s a sequence against 227.7
// by cp.async.) An MMA's B column n takes
// token w4m_col_token(n) of its tile, not n: a quarter warp's lanes (columns 2q and 2q + 1,
// chunks 4ch + c) then read rows q and q + 4, whose swizzles put them in different halves of
// the banks; with token n they would read the same eight slots twice.
__device__ __forceinline__ int w4m_col_token(int n) { return (n >> 1) + 4 * (n & 1); }

#define W4M_XBOX 2048
// Tensor copies and mbarrier transaction counts need sm_90: compiled for older targets the _tma
// twins stage by cp.async (Kernels launches them on sm_90 only).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define W4M_TMA_ARCH false
#else
#define W4M_TMA_ARCH true
#endif
#define W4M_TMA_SMEM (W4F_WARPS * 2 * W4M_XBOX + 1024)  // two buffers a warp, 1,024-aligned
__device__ const int w4m_tma_smem = W4M_TMA_SMEM;  // Kernels reads it

__device__ __forceinline__ void w4m_xbox_load(void* dst, const CUtensorMap* map, int input,
                                              uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3}], [%4];" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(input), "r"(0), "r"(smem_u32(bar))
      : "memory");
}

// A warp's two stage buffers and their barriers; xo: the lane's slots (uint4) of chunks c and
// 4 + c of tile 0 (tile 1: 64 more), ph: each buffer's next parity, bytes: a box's (128 a
// live token).
struct W4MTma {
  const CUtensorMap* map;
  uint4* buf;
  uint64_t* bar;
  int2 xo;
  unsigned ph, bytes;

  // The stage of input pair `pair` into buffer h. No __syncwarp before it: every lane's reads
  // of buffer h's last stage fed that stage's mma.sync.aligned, which lane 0 has passed, so
  // they are done (with one, 14B GPTQ batch 16 read 213.1 against 214.9 decode tokens/s a
  // sequence, batch 3 246.0 against 248.2: one H200, same call).
  __device__ void issue(int h, int pair) {
    if ((threadIdx.x & 31) == 0) {
      mbar_expect_tx(bar + h, bytes);
      w4m_xbox_load(buf + h * (W4M_XBOX / 16), map, 64 * pair, bar + h);
    }
  }
  __device__ void wait(int h) {
    mbar_wait(bar + h, (ph >> h) & 1u);
    ph ^= 1u << h;
  }
};

// Equal runs of input pairs for the many-token kernels (w4f_units' SAME loop): the first
// `blocks` blocks of the launch take the (groups x pairs) input pairs, group-major, in equal
// runs [b n / blocks, (b + 1) n / blocks), so a run's ends may cut a group. Each block sums
// its part of a group as it sums a whole one (its warps split the part's pairs, their sums meet
// in warp order). A group's parts: the owner's, the block whose run holds the group's first
// pair (the run's last part, so it comes last in the owner's time), and its partners', the
// later blocks whose runs start inside the group (each its run's first part, so early in its
// time). A partner leaves its part's sums in its slot of parts, each beside the launch's tag
// for the group in one 64-bit word (no fence, no count: an owner that reads the tag has read
// the sum with it, as w4a16_chain.cu's partners do); the owner adds them to its own in block
// order (so the bits depend on the shape and the launch width only, never on the token count
// or on timing), runs the epilogue and bumps the group's generation, which tags the next
// launch's parts. Why: a whole group a block left a narrow launch, 14B's down (160 groups of
// 216 pairs for 264 block slots), on 160 blocks whose warps took 27 pairs each, while the
// same pairs a warp cost about as much on an SM of 16 warps as of 8 (docs/benchmarks). One
// H200, 16 tokens: that launch 25.6 -> 21.2 us, 14B GPTQ batch 16 194.6 -> 201.3 decode
// tokens/s a sequence. Kernels.w4SplitBlocks splits only such launches, through the residual
// kernels' _split twins: groups of 80 pairs (14B QKV, O) gained nothing or lost, and wide
// launches (gate/up) read the same. A first
// version counted parts in on an atomic after a fence, the last block running the epilogue:
// each part's end then cost a fence and two round trips to L2, and batch 16 lost 2.5 %.
// The tag holds the group's index beside its generation (w4m_tag): launches of other shapes
// share the slots, and a slot such a launch left holds another group's part, whose generation
// may be the same number.
#define W4M_TAG_GROUP_BITS 11  // most groups of a split launch: 2^11 (Kernels.W4_SPLIT_MAX_GROUPS)
__device__ __forceinline__ unsigned w4m_tag(unsigned gen, int j) {
  return ((gen + 1u) << W4M_TAG_GROUP_BITS) | (unsigned)j;
}

struct W4MSplit {
  unsigned long long* parts;  // (blocks, 2 * 128 * NT): a partner's {tag, sum} words
  unsigned* gens;             // (units / 16): a group's generation; zero at first use
  int blocks;  // blocks sharing the pairs out; 0: a whole group a block, b, b + grid, ...
};

// A block's walk through its groups (whole: b, b + grid, ...) or its run's parts of them
// (W4MSplit), kept to the group's index in the loop: the rest is made again from the launch's
// parameters at a part's ends (held across the loop, it pushed the address arithmetic of the
// activations' copies into the loop: 812 -> 838 instructions a two-stage pass, and the whole
// groups' launches 6 % slower). 32-bit: the launcher splits only where n * blocks < 2^31.
struct W4MWalk {
  int groups, pairs, nb;  // nb: blocks sharing the pairs out, 0 whole groups

  __device__ bool split() const { return nb > 0; }
  __device__ int start(int q) const {  // where block q's run starts (n = groups x pairs)
    return (int)((unsigned)q * (unsigned)(groups * pairs) / (unsigned)nb);
  }
  __device__ int end() const { return start(blockIdx.x + 1); }  // this block's run's end
  // The block's first group (groups past the last: none), and the one after group j.
  __device__ int first() const {
    if (!split()) return blockIdx.x;
    int u0 = start(blockIdx.x);
    return u0 < end() ? u0 / pairs : groups;
  }
  __device__ int next(int j) const {
    if (!split()) return j + gridDim.x;
    return (j + 1) * pairs < end() ? j + 1 : groups;
  }
  // The block's pairs [pa, pe) of group j.
  __device__ int pa(int j) const { return split() ? max(start(blockIdx.x) - j * pairs, 0) : 0; }
  __device__ int pe(int j) const { return split() ? min(pairs, end() - j * pairs) : pairs; }
  // A warp's pairs of group j: the block's part shared out in warp order.
  __device__ void warp_pairs(int j, int warp, int warps, int& p0, int& p1) const {
    int a = pa(j), n = pe(j) - a;
    p0 = a + warp * n / warps;
    p1 = a + (warp + 1) * n / warps;
  }
  // The block whose run holds input pair u (group-major).
  __device__ int block_of(int u) const {
    return (int)((((unsigned)u + 1u) * (unsigned)nb - 1u) / (unsigned)(groups * pairs));
  }
};

// The warps' sums of a group (or group part) through red, in warp order, into thread (nt, e,
// lane)'s a, b (rows g + 8 (e / 2) of both strips, token 8 nt + 2c + e % 2); returns whether
// the thread holds a live token's sums (its token t, unit u in the group).
// COLS: the MMAs' columns hold tokens w4m_col_token(n) (the _tma twins), else token n.
template <int NT, bool COLS = false>
__device__ __forceinline__ bool w4f_block_sums(const float (&acc)[2][NT][4], float* red,
                                               int tokens, float& a, float& b, int& u, int& t) {
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
  for (int s = 0; s < 2; s++)
#pragma unroll
    for (int tt = 0; tt < NT; tt++)
#pragma unroll
      for (int e = 0; e < 4; e++)
        red[(((warp * 2 + s) * NT + tt) * 4 + e) * 32 + lane] = acc[s][tt][e];
  __syncthreads();
  a = b = 0.f;
  if (threadIdx.x >= NT * 128) return false;
  int nt = threadIdx.x >> 7, e = (threadIdx.x >> 5) & 3, l = threadIdx.x & 31;
  int n = 2 * (l & 3) + (e & 1);
  t = 8 * nt + (COLS ? w4m_col_token(n) : n);
  u = (l >> 2) + 8 * (e >> 1);
  if (t >= tokens) return false;
  for (int w = 0; w < warps; w++) {
    a += red[(((w * 2) * NT + nt) * 4 + e) * 32 + l];
    b += red[(((w * 2 + 1) * NT + nt) * 4 + e) * 32 + l];
  }
  return true;
}

__device__ __forceinline__ unsigned long long w4m_ld_word(const unsigned long long* p) {
  unsigned long long v;
  asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
  return v;
}

__device__ __forceinline__ void w4m_st_word(unsigned long long* p, float v, unsigned tag) {
  asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(p),
               "l"(((unsigned long long)tag << 32) | __float_as_uint(v))
               : "memory");
}

// A partner's part of a group (W4MSplit): epilogue thread th's sums a, b into its slot.
template <int NT>
__device__ __forceinline__ void w4m_publish(const W4MSplit& sp, unsigned tag, float a, float b) {
  constexpr int th = NT * 128;
  if (threadIdx.x >= th) return;
  unsigned long long* slot = sp.parts + (size_t)blockIdx.x * 2 * th + 2 * threadIdx.x;
  w4m_st_word(slot, a, tag);
  w4m_st_word(slot + 1, b, tag);
}

// An owner's part: the partners' sums (blocks fb + 1 .. lb) added to a, b in block order, each
// read again until it carries this launch's tag.
template <int NT>
__device__ __forceinline__ void w4m_gather(const W4MSplit& sp, int fb, int lb, unsigned tag,
                                           float& a, float& b) {
  constexpr int th = NT * 128;
  for (int q = fb + 1; q <= lb; q++) {
    const unsigned long long* slot = sp.parts + (size_t)q * 2 * th + 2 * threadIdx.x;
    unsigned long long w;
    while ((unsigned)((w = w4m_ld_word(slot)) >> 32) != tag) {
    }
    a += __uint_as_float((unsigned)w);
    while ((unsigned)((w = w4m_ld_word(slot + 1)) >> 32) != tag) {
    }
    b += __uint_as_float((unsigned)w);
  }
}

// Most unit groups a block of a split launch completes (Kernels.W4_SPLIT_MAX_DONE), and the
// record of them the residual kernels' norm reads (w4_resid_norm): done[0] of them in done[1..].
#define W4M_MAX_DONE 64
__device__ __forceinline__ void w4m_done(int* done, int j) {
  if (done && threadIdx.x == 0) done[1 + done[0]++] = j;
}

// The GEMV proper over unit groups j = blockIdx.x, + gridDim.x, ...: each warp sums its pairs
// [p0, p1) of both strips a stage at a time (load, then multiply), the block adds the warps'
// sums in warp order and thread (e, lane) of the first four warps hands row g + 8 (e / 2),
// token 2c + e % 2 of both strips to the epilogue (C fragment layout, as in w4_store). The
// many-token SAME loop may share the pairs out in runs instead (split, W4MSplit).
// Measured slower or no faster on the H100 (bench gemm --gemv 1, 14B shapes, against 11.8,
// 10.9, 38.4 and 23.3 us for QKV, O, gate/up and down): two register stages of 2 pairs
// streaming all of a block's groups back to back with one barrier (12.7 .. 26.9 us); L2
// prefetch of the next group besides (16.2 .. 32.9); the zero point taken out per pair through
// an all-ones MMA of the activations instead of per weight (equal, 11.8 .. 23.3): the kernel is
// bound by memory latency with 12 to 16 warps per SM, not by issue. The many-token kernels
// (16 tokens) are the other way round: with the codes' loads made L2 hits they ran 1 % faster,
// with no arithmetic 15 %, with no activations 4 % (14B batch 16, one H100); their loop issues
// some 108 instructions per 16 x 64 block of a strip, at half an instruction a cycle per
// scheduler. Two register stages of codes there (SAME, below) gained 1-4 %; L2 prefetch of
// a warp's codes ahead of it lost 6-16 %, and codes staged by cp.async with the activations
// lost 10 % (the copies' issue and address registers cost more than the latency they hid).
// x: (parts, tokens, k) bf16, part p at x + p * x_part_stride; rows from b1 read part 1,
// from b2 part 2. codes, sz: w4a16.cu's layout.
// xstage (two n-tiles from global memory, the many-token kernels): W4F_WARPS * 2 * W4M_SLOTS *
// 32 uint4 of shared memory for w4f_stage_x, double-buffered per warp; else unused (null).
// szs (SZS 1, or 2 where every zero point is 8: scales only): w4a16_chain.cu's strip-major
// copy of sz, which the SAME loop then reads (W4MStage); null otherwise (SZS 0).
// TMA (the _tma twins; SZS only): xmap's tensor copies stage the activations (W4MTma), in
// xstage's W4M_TMA_SMEM bytes.
template <bool XS, int NT, bool G64, bool SAME = false, int SZS = 0, bool ENTER = false,
          bool SPLIT = false, bool TMA_ = false, class Epi>
__device__ __forceinline__ void w4f_units(const bf16* x, long long x_part_stride, int tokens,
                                          const uint4* __restrict__ codes,
                                          const __half2* __restrict__ sz, int k, int group,
                                          int group_shift, int b1, int b2, int units,
                                          const Epi& epi, float* red, uint4* xstage,
                                          const void* __restrict__ szs = nullptr,
                                          W4MSplit split = {nullptr, nullptr, 0},
                                          int* done = nullptr,
                                          const CUtensorMap* xmap = nullptr) {
  constexpr bool TMA = TMA_ && W4M_TMA_ARCH;
  using E = SzsEntry<SZS>;
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int g = lane >> 2, c = lane & 3;
  int pairs = k >> 6, groups = k / group;
  int ok_tiles = (tokens - g + 7) >> 3;  // n-tiles where this lane's token g + 8t is live
  auto lane_of = [&](int j) {
    W4FLane ln;
#pragma unroll
    for (int s = 0; s < 2; s++) {
      int row = epi.row(16 * j, s);
      ln.w[s] = codes + (size_t)(row >> 4) * pairs * 32 + lane;
      ln.sz[s][0] = sz + (size_t)(row + g) * groups;
      ln.sz[s][1] = ln.sz[s][0] + (size_t)8 * groups;
      ln.x[s] = x + ((row >= b1) + (row >= b2)) * x_part_stride + (size_t)g * k + 8 * c;
      ln.zs[s] = SZS ? static_cast<const E*>(szs) + (size_t)(row >> 4) * groups * 8 + g : nullptr;
    }
    return ln;
  };
  // A stage holds U pairs of codes; two n-tiles take fewer (W4M_MANY_U), to stay in registers.
  constexpr int U = NT == 2 ? (G64 ? W4M_MANY_U : 1) : (G64 ? 4 : 2);
  size_t tile_step = (size_t)8 * k;
  constexpr bool STAGED = !XS && NT == 2;  // the many-token kernels stage their activations
  uint4* xw = STAGED ? xstage + warp * (2 * W4M_SLOTS * 32) + lane : nullptr;
  static_assert(!SZS || (G64 && STAGED && SAME), "strip-major scales: the many-token loop");
  static_assert(!TMA || SZS, "the _tma twins are the strip-major scales' loop");
  if constexpr (STAGED && SAME) {
    // Many-token steps over one activation part: the registers strip 1's activations would
    // take hold the next stage's codes instead, loaded before this stage's MMAs (two stages
    // in registers, alternating), so their latency hides behind the arithmetic. A block's
    // first group part loads its first stage before the loop; each later one's came in
    // before the previous part's epilogue (W4M_AHEAD).
    typename StageOf<SZS != 0, W4MStage<U, E>, W4FStage<U, G64>>::type stages[2];
    // ENTER: the kernel enters here (pdl_enter), after the first codes and scales are on
    // their way: weights, unlike the activations, do not wait for the previous kernel, so
    // their first round trip overlaps its tail.
    constexpr bool EARLY = ENTER && W4M_EARLY;
    W4MWalk wk{units / 16, pairs, SPLIT ? split.blocks : 0};  // (folds away unless SPLIT)
    int j = wk.first(), p0, p1;
    wk.warp_pairs(j, warp, warps, p0, p1);
    if (EARLY && j < wk.groups) w4f_load(stages[0], lane_of(j), p0, p1, group, group_shift);
    __shared__ uint64_t xbars[TMA ? W4F_WARPS * 2 : 1];
    W4MTma xt{xmap, nullptr, TMA ? xbars + 2 * warp : nullptr, make_int2(0, 0), 0u,
              128u * tokens};
    if constexpr (TMA) {
      unsigned pad = (1024u - (smem_u32(xstage) & 1023u)) & 1023u;  // the swizzle's alignment
      xt.buf = xstage + pad / 16 + warp * (2 * W4M_XBOX / 16);
      // the lane's slots of chunks 4ch + c of its tile-0 token r: row r, slot (4ch + c) ^ r
      int r = w4m_col_token(g);
      xt.xo = make_int2(8 * r + (c ^ r), 8 * r + ((4 + c) ^ r));
      if (lane == 0) {
        mbar_init(xt.bar, 1);
        mbar_init(xt.bar + 1, 1);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
      }
      __syncwarp();
    }
    if (ENTER) pdl_enter();
    if (done && threadIdx.x == 0) done[0] = 0;
    // The generations of the run's first and last groups (the tags of this launch's parts,
    // W4MSplit), read after the wait and copied with the first stage's activations (committed
    // alone in the _tma twins), so no warp waits for them.
    __shared__ unsigned gen_s[2];
    if (wk.split() && j < wk.groups && threadIdx.x == 0) {
      asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(
                       (unsigned)__cvta_generic_to_shared(gen_s)),
                   "l"(split.gens + j)
                   : "memory");
      asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(
                       (unsigned)__cvta_generic_to_shared(gen_s + 1)),
                   "l"(split.gens + (wk.end() - 1) / pairs)
                   : "memory");
      if (TMA) cp_async_commit();  // (else committed with the first stage's activations)
    }
    for (bool first = true; j < wk.groups; first = false) {
      W4FLane ln = lane_of(j);
      float acc[2][NT][4] = {};
      W4MRows<NT> xr(ln.x[0], ok_tiles, tile_step);
      if (first || !W4M_AHEAD) {
        if (!EARLY || !first) w4f_load(stages[0], ln, p0, p1, group, group_shift);
        if constexpr (!TMA)
          w4f_stage_x<NT, U>(xw, xr, p0, p1, (W4M_PROBE & 16) && first);
        else if (p0 < p1)
          xt.issue(0, p0);
      }
      for (int p = p0; p < p1; p += 2 * U) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
          int q = p + h * U;
          if (q >= p1) break;
          if (q + U < p1) w4f_load(stages[h ^ 1], ln, q + U, p1, group, group_shift);
          if constexpr (TMA) {
            if (q + U < p1) xt.issue(h ^ 1, q + U);
            xt.wait(h);  // this stage's box has landed
            w4f_compute<false, NT, true, true, U, E, true>(stages[h], ln, q, p1, ok_tiles,
                                                           tile_step, xt.buf + h * (W4M_XBOX / 16),
                                                           acc, xt.xo, tokens > 8);
          } else {
            w4f_stage_x<NT, U>(xw + (h ^ 1) * W4M_SLOTS * 32, xr, q + U, p1,
                               (W4M_PROBE & 4) && !first);
            cp_async_wait<1>();  // this stage's copies have landed (the next one's may not)
            w4f_compute<false, NT, true, true>(stages[h], ln, q, p1, ok_tiles, tile_step,
                                               xw + h * W4M_SLOTS * 32, acc);
          }
        }
      }
      int jn = wk.next(j);
      if (jn < wk.groups) wk.warp_pairs(jn, warp, warps, p0, p1);
      if (W4M_AHEAD && jn < wk.groups) {
        // The next part's first stage streams in while this one's sums meet and its epilogue
        // runs, instead of after (the last stage's copies, zeros past p1, land first: a
        // lane's copies to one slot must not overlap).
        if constexpr (!TMA) cp_async_wait<0>();
        W4FLane nl = lane_of(jn);
        w4f_load(stages[0], nl, p0, p1, group, group_shift);
        if constexpr (!TMA)
          w4f_stage_x<NT, U>(xw, W4MRows<NT>(nl.x[0], ok_tiles, tile_step), p0, p1,
                             W4M_PROBE & 4);
        else if (p0 < p1)
          xt.issue(0, p0);  // (the last stage read buffer 0 or left it idle)
      }
      if (jn >= wk.groups) pdl_tail();  // this block's last group
      // The generations' copies are in (older than the next part's prefetched copies).
      if (wk.split() && threadIdx.x == 0) {
        if constexpr (TMA)
          cp_async_wait<0>();
        else
          cp_async_wait<1>();
      }
      float a, b;
      int u, t;
      bool live = w4f_block_sums<NT, TMA>(acc, red, tokens, a, b, u, t);
      int pa = wk.pa(j);
      if (!wk.split() || wk.pe(j) - pa == pairs) {
        if (live) epi.store(16 * j + u, t, a, b);
        w4m_done(done, j);
      } else if (pa > 0) {  // a partner's part: its run starts inside the group
        w4m_publish<NT>(split, w4m_tag(gen_s[0], j), a, b);  // (its run's first part)
      } else {  // the owner's: the group's first pair
        unsigned gen = gen_s[first ? 0 : 1], tag = w4m_tag(gen, j);
        int g0 = j * pairs;
        if (threadIdx.x < NT * 128)
          w4m_gather<NT>(split, wk.block_of(g0), wk.block_of(g0 + pairs - 1), tag, a, b);
        if (live) epi.store(16 * j + u, t, a, b);
        if (threadIdx.x == 0) split.gens[j] = gen + 1u;  // this launch's parts are read
        w4m_done(done, j);
      }
      __syncthreads();
      j = jn;
    }
    cp_async_wait_all();
    return;
  }
  if (ENTER) pdl_enter();
  int p0 = warp * pairs / warps, p1 = (warp + 1) * pairs / warps;
  for (int j = blockIdx.x; j < units / 16; j += gridDim.x) {
    W4FLane ln = lane_of(j);
    float acc[2][NT][4] = {};
    W4MRows<NT> xr(ln.x[0], ok_tiles, tile_step);  // (unused, so dropped, where not STAGED)
    int buf = 0;
    if (STAGED) w4f_stage_x<NT, U>(xw, xr, p0, p1);
    for (int p = p0; p < p1; p += U) {
      W4FStage<U, G64> st;
      w4f_load(st, ln, p, p1, group, group_shift);
      if (STAGED) {
        w4f_stage_x<NT, U>(xw + (buf ^ 1) * W4M_SLOTS * 32, xr, p + U, p1);
        cp_async_wait<1>();  // this stage's copies have landed (the next one's may not)
      }
      w4f_compute<XS, NT, STAGED, SAME>(st, ln, p, p1, ok_tiles, tile_step,
                                        STAGED ? xw + buf * W4M_SLOTS * 32 : nullptr, acc);
      buf ^= 1;
    }
    if (j + gridDim.x >= units / 16) pdl_tail();  // this block's last group
    float a, b;
    int u, t;
    if (w4f_block_sums<NT>(acc, red, tokens, a, b, u, t)) epi.store(16 * j + u, t, a, b);
    __syncthreads();
  }
}

// w4f_units over the strip-major scales (SZS: the _szs twins of the many-token kernels, whose
// SAME loop reads szs; groups of a power of two from 64 inputs), else over sz. Twins, not a
// branch in one kernel: one kernel holding both loops spilled 40-260 bytes at 128 registers.
// TMA: the _tma twins (W4MTma, xmap), strip-major scales only.
template <bool XS, int NT, bool G64, bool SAME, int SZS, bool SPLIT, bool TMA = false,
          class Epi>
__device__ __forceinline__ void w4m_units(const bf16* x, long long x_part_stride, int tokens,
                                          const uint4* __restrict__ codes,
                                          const __half2* __restrict__ sz, int k, int group,
                                          int group_shift, int b1, int b2, int units,
                                          const Epi& epi, float* red, uint4* xstage,
                                          const void* __restrict__ szs,
                                          W4MSplit split = {nullptr, nullptr, 0},
                                          int* done = nullptr,
                                          const CUtensorMap* xmap = nullptr) {
  if constexpr (SZS != 0 && G64 && NT == 2 && SAME)
    w4f_units<XS, NT, G64, SAME, SZS, true, SPLIT, TMA>(x, x_part_stride, tokens, codes, sz, k,
                                                         group, group_shift, b1, b2, units, epi,
                                                         red, xstage, szs, split, done, xmap);
  else
    w4f_units<XS, NT, G64, SAME, 0, true, SPLIT>(x, x_part_stride, tokens, codes, sz, k, group,
                                                  group_shift, b1, b2, units, epi, red, xstage,
                                                  nullptr, split, done);
}

// Units over plain rows: unit u is row 32 (u / 16) + u % 16 and the row 16 below it (two
// neighbouring strips). rows % 32 == 0.
template <bool Add>
struct StripRowsEpilogue {
  float* y;
  int rows;

  __device__ int row(int u, int r) const { return 32 * (u >> 4) + (u & 15) + 16 * r; }
  __device__ void store(int u, int t, float s0, float s1) const {
    float* yt = y + (size_t)t * rows;
    int r0 = row(u, 0), r1 = r0 + 16;
    if (Add) {
      yt[r0] += s0;
      yt[r1] += s1;
    } else {
      yt[r0] = s0;
      yt[r1] = s1;
    }
  }
};

// The QKV epilogue with the position and slot of whichever token a thread stores.
struct W4QkvRopeEpilogue {
  QkvRopeEpilogue e;
  const int* positions;
  const int* slots;

  __device__ int row(int u, int r) const { return e.row(u, r); }
  __device__ void store(int u, int t, float s0, float s1) const {
    QkvRopeEpilogue at = e;
    at.pos = (float)positions[t];
    at.slot = slots[t];
    at.store(u, t, s0, s1);
  }
};

// Prologue (RMSNorm of x into shared memory; act-order layers then a copy per part in that
// part's permuted input order) and GEMV, for T tokens.
template <bool G64, class Epi>
struct W4NormedGemv {
  const float* x;
  const bf16* norm_w;
  float eps;
  const uint4* codes;
  const __half2* sz;
  const int* perm;  // (parts, hidden), null when not act-order
  int parts, hidden, group, group_shift, b1, b2, units;
  const Epi& epi;
  bf16* xs;
  float (*part)[32];
  float* red;

  template <int T>
  __device__ void run() {
    rmsnorm_prologue<T, false>(x, nullptr, norm_w, hidden, eps, xs, part, nullptr);
    const bf16* xg = xs;
    long long stride = 0;
    if (perm != nullptr) {
      bf16* xp = xs + T * hidden;
      for (int i = threadIdx.x; i < parts * hidden; i += blockDim.x) {
        int pp = i / hidden, jj = i - pp * hidden, src = __ldg(perm + i);
#pragma unroll
        for (int t = 0; t < T; t++) xp[(pp * T + t) * hidden + jj] = xs[t * hidden + src];
      }
      __syncthreads();
      xg = xp;
      stride = (long long)T * hidden;
    }
    w4f_units<true, 1, G64>(xg, stride, T, codes, sz, hidden, group, group_shift, b1, b2, units,
                         epi, red, nullptr);
  }
};

template <bool G64, class Epi>
__device__ __forceinline__ void w4f_normed(const float* x, const bf16* norm_w, float eps,
                                           const uint4* codes, const __half2* sz,
                                           const int* perm, int parts, int tokens, int hidden,
                                           int group, int group_shift, int b1, int b2,
                                           int units, const Epi& epi) {
  extern __shared__ uint4 smem[];
  __shared__ float part[FUSED_MAX_TOKENS][32];
  __shared__ float red[W4_RED(1)];
  w4f_prefetch_enter(codes, hidden, units, epi);
  W4NormedGemv<G64, Epi> body{x,     norm_w, eps,    codes, sz,
                              perm,  parts,  hidden, group, group_shift,
                              b1,    b2,     units,  epi,   reinterpret_cast<bf16*>(smem),
                              part,  red};
  for_tokens(tokens, body);
}

// Launch (all three): grid <= ceil(units / 16) blocks of 32 * W4F_WARPS threads, block b
// taking unit groups b, b + grid, ... (Kernels.launchW4Fused spreads them evenly); dynamic
// shared memory (1 + parts) * tokens * hidden * 2 bytes for the normed kernels (parts 0 when
// not act-order). Weights: w4a16.cu's layout with group % 32 == 0; the _g64 kernels take
// groups of a multiple of 64 inputs (or one), the others any. tokens <= FUSED_MAX_TOKENS.
// x: (tokens, hidden) fp32 residual stream, norm_w (hidden) bf16; perm (parts, hidden) int,
// the act-order input permutation of each part (null: none), b1, b2 the parts' first rows.
#define W4F_WEIGHTS                                                                            \
  const uint4 *__restrict__ codes, const __half2 *__restrict__ sz,                            \
      const int *__restrict__ perm, int parts, int group, int group_shift, int b1, int b2

// q_out (tokens, q_size) bf16 and the K/V cache rows at slots[t] = RoPE(RMSNorm(x) . w_qkv^T +
// bias), as gemv_rmsnorm_qkv_rope_bf16. head_dim % 32 == 0.
#define W4F_QKV(NAME, G64)                                                                     \
  extern "C" __global__ void __launch_bounds__(32 * W4F_WARPS, 2)                             \
  NAME(const float* __restrict__ x, const bf16* __restrict__ norm_w, float eps, W4F_WEIGHTS,  \
       const bf16* __restrict__ bias, const int* __restrict__ positions,                      \
       const int* __restrict__ slots, bf16* __restrict__ q_out, bf16* __restrict__ k_cache,   \
       bf16* __restrict__ v_cache, int tokens, int hidden, int num_heads, int num_kv_heads,   \
       int head_dim, float theta) {                                                           \
    W4QkvRopeEpilogue epi{{bias, q_out, k_cache, v_cache, num_heads, num_kv_heads, head_dim,  \
                           head_dim / 2, theta, 0.f, -1},                                     \
                          positions,                                                          \
                          slots};                                                             \
    int units = (num_heads + 2 * num_kv_heads) * (head_dim / 2);                              \
    w4f_normed<G64>(x, norm_w, eps, codes, sz, perm, parts, tokens, hidden, group,            \
                    group_shift, b1, b2, units, epi);                                         \
  }
W4F_QKV(w4_rmsnorm_qkv_rope, false)
W4F_QKV(w4_rmsnorm_qkv_rope_g64, true)

// act (tokens, inter) bf16 = silu(gate) * up of RMSNorm(x) . w_gate_up^T, gate rows then up
// rows, as gemv_rmsnorm_silu_bf16. inter % 16 == 0.
#define W4F_SILU(NAME, G64)                                                                    \
  extern "C" __global__ void __launch_bounds__(32 * W4F_WARPS, 2)                             \
  NAME(const float* __restrict__ x, const bf16* __restrict__ norm_w, float eps, W4F_WEIGHTS,  \
       bf16* __restrict__ act, int tokens, int hidden, int inter) {                           \
    SiluEpilogue epi{act, inter};                                                             \
    w4f_normed<G64>(x, norm_w, eps, codes, sz, perm, parts, tokens, hidden, group,            \
                    group_shift, b1, b2, inter, epi);                                         \
  }
W4F_SILU(w4_rmsnorm_silu, false)
W4F_SILU(w4_rmsnorm_silu_g64, true)

// The next norm inside a residual kernel (steps of several tokens, whose QKV and gate/up
// kernels read normed activations): once every block has added its rows, h (tokens, rows)
// bf16 = RMSNorm(resid) * w, so no norm kernel runs between the two projections. Each block
// sums the squares of its own 32-row groups (a warp per token and group, a lane per row) into
// ss (tokens, rows / 32); after a grid barrier (every block is resident: the launches are no
// wider than the GPU) every block adds a token's group sums in the same order and writes its
// own rows of h. Each sum's order is fixed by the shape: a token's h does not depend on the
// batch (add_rmsnorm_bf16 sums in another order: the two agree to bf16 rounding).
struct ResidNorm {
  const bf16* w;  // (rows) norm weight; null: no norm
  float eps;
  bf16* h;
  float* ss;      // (W4M_MAX_TOKENS, rows / 32) group sums
  unsigned* bar;  // grid barrier word (grid_arrive_wait), zero at first use
};

// done: where given (W4MSplit's launches, w4m_done), the groups whose epilogue this block ran
// (it alone has their rows before the barrier), else groups b, b + grid, ...
__device__ __forceinline__ void w4_resid_norm(const float* resid, int tokens, int rows,
                                              const ResidNorm& n, const int* done = nullptr) {
  __shared__ float inv[W4M_MAX_TOKENS];
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int groups = rows / 32;
  int mine = done ? done[0] : (groups - (int)blockIdx.x + (int)gridDim.x - 1) / (int)gridDim.x;
  for (int i = 0; i < mine; i++)
    for (int t = warp, j = done ? done[1 + i] : blockIdx.x + i * gridDim.x; t < tokens;
         t += warps) {
      float v = __ldcg(resid + (size_t)t * rows + 32 * j + lane);
      float s = warp_sum(sum_sq(0.f, v));
      if (lane == 0) n.ss[t * groups + j] = s;
    }
  __syncthreads();
  if (threadIdx.x == 0) grid_arrive_wait(n.bar);
  __syncthreads();
  for (int t = warp; t < tokens; t += warps) {
    float s = 0.f;
    for (int j = lane; j < groups; j += 32) s += __ldcg(n.ss + t * groups + j);
    s = warp_sum(s);
    if (lane == 0) inv[t] = inv_rms(s, rows, n.eps);
  }
  __syncthreads();
  for (int j = blockIdx.x; j < groups; j += gridDim.x)
    for (int i = threadIdx.x; i < 32 * tokens; i += blockDim.x) {
      int t = i >> 5, r = 32 * j + (i & 31);
      size_t at = (size_t)t * rows + r;
      n.h[at] = rms_scale(__ldcg(resid + at), inv[t], n.w[r]);
    }
}

// The _split twins' last arguments (W4MSplit): the partners' tagged sums, each group's
// generation (zero at first use), and how many blocks share the pairs out (0: whole groups).
// W4M_SPLIT_PARAMS_<SPLIT>, _OF_, _DONE_DECL_ and _DONE_ give a kernel of the residual family
// its parameters, its W4MSplit and its record of completed groups (in shared memory): none for
// the other twins.
#define W4M_SPLIT_PARAMS_true                                                                  \
  , unsigned long long *__restrict__ split_parts, unsigned *__restrict__ split_gens,          \
      int split_blocks
#define W4M_SPLIT_PARAMS_false
#define W4M_SPLIT_OF_true (W4MSplit{split_parts, split_gens, split_blocks})
#define W4M_SPLIT_OF_false (W4MSplit{nullptr, nullptr, 0})
#define W4M_DONE_true (split_blocks ? done : nullptr)
#define W4M_DONE_false nullptr
#define W4M_DONE_DECL_true __shared__ int done[W4M_MAX_DONE + 1];
#define W4M_DONE_DECL_false
// The _tma twins' last parameter (the activations' tensor map, Kernels.w4ManyXMap), and its
// pointer for w4m_units.
#define W4M_XMAP_PARAM_true , const __grid_constant__ CUtensorMap xmap
#define W4M_XMAP_PARAM_false
#define W4M_XMAP_true (&xmap)
#define W4M_XMAP_false nullptr

// resid (tokens, rows) fp32 += a . w^T: the O and down projections into the residual stream,
// then, where norm_w is given, h = RMSNorm(resid) * norm_w (w4_resid_norm; ss, bar its
// scratch). a: (tokens, k) bf16, already in the layer's permuted input order when act-order
// (one part). rows % 32 == 0. NT n-tiles: 1 (up to 8 tokens), or 2 (the many-token kernels at
// the end, up to 16, their activations staged in W4M_SMEM bytes of dynamic shared memory,
// the _tma twins' in W4M_TMA_SMEM).
// ADD false (the w4_rows kernels): resid is a plain output, y = a . w^T (the unfused path's
// projections, Kernels.w4a16), and no norm.
#define W4_RESIDUAL(NAME, G64, NT, ADD, SZS) W4_RESIDUAL_S(NAME, G64, NT, ADD, SZS, false, false)
// SPLIT: the twin that shares a launch's pairs out (W4MSplit), so the others keep the plain
// loop (the split's walk held across it cost the whole-group launches about 1 %).
// TMA: the _tma twins (W4MTma), the tensor map of a as their last parameter.
#define W4_RESIDUAL_S(NAME, G64, NT, ADD, SZS, SPLIT, TMA)                                        \
  extern "C" __global__ void __launch_bounds__(32 * W4F_WARPS, 2)                             \
  NAME(const bf16* __restrict__ a, const uint4* __restrict__ codes,                           \
       const __half2* __restrict__ sz, int group, int group_shift, float* __restrict__ resid, \
       int tokens, int rows, int k, const bf16* __restrict__ norm_w, float eps,               \
       bf16* __restrict__ h, float* __restrict__ ss, unsigned* __restrict__ bar,              \
       const void* __restrict__ szs W4M_SPLIT_PARAMS_##SPLIT W4M_XMAP_PARAM_##TMA) {           \
    KT_SCOPE((SPLIT) ? 4 : 2)                                                                 \
    __shared__ float red[W4_RED(NT)];                                                         \
    W4M_DONE_DECL_##SPLIT                                                                     \
    extern __shared__ uint4 xstage[];                                                         \
    StripRowsEpilogue<ADD> epi{resid, rows};                                                  \
    w4m_units<false, NT, G64, NT == 2, SZS, SPLIT, TMA>(a, 0, tokens, codes, sz, k, group,    \
                                                        group_shift, rows, rows, rows / 2,    \
                                                        epi, red, xstage, szs,                \
                                                        W4M_SPLIT_OF_##SPLIT,                 \
                                                        W4M_DONE_##SPLIT, W4M_XMAP_##TMA);    \
    if (ADD && norm_w != nullptr)                                                             \
      w4_resid_norm(resid, tokens, rows, ResidNorm{norm_w, eps, h, ss, bar},                  \
                    W4M_DONE_##SPLIT);                                                        \
  }
W4_RESIDUAL(w4_residual, false, 1, true, 0)
W4_RESIDUAL(w4_residual_g64, true, 1, true, 0)
W4_RESIDUAL(w4_rows, false, 1, false, 0)
W4_RESIDUAL(w4_rows_g64, true, 1, false, 0)

// The many-token kernels (up to W4M_MAX_TOKENS): steps of several tokens (decode batches) read
// the same codes once for every token, with the tokens as two n-tiles of the MMA; the
// activations come from global memory (L1), already normed for QKV and gate/up (by the
// residual kernel before them, w4_resid_norm: the norm prologue's copy would not fit in shared
// memory for 16 tokens at the Qwen2.5 widths), one copy per act-order part in that part's
// permuted order (h: (parts, tokens, hidden), part stride part_stride). Same epilogues as
// above; same launch, with W4M_SMEM bytes of dynamic shared memory (the staged activations;
// the _tma twins W4M_TMA_SMEM).
// szs: the strip-major scales, read by the _szs twins (w4m_units) and the _z8 ones (scales only,
// every zero point 8), null for the others. The _t8 QKV and SiLU kernels take up to 8 tokens in
// one n-tile, half the MMAs, loading their activations in the MMA loop (no dynamic shared
// memory), as w4_residual does: at 8 tokens that one ran 12-17 % faster than the two-tile one
// on an H100, before the two-tile kernels staged their activations; now they take steps of up
// to 2 tokens, or up to 8 in layers without strip-major scales (Kernels.oneTileTokens).
#define W4M_SMEM (W4F_WARPS * 2 * W4M_SLOTS * 32 * 16)
__device__ const int w4m_smem = W4M_SMEM;  // Kernels reads it
#define W4M_WEIGHTS                                                                            \
  const uint4 *__restrict__ codes, const __half2 *__restrict__ sz, int group, int group_shift, \
      int b1, int b2, const void *__restrict__ szs

#define W4M_QKV(NAME, G64, NT, SZS, TMA)                                                          \
  extern "C" __global__ void __launch_bounds__(32 * W4F_WARPS, 2)                             \
  NAME(const bf16* __restrict__ h, long long part_stride, W4M_WEIGHTS,                        \
       const bf16* __restrict__ bias, const int* __restrict__ positions,                      \
       const int* __restrict__ slots, bf16* __restrict__ q_out, bf16* __restrict__ k_cache,   \
       bf16* __restrict__ v_cache, int tokens, int hidden, int num_heads, int num_kv_heads,   \
       int head_dim, float theta W4M_XMAP_PARAM_##TMA) {                                      \
    KT_SCOPE(0)                                                                               \
    __shared__ float red[W4_RED(NT)];                                                         \
    extern __shared__ uint4 xstage[];                                                         \
    W4QkvRopeEpilogue epi{{bias, q_out, k_cache, v_cache, num_heads, num_kv_heads, head_dim,  \
                           head_dim / 2, theta, 0.f, -1},                                     \
                          positions,                                                          \
                          slots};                                                             \
    int units = (num_heads + 2 * num_kv_heads) * (head_dim / 2);                              \
    w4m_units<false, NT, G64, NT == 2, SZS, false, TMA>(h, part_stride, tokens, codes, sz,     \
                                                        hidden, group, group_shift, b1, b2,   \
                                                        units, epi, red, xstage, szs,         \
                                                        {nullptr, nullptr, 0}, nullptr,       \
                                                        W4M_XMAP_##TMA);                      \
  }
// A family's twins (Kernels reads them by name): two n-tiles over group 32, groups of 64 and
// more, the strip-major scales with zero points (_szs) and without (_z8), the same two with
// their activations staged by tensor copies (_tma); one n-tile (_t8).
#define W4M_TWINS(KERNEL, NAME)                                                                \
  KERNEL(NAME##_many, false, 2, 0, false)                                                     \
  KERNEL(NAME##_many_g64, true, 2, 0, false)                                                  \
  KERNEL(NAME##_many_szs, true, 2, 1, false)                                                  \
  KERNEL(NAME##_many_z8, true, 2, 2, false)                                                   \
  KERNEL(NAME##_many_szs_tma, true, 2, 1, true)                                               \
  KERNEL(NAME##_many_z8_tma, true, 2, 2, true)                                                \
  KERNEL(NAME##_t8, false, 1, 0, false)                                                       \
  KERNEL(NAME##_t8_g64, true, 1, 0, false)
W4M_TWINS(W4M_QKV, w4_qkv_rope)

#define W4M_SILU(NAME, G64, NT, SZS, TMA)                                                         \
  extern "C" __global__ void __launch_bounds__(32 * W4F_WARPS, 2)                             \
  NAME(const bf16* __restrict__ h, long long part_stride, W4M_WEIGHTS, bf16* __restrict__ act, \
       int tokens, int hidden, int inter W4M_XMAP_PARAM_##TMA) {                              \
    KT_SCOPE(3)                                                                               \
    __shared__ float red[W4_RED(NT)];                                                         \
    extern __shared__ uint4 xstage[];                                                         \
    SiluEpilogue epi{act, inter};                                                             \
    if (NT == 2 && (part_stride == 0 || b1 >= 2 * inter))                                    \
      w4m_units<false, NT, G64, NT == 2, SZS, false, TMA>(h, part_stride, tokens, codes, sz,   \
                                                          hidden, group, group_shift, b1, b2, \
                                                          inter, epi, red, xstage, szs,       \
                                                          {nullptr, nullptr, 0}, nullptr,     \
                                                          W4M_XMAP_##TMA);                    \
    else if (!SZS) /* act-order: gate and up rows read their own permuted copies */          \
      w4f_units<false, NT, G64, false, 0, true>(h, part_stride, tokens, codes, sz, hidden,    \
                                                group, group_shift, b1, b2, inter, epi, red,  \
                                                xstage);                                      \
  }
W4M_TWINS(W4M_SILU, w4_silu)

// The O and down projections of the many-token steps (the one-token kernel above, two n-tiles).
W4_RESIDUAL(w4_residual_many, false, 2, true, 0)
W4_RESIDUAL(w4_residual_many_g64, true, 2, true, 0)
W4_RESIDUAL(w4_residual_many_szs, true, 2, true, 1)
W4_RESIDUAL(w4_residual_many_z8, true, 2, true, 2)
// Their twins for narrow launches of long groups (Kernels.w4SplitBlocks), down at 14B.
W4_RESIDUAL_S(w4_residual_many_split, false, 2, true, 0, true, false)
W4_RESIDUAL_S(w4_residual_many_g64_split, true, 2, true, 0, true, false)
W4_RESIDUAL_S(w4_residual_many_szs_split, true, 2, true, 1, true, false)
W4_RESIDUAL_S(w4_residual_many_z8_split, true, 2, true, 2, true, false)
// The same four with their activations staged by tensor copies (W4MTma).
W4_RESIDUAL_S(w4_residual_many_szs_tma, true, 2, true, 1, false, true)
W4_RESIDUAL_S(w4_residual_many_z8_tma, true, 2, true, 2, false, true)
W4_RESIDUAL_S(w4_residual_many_szs_split_tma, true, 2, true, 1, true, true)
W4_RESIDUAL_S(w4_residual_many_z8_split_tma, true, 2, true, 2, true, true)
W4_RESIDUAL(w4_rows_many, false, 2, false, 0)
W4_RESIDUAL(w4_rows_many_g64, true, 2, false, 0)
