// GPTQ int4 projections for decode steps of up to 16 tokens, with the fused kernels' epilogues
// (QKV bias + RoPE + cache write, SiLU-and-mul, residual add), as tiles of 128 rows whose
// input slices are striped evenly over every SM.
//
//   w4s_qkv_rope_nt*   QKV bias + RoPE + KV-cache write epilogue (w4_qkv_rope_many)
//   w4s_silu_nt*       SiLU-and-mul epilogue (w4_silu_many)
//   w4s_residual_nt*   residual add epilogue (w4_residual_many)
//
// Why: w4a16_fused.cu's many-token kernels give a block one unit group (two 16-row strips) at
// a time, whose 8 warps split k. With 16 tokens a token's activations are 2 bytes an input
// against a strip's half byte, so each block read twice as many activation bytes (from L2) as
// code bytes (from DRAM), and each warp loaded, then multiplied, with nothing between: a 14B
// layer's four projections ran at 35-54 % of the copy bandwidth (docs/benchmarks/README.md).
// Here a tile is 8 strips (one per consumer warp) sharing each staged activation slice, so
// activations cost a quarter of the code bytes; a producer warp streams the codes and
// activations of a block's stages into a ring of shared memory by cp.async, stage after stage
// across tile boundaries, while the consumer warps multiply (mbarriers: full when a stage's
// copies have landed, empty when all 8 consumers are done with it).
//
// Work: a layer is tiles x slices units (a slice: STR_PS input pairs of 64); block b takes the
// contiguous units [b W / G, (b + 1) W / G) of the W in tile-major order, so every block gets
// the same number of slices whatever the number of tiles (the narrow O and down layers have
// 40 tiles at 14B for 132 SMs). A block's range covers the end of one tile, whole tiles and
// the start of another: a whole tile's sums go straight to the epilogue; a part's go to
// `partials` (slot 0 for the block's first part, 1 for its last), and the block that finishes
// a tile's last part (a counter per tile) adds the parts in block order and runs the epilogue.
//
// Rounding: each 64-input pair's four MMAs share one accumulator, scaled once, as in
// w4a16_chain.cu (a pair lies in one scale group: group % 64 == 0); a strip's pairs add in
// order within a part and the parts in block order. The split depends on the shape and the
// grid, never on the token count: a token's result has the same bits alone as in a batch.
//
// Requirements (Kernels.w4StripesFit): Hopper (mbarrier try_wait); k % 64 == 0; group % 64 ==
// 0 or one group; not act-order; units % 64 == 0 (tiles of four unit groups); tokens <= 8 NT.
#include "common.cuh"

#define STR_CW 8   // consumer warps, strips of a tile (Kernels.STRIPE_THREADS = 32 * (CW + 1))
#ifndef STR_PS
#define STR_PS 4   // input pairs (64 inputs each) of a slice, a stage of the ring
#endif
#ifndef STR_NS
#define STR_NS 4   // ring stages
#endif
// bf16 per staged token row: STR_PS * 64 inputs padded by 64 bytes, so the two token rows of a
// quarter warp's 16-byte loads fall in different banks.
#define STR_XROW (STR_PS * 64 + 32)
// Stages by bulk copies (the TMA: a copy per strip and token row) instead of the producer's
// 16-byte cp.async per lane.
#ifndef STR_NOLOAD  // diagnostics: stages "arrive" without their bytes, or go unmultiplied
#define STR_NOLOAD 0
#endif
#ifndef STR_NOMATH
#define STR_NOMATH 0
#endif
#ifndef STR_TMA
#define STR_TMA 1
#endif

#define STR_GATHER 4  // parts of a tile whose sums are loaded at once

// The ring's geometry, read by Kernels to size the launch's shared memory.
__device__ const int w4s_geometry[3] = {STR_CW, STR_PS, STR_NS};

template <int NT>
struct StrStage {
  uint4 w[STR_CW][STR_PS][32];  // codes: strip (its consumer warp), pair, lane
  bf16 x[8 * NT][STR_XROW];     // activations: token, input
};

// Unit u's range bounds and owners: block b starts at unit b W / G; unit u belongs to the last
// block starting at or before it.
__device__ __forceinline__ int str_start(int b, int blocks, int work) {
  return (int)((long long)b * work / blocks);
}
__device__ __forceinline__ int str_owner(int u, int blocks, int work) {
  return (int)(((long long)(u + 1) * blocks - 1) / work);
}

// The consumer warps' own barrier (the producer never joins it).
__device__ __forceinline__ void str_sync() {
  asm volatile("bar.sync 1, %0;" ::"n"(32 * STR_CW) : "memory");
}

// One input pair of the warp's strip (codes w, the lane's scale/zero entries e0, e8 of rows g
// and g + 8) against NT n-tiles of activations (xa: inputs 8c.. of the pair's first 32, xb of
// its second): four MMAs into one accumulator per n-tile, scaled once.
template <int NT>
__device__ __forceinline__ void str_pair(uint4 w, const uint4 (&xa)[NT], const uint4 (&xb)[NT],
                                         __half2 e0, __half2 e8, float (&acc)[NT][4]) {
  __nv_bfloat162 z0 = __float2bfloat162_rn(128.f + __high2float(e0));
  __nv_bfloat162 z8 = __float2bfloat162_rn(128.f + __high2float(e8));
  float s0 = __low2float(e0), s8 = __low2float(e8);
  uint32_t a0[4], a1[4], a2[4], a3[4];
  w4_frags(w.x, w.y, z0, z8, a0, a1);
  w4_frags(w.z, w.w, z0, z8, a2, a3);
#pragma unroll
  for (int t = 0; t < NT; t++) {
    float d[4] = {0.f, 0.f, 0.f, 0.f};
    mma_bf16_16816(d, a0, xa[t].x, xa[t].y);
    mma_bf16_16816(d, a1, xa[t].z, xa[t].w);
    mma_bf16_16816(d, a2, xb[t].x, xb[t].y);
    mma_bf16_16816(d, a3, xb[t].z, xb[t].w);
    acc[t][0] = fmaf(s0, d[0], acc[t][0]);
    acc[t][1] = fmaf(s0, d[1], acc[t][1]);
    acc[t][2] = fmaf(s8, d[2], acc[t][2]);
    acc[t][3] = fmaf(s8, d[3], acc[t][3]);
  }
}

// A tile's complete sums (each consumer warp its strip's, in C fragment layout) through the
// epilogue: strips 2j and 2j + 1 of the tile are unit group 4 tile + j's two strips, as
// w4a16_fused.cu pairs them (a RoPE pair's halves, a gate row and its up row, neighbours).
template <int NT, class Epi>
__device__ __forceinline__ void str_epilogue(const Epi& epi, int tile, int tokens, float* red,
                                             const float (&sum)[NT][4]) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
  for (int t = 0; t < NT; t++)
#pragma unroll
    for (int e = 0; e < 4; e++) red[((warp * NT + t) * 4 + e) * 32 + lane] = sum[t][e];
  str_sync();
  for (int q = threadIdx.x; q < 4 * NT * 128; q += 32 * STR_CW) {
    int j = q / (NT * 128), r = q - j * NT * 128;
    int nt = r >> 7, e = (r >> 5) & 3, l = r & 31;
    int t = 8 * nt + 2 * (l & 3) + (e & 1);  // element e of lane l: row g + 8 (e / 2)
    if (t < tokens) {
      float a = red[(((2 * j) * NT + nt) * 4 + e) * 32 + l];
      float b = red[(((2 * j + 1) * NT + nt) * 4 + e) * 32 + l];
      epi.store(16 * (4 * tile + j) + (l >> 2) + 8 * (e >> 1), t, a, b);
    }
  }
  str_sync();
}

// The kernel body. x (tokens, k) bf16; codes, sz: w4a16.cu's layout; units: the epilogue's
// (4 unit groups a tile); partials: 2 * gridDim.x * STR_CW * NT * 128 floats; counters: one a
// tile, zero at first use (each launch leaves them zero).
template <int NT, class Epi>
__device__ __forceinline__ void w4s(const bf16* __restrict__ x, const uint4* __restrict__ codes,
                                    const __half2* __restrict__ sz, int k, int group,
                                    int group_shift, int units, int tokens, const Epi& epi,
                                    float* __restrict__ partials,
                                    unsigned* __restrict__ counters) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(16) unsigned char str_smem[];
  __shared__ uint64_t full[STR_NS], empty[STR_NS];
  __shared__ int last;
  StrStage<NT>* ring = reinterpret_cast<StrStage<NT>*>(str_smem);
  float* red = reinterpret_cast<float*>(str_smem + STR_NS * sizeof(StrStage<NT>));
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int pairs = k >> 6, slices = (pairs + STR_PS - 1) / STR_PS, tiles = units / 64;
  int work = tiles * slices;
  int u0 = str_start(blockIdx.x, gridDim.x, work), u1 = str_start(blockIdx.x + 1, gridDim.x, work);
  if (threadIdx.x == 0) {
    for (int s = 0; s < STR_NS; s++) {
      mbar_init(full + s, STR_TMA ? 1 : 32);  // the producer (each lane with cp.async)
      mbar_init(empty + s, STR_CW);  // the consumer warps
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  // Strip w of a tile: unit group 4 tile + w / 2's strip w % 2 (a RoPE pair's halves, a gate
  // row and its up row, neighbours).
  auto strip_of = [&](int tile, int w) {
    return epi.row(16 * (4 * tile + (w >> 1)), w & 1) >> 4;
  };

  if (warp == STR_CW) {
    // Producer. Codes are weights, so the first stages' are fetched into L2 before the previous
    // kernel has finished (pdl_wait), the stages themselves after.
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    int n = u1 - u0;
    for (int i = 0; i < min(STR_NS, n); i++) {
      int u = u0 + i, tile = u / slices, p0 = (u - tile * slices) * STR_PS;
      int np = min(STR_PS, pairs - p0);
      if (lane < STR_CW * np * 4) {  // 128-byte lines: np * 4 a strip
        int w = lane / (np * 4), q = lane - w * np * 4;
        prefetch_l2(reinterpret_cast<const char*>(codes + ((size_t)strip_of(tile, w) * pairs + p0) * 32) + 128 * q);
      }
    }
    pdl_wait();
    for (int i = 0; i < n; i++) {
      int u = u0 + i, slot = i % STR_NS, tile = u / slices, p0 = (u - tile * slices) * STR_PS;
      int np = min(STR_PS, pairs - p0);
      if (i >= STR_NS) mbar_wait(empty + slot, ((i / STR_NS) - 1) & 1);
      StrStage<NT>& st = ring[slot];
#if STR_TMA
      // One bulk copy per strip (lanes 0-7) and per live token row (lanes 8 on), counted in
      // bytes on the stage's barrier; token rows past the step's are left as they are (their
      // columns of the products are never stored). Issued by many lanes at once: one lane
      // issuing all of a stage's copies in turn held the ring to about half the bandwidth.
      int live = min(tokens, 8 * NT);
      if (lane == 0) {
#if STR_NOLOAD
        mbar_arrive(full + slot);
#else
        mbar_expect_tx(full + slot, STR_CW * np * 512 + live * np * 128);
#endif
      }
      __syncwarp();
      if (!STR_NOLOAD && lane < STR_CW) {
        bulk_load(&st.w[lane][0][0], codes + ((size_t)strip_of(tile, lane) * pairs + p0) * 32,
                  np * 512, full + slot, policy);
      } else if (!STR_NOLOAD && lane - STR_CW < live) {
        int t = lane - STR_CW;
        bulk_load(&st.x[t][0], x + (size_t)t * k + 64 * p0, np * 128, full + slot);
      }
#else
      for (int w = 0; w < STR_CW; w++) {
        const uint4* src = codes + ((size_t)strip_of(tile, w) * pairs + p0) * 32;
        for (int q = lane; q < np * 32; q += 32) {
          unsigned d = smem_u32(&st.w[w][0][0] + q);
          asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2;" ::"r"(d),
                       "l"(src + q), "l"(policy)
                       : "memory");
        }
      }
      constexpr int CH = STR_PS * 8;  // 16-byte chunks of a staged token row
      for (int q = lane; q < 8 * NT * CH; q += 32) {
        int t = q / CH, ch = q - t * CH, pos = 64 * p0 + 8 * ch;
        bool ok = t < tokens && pos < k;
        cp_async16(&st.x[t][8 * ch], ok ? x + (size_t)t * k + pos : x, ok ? 16 : 0);
      }
      cp_async_mbar_arrive(full + slot);
#endif
    }
    pdl_launch_dependents();
    cp_async_wait_all();
    return;
  }

  // Consumers: warp w multiplies strip w of the stage's tile. A stage's scales are loaded a
  // stage ahead (from L2 they would stall every warp at the start of each stage).
  pdl_wait();
  int g = lane >> 2, c = lane & 3, groups = k / group;
  auto scales_of = [&](int u, __half2 (&e0)[STR_PS], __half2 (&e8)[STR_PS]) {
    int tile = u / slices, p0 = (u - tile * slices) * STR_PS, np = min(STR_PS, pairs - p0);
    const __half2* s0 = sz + (size_t)(16 * strip_of(tile, warp) + g) * groups;
#pragma unroll
    for (int pp = 0; pp < STR_PS; pp++) {
      if (pp < np) {
        int pos = 64 * (p0 + pp);
        int gi = group_shift >= 0 ? pos >> group_shift : pos / group;
        e0[pp] = __ldg(s0 + gi);
        e8[pp] = __ldg(s0 + (size_t)8 * groups + gi);
      }
    }
  };
  __half2 e0[STR_PS], e8[STR_PS];
  if (u0 < u1) scales_of(u0, e0, e8);
  int i = 0;
  for (int u = u0; u < u1;) {
    int tile = u / slices, begin = u, end = min(u1, (tile + 1) * slices);
    float acc[NT][4] = {};
    for (; u < end; u++, i++) {
      int slot = i % STR_NS, p0 = (u - tile * slices) * STR_PS;
      int np = min(STR_PS, pairs - p0);
      __half2 n0[STR_PS], n8[STR_PS];
      if (u + 1 < u1) scales_of(u + 1, n0, n8);
      mbar_wait(full + slot, (i / STR_NS) & 1);
      const StrStage<NT>& st = ring[slot];
#pragma unroll
      for (int pp = 0; pp < STR_PS; pp++) {
        if (pp < np && !STR_NOMATH) {
          uint4 xa[NT], xb[NT];
#pragma unroll
          for (int t = 0; t < NT; t++) {
            xa[t] = *reinterpret_cast<const uint4*>(&st.x[8 * t + g][pp * 64 + 8 * c]);
            xb[t] = *reinterpret_cast<const uint4*>(&st.x[8 * t + g][pp * 64 + 32 + 8 * c]);
          }
          str_pair<NT>(st.w[warp][pp][lane], xa, xb, e0[pp], e8[pp], acc);
        }
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(empty + slot);
#pragma unroll
      for (int pp = 0; pp < STR_PS; pp++) {
        e0[pp] = n0[pp];
        e8[pp] = n8[pp];
      }
    }
    if (begin == tile * slices && end == (tile + 1) * slices) {
      str_epilogue<NT>(epi, tile, tokens, red, acc);
      continue;
    }
    // A part of the tile: into this block's slot, then the tile's last part adds them all.
    // As cooperative groups' grid sync: the barrier orders the warps' stores before thread 0's
    // fence and count; the last part's thread 0 fences after seeing the count, then its block
    // reads the parts from L2.
    int slot = begin == u0 ? 0 : 1;
    float* mine = partials + ((size_t)(blockIdx.x * 2 + slot) * STR_CW + warp) * NT * 128;
#pragma unroll
    for (int t = 0; t < NT; t++)
#pragma unroll
      for (int e = 0; e < 4; e++) mine[(t * 4 + e) * 32 + lane] = acc[t][e];
    str_sync();
    int t0 = tile * slices;
    int first = str_owner(t0, gridDim.x, work), lastb = str_owner(t0 + slices - 1, gridDim.x, work);
    if (threadIdx.x == 0) {
      __threadfence();
      last = atomicAdd(counters + tile, 1u) == (unsigned)(lastb - first);
      if (last) __threadfence();
    }
    str_sync();
    if (!last) continue;
    // The parts in block order, their loads issued STR_GATHER at a time (a narrow layer's
    // tile has several parts: one L2 round trip each, in turn, cost microseconds).
    float sum[NT][4] = {};
    for (int b0 = first; b0 <= lastb; b0 += STR_GATHER) {
      float v[STR_GATHER][NT][4];
#pragma unroll
      for (int q = 0; q < STR_GATHER; q++) {
        int b = b0 + q;
        if (b <= lastb) {
          int bs = str_start(b, gridDim.x, work) >= t0 ? 0 : 1;
          const float* part = partials + ((size_t)(b * 2 + bs) * STR_CW + warp) * NT * 128;
#pragma unroll
          for (int t = 0; t < NT; t++)
#pragma unroll
            for (int e = 0; e < 4; e++) v[q][t][e] = __ldcg(part + (t * 4 + e) * 32 + lane);
        }
      }
#pragma unroll
      for (int q = 0; q < STR_GATHER; q++)
        if (b0 + q <= lastb) {
#pragma unroll
          for (int t = 0; t < NT; t++)
#pragma unroll
            for (int e = 0; e < 4; e++) sum[t][e] += v[q][t][e];
        }
    }
    if (threadIdx.x == 0) counters[tile] = 0;
    str_epilogue<NT>(epi, tile, tokens, red, sum);
  }
#endif
}

// Launch (all three): grid <= Kernels' resident blocks (at most the units: tiles x slices),
// 32 * (STR_CW + 1) threads, dynamic shared memory STR_NS * sizeof(StrStage<NT>) + STR_CW * NT
// * 128 floats (Kernels.stripeSmem). Arguments as the many-token kernels (w4a16_fused.cu) and
// the scratch above.
#define W4S_SCRATCH float *__restrict__ partials, unsigned *__restrict__ counters

// NT n-tiles: 1 (up to 8 tokens) or 2 (up to 16). Both share the grid (Kernels), so a token's
// result has the same bits in either.
#define W4S_QKV(NT)                                                                            \
  extern "C" __global__ void __launch_bounds__(32 * (STR_CW + 1), 2) w4s_qkv_rope_nt##NT(     \
      const bf16* __restrict__ h, const uint4* __restrict__ codes,                            \
      const __half2* __restrict__ sz, int group, int group_shift, const bf16* __restrict__ bias, \
      const int* __restrict__ positions, const int* __restrict__ slots,                       \
      bf16* __restrict__ q_out, bf16* __restrict__ k_cache, bf16* __restrict__ v_cache,       \
      int tokens, int hidden, int num_heads, int num_kv_heads, int head_dim, float theta,     \
      W4S_SCRATCH) {                                                                          \
    W4QkvRopeEpilogue epi{{bias, q_out, k_cache, v_cache, num_heads, num_kv_heads, head_dim,  \
                           head_dim / 2, theta, 0.f, -1},                                     \
                          positions,                                                          \
                          slots};                                                             \
    int units = (num_heads + 2 * num_kv_heads) * (head_dim / 2);                              \
    w4s<NT>(h, codes, sz, hidden, group, group_shift, units, tokens, epi, partials, counters); \
  }

#define W4S_SILU(NT)                                                                           \
  extern "C" __global__ void __launch_bounds__(32 * (STR_CW + 1), 2) w4s_silu_nt##NT(         \
      const bf16* __restrict__ h, const uint4* __restrict__ codes,                            \
      const __half2* __restrict__ sz, int group, int group_shift, bf16* __restrict__ act,     \
      int tokens, int hidden, int inter, W4S_SCRATCH) {                                       \
    SiluEpilogue epi{act, inter};                                                             \
    w4s<NT>(h, codes, sz, hidden, group, group_shift, inter, tokens, epi, partials, counters); \
  }

#define W4S_RESIDUAL(NT)                                                                       \
  extern "C" __global__ void __launch_bounds__(32 * (STR_CW + 1), 2) w4s_residual_nt##NT(     \
      const bf16* __restrict__ a, const uint4* __restrict__ codes,                            \
      const __half2* __restrict__ sz, int group, int group_shift, float* __restrict__ resid,  \
      int tokens, int rows, int k, W4S_SCRATCH) {                                             \
    StripRowsEpilogue<true> epi{resid, rows};                                                 \
    w4s<NT>(a, codes, sz, k, group, group_shift, rows / 2, tokens, epi, partials, counters);  \
  }

W4S_QKV(1)
W4S_QKV(2)
W4S_SILU(1)
W4S_SILU(2)
W4S_RESIDUAL(1)
W4S_RESIDUAL(2)
