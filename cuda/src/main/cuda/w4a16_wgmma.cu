// The many-token GPTQ projections on Hopper's warpgroup MMAs (wgmma), for 9 to 16 tokens over
// symmetric layers (every zero point 8: w4a16_chain.cu's scale-only strip-major entries) with
// groups of 128 inputs. So far the gate/up projection with its SiLU epilogue (w4wg_silu_z8);
// the other projections keep w4a16_fused.cu's many-token kernels.
//
// Why: there each warp stages its own input pairs' activations (twice the bytes of the codes it
// multiplies) and loads the MMAs' B fragments itself. Here a block is a warpgroup over one tile
// of two unit groups (four 16-row strips, a warp each): a pair's activations are staged once
// for the four warps, and wgmma reads them from shared memory itself (B by descriptor), with the
// dequantized codes as A from registers. tools/w4_wgmma_lab.cu measured the loop against
// w4_residual_many_z8's on the 14B shapes (docs/benchmarks/README.md).
//
// Staging: w4a16.cu's packed k order (lane c of k-tile j of a 32-input chunk holds inputs
// 8c + 4j + {0..3}) makes an MMA column's input 8c + 4j + 2hi + e for column 8hi + 2c + e. A
// lane's 16-byte load of a token's inputs 8c .. 8c + 7 holds that token's four column pairs
// (j, hi) = (m / 2, m % 2) for its c, and stmatrix (matrix m from register m of each lane, row
// r from lanes 4r .. 4r + 3) lays them out as the core matrices wgmma reads: one load and one
// store a lane and pair. A stage is one group (two pairs, 4 KB: pair pp at pp * 2048, k-tile w at
// w * 512, core matrix (hi, nb) at hi * 256 + nb * 128, token row r at r * 16; LBO 256, SBO 128).
//
// Rounding: a group's eight k-tiles are one wgmma commit into one fp32 accumulator, scaled once
// by its rows' fp16 scales into the sums; the blocks split k into `splits` runs of whole groups
// (the launch's shape sets them, never the token count), each run's sums left in `parts`, and
// the tile's last block to finish adds them in run order and runs the epilogue. So a token's
// result does not depend on the batch or on which block finishes last.
//
// ptxas keeps wgmma asynchronous only when no accumulator in flight crosses a loop's back edge
// (else C7515: every wgmma serialized): a stage is straight-line code that drains at its end.
// Only sm_90a has wgmma; elsewhere the kernels are empty (Kernels never launches them there).
#include "common.cuh"

// The host pass sees the device code too (the lab's templates are instantiated from it).
#if !defined(__CUDA_ARCH__) || defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define W4WG_ENABLED 1
#else
#define W4WG_ENABLED 0
#endif

#define W4WG_THREADS 128  // one warpgroup (Kernels.W4WG_THREADS)
#define W4WG_NS 4         // stages of staged activations
#define W4WG_AHEAD 2      // stages staged ahead of the one multiplied
#define W4WG_SMEM (W4WG_NS * 4096)
__device__ const int w4wg_smem = W4WG_SMEM;  // Kernels reads it

#if W4WG_ENABLED
__device__ __forceinline__ void wg_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wg_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void wg_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Ties registers to the asm stream: accumulators are read only after the wait before them, and
// A fragments are complete before the fence.
__device__ __forceinline__ void wg_hold(float (&d)[8]) {
#pragma unroll
  for (int i = 0; i < 8; i++) asm volatile("" : "+f"(d[i])::"memory");
}
__device__ __forceinline__ void wg_hold(uint32_t (&a)[4]) {
#pragma unroll
  for (int i = 0; i < 4; i++) asm volatile("" : "+r"(a[i])::"memory");
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
// The generic proxy's shared-memory writes (stmatrix) made visible to wgmma's async proxy.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
// A shared-memory matrix descriptor without swizzling: start, LBO (next core matrix in k), SBO
// (next in n), each in 16-byte units.
__device__ __forceinline__ uint64_t wg_desc(unsigned addr, unsigned lbo, unsigned sbo) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) |
         ((uint64_t)(sbo >> 4) << 32);
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
  extern __shared__ __align__(1024) uint8_t w4wg_stage[];
  __shared__ float red[4][32][8];
  __shared__ int last;
  const int tiles = units / 32, pairs = k / 64;
  const int tile = blockIdx.x % tiles, sp = blockIdx.x / tiles;
  const int per = ((pairs + splits - 1) / splits + 1) & ~1;  // whole groups a run
  const int q0 = min(pairs, sp * per), nst = (min(pairs, q0 + per) - q0) / 2;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int strip = epi.row(16 * (2 * tile + (warp >> 1)), warp & 1) >> 4;
  const uint4* cw = codes + ((size_t)strip * pairs + q0) * 32 + lane;
  const unsigned* zw = szs + ((size_t)strip * (pairs / 2) + q0 / 2) * 8 + (lane >> 2);
  // The first group's codes, and the next four's into L2 (a line a lane), while the previous
  // kernel finishes (they do not depend on it).
  uint4 wc[2], wn[2];
  if (nst > 0) {
    wc[0] = ld_stream(cw);
    wc[1] = ld_stream(cw + 32);
  }
#ifndef W4WG_PREFETCH
#define W4WG_PREFETCH 1
#endif
  if (W4WG_PREFETCH && lane < 8 * (nst - 1)) prefetch_l2(cw - lane + 64 + 8 * lane);
  pdl_enter();

  // This warp's part of a stage: tokens 8 nb .. 8 nb + 7 of chunk ch of both pairs.
  const int r = lane >> 2, c = lane & 3, m = lane >> 3, rr = lane & 7;
  const int nb = warp & 1, ch = warp >> 1, tok = 8 * nb + r;
  const bool tok_ok = tok < tokens;
  const uint4* xa = reinterpret_cast<const uint4*>(x + (size_t)(tok_ok ? tok : 0) * k + 64 * q0 +
                                                   32 * ch + 8 * c);
  const unsigned st_off = (2 * ch + (m >> 1)) * 512 + (m & 1) * 256 + nb * 128 + rr * 16;
  const unsigned sbase = (unsigned)__cvta_generic_to_shared(w4wg_stage);
  const uint64_t desc0 = wg_desc(sbase, 256, 128);
  uint4 xs[2];
  auto ld_x = [&](int s) {
#pragma unroll
    for (int j = 0; j < 2; j++)
      xs[j] = tok_ok ? __ldg(xa + (size_t)(2 * s + j) * 8) : make_uint4(0, 0, 0, 0);
  };
  auto st_x = [&](int s) {
    unsigned b = sbase + (unsigned)(s % W4WG_NS) * 4096 + st_off;
    stsm_x4(b, xs[0]);
    stsm_x4(b + 2048, xs[1]);
  };
  for (int s = 0; s < W4WG_AHEAD && s < nst; s++) {
    ld_x(s);
    st_x(s);
  }
  if (W4WG_AHEAD < nst) ld_x(W4WG_AHEAD);

  const unsigned z136 = 0x43084308u;  // bf16 136 = 128 + 8 in both halves
  const __nv_bfloat162 z = *reinterpret_cast<const __nv_bfloat162*>(&z136);
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  float d[8];
  int buf = 0;
  for (int it = 0; it < nst; it++) {
    fence_proxy_async();
    __syncthreads();  // stage it staged by every warp; stage it - 1 read by every wgmma
    if (it + W4WG_AHEAD < nst) {
      st_x(it + W4WG_AHEAD);
      if (it + W4WG_AHEAD + 1 < nst) ld_x(it + W4WG_AHEAD + 1);
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
    uint32_t fr[8][4];
#pragma unroll
    for (int h = 0; h < 2; h++) {
      w4_frags(wc[h].x, wc[h].y, z, z, fr[4 * h], fr[4 * h + 1]);
      w4_frags(wc[h].z, wc[h].w, z, z, fr[4 * h + 2], fr[4 * h + 3]);
    }
#pragma unroll
    for (int t = 0; t < 8; t++) wg_hold(fr[t]);
    wg_fence();
    wgmma_rs_16<0>(d, fr[0], ds);
#pragma unroll
    for (int t = 1; t < 8; t++) wgmma_rs_16<1>(d, fr[t], ds + (((t >> 2) * 2048 + (t & 3) * 512) >> 4));
    wg_commit();
    wg_wait<0>();
    wg_hold(d);
    wg_add(acc, d, f);
    wc[0] = wn[0];
    wc[1] = wn[1];
    buf = buf + 1 == W4WG_NS ? 0 : buf + 1;
  }
  if (nst == 0) pdl_tail();

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
#endif

// act (tokens, inter) bf16 = silu(gate) * up of h (tokens, hidden) bf16 . w^T: the gate/up
// projection of 9 to 16 tokens (w4a16_fused.cu's w4_silu_many_z8, on warpgroup MMAs). The
// launch: inter / 32 * splits blocks of W4WG_THREADS, W4WG_SMEM bytes of dynamic shared memory.
extern "C" __global__ void __launch_bounds__(W4WG_THREADS, 5)
    w4wg_silu_z8(const bf16* __restrict__ h, const uint4* __restrict__ codes,
                 const unsigned* __restrict__ szs, bf16* __restrict__ act, int tokens, int hidden,
                 int inter, float* __restrict__ parts, unsigned* __restrict__ counts,
                 int splits) {
#if W4WG_ENABLED
  SiluEpilogue epi{act, inter};
  w4wg_units(h, tokens, codes, szs, hidden, inter, epi, parts, counts, splits);
#else
  pdl_wait();
#endif
}
