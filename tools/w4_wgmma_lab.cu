// A lab for the many-token GPTQ projections on Hopper's warpgroup MMAs (wgmma): y (tokens <= 16,
// rows) fp32 += a (tokens, k) bf16 . W^T, W int4 in w4a16.cu's packed layout with the
// strip-major scale-only entries of the _z8 kernels (every zero point 8), groups of 128. Prints,
// for the four 14B decoder projections, the time of w4a16_fused.cu's w4_residual_many_z8 (the
// engine's batch-16 loop, whole groups a block) and of the lab kernel in several variants and k
// splits, over enough copies of the weights that none stays in L2, and the largest difference
// of their outputs, with the two persistent forms (w4wg_rows_stream, _stream2: one block a slot,
// fixed-order runs); then the gate/up projection with its SiLU epilogue as w4_silu_many_z8, as
// w4wg_silu_z8 (this loop in the engine's form, fixed-order k runs, which commit 3d2919c ran in
// the engine and the next reverted) and in the persistent forms. docs/benchmarks/README.md has
// the figures (one H200).
//
// Why: at batch 16 w4_residual_many_z8's warps each stage their own pairs' activations (twice
// the bytes of the codes they multiply) and load the MMAs' B fragments from shared memory. Here
// a block is a warpgroup over 64 rows (four strips); a pair's activations are staged once for
// its four warps, and wgmma reads them from shared memory itself (B by descriptor), with the
// dequantized codes as A from registers.
//
// The packed k order (w4a16.cu: lane c of k-tile j of a 32-input chunk holds inputs
// 8c + 4j + {0..3}) makes an MMA column's input 8c + 4j + 2hi + e for column 8hi + 2c + e. A
// lane's 16-byte load of a token's inputs 8c .. 8c + 7 holds that token's four column pairs
// (j, hi) = (m / 2, m % 2) for its c; stmatrix (matrix m from register m of each lane, row r
// from lanes 4r .. 4r + 3) lays them out as the core matrices wgmma reads: one load and one
// store a lane and pair.
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o w4_wgmma_lab \
//       tools/w4_wgmma_lab.cu && ./w4_wgmma_lab [tokens [shape|silu [variant]]]
// (-arch=sm_90a alone makes compute_90 PTX here, which has no wgmma.)
#include "../cuda/src/main/cuda/kernels.cu"
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cmath>
#include <cstring>
#include <cuda_runtime.h>

#include "lab_util.cuh"

__global__ void fill_sz(__half2* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = hh(i, seed);
    p[i] = __floats2half2_rn(0.004f * (0.75f + 0.5f * (h & 0xFFFF) / 65536.f), 8.f);
  }
}
// ---- the engine's form, tried in commit 3d2919c and reverted -------------------------------
// Fixed-order k runs: each run leaves its sums in `parts`, and the tile's last block adds them in
// run order and runs the SiLU epilogue (so the bits do not depend on which block finishes
// last); a tile is two unit groups (four strips, gate and up), a warp each. The helpers serve
// the lab kernel below too.
#define W4WG_THREADS 128  // one warpgroup
#define W4WG_NS 4         // stages of staged activations
#define W4WG_AHEAD 2      // stages staged ahead of the one multiplied
#define W4WG_SMEM (W4WG_NS * 4096)

// wg_fence, wg_commit, wg_wait, wg_hold and fence_proxy_async come from
// cuda/src/main/cuda/w4a16_wgmma.cu (through kernels.cu).
// A shared-memory matrix descriptor without swizzling: start, LBO (next core matrix in k), SBO
// (next in n), each in 16-byte units.
__device__ __forceinline__ uint64_t wg_desc(unsigned addr, unsigned lbo, unsigned sbo) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) |
         ((uint64_t)(sbo >> 4) << 32);
}
// d (64 x 16 fp32; SCALE_D 0: d = a . b) += a (64 x 16 bf16 in registers, each warp's 16 rows
// as mma.m16n8k16's A fragment) . b (16 x 16 bf16 in shared memory by descriptor, K-major).
// scale-d must be an immediate for ptxas to keep the wgmma asynchronous.
template <int SCALE_D>
__device__ __forceinline__ void wgmma_rs_16(float (&d)[8], const uint32_t (&a)[4],
                                            uint64_t desc) {
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n16k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7}, {%8, %9, %10, %11}, %12, %13, 1, 1, 0;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(SCALE_D));
}
__device__ __forceinline__ void stsm_x4(unsigned addr, uint4 v) {
  asm volatile("stmatrix.sync.aligned.m8n8.x4.shared.b16 [%0], {%1, %2, %3, %4};\n" ::"r"(addr),
               "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
               : "memory");
}
// acc += d scaled by rows g (f.x) and g + 8 (f.y): d[i] is row g + 8 ((i >> 1) & 1), token
// 8 (i >> 2) + 2c + (i & 1).
__device__ __forceinline__ void wg_add(float (&acc)[8], const float (&d)[8], float2 f) {
#pragma unroll
  for (int i = 0; i < 8; i++) acc[i] = fmaf((i & 2) ? f.y : f.x, d[i], acc[i]);
}

// The tile's sums (acc: each warp's strip, rows g and g + 8, tokens 2c, 2c + 1, 8 + 2c, 9 + 2c)
// through `red` to the epilogue: unit 32 tile + u takes row u % 16 of strips 2 (u / 16) (its
// row 0) and 2 (u / 16) + 1 (its row 1).
template <class Epi>
__device__ __forceinline__ void w4wg_epilogue(const float (&acc)[8], float (*red)[32][8],
                                              int tile, int tokens, const Epi& epi) {
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
  for (int i = 0; i < 8; i++) red[warp][lane][i] = acc[i];
  __syncthreads();
  for (int p = threadIdx.x; p < 32 * tokens; p += W4WG_THREADS) {
    int u = p & 31, t = p >> 5, ug = u >> 4, i = u & 15;
    int l = 4 * (i & 7) + ((t & 7) >> 1);
    int e = 4 * (t >> 3) + 2 * (i >> 3) + (t & 1);
    epi.store(32 * tile + u, t, red[2 * ug][l][e], red[2 * ug + 1][l][e]);
  }
}

// One group (two pairs, codes wc) of a warp's strip times the stage at descriptor ds: one wgmma
// commit of eight k-tiles, drained, then scaled by f into acc.
__device__ __forceinline__ void w4wg_group(const uint4 (&wc)[2], float2 f, uint64_t ds,
                                           float (&acc)[8]) {
  const unsigned z136 = 0x43084308u;  // bf16 136 = 128 + 8 in both halves
  const __nv_bfloat162 z = *reinterpret_cast<const __nv_bfloat162*>(&z136);
  uint32_t fr[8][4];
#pragma unroll
  for (int h = 0; h < 2; h++) {
    w4_frags(wc[h].x, wc[h].y, z, z, fr[4 * h], fr[4 * h + 1]);
    w4_frags(wc[h].z, wc[h].w, z, z, fr[4 * h + 2], fr[4 * h + 3]);
  }
#pragma unroll
  for (int t = 0; t < 8; t++) wg_hold(fr[t]);
  wg_fence();
  float d[8];
  wgmma_rs_16<0>(d, fr[0], ds);
#pragma unroll
  for (int t = 1; t < 8; t++)
    wgmma_rs_16<1>(d, fr[t], ds + (((t >> 2) * 2048 + (t & 3) * 512) >> 4));
  wg_commit();
  wg_wait<0>();
  wg_hold(d);
  wg_add(acc, d, f);
}

// A warp's share of staging one group of activations (two pairs, 16 tokens) for wgmma: tokens
// 8 nb .. 8 nb + 7 (nb = warp & 1) of chunk ch = warp >> 1 of both pairs, a lane's 16 bytes of
// each by one load into xs, then by one stmatrix into stage s's core matrices.
struct W4wgStager {
  const uint4* xa;  // this lane's inputs of group 0
  unsigned sbase, st_off;
  bool tok_ok;
  uint4 xs[2];

  __device__ W4wgStager(const bf16* x, int tokens, int k, unsigned stage_base) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int r = lane >> 2, c = lane & 3, m = lane >> 3, rr = lane & 7;
    const int nb = warp & 1, ch = warp >> 1, tok = 8 * nb + r;
    tok_ok = tok < tokens;
    xa = reinterpret_cast<const uint4*>(x + (size_t)(tok_ok ? tok : 0) * k + 32 * ch + 8 * c);
    sbase = stage_base;
    st_off = (2 * ch + (m >> 1)) * 512 + (m & 1) * 256 + nb * 128 + rr * 16;
  }
  __device__ void load(int g) {  // group g of the k inputs
#pragma unroll
    for (int j = 0; j < 2; j++)
      xs[j] = tok_ok ? __ldg(xa + (size_t)(2 * g + j) * 8) : make_uint4(0, 0, 0, 0);
  }
  __device__ void store(int s) {  // into the ring's stage s
    unsigned b = sbase + (unsigned)(s % W4WG_NS) * 4096 + st_off;
    stsm_x4(b, xs[0]);
    stsm_x4(b + 2048, xs[1]);
  }
};

// One warpgroup's sums over groups [q0 / 2, q0 / 2 + nst) of its tile (warp w: strip `strip`)
// into acc. enter: the launch's pdl_enter comes after the first codes' loads (they do not depend
// on the previous kernel). The staging buffers must be free (a barrier since their last use).
__device__ __forceinline__ void w4wg_segment(const bf16* __restrict__ x, int tokens,
                                             const uint4* __restrict__ codes,
                                             const unsigned* __restrict__ szs, int k, int strip,
                                             int q0, int nst, bool enter, float (&acc)[8]) {
  extern __shared__ __align__(1024) uint8_t w4wg_stage[];
  const int pairs = k / 64;
  const int lane = threadIdx.x & 31;
  const uint4* cw = codes + ((size_t)strip * pairs + q0) * 32 + lane;
  const unsigned* zw = szs + ((size_t)strip * (pairs / 2) + q0 / 2) * 8 + (lane >> 2);
  // The first group's codes while the previous kernel finishes (they do not depend on it).
  uint4 wc[2], wn[2];
  if (nst > 0) {
    wc[0] = ld_stream(cw);
    wc[1] = ld_stream(cw + 32);
  }
#ifndef W4WG_PREFETCH  // 1: the next four groups' codes into L2 first (slower: 37.7 against 33.3 us)
#define W4WG_PREFETCH 0
#endif
  if (W4WG_PREFETCH && lane < 8 * (nst - 1)) prefetch_l2(cw - lane + 64 + 8 * lane);
  if (enter) pdl_enter();

  const unsigned sbase = (unsigned)__cvta_generic_to_shared(w4wg_stage);
  const uint64_t desc0 = wg_desc(sbase, 256, 128);
  W4wgStager xs(x, tokens, k, sbase);  // stage s: group q0 / 2 + s
  for (int s = 0; s < W4WG_AHEAD && s < nst; s++) {
    xs.load(q0 / 2 + s);
    xs.store(s);
  }
  if (W4WG_AHEAD < nst) xs.load(q0 / 2 + W4WG_AHEAD);

#pragma unroll
  for (int i = 0; i < 8; i++) acc[i] = 0.f;
  int buf = 0;
  for (int it = 0; it < nst; it++) {
    fence_proxy_async();
    __syncthreads();  // stage it staged by every warp; stage it - 1 read by every wgmma
    if (it + W4WG_AHEAD < nst) {
      xs.store(it + W4WG_AHEAD);
      if (it + W4WG_AHEAD + 1 < nst) xs.load(q0 / 2 + it + W4WG_AHEAD + 1);
    }
    cw += 64;
    if (it + 1 < nst) {
      wn[0] = ld_stream(cw);
      wn[1] = ld_stream(cw + 32);
    } else {
      pdl_tail();  // this block's last codes are loaded
    }
    unsigned e = __ldg(zw);
    zw += 8;
    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&e));
    const uint64_t ds = desc0 + (uint64_t)(buf * 256);  // buf * 4096 bytes, in 16-byte units
    w4wg_group(wc, f, ds, acc);
    wc[0] = wn[0];
    wc[1] = wn[1];
    buf = buf + 1 == W4WG_NS ? 0 : buf + 1;
  }
  if (nst == 0) pdl_tail();
}


// Block b: tile b % tiles (units 32 tile .. 32 tile + 31), run b / tiles of `splits` over the
// k / 128 groups. x (tokens, k) bf16; szs the layer's scale-only strip-major entries (rows / 16,
// k / 128, 8). parts: tiles * splits * 128 * 8 floats, counts: tiles words, zero at first use
// (each tile's last block zeroes its count again).
template <class Epi>
__device__ __forceinline__ void w4wg_units(const bf16* __restrict__ x, int tokens,
                                           const uint4* __restrict__ codes,
                                           const unsigned* __restrict__ szs, int k, int units,
                                           const Epi& epi, float* __restrict__ parts,
                                           unsigned* __restrict__ counts, int splits) {
  __shared__ float red[4][32][8];
  __shared__ int last;
  const int tiles = units / 32, pairs = k / 64;
  const int tile = blockIdx.x % tiles, sp = blockIdx.x / tiles;
  const int per = ((pairs + splits - 1) / splits + 1) & ~1;  // whole groups a run
  const int q0 = min(pairs, sp * per), nst = (min(pairs, q0 + per) - q0) / 2;
  const int warp = threadIdx.x >> 5;
  const int strip = epi.row(16 * (2 * tile + (warp >> 1)), warp & 1) >> 4;
  float acc[8];
  w4wg_segment(x, tokens, codes, szs, k, strip, q0, nst, true, acc);

  if (splits > 1) {
    // Leave this run's sums; the tile's last block adds every run's in run order.
    float* mine = parts + ((size_t)(tile * splits + sp) * W4WG_THREADS + threadIdx.x) * 8;
    reinterpret_cast<float4*>(mine)[0] = make_float4(acc[0], acc[1], acc[2], acc[3]);
    reinterpret_cast<float4*>(mine)[1] = make_float4(acc[4], acc[5], acc[6], acc[7]);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
      last = atomicAdd(counts + tile, 1u) == (unsigned)splits - 1;
      if (last) counts[tile] = 0;  // every run has counted: ready for the next launch
    }
    __syncthreads();
    if (!last) return;
    __threadfence();
#pragma unroll
    for (int i = 0; i < 8; i++) acc[i] = 0.f;
    for (int s = 0; s < splits; s++) {
      const float4* pr =
          reinterpret_cast<const float4*>(parts + ((size_t)(tile * splits + s) * W4WG_THREADS +
                                                   threadIdx.x) * 8);
      float4 v0 = __ldcg(pr), v1 = __ldcg(pr + 1);
      acc[0] += v0.x; acc[1] += v0.y; acc[2] += v0.z; acc[3] += v0.w;
      acc[4] += v1.x; acc[5] += v1.y; acc[6] += v1.z; acc[7] += v1.w;
    }
  }
  w4wg_epilogue(acc, red, tile, tokens, epi);
}

// act (tokens, inter) bf16 = silu(gate) * up of h (tokens, hidden) bf16 . w^T: the gate/up
// projection of 9 to 16 tokens (w4a16_fused.cu's w4_silu_many_z8, on warpgroup MMAs), as it ran
// in the engine in commit 3d2919c (reverted). The launch: inter / 32 * splits blocks of
// W4WG_THREADS, W4WG_SMEM bytes of dynamic shared memory.
extern "C" __global__ void __launch_bounds__(W4WG_THREADS, 5)
    w4wg_silu_z8(const bf16* __restrict__ h, const uint4* __restrict__ codes,
                 const unsigned* __restrict__ szs, bf16* __restrict__ act, int tokens, int hidden,
                 int inter, float* __restrict__ parts, unsigned* __restrict__ counts,
                 int splits) {
  SiluEpilogue epi{act, inter};
  w4wg_units(h, tokens, codes, szs, hidden, inter, epi, parts, counts, splits);
}

// The persistent forms' hand-over: a partner's sums as 64-bit words {launch tag, value} in its
// slot; the tile's first block adds those of the blocks whose runs start inside the tile, in
// block order, loading each slot's eight words at once until every tag is this launch's.
__device__ __forceinline__ void w4wg_publish(unsigned long long* slots, const float (&acc)[8],
                                             unsigned tag) {
  unsigned long long* mine = slots + ((size_t)blockIdx.x * W4WG_THREADS + threadIdx.x) * 8;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    unsigned long long v = (unsigned long long)tag << 32 | __float_as_uint(acc[i]);
    asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(mine + i), "l"(v) : "memory");
  }
}
__device__ __forceinline__ void w4wg_gather(const unsigned long long* slots, float (&acc)[8],
                                            unsigned tag, int tile, int G, int total) {
  for (int pb = blockIdx.x + 1; pb < (int)gridDim.x; pb++) {
    if ((long long)pb * total / gridDim.x >= (long long)(tile + 1) * G) break;
    const unsigned long long* theirs = slots + ((size_t)pb * W4WG_THREADS + threadIdx.x) * 8;
    unsigned long long v[8];
    bool ready;
    do {
      ready = true;
#pragma unroll
      for (int i = 0; i < 8; i++)
        asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v[i]) : "l"(theirs + i) : "memory");
#pragma unroll
      for (int i = 0; i < 8; i++) ready &= (unsigned)(v[i] >> 32) == tag;
    } while (!ready);
#pragma unroll
    for (int i = 0; i < 8; i++) acc[i] += __uint_as_float((unsigned)v[i]);
  }
}

// A persistent form, all its blocks resident (the grid at most the launch's block slots): the
// work is tiles x k / 128 groups, tile-major, and block b takes the run [b total / grid,
// (b + 1) total / grid). A run's first segment may start inside a tile: the block is then a
// partner there and leaves its sums in its slot as 64-bit words {launch tag, value}; the block
// whose segment holds the tile's first group (its run's last segment, so its partners started
// theirs first) adds its partners' in block order, reading each word again until it carries
// this launch's tag, and runs the epilogue. No fence, count or atomic (as W4MSplit in
// w4a16_fused.cu). slots: grid * 128 * 8 words, tag: new each launch (slots start at zero).
// A persistent block's run: G groups of 128 inputs a tile, total = tiles x G, and this block's
// [w0, w1) of them (both persistent forms share it).
struct W4wgRun {
  int G, total, w0, w1;
  __device__ W4wgRun(int k, int units)
      : G(k / 128), total(units / 32 * (k / 128)),
        w0((int)((long long)blockIdx.x * total / gridDim.x)),
        w1((int)((long long)(blockIdx.x + 1) * total / gridDim.x)) {}
};

template <class Epi>
__device__ __forceinline__ void w4wg_stream(const bf16* __restrict__ x, int tokens,
                                            const uint4* __restrict__ codes,
                                            const unsigned* __restrict__ szs, int k, int units,
                                            const Epi& epi, unsigned long long* slots,
                                            unsigned tag) {
  __shared__ float red[4][32][8];
  const W4wgRun r(k, units);
  const int G = r.G, total = r.total, w0 = r.w0, w1 = r.w1, warp = threadIdx.x >> 5;
  bool first = true;
  for (int w = w0; w < w1;) {
    const int tile = w / G, g0 = w % G, g1 = min(G, g0 + (w1 - w));
    const int strip = epi.row(16 * (2 * tile + (warp >> 1)), warp & 1) >> 4;
    if (!first) __syncthreads();  // the staging buffers and red free again
    float acc[8];
    w4wg_segment(x, tokens, codes, szs, k, strip, 2 * g0, g1 - g0, first, acc);
    if (g0 > 0) {  // a partner: always the run's first segment
      w4wg_publish(slots, acc, tag);
    } else {
      w4wg_gather(slots, acc, tag, tile, G, total);
      w4wg_epilogue(acc, red, tile, tokens, epi);
    }
    first = false;
    w += g1 - g0;
  }
  if (first) pdl_enter();  // an empty run
}

// The persistent form again, its run one stream of stages: the staging and the codes' loads run
// ahead across the run's segments (a stage's strip and inputs from its own tile and group), and a
// segment's sums are published or gathered and stored between two stages.
template <class Epi>
__device__ __forceinline__ void w4wg_stream2(const bf16* __restrict__ x, int tokens,
                                             const uint4* __restrict__ codes,
                                             const unsigned* __restrict__ szs, int k, int units,
                                             const Epi& epi, unsigned long long* slots,
                                             unsigned tag) {
  extern __shared__ __align__(1024) uint8_t w4wg_stage[];
  __shared__ float red[4][32][8];
  const W4wgRun r(k, units);
  const int G = r.G, pairs = k / 64, total = r.total, w0 = r.w0, w1 = r.w1;
  const int n = w1 - w0;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  auto strip_of = [&](int w) { return epi.row(16 * (2 * (w / G) + (warp >> 1)), warp & 1) >> 4; };
  auto codes_of = [&](int w) {
    return codes + ((size_t)strip_of(w) * pairs + 2 * (w % G)) * 32 + lane;
  };
  uint4 wc[2], wn[2];
  if (n > 0) {
    const uint4* c0 = codes_of(w0);
    wc[0] = ld_stream(c0);
    wc[1] = ld_stream(c0 + 32);
  }
  pdl_enter();
  const unsigned sbase = (unsigned)__cvta_generic_to_shared(w4wg_stage);
  const uint64_t desc0 = wg_desc(sbase, 256, 128);
  W4wgStager xs(x, tokens, k, sbase);  // stage s of the run: group (w0 + s) % G
  for (int s = 0; s < W4WG_AHEAD && s < n; s++) {
    xs.load((w0 + s) % G);
    xs.store(s);
  }
  if (W4WG_AHEAD < n) xs.load((w0 + W4WG_AHEAD) % G);
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int buf = 0, seg_g0 = w0 % G;
  for (int it = 0; it < n; it++) {
    const int w = w0 + it, tile = w / G, g = w % G;
    fence_proxy_async();
    __syncthreads();
    if (it + W4WG_AHEAD < n) {
      xs.store(it + W4WG_AHEAD);
      if (it + W4WG_AHEAD + 1 < n) xs.load((w0 + it + W4WG_AHEAD + 1) % G);
    }
    if (it + 1 < n) {
      const uint4* cn = codes_of(w + 1);
      wn[0] = ld_stream(cn);
      wn[1] = ld_stream(cn + 32);
    } else {
      pdl_tail();
    }
    unsigned e = __ldg(szs + ((size_t)strip_of(w) * G + g) * 8 + (lane >> 2));
    const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&e));
    const uint64_t ds = desc0 + (uint64_t)(buf * 256);
    w4wg_group(wc, f, ds, acc);
    wc[0] = wn[0];
    wc[1] = wn[1];
    buf = buf + 1 == W4WG_NS ? 0 : buf + 1;
    if (g == G - 1 || it == n - 1) {  // the segment ends
      if (seg_g0 > 0) {  // a partner: the run's first segment
        w4wg_publish(slots, acc, tag);
      } else {
        if (g < G - 1) w4wg_gather(slots, acc, tag, tile, G, total);
        w4wg_epilogue(acc, red, tile, tokens, epi);
      }
#pragma unroll
      for (int i = 0; i < 8; i++) acc[i] = 0.f;
      seg_g0 = 0;
    }
  }
  if (n == 0) pdl_tail();
}

// Each persistent form's two entries: the SiLU gate/up, and y (tokens, rows) fp32 += a . w^T
// (the residual kernels' epilogue, without the next norm).
#define W4WG_STREAM_ENTRIES(FORM, DRIVER)                                                       \
  extern "C" __global__ void __launch_bounds__(W4WG_THREADS, 5)                                 \
      w4wg_silu_##FORM(const bf16* __restrict__ h, const uint4* __restrict__ codes,             \
                       const unsigned* __restrict__ szs, bf16* __restrict__ act, int tokens,    \
                       int hidden, int inter, unsigned long long* slots, unsigned tag) {        \
    SiluEpilogue epi{act, inter};                                                               \
    DRIVER(h, tokens, codes, szs, hidden, inter, epi, slots, tag);                              \
  }                                                                                             \
  extern "C" __global__ void __launch_bounds__(W4WG_THREADS, 5)                                 \
      w4wg_rows_##FORM(const bf16* __restrict__ a, const uint4* __restrict__ codes,             \
                       const unsigned* __restrict__ szs, float* __restrict__ y, int tokens,     \
                       int rows, int k, unsigned long long* slots, unsigned tag) {              \
    StripRowsEpilogue<true> epi{y, rows};                                                       \
    DRIVER(a, tokens, codes, szs, k, rows / 2, epi, slots, tag);                                \
  }
W4WG_STREAM_ENTRIES(stream, w4wg_stream)
W4WG_STREAM_ENTRIES(stream2, w4wg_stream2)

// ---- the lab kernel (atomic k splits) -------------------------------------------------------

// Stage layout (bytes): pair pp of a stage at pp * 2048; k-tile w (word w of the codes) at
// w * 512; core matrix (hi, nb) at hi * 256 + nb * 128 (hi: k columns 8hi .. 8hi + 7, nb:
// tokens 8nb .. 8nb + 7); a token row of it at r * 16. So LBO (next core matrix in k) 256,
// SBO (next in n) 128.
//
// The kernel: a block is WG warpgroups, each one 64-row tile (warp w: strip 4 WG tile + w); its
// run of input pairs [q0, q1) is the block's split of k (per pairs each), in stages of P pairs
// (whole groups of 128). Per stage: the block's warps stage the next activations (loaded the
// stage before) and load the codes CD stages ahead into registers; then each group of two pairs
// is unpacked (w4a16.cu's arithmetic) and multiplied as one wgmma commit of eight k-tiles into
// one accumulator, scaled once (the fp16 scales of rows g, g + 8), the previous group's sums
// added while this one runs. ptxas keeps wgmma asynchronous only when no accumulator in flight
// crosses the loop's back edge (else C7515: every wgmma serialized), so each stage drains.
// Splits add into y atomically (the order of a row's sums then varies: a lab, not the engine).
template <int P, int NS, int D, int MINB, int WG, int CD>
__global__ void __launch_bounds__(128 * WG, MINB)
    wg_rows(const bf16* __restrict__ a, const uint4* __restrict__ codes,
            const unsigned* __restrict__ szs, float* __restrict__ y, int tokens, int rows, int k,
            int group, int per, unsigned lbo, unsigned sbo) {
  static_assert(P % 2 == 0 && P % WG == 0, "whole groups a stage, whole units a warp");
  constexpr int UW = P / WG;  // activation units a warp stages a stage
  extern __shared__ __align__(1024) uint8_t wg_smem[];
  const int tiles = rows / (64 * WG), pairs = k / 64;
  const int tile = blockIdx.x % tiles, sp = blockIdx.x / tiles;
  const int q0 = sp * per, q1 = min(pairs, q0 + per);
  const int nst = (q1 - q0) / P;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int strip = tile * 4 * WG + warp;
  const uint4* cw = codes + ((size_t)strip * pairs + q0) * 32 + lane;
  const unsigned* zw = szs + ((size_t)strip * (pairs / 2) + q0 / 2) * 8 + (lane >> 2);
  const int r = lane >> 2, c = lane & 3, m = lane >> 3, rr = lane & 7;
  // unit j of this warp: u = warp + 4 WG j; pair u / 4, tokens 8 (u & 1), chunk (u >> 1) & 1
  const uint4* xa[UW];
  unsigned st_off[UW];
  bool ok[UW];
#pragma unroll
  for (int j = 0; j < UW; j++) {
    int u = warp + 4 * WG * j, pp = u >> 2, nb = u & 1, ch = (u >> 1) & 1;
    int tok = 8 * nb + r;
    ok[j] = tok < tokens;
    xa[j] = reinterpret_cast<const uint4*>(a + (size_t)(ok[j] ? tok : 0) * k + 64 * (q0 + pp) +
                                           32 * ch + 8 * c);
    st_off[j] = pp * 2048 + (2 * ch + (m >> 1)) * 512 + (m & 1) * 256 + nb * 128 + rr * 16;
  }
  const unsigned sbase = (unsigned)__cvta_generic_to_shared(wg_smem);
  const uint64_t desc0 = wg_desc(sbase, lbo, sbo);

  uint4 x[UW];
  auto ld_x = [&](int s) {
#pragma unroll
    for (int j = 0; j < UW; j++)
      x[j] = ok[j] ? __ldg(xa[j] + (size_t)s * P * 8) : make_uint4(0, 0, 0, 0);
  };
  auto st_x = [&](int s) {
    unsigned b = sbase + (unsigned)((s % NS) * P) * 2048;
#pragma unroll
    for (int j = 0; j < UW; j++) stsm_x4(b + st_off[j], x[j]);
  };
  for (int s = 0; s < D && s < nst; s++) {
    ld_x(s);
    st_x(s);
  }
  if (D < nst) ld_x(D);
  static_assert(CD == 1 || CD == 2, "one or two stages ahead");
  uint4 wc[P], wn[P], wn2[P];
#pragma unroll
  for (int pp = 0; pp < P; pp++) {
    wc[pp] = ld_stream(cw + (size_t)pp * 32);
    if (CD == 2 && nst > 1) wn[pp] = ld_stream(cw + (size_t)(P + pp) * 32);
  }

  const unsigned z136 = 0x43084308u;
  const __nv_bfloat162 z = *reinterpret_cast<const __nv_bfloat162*>(&z136);
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  float d[2][8];
  int buf = 0;
  for (int it = 0; it < nst; it++) {
    fence_proxy_async();
    __syncthreads();
    if (it + D < nst) {
      st_x(it + D);
      if (it + D + 1 < nst) ld_x(it + D + 1);
    }
    cw += P * 32;
    if (it + CD < nst) {
#pragma unroll
      for (int pp = 0; pp < P; pp++) {
        if (CD == 1) wn[pp] = ld_stream(cw + pp * 32);
        else wn2[pp] = ld_stream(cw + (P + pp) * 32);
      }
    }
    float2 f[P / 2];
#pragma unroll
    for (int gi = 0; gi < P / 2; gi++) {
      unsigned e = __ldg(zw + gi * 8);
      f[gi] = __half22float2(*reinterpret_cast<const __half2*>(&e));
    }
    zw += (P / 2) * 8;
    const uint64_t ds = desc0 + (uint64_t)((buf * P * 2048) >> 4);
#pragma unroll
    for (int gi = 0; gi < P / 2; gi++) {
      uint32_t fr[8][4];
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const uint4& w = wc[2 * gi + h];
        w4_frags(w.x, w.y, z, z, fr[4 * h], fr[4 * h + 1]);
        w4_frags(w.z, w.w, z, z, fr[4 * h + 2], fr[4 * h + 3]);
      }
#pragma unroll
      for (int t = 0; t < 8; t++) wg_hold(fr[t]);
      wg_fence();
      float (&dd)[8] = d[gi & 1];
      wgmma_rs_16<0>(dd, fr[0], ds + ((2 * gi) * 2048 >> 4));
#pragma unroll
      for (int t = 1; t < 8; t++)
        wgmma_rs_16<1>(dd, fr[t], ds + (((2 * gi + (t >> 2)) * 2048 + (t & 3) * 512) >> 4));
      wg_commit();
      if (gi > 0) {
        wg_wait<1>();
        wg_hold(d[(gi - 1) & 1]);
        wg_add(acc, d[(gi - 1) & 1], f[gi - 1]);
      }
    }
    wg_wait<0>();
    wg_hold(d[(P / 2 - 1) & 1]);
    wg_add(acc, d[(P / 2 - 1) & 1], f[P / 2 - 1]);
#pragma unroll
    for (int pp = 0; pp < P; pp++) {
      wc[pp] = wn[pp];
      if (CD == 2) wn[pp] = wn2[pp];
    }
    buf = buf + 1 == NS ? 0 : buf + 1;
  }
  const int row = 16 * strip + r;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    int t = (i >> 2) * 8 + 2 * c + (i & 1);
    int rw = row + ((i >> 1) & 1) * 8;
    if (t < tokens) atomicAdd(y + (size_t)t * rows + rw, acc[i]);
  }
}

// ---- harness --------------------------------------------------------------------------------

static int sms;
static unsigned stream_tag = 0;
static unsigned long long* stream_slots = nullptr;
struct W { uint4* codes; __half2* sz; unsigned* szs; };
static W make_w(int rows, int k, int group, uint32_t seed) {
  W w{};
  size_t cb = (size_t)rows * k / 2, zb = (size_t)rows * (k / group) * 4;
  CK(cudaMalloc(&w.codes, cb)); CK(cudaMalloc(&w.sz, zb)); CK(cudaMalloc(&w.szs, zb / 2));
  fill_u32<<<1024, 256>>>((uint32_t*)w.codes, cb / 4, seed);
  fill_sz<<<1024, 256>>>(w.sz, zb / 4, seed * 7 + 1);
  w4_chain_scales<<<1024, 256>>>(w.sz, w.szs, rows, k / group, 1);
  return w;
}

typedef void (*WgFn)(const bf16*, const uint4*, const unsigned*, float*, int, int, int, int, int,
                     unsigned, unsigned);
struct Variant { const char* name; WgFn f; int P, NS, WG; };

// usage: w4_wgmma_lab [tokens [shape (qkv, o, gate/up, down) or silu [variant substring]]]
int main(int argc, char** argv) {
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const int T = argc > 1 ? atoi(argv[1]) : 16, G = 128;
  const char* only_shape = argc > 2 ? argv[2] : nullptr;
  const char* only_var = argc > 3 ? argv[3] : nullptr;
  struct Shape { const char* name; int rows, k; };
  Shape shapes[] = {{"qkv", 7168, 5120}, {"o", 5120, 5120}, {"gate/up", 27648, 5120},
                    {"down", 5120, 13824}};
  Variant vars[] = {
      {"P2 NS4 5/SM", (WgFn)wg_rows<2, 4, 2, 5, 1, 1>, 2, 4, 1},
      {"P4 NS4 3/SM", (WgFn)wg_rows<4, 4, 2, 3, 1, 1>, 4, 4, 1},
      {"P8 NS3 2/SM", (WgFn)wg_rows<8, 3, 1, 2, 1, 1>, 8, 3, 1},
      {"CD2 P2 NS4 4/SM", (WgFn)wg_rows<2, 4, 2, 4, 1, 2>, 2, 4, 1},
      {"WG2 P2 NS4 2/SM", (WgFn)wg_rows<2, 4, 2, 2, 2, 1>, 2, 4, 2},
  };
  bf16* a; size_t amax = (size_t)T * 13824;
  CK(cudaMalloc(&a, amax * 2)); fill_bf<<<64, 256>>>(a, amax, 11, 1.f, 0.f);
  float *y0, *y1; size_t ymax = (size_t)T * 27648;
  CK(cudaMalloc(&y0, ymax * 4)); CK(cudaMalloc(&y1, ymax * 4));
  cudaStream_t st; CK(cudaStreamCreate(&st));
  size_t slot_bytes = (size_t)sms * 8 * 128 * 8 * 8;  // up to 8 blocks an SM
  CK(cudaMalloc(&stream_slots, slot_bytes)); CK(cudaMemset(stream_slots, 0, slot_bytes));
  CK(cudaFuncSetAttribute((const void*)w4_residual_many_z8, cudaFuncAttributeMaxDynamicSharedMemorySize, W4M_SMEM));
  int occ; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void*)w4_residual_many_z8, 256, W4M_SMEM));
  printf("device SMs %d, tokens %d; w4_residual_many_z8 %d blocks/SM\n", sms, T, occ);
  for (auto& v : vars) {
    int smem = v.NS * v.P * 2048, o2;
    CK(cudaFuncSetAttribute((const void*)v.f, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&o2, (const void*)v.f, 128 * v.WG, smem));
    cudaFuncAttributes fa; CK(cudaFuncGetAttributes(&fa, (const void*)v.f));
    printf("variant %-16s smem %6d, %d blocks/SM, %d registers, %zu local bytes\n", v.name, smem, o2, fa.numRegs, fa.localSizeBytes);
  }
  const float eps = 1e-6f;
  const void* nullp = nullptr;
  for (auto& s : shapes) {
    if (only_shape && *only_shape && strcmp(only_shape, s.name) != 0) continue;
    double bytes = (double)s.rows * s.k * (0.5 + 2.0 / G);
    int copies = (int)std::max(2.0, std::ceil(400e6 / bytes));  // none stays in L2
    std::vector<W> ws;
    for (int i = 0; i < copies; i++) ws.push_back(make_w(s.rows, s.k, G, 1000 + 17 * i + s.rows));
    CK(cudaDeviceSynchronize());
    int gs = 7;
    auto base = [&](int i, float* y) {
      W& w = ws[i % copies];
      int grid = std::min(s.rows / 32, sms * occ);
      void* args[] = {&a, &w.codes, &w.sz, (void*)&G, &gs, &y, (void*)&T, &s.rows, &s.k, (void*)&nullp, (void*)&eps,
                      (void*)&nullp, (void*)&nullp, (void*)&nullp, &w.szs};
      CK(cudaLaunchKernel((const void*)w4_residual_many_z8, grid, 256, args, W4M_SMEM, st));
    };
    unsigned lbo = 256, sbo = 128;
    auto lab = [&](Variant& v, int splits, int i, float* y) {
      W& w = ws[i % copies];
      int pairs = s.k / 64;
      int per = (pairs + splits - 1) / splits;
      per = (per + v.P - 1) / v.P * v.P;
      int used = (pairs + per - 1) / per;
      int grid = (s.rows / (64 * v.WG)) * used;
      void* args[] = {&a, &w.codes, &w.szs, &y, (void*)&T, &s.rows, &s.k, (void*)&G, &per, &lbo, &sbo};
      CK(cudaLaunchKernel((const void*)v.f, grid, 128 * v.WG, args, v.NS * v.P * 2048, st));
    };
    auto timeit = [&](auto&& fn) { return time_launches(fn, copies, st); };
    std::vector<float> h0((size_t)T * s.rows), h1((size_t)T * s.rows);
    CK(cudaMemset(y0, 0, ymax * 4));
    base(0, y0);
    CK(cudaStreamSynchronize(st)); CK(cudaGetLastError());
    CK(cudaMemcpy(h0.data(), y0, h0.size() * 4, cudaMemcpyDeviceToHost));
    double mx = 0; for (float v : h0) mx = fmax(mx, fabs(v));
    double tb = timeit([&](int i) { base(i, y0); });
    printf("%-8s rows %5d k %5d: w4_residual_many_z8 %7.1f us (%4.0f GB/s)\n", s.name, s.rows, s.k, tb, bytes / tb / 1e3);
    for (auto& v : vars) {
      if (only_var && !strstr(v.name, only_var)) continue;
      for (int splits : {1, 2, 3, 4, 6}) {
        CK(cudaMemset(y1, 0, ymax * 4));
        lab(v, splits, 0, y1);
        CK(cudaStreamSynchronize(st)); CK(cudaGetLastError());
        CK(cudaMemcpy(h1.data(), y1, h1.size() * 4, cudaMemcpyDeviceToHost));
        double md = 0; for (size_t i = 0; i < h0.size(); i++) md = fmax(md, fabs(h0[i] - h1[i]));
        double tl = timeit([&](int i) { lab(v, splits, i, y1); });
        printf("%-8s   %-16s split %d: %7.1f us (%4.0f GB/s), max diff %.2e of max %.2e%s\n", s.name, v.name,
               splits, tl, bytes / tl / 1e3, md, mx, md > 1e-5 * mx ? "  WRONG" : "");
      }
    }
    for (int form = 0; form < 2; form++) {  // the persistent forms, residual epilogue
      const void* fn = form ? (const void*)w4wg_rows_stream2 : (const void*)w4wg_rows_stream;
      int occ_r; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ_r, fn, 128, W4WG_SMEM));
      int grid = sms * occ_r;
      auto run = [&](int i, float* y) {
        W& w = ws[i % copies];
        unsigned tag = ++stream_tag;
        void* args[] = {&a, &w.codes, &w.szs, &y, (void*)&T, &s.rows, &s.k, &stream_slots, &tag};
        CK(cudaLaunchKernel(fn, grid, 128, args, W4WG_SMEM, st));
      };
      CK(cudaMemset(y1, 0, ymax * 4));
      run(0, y1);
      CK(cudaStreamSynchronize(st)); CK(cudaGetLastError());
      CK(cudaMemcpy(h1.data(), y1, h1.size() * 4, cudaMemcpyDeviceToHost));
      double md = 0; for (size_t i = 0; i < h0.size(); i++) md = fmax(md, fabs(h0[i] - h1[i]));
      double tl = timeit([&](int i) { run(i, y1); });
      printf("%-8s   %-16s grid %d: %7.1f us (%4.0f GB/s), max diff %.2e of max %.2e%s\n", s.name, form ? "stream2" : "stream",
             grid, tl, bytes / tl / 1e3, md, mx, md > 1e-5 * mx ? "  WRONG" : "");
    }
    for (auto& w : ws) { cudaFree(w.codes); cudaFree(w.sz); cudaFree(w.szs); }
  }
  // The engine's gate/up kernels, SiLU epilogue and all: w4_silu_many_z8 against w4wg_silu_z8
  // (w4a16_wgmma.cu, fixed-order k runs), as Kernels launches them.
  struct GateUp { const char* name; int hidden, inter; };
  for (GateUp g : {GateUp{"14B", 5120, 13824}, GateUp{"7B", 3584, 18944}}) {
    if (only_shape && *only_shape && strcmp(only_shape, "silu") != 0) continue;
    int rows = 2 * g.inter;
    double bytes = (double)rows * g.hidden * (0.5 + 2.0 / G);
    int copies = (int)std::max(2.0, std::ceil(400e6 / bytes));
    std::vector<W> ws;
    for (int i = 0; i < copies; i++) ws.push_back(make_w(rows, g.hidden, G, 77 + 13 * i));
    bf16 *act0, *act1;
    CK(cudaMalloc(&act0, (size_t)T * g.inter * 2)); CK(cudaMalloc(&act1, (size_t)T * g.inter * 2));
    int gs = 7, b1 = 1 << 30, b2 = 1 << 30;
    long long ps = 0;
    CK(cudaFuncSetAttribute((const void*)w4_silu_many_z8, cudaFuncAttributeMaxDynamicSharedMemorySize, W4M_SMEM));
    int occ_s; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ_s, (const void*)w4_silu_many_z8, 256, W4M_SMEM));
    int occ_w; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ_w, (const void*)w4wg_silu_z8, 128, W4WG_SMEM));
    int tiles = g.inter / 32, slots = sms * occ_w;
    int splits = std::max(1, std::min(std::min(8, g.hidden / 256), 2 * slots / tiles));
    size_t scratch_bytes = 4ull * slots + 2ull * slots * 128 * 8 * 4;
    unsigned* scratch; CK(cudaMalloc(&scratch, scratch_bytes)); CK(cudaMemset(scratch, 0, scratch_bytes));
    float* parts = reinterpret_cast<float*>(scratch + slots);
    auto old_k = [&](int i, bf16* act) {
      W& w = ws[i % copies];
      int grid = std::min(g.inter / 16, sms * occ_s);
      void* args[] = {&a, &ps, &w.codes, &w.sz, (void*)&G, &gs, &b1, &b2, &w.szs, &act, (void*)&T, &g.hidden, &g.inter};
      CK(cudaLaunchKernel((const void*)w4_silu_many_z8, grid, 256, args, W4M_SMEM, st));
    };
    auto new_k = [&](int i, bf16* act) {
      W& w = ws[i % copies];
      void* args[] = {&a, &w.codes, &w.szs, &act, (void*)&T, &g.hidden, &g.inter, &parts, &scratch, &splits};
      CK(cudaLaunchKernel((const void*)w4wg_silu_z8, tiles * splits, 128, args, W4WG_SMEM, st));
    };
    auto timeit = [&](auto&& fn) { return time_launches(fn, copies, st); };
    old_k(0, act0); new_k(0, act1);
    CK(cudaStreamSynchronize(st)); CK(cudaGetLastError());
    std::vector<uint16_t> h0((size_t)T * g.inter), h1((size_t)T * g.inter);
    CK(cudaMemcpy(h0.data(), act0, h0.size() * 2, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(h1.data(), act1, h1.size() * 2, cudaMemcpyDeviceToHost));
    auto f32 = [](uint16_t v) { uint32_t u = (uint32_t)v << 16; float f; memcpy(&f, &u, 4); return f; };
    double md = 0, mx = 0;
    for (size_t i = 0; i < h0.size(); i++) { md = fmax(md, fabs(f32(h0[i]) - f32(h1[i]))); mx = fmax(mx, fabs(f32(h0[i]))); }
    double t0 = timeit([&](int i) { old_k(i, act0); });
    double t1 = timeit([&](int i) { new_k(i, act1); });
    int occ_st; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ_st, (const void*)w4wg_silu_stream, 128, W4WG_SMEM));
    for (int form = 0; form < 2; form++) {  // the persistent forms
      const void* fn = form ? (const void*)w4wg_silu_stream2 : (const void*)w4wg_silu_stream;
      auto st_k = [&](int i, bf16* act) {
        W& w = ws[i % copies];
        unsigned tag = ++stream_tag;
        void* args[] = {&a, &w.codes, &w.szs, &act, (void*)&T, &g.hidden, &g.inter, &stream_slots, &tag};
        CK(cudaLaunchKernel(fn, sms * occ_st, 128, args, W4WG_SMEM, st));
      };
      CK(cudaMemset(act1, 0, (size_t)T * g.inter * 2));
      st_k(0, act1);
      CK(cudaStreamSynchronize(st)); CK(cudaGetLastError());
      CK(cudaMemcpy(h1.data(), act1, h1.size() * 2, cudaMemcpyDeviceToHost));
      double md2 = 0;
      for (size_t i = 0; i < h0.size(); i++) md2 = fmax(md2, fabs(f32(h0[i]) - f32(h1[i])));
      double t2 = timeit([&](int i) { st_k(i, act1); });
      printf("gate/up+SiLU %s: w4wg_silu_%s %.1f us (grid %d), act max diff %.3e\n", g.name,
             form ? "stream2" : "stream", t2, sms * occ_st, md2);
    }
    printf("gate/up+SiLU %s (%d x %d): w4_silu_many_z8 %.1f us, w4wg_silu_z8 %.1f us (%d tiles x %d runs, %d blocks/SM); act max diff %.3e of max %.3e\n",
           g.name, rows, g.hidden, t0, t1, tiles, splits, occ_w, md, mx);
    for (auto& w : ws) { cudaFree(w.codes); cudaFree(w.sz); cudaFree(w.szs); }
    cudaFree(act0); cudaFree(act1); cudaFree(scratch);
  }
  return 0;
}
