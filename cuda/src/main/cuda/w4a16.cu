// GPTQ int4 weights on the GPU (W4A16), Marlin-style: the weights are repacked at load so that
// each lane's 32-bit word is exactly its eight values of an mma.m16n8k16 A fragment. The kernel
// unpacks them in registers to bf16 integers (q - zero), runs tensor-core MMAs with the tokens
// as the n dimension, and applies the fp16 scale to the fp32 partial sums of every 32-input
// chunk. So the effective weights are exactly the CPU runner's scale * (q - zero): rounding
// them to bf16 first (as a dequantize-then-GEMM would) adds error of the size of bf16 noise.
//
// Device layout (CudaWeights.pack writes it; rows % 16 == 0, k % 64 == 0):
//   codes  uint4 (rows / 16, k / 64, 32 lanes): strip s holds rows 16s .. 16s + 15, pair p the
//          inputs 64p .. 64p + 63 (act-order layers: in the permuted order, below). Word w of
//          a lane is chunk w / 2 of the pair (32 inputs) and k-tile w % 2 of that chunk.
//          Lane (g = lane / 4, c = lane % 4) in k-tile j of a chunk holds rows g and g + 8 at
//          the chunk's inputs 8c + 4j + {0, 1, 2, 3}, nibbles in the order
//            0: (g, +0)  1: (g+8, +0)  2: (g, +2)  3: (g+8, +2)
//            4: (g, +1)  5: (g+8, +1)  6: (g, +3)  7: (g+8, +3)
//          so (word >> 4i) & 0x000F000F is A register i's pair (rows g, g+8, g, g+8). Those
//          inputs are the mma columns 2c, 2c+1, 2c+8, 2c+9 of the k-tile: any order of the k
//          dimension gives the same sum, and this one makes lane c's B fragments of both
//          k-tiles the eight consecutive inputs 8c .. 8c + 7 of a token: one 16-byte load.
//   sz     half2 (rows, groups): {scale, zero} of group g of a row, zero = stored nibble +
//          zeroOffset (an integer <= 16). group is a multiple of 32 (or k): one group per chunk.
// Act-order (desc_act): input positions are permuted at load so that each group is a
// contiguous run of `group` positions. A stacked layer (q/k/v, gate/up) has up to three parts,
// each quantized with its own g_idx: rows [0, b1) use part 0, [b1, b2) part 1, [b2, rows)
// part 2 (bounds multiples of 16). The kernel reads activations permuted per part
// (gather_cols_bf16 writes them beforehand); the prefill dequantization undoes the permutation
// instead (inverse permutation), so cuBLAS multiplies the activations as they are.
#include "common.cuh"
#include <cuda_fp16.h>

// A register i of a word: its two nibbles as bf16 (q - zero). 0x4300 | q is the bf16 128 + q
// (exact for q < 128), so subtracting 128 + zero gives the small integer q - zero exactly.
// The mask and the OR are one LOP3 (nvcc emitted two).
__device__ __forceinline__ uint32_t w4_pair(uint32_t word, int i, __nv_bfloat162 bias) {
  uint32_t v;
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(v) : "r"(word >> (4 * i)), "n"(0x000F000F),
      "n"(0x43004300));
  __nv_bfloat162 r = __hsub2(*reinterpret_cast<__nv_bfloat162*>(&v), bias);
  return *reinterpret_cast<uint32_t*>(&r);
}

// A word's four A registers as fp16 before the zero point: registers 0 and 2 (rows g) hold
// 1024 + q, registers 1 and 3 (rows g + 8) 1024 + 16 q. 0x6400 | v is the fp16 1024 + v for
// v < 1024, and fp16's ten mantissa bits take a nibble in bits 4-7 where it stands, so the
// word needs one shift (by 8) and four LOP3s, where w4_pair's bf16 (seven bits) takes three
// shifts. The caller subtracts 1024 + zero and 1024 + 16 zero, and scales rows g + 8 by 1/16
// (w4a16_chain.cu's chain_pair).
__device__ __forceinline__ void w4_frags_f16(uint32_t word, uint32_t (&a)[4]) {
  uint32_t hi = word >> 8;
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(a[0]) : "r"(word), "n"(0x000F000F), "n"(0x64006400));
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(a[1]) : "r"(word), "n"(0x00F000F0), "n"(0x64006400));
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(a[2]) : "r"(hi), "n"(0x000F000F), "n"(0x64006400));
  asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(a[3]) : "r"(hi), "n"(0x00F000F0), "n"(0x64006400));
}

// The two k-tiles' A fragments of a 32-input chunk (k-tile words w0, w1) of rows g (zero z0)
// and g + 8 (z8).
__device__ __forceinline__ void w4_frags(uint32_t w0, uint32_t w1, __nv_bfloat162 z0,
                                         __nv_bfloat162 z8, uint32_t (&a0)[4],
                                         uint32_t (&a1)[4]) {
  a0[0] = w4_pair(w0, 0, z0);
  a0[1] = w4_pair(w0, 1, z8);
  a0[2] = w4_pair(w0, 2, z0);
  a0[3] = w4_pair(w0, 3, z8);
  a1[0] = w4_pair(w1, 0, z0);
  a1[1] = w4_pair(w1, 1, z8);
  a1[2] = w4_pair(w1, 2, z0);
  a1[3] = w4_pair(w1, 3, z8);
}

// acc += the chunk's product with one n-tile of activations b (both k-tiles), rows g and
// g + 8 scaled by f0 and f8 in fp32.
__device__ __forceinline__ void w4_mma_scaled(const uint32_t (&a0)[4], const uint32_t (&a1)[4],
                                              uint4 b, float f0, float f8, float (&acc)[4]) {
  float d[4] = {0.f, 0.f, 0.f, 0.f};
  mma_bf16_16816(d, a0, b.x, b.y);
  mma_bf16_16816(d, a1, b.z, b.w);
  acc[0] = fmaf(f0, d[0], acc[0]);
  acc[1] = fmaf(f0, d[1], acc[1]);
  acc[2] = fmaf(f8, d[2], acc[2]);
  acc[3] = fmaf(f8, d[3], acc[3]);
}

// One pipeline stage in registers: U pairs of S strips' weights and, with PX, the activations
// those pairs multiply (both chunks, every n-tile), loaded together so that the MMAs never wait
// on an activation load (from L2 once there are many tokens) after the weights arrive.
template <int NT, int S, int U, bool PX>
struct W4Stage {
  uint4 w[U][S];
  uint4 x[PX ? U : 1][2][PX ? NT : 1];
};

// A group's scale and 128 + zero of one row, staged in shared memory ready to use: the fp16 ->
// fp32 and zero -> bf16x2 conversions happen once per group and row instead of once per chunk.
struct W4Group {
  float scale;
  __nv_bfloat162 bias;
};

// One 32-input chunk starting at pos (k-tile words w0[s], w1[s] of each strip s) into acc,
// scaled per row in fp32. gi: the chunk's group. The B fragments (activations) are shared by
// the S strips unless a strip reads another part's permuted copy; pre holds them for strip 0's
// part when prefetched (PX).
template <int NT, int S, bool PX>
__device__ __forceinline__ void w4_chunk(const uint32_t (&w0)[S], const uint32_t (&w1)[S],
                                         int pos, int gi, const W4Group* const (&sRow)[S],
                                         int rowStep8, const bf16* const (&xr)[S],
                                         size_t tileStep, int okTiles, const uint4 (&pre)[PX ? NT : 1],
                                         float (&acc)[S][NT][4]) {
  uint4 b[NT];
#pragma unroll
  for (int s = 0; s < S; s++) {
    if (s == 0 || xr[s] != xr[s - 1]) {
#pragma unroll
      for (int t = 0; t < NT; t++) {
        if (PX && xr[s] == xr[0]) {
          b[t] = pre[PX ? t : 0];
        } else {
          b[t] = make_uint4(0, 0, 0, 0);
          if (t < okTiles)
            b[t] = __ldg(reinterpret_cast<const uint4*>(xr[s] + t * tileStep + pos));
        }
      }
    }
    W4Group r0 = sRow[s][gi], r8 = sRow[s][gi + rowStep8];
    uint32_t a0[4], a1[4];
    w4_frags(w0[s], w1[s], r0.bias, r8.bias, a0, a1);
#pragma unroll
    for (int t = 0; t < NT; t++) w4_mma_scaled(a0, a1, b[t], r0.scale, r8.scale, acc[s][t]);
  }
}

// Loads a stage: pairs p .. p + U - 1 (those at or past p1 skipped), weights as 16-byte
// streaming loads, activations of strip 0's part when PX.
template <int NT, int S, int U, bool PX>
__device__ __forceinline__ void w4_load(W4Stage<NT, S, U, PX>& st, const uint4* const (&w)[S],
                                        const bf16* x0, size_t tileStep, int okTiles, int p,
                                        int p1) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    if (p + u >= p1) break;
#pragma unroll
    for (int s = 0; s < S; s++) st.w[u][s] = ld_stream(w[s] + (size_t)(p + u) * 32);
    if (PX) {
#pragma unroll
      for (int ch = 0; ch < 2; ch++)
#pragma unroll
        for (int t = 0; t < (PX ? NT : 1); t++) {
          uint4 v = make_uint4(0, 0, 0, 0);
          if (t < okTiles)
            v = __ldg(reinterpret_cast<const uint4*>(x0 + t * tileStep + 64 * (p + u) + 32 * ch));
          st.x[PX ? u : 0][ch][t] = v;
        }
    }
  }
}

template <int NT, int S, int U, bool PX>
__device__ __forceinline__ void w4_compute(const W4Stage<NT, S, U, PX>& st, int p, int p1,
                                           int groupShift, int group,
                                           const W4Group* const (&sRow)[S], int rowStep8,
                                           const bf16* const (&xr)[S], size_t tileStep,
                                           int okTiles, float (&acc)[S][NT][4]) {
#pragma unroll
  for (int u = 0; u < U; u++) {
    if (p + u >= p1) break;
    int pos = 64 * (p + u);
    uint32_t w0[S], w1[S], w2[S], w3[S];
#pragma unroll
    for (int s = 0; s < S; s++) {
      w0[s] = st.w[u][s].x;
      w1[s] = st.w[u][s].y;
      w2[s] = st.w[u][s].z;
      w3[s] = st.w[u][s].w;
    }
    int g0 = groupShift >= 0 ? pos >> groupShift : pos / group;
    int g1 = groupShift >= 0 ? (pos + 32) >> groupShift : (pos + 32) / group;
    w4_chunk<NT, S, PX>(w0, w1, pos, g0, sRow, rowStep8, xr, tileStep, okTiles,
                        st.x[PX ? u : 0][0], acc);
    w4_chunk<NT, S, PX>(w2, w3, pos + 32, g1, sRow, rowStep8, xr, tileStep, okTiles,
                        st.x[PX ? u : 0][1], acc);
  }
}

// This lane's pointers per strip s of the block: its weight words (w[s] + pair * 32), and its
// activations (xr[s] + t * 8k + chunk start), lane (g, c) reading token g + 8t of n-tile t,
// inputs 8c .. 8c + 7 of each chunk, in the permuted copy of the strip's part.
template <int S>
__device__ __forceinline__ void w4_lane_ptrs(const bf16* x, long long xPartStride,
                                             const uint4* codes, int row0, int pairs, int k,
                                             int b1, int b2, int lane, const uint4* (&w)[S],
                                             const bf16* (&xr)[S]) {
  int g = lane >> 2, c = lane & 3;
#pragma unroll
  for (int s = 0; s < S; s++) {
    int r = row0 + 16 * s;
    w[s] = codes + (size_t)(r >> 4) * pairs * 32 + lane;
    xr[s] = x + ((r >= b1) + (r >= b2)) * xPartStride + (size_t)g * k + 8 * c;
  }
}

// The scales and zeros of a warp's groups (its pairs [p0, p1)), staged in shared memory
// while its first weights load: read in the loop straight from global memory, each new 32-byte
// sector of them stalled the MMAs for a memory latency. Returns per strip the row pointer
// indexed by group (row g of strip s; row g + 8 is 8 * stageGroups further).
template <int S>
__device__ __forceinline__ void w4_stage_groups(W4Group* stage, const __half2* __restrict__ sz,
                                                int row0, int groups, int group,
                                                int groupShift, int stageGroups, int p0,
                                                int p1, int lane, const W4Group* (&sRow)[S]) {
  int gFirst = groupShift >= 0 ? (p0 * 64) >> groupShift : p0 * 64 / group;
  int gLast = groupShift >= 0 ? (p1 * 64 - 1) >> groupShift : (p1 * 64 - 1) / group;
  int gCount = p1 > p0 ? gLast - gFirst + 1 : 0;
  for (int i = lane; i < 16 * S * gCount; i += 32) {
    int r = i / gCount, gg = i - r * gCount;
    float2 f = __half22float2(sz[(size_t)(row0 + r) * groups + gFirst + gg]);
    stage[r * stageGroups + gg] = W4Group{f.x, __float2bfloat162_rn(128.f + f.y)};
  }
  __syncwarp();
#pragma unroll
  for (int s = 0; s < S; s++) sRow[s] = stage + (16 * s + (lane >> 2)) * stageGroups - gFirst;
}

// The block's result: every warp's partial sums through shared memory (red), added in warp
// order (deterministic), written to y (tokens, rows).
template <int NT, int S>
__device__ __forceinline__ void w4_store(float* red, const float (&acc)[S][NT][4], int warps,
                                         int tokens, int rows, int row0,
                                         float* __restrict__ y) {
  constexpr int PER_WARP = S * NT * 4 * 32;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
  for (int s = 0; s < S; s++)
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
      for (int e = 0; e < 4; e++)
        red[warp * PER_WARP + ((s * NT + t) * 4 + e) * 32 + lane] = acc[s][t][e];
  __syncthreads();
  // C fragment: element e of lane l is row g + 8 (e / 2), token 2c + e % 2 of its n-tile.
  for (int i = threadIdx.x; i < PER_WARP; i += blockDim.x) {
    int ste = i >> 5, l = i & 31;
    int e = ste & 3, t = (ste >> 2) % NT, s = (ste >> 2) / NT;
    int n = 8 * t + 2 * (l & 3) + (e & 1);
    if (n >= tokens) continue;
    float v = 0.f;
    for (int wp = 0; wp < warps; wp++) v += red[wp * PER_WARP + i];
    y[(size_t)n * rows + row0 + 16 * s + (l >> 2) + 8 * (e >> 1)] = v;
  }
}

// Launch (register variants of w4a16_mma_<NT>x<S>): grid (rows / (16 S)), block 32 * warps,
// dynamic shared memory warps * (S * NT * 512 + 128 * S * stageGroups) bytes, stageGroups >= the
// groups any warp's pairs span. Block b computes the S 16-row strips from
// row 16 S b; its warps split the k / 64 input pairs evenly, stream their weights through a
// two-stage register pipeline (the next U pairs load while the current ones multiply), and
// their partial sums are added in warp order (deterministic). More strips per warp share each
// activation load among more rows, which matters once there are many tokens.
// x: (parts, tokens, k) bf16, part p at x + p * xPartStride (0 when not permuted);
// codes, sz: the layout above; y: (tokens, rows) fp32; tokens <= 8 * NT.
// groupShift: log2(group) when group is a power of two, else -1.
template <int NT, int S, int U, bool PX>
__device__ void w4_mma_regs(const bf16* __restrict__ x, long long xPartStride,
                       const uint4* __restrict__ codes, const __half2* __restrict__ sz,
                       float* __restrict__ y, int tokens, int rows, int k, int group,
                       int groupShift, int stageGroups, int b1, int b2) {
  extern __shared__ float red[];
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int g = lane >> 2;
  int row0 = blockIdx.x * 16 * S;
  int pairs = k >> 6;
  int p0 = warp * pairs / warps, p1 = (warp + 1) * pairs / warps;
  int groups = k / group;
  constexpr int PER_WARP = S * NT * 4 * 32;
  const uint4* w[S];
  const W4Group* sRow[S];
  const bf16* xr[S];
  int okTiles = (tokens - g + 7) >> 3;
  size_t tileStep = (size_t)8 * k;
  w4_lane_ptrs<S>(x, xPartStride, codes, row0, pairs, k, b1, b2, lane, w, xr);
  float acc[S][NT][4] = {};
  W4Stage<NT, S, U, PX> bufA, bufB;
  int p = p0;
  w4_load<NT, S, U, PX>(bufA, w, xr[0], tileStep, okTiles, p, p1);
  W4Group* stage = reinterpret_cast<W4Group*>(red + warps * PER_WARP) +
                   (size_t)warp * 16 * S * stageGroups;
  w4_stage_groups<S>(stage, sz, row0, groups, group, groupShift, stageGroups, p0, p1, lane,
                     sRow);
  while (p < p1) {
    w4_load<NT, S, U, PX>(bufB, w, xr[0], tileStep, okTiles, p + U, p1);
    w4_compute<NT, S, U, PX>(bufA, p, p1, groupShift, group, sRow, 8 * stageGroups, xr, tileStep,
                         okTiles, acc);
    p += U;
    if (p >= p1) break;
    w4_load<NT, S, U, PX>(bufA, w, xr[0], tileStep, okTiles, p + U, p1);
    w4_compute<NT, S, U, PX>(bufB, p, p1, groupShift, group, sRow, 8 * stageGroups, xr, tileStep,
                         okTiles, acc);
    p += U;
  }
  pdl_tail();
  w4_store<NT, S>(red, acc, warps, tokens, rows, row0, y);
}

// Items (16 bytes per lane) of one pipeline stage: U pairs, each S strips' weights and, with
// PX, the activations they multiply (2 chunks x NT n-tiles).
template <int NT, int S, int U, bool PX>
struct W4Ring {
  static constexpr int PAIR = S + (PX ? 2 * NT : 0);
  static constexpr int ITEMS = U * PAIR;
};

// Launch (ring variants of w4a16_mma_<NT>x<S>): grid (rows / (16 S)), block 32 * warps, dynamic
// shared memory w4a16_smem_bytes (Kernels.java mirrors it). Block b computes the S 16-row
// strips from row 16 S b; its warps split the k / 64 input pairs evenly. Each warp streams its
// pairs through a STAGES-deep ring in shared memory filled by cp.async: every lane copies and
// later reads only its own 16-byte slots, so the ring needs no barrier, only wait_group, and
// keeps STAGES - 1 stages of loads in flight per warp at no register cost (register double
// buffering left the SMs with too few bytes in flight to cover HBM latency). With PX the
// activations ride in the same stages. The warps' partial sums are added in warp order
// (deterministic). More strips per warp share each activation load among more rows.
// x: (parts, tokens, k) bf16, part p at x + p * xPartStride (0 when not permuted);
// codes, sz: the layout above; y: (tokens, rows) fp32; tokens <= 8 * NT.
// groupShift: log2(group) when group is a power of two, else -1. stageGroups >= the groups
// any warp's pairs span (their scales and zeros are staged in shared memory too).
template <int NT, int S, int U, bool PX, int STAGES>
__device__ void w4_mma_ring(const bf16* __restrict__ x, long long xPartStride,
                       const uint4* __restrict__ codes, const __half2* __restrict__ sz,
                       float* __restrict__ y, int tokens, int rows, int k, int group,
                       int groupShift, int stageGroups, int b1, int b2) {
  using Ring = W4Ring<NT, S, U, PX>;
  constexpr int PER_WARP = S * NT * 4 * 32;
  extern __shared__ __align__(16) unsigned char w4_smem[];
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  // [ring: warps x STAGES x ITEMS x 32 uint4][red: warps x PER_WARP floats][sz stage]
  uint4* ring = reinterpret_cast<uint4*>(w4_smem) + (size_t)warp * STAGES * Ring::ITEMS * 32;
  float* red = reinterpret_cast<float*>(reinterpret_cast<uint4*>(w4_smem) +
                                        (size_t)warps * STAGES * Ring::ITEMS * 32);
  W4Group* stage = reinterpret_cast<W4Group*>(red + warps * PER_WARP) +
                   (size_t)warp * 16 * S * stageGroups;
  int g = lane >> 2;
  int row0 = blockIdx.x * 16 * S;
  int pairs = k >> 6;
  int p0 = warp * pairs / warps, p1 = (warp + 1) * pairs / warps;
  int groups = k / group;
  const uint4* w[S];
  const W4Group* sRow[S];
  const bf16* xr[S];
  int okTiles = (tokens - g + 7) >> 3;
  size_t tileStep = (size_t)8 * k;
  w4_lane_ptrs<S>(x, xPartStride, codes, row0, pairs, k, b1, b2, lane, w, xr);
  int nStages = (p1 - p0 + U - 1) / U;
  // Stage i -> ring slot i % STAGES: pairs p0 + i U .. (those >= p1 skipped).
  auto issue = [&](int i) {
    uint4* slot = ring + (size_t)(i % STAGES) * Ring::ITEMS * 32 + lane;
#pragma unroll
    for (int u = 0; u < U; u++) {
      int pair = p0 + i * U + u;
      if (pair >= p1) break;
#pragma unroll
      for (int s = 0; s < S; s++)
        cp_async16(slot + (u * Ring::PAIR + s) * 32, w[s] + (size_t)pair * 32, 16);
      if (PX) {
#pragma unroll
        for (int ch = 0; ch < 2; ch++)
#pragma unroll
          for (int t = 0; t < (PX ? NT : 1); t++)
            cp_async16(slot + (u * Ring::PAIR + S + ch * NT + t) * 32,
                       t < okTiles ? xr[0] + t * tileStep + 64 * pair + 32 * ch : x,
                       t < okTiles ? 16 : 0);
      }
    }
  };
#pragma unroll
  for (int i = 0; i < STAGES - 1; i++) {
    if (i < nStages) issue(i);
    cp_async_commit();
  }
  w4_stage_groups<S>(stage, sz, row0, groups, group, groupShift, stageGroups, p0, p1, lane,
                     sRow);
  float acc[S][NT][4] = {};
  for (int i = 0; i < nStages; i++) {
    cp_async_wait<STAGES - 2>();  // this lane's copies of stage i have landed
    const uint4* slot = ring + (size_t)(i % STAGES) * Ring::ITEMS * 32 + lane;
    uint4 wv[U][S];
    uint4 xv[PX ? U : 1][2][PX ? NT : 1];
#pragma unroll
    for (int u = 0; u < U; u++) {
#pragma unroll
      for (int s = 0; s < S; s++) wv[u][s] = slot[(u * Ring::PAIR + s) * 32];
      if (PX) {
#pragma unroll
        for (int ch = 0; ch < 2; ch++)
#pragma unroll
          for (int t = 0; t < (PX ? NT : 1); t++)
            xv[PX ? u : 0][ch][t] = slot[(u * Ring::PAIR + S + ch * NT + t) * 32];
      }
    }
    // Refill the slot read in the previous iteration (already in registers).
    if (i + STAGES - 1 < nStages) issue(i + STAGES - 1);
    cp_async_commit();
#pragma unroll
    for (int u = 0; u < U; u++) {
      int pair = p0 + i * U + u;
      if (pair >= p1) break;
      int pos = 64 * pair;
      uint32_t w0[S], w1[S], w2[S], w3[S];
#pragma unroll
      for (int s = 0; s < S; s++) {
        w0[s] = wv[u][s].x;
        w1[s] = wv[u][s].y;
        w2[s] = wv[u][s].z;
        w3[s] = wv[u][s].w;
      }
      int g0 = groupShift >= 0 ? pos >> groupShift : pos / group;
      int g1 = groupShift >= 0 ? (pos + 32) >> groupShift : (pos + 32) / group;
      w4_chunk<NT, S, PX>(w0, w1, pos, g0, sRow, 8 * stageGroups, xr, tileStep, okTiles,
                          xv[PX ? u : 0][0], acc);
      w4_chunk<NT, S, PX>(w2, w3, pos + 32, g1, sRow, 8 * stageGroups, xr, tileStep, okTiles,
                          xv[PX ? u : 0][1], acc);
    }
  }
  cp_async_wait<0>();
  pdl_tail();
  w4_store<NT, S>(red, acc, warps, tokens, rows, row0, y);
}

// One entry point per (n-tiles, strips): a single kernel switching on them would allocate
// registers for the largest body everywhere. U: pairs per pipeline stage; PX: activations
// loaded with the weights; STAGES: ring depth; W: most warps per block (launch bounds).
// Kernels.java's W4Variant mirrors these. Measured on the H100 (bench gemm --gemv): at one
// token the register pipeline beat the cp.async ring (14B gate/up 47 against 65 us), from 9
// tokens the ring won (60 against 83 us). At most 32 tokens a launch: Kernels.w4a16 runs more
// in slices (a 64-token variant holding 8 n-tiles of sums was slower than two launches).
#define W4_ARGS                                                                                \
  const bf16 *__restrict__ x, long long xPartStride, const uint4 *__restrict__ codes,         \
      const __half2 *__restrict__ sz, float *__restrict__ y, int tokens, int rows, int k,      \
      int group, int groupShift, int stageGroups, int b1, int b2
#define W4_PARAMS x, xPartStride, codes, sz, y, tokens, rows, k, group, groupShift, stageGroups, b1, b2
#define W4_MMA_REGS(NT, S, U, PX, W)                                                           \
  extern "C" __global__ void __launch_bounds__(32 * W) w4a16_mma_##NT##x##S(W4_ARGS) {        \
    pdl_enter();                                                                               \
    w4_mma_regs<NT, S, U, PX>(W4_PARAMS);                                                      \
  }
#define W4_MMA_RING(NT, S, U, STAGES, W)                                                       \
  extern "C" __global__ void __launch_bounds__(32 * W) w4a16_mma_##NT##x##S(W4_ARGS) {        \
    pdl_enter();                                                                               \
    w4_mma_ring<NT, S, U, true, STAGES>(W4_PARAMS);                                            \
  }
W4_MMA_REGS(1, 1, 4, false, 16)  // 8 tokens of activations stay in L1
W4_MMA_RING(2, 1, 1, 4, 16)
W4_MMA_RING(2, 2, 1, 4, 16)
W4_MMA_RING(4, 1, 1, 4, 8)

// Launch: grid (ceil(k / 256), tokens, parts), block 256.
// out (parts, tokens, k) bf16: out[p][t][j] = x[t][perm[p * k + j]], x (tokens, k) bf16.
extern "C" __global__ void __launch_bounds__(256)
gather_cols_bf16(const bf16* __restrict__ x, const int* __restrict__ perm, bf16* __restrict__ out,
                 int k) {
  pdl_enter();
  int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= k) return;
  int t = blockIdx.y, p = blockIdx.z;
  out[((size_t)p * gridDim.y + t) * k + j] = x[(size_t)t * k + perm[(size_t)p * k + j]];
}

// The 4-bit code of row `row`, (permuted) input `pos` in the layout above.
__device__ __forceinline__ int w4_code(const uint32_t* __restrict__ codes, int pairs, int row,
                                       int pos) {
  int r = row & 15;
  int lane = (r & 7) * 4 + ((pos >> 3) & 3);
  size_t word = ((((size_t)(row >> 4) * pairs + (pos >> 6)) * 32 + lane) << 2) +
                (((pos >> 5) & 1) << 1) + ((pos >> 2) & 1);
  int nibble = ((pos >> 1) & 1) * 2 + (r >> 3) + 4 * (pos & 1);
  return (codes[word] >> (4 * nibble)) & 0xF;
}

// Launch: grid-stride (any grid), block 256. dequant_w4_bf16 without act-order (invPerm null)
// in the packed layout's own order: a warp per (strip, input pair), each lane turning its 16
// bytes of codes (rows g and g + 8, inputs 8c .. 8c + 7 of both 32-input chunks) into four
// 16-byte rows of output, so the codes are read once, in order. dequant_w4_bf16 gathers every
// weight's nibble with its own 4-byte load from a scattered word: on the H100 it took about
// 0.6 ms a 14B layer, which decode steps of over 64 tokens (dequantized then cuBLAS) paid every
// step (14B GPTQ batch 128: 46 ms a step against bf16's 15). Same values, bit for bit.
extern "C" __global__ void __launch_bounds__(256)
dequant_w4_packed_bf16(const uint4* __restrict__ codes, const __half2* __restrict__ sz,
                       bf16* __restrict__ w, int rows, int k, int group) {
  pdl_enter();
  int lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  int pairs = k >> 6, groups = k / group;
  long long units = (long long)(rows >> 4) * pairs;
  long long step = ((long long)gridDim.x * blockDim.x) >> 5;
  for (long long u = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5; u < units;
       u += step) {
    int strip = (int)(u / pairs), p = (int)(u - (long long)strip * pairs);
    uint4 q = ld_stream(codes + u * 32 + lane);
    uint32_t words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
    for (int h = 0; h < 2; h++) {  // rows g and g + 8: nibbles h, 4 + h, 2 + h, 6 + h of a word
      int row = 16 * strip + g + 8 * h;
#pragma unroll
      for (int ch = 0; ch < 2; ch++) {
        int pos0 = 64 * p + 32 * ch + 8 * c;
        float2 f = __half22float2(sz[(size_t)row * groups + pos0 / group]);
        __align__(16) bf16 out[8];
#pragma unroll
        for (int j = 0; j < 2; j++) {  // word 2 ch + j: inputs pos0 + 4 j + {0, 1, 2, 3}
          uint32_t wd = words[2 * ch + j];
          out[4 * j + 0] = to_bf(f.x * ((float)((wd >> (4 * h)) & 0xF) - f.y));
          out[4 * j + 1] = to_bf(f.x * ((float)((wd >> (4 * (4 + h))) & 0xF) - f.y));
          out[4 * j + 2] = to_bf(f.x * ((float)((wd >> (4 * (2 + h))) & 0xF) - f.y));
          out[4 * j + 3] = to_bf(f.x * ((float)((wd >> (4 * (6 + h))) & 0xF) - f.y));
        }
        *reinterpret_cast<uint4*>(w + (size_t)row * k + pos0) =
            *reinterpret_cast<const uint4*>(out);
      }
    }
  }
}

// Launch: grid (ceil(k / 8 / 128), rows), block 128. Each thread writes 8 consecutive weights
// (one 16-byte store) of w (rows, k) bf16, nn.Linear layout in the checkpoint's input order:
// w[r][i] = bf16(scale * (q - zero)) of position invPerm[part * k + i] (i itself when
// invPerm is null; Kernels takes dequant_w4_packed_bf16 then). Layout constraints as for
// w4a16_mma.
extern "C" __global__ void __launch_bounds__(128)
dequant_w4_bf16(const uint32_t* __restrict__ codes, const __half2* __restrict__ sz,
                const int* __restrict__ invPerm, bf16* __restrict__ w, int rows, int k, int group,
                int b1, int b2) {
  pdl_enter();
  int i0 = 8 * (blockIdx.x * blockDim.x + threadIdx.x);
  int row = blockIdx.y;
  if (i0 >= k) return;
  int pairs = k >> 6;
  const __half2* s = sz + (size_t)row * (k / group);
  const int* ip = invPerm == nullptr
                      ? nullptr
                      : invPerm + (size_t)((row >= b1) + (row >= b2)) * k + i0;
  __align__(16) bf16 out[8];
#pragma unroll
  for (int j = 0; j < 8; j++) {
    int pos = ip == nullptr ? i0 + j : ip[j];
    float2 f = __half22float2(s[pos / group]);
    out[j] = to_bf(f.x * ((float)w4_code(codes, pairs, row, pos) - f.y));
  }
  *reinterpret_cast<uint4*>(w + (size_t)row * k + i0) = *reinterpret_cast<const uint4*>(out);
}
