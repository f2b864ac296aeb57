// GPTQ int4 projections of many tokens on warpgroup MMAs, warp-specialized: y (tokens, rows)
// fp32 = x (tokens, k) bf16 . W^T, W in w4a16.cu's packed layout with the strip-major scales
// (w4a16_chain.cu's szs, groups of 64 or 128), unpacked in registers.
//
// Why another form of w4a16_wgmma.cu: there every thread copied its share of each stage by
// cp.async with its own addresses and then unpacked, issued and drained the stage's wgmmas, one
// warpgroup a block: about 340 instructions a warp a stage at 0.37 issued a scheduler-cycle
// (Nsight Compute), the tensor pipe 20 % busy. Here one thread copies and two consumer
// warpgroups only unpack, issue and scale, so while one drains its wgmmas the other unpacks; a
// block covers 128 rows and BN tokens, so each weight is unpacked once per BN tokens (128: half
// the unpacking of the 64-token tiles).
//
// Copies: three a stage, completion counted on an mbarrier a stage: the activations (one bulk
// copy), the tile's eight strips' codes and their scales (one box each of a 2D tensor map over
// the strips, w4ws_maps / Kernels.w4Ws). The copy engine's cost is per copy more than per byte:
// the same stage as 17 copies (a copy a strip's codes and scales) spent a third of the consumers'
// samples waiting for data (Nsight Compute), and 128 tokens' gate/up ran 83.8 us against 69.5
// for a probe copying them as one (docs/benchmarks); splitting the activations' copy in 4 or 16
// made it slower still.
//
// Activations: w4ws_stage_x writes x as the stages' shared-memory images: token tile T's stage
// st is BN x 128 bf16 at (T * stages + st) * BN * 256 bytes, in the packed layout's MMA column
// order (w4a16_wgmma.cu's w4gg_permute) and wgmma's 128-byte swizzle, tokens past the step's
// zero.
//
// Weights: exact, as in w4a16_wgmma.cu: the fragments hold q - zero as bf16 integers, each scale
// group's wgmmas start a fresh fp32 accumulator, its sums are scaled in fp32 into the result.
//
// k splits: blockIdx.z takes an equal run of the stages; with two the halves add onto y, which
// w4ws_stage_x zeroes first (two fp32 adds onto zero give the same bits in either order, so the
// result stays deterministic).
//
// Requirements (Kernels.w4WsFits): sm_90a and libcuda's tensor-map encoder (TensorMaps.java);
// rows % 128 == 0; k % 128 == 0; groups of 64 or 128 with the strip-major scales; not act-order.

#include <cuda.h>  // CUtensorMap

#define W4WS_KS 128   // inputs a stage
#define W4WS_THREADS 384

// Bytes of a strip's scales of a stage: 128 / group entries' runs of 8 entries, 8 bytes an entry
// with zero points ({scale, scale; 128 + zero, 128 + zero} of rows g, g + 8), 4 without.
#define W4WS_SZB(GK, Z8) ((8 / (GK)) * 8 * ((Z8) ? 4 : 8))
// A stage: activations (BN x 128 bf16), then 8 strips' codes (1,024 bytes each), then their
// scales; rounded to 1,024 bytes (the swizzle atoms' alignment).
#define W4WS_STAGE(BN, GK, Z8) (((BN) * 256 + 8192 + 8 * W4WS_SZB(GK, Z8) + 1023) / 1024 * 1024)
// Dynamic shared memory of a launch: the stages, their 2 NS mbarriers, the alignment slack.
#define W4WS_SMEM(BN, NS, GK, Z8) ((NS) * W4WS_STAGE(BN, GK, Z8) + 16 * (NS) + 1024)

static_assert(W4WS_SMEM(128, 4, 8, 0) == 169024 && W4WS_SMEM(128, 4, 8, 1) == 169024 &&
                  W4WS_SMEM(128, 4, 4, 0) == 169024 && W4WS_SMEM(128, 4, 4, 1) == 169024,
              "Kernels.W4WS_SMEM");
static_assert(W4WS_SMEM(64, 4, 8, 0) == 103488 && W4WS_SMEM(64, 4, 8, 1) == 103488 &&
                  W4WS_SMEM(64, 4, 4, 0) == 103488 && W4WS_SMEM(64, 4, 4, 1) == 103488,
              "Kernels.W4WS64_SMEM");

// xs = x (tokens, k) as the stage images of tiles of bn tokens (above); y (tokens, rows)
// zeroed when zero_y (k splits). One thread a token and 32-input chunk, over
// ceil(tokens / bn) * bn tokens.
extern "C" __global__ void w4ws_stage_x(const uint4* __restrict__ x, uint4* __restrict__ xs,
                                        float4* __restrict__ y, int tokens, int k, int bn,
                                        int rows, int zero_y) {
  pdl_enter();
  const int chunks = k >> 5, nst = k / W4WS_KS;
  const long long n = (long long)((tokens + bn - 1) / bn) * bn * chunks;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    const int t = (int)(i / chunks), ch = (int)(i % chunks);
    uint4 a = make_uint4(0, 0, 0, 0), b = a, c = a, d = a;
    if (t < tokens) {
      const uint4* p = x + (size_t)t * (k >> 3) + 4 * ch;
      a = p[0], b = p[1], c = p[2], d = p[3];
    }
    const int T = t / bn, nn = t % bn, st = ch >> 2, ka = (ch >> 1) & 1, c0 = 4 * (ch & 1);
    uint4* o = xs + ((size_t)T * nst + st) * bn * 16 + ka * bn * 8 + nn * 8;
    const int sw = nn & 7;
    o[(c0 + 0) ^ sw] = make_uint4(a.x, b.x, c.x, d.x);
    o[(c0 + 1) ^ sw] = make_uint4(a.y, b.y, c.y, d.y);
    o[(c0 + 2) ^ sw] = make_uint4(a.z, b.z, c.z, d.z);
    o[(c0 + 3) ^ sw] = make_uint4(a.w, b.w, c.w, d.w);
  }
  if (zero_y) {
    const long long m = (long long)tokens * rows / 4;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < m;
         i += (long long)gridDim.x * blockDim.x)
      y[i] = make_float4(0.f, 0.f, 0.f, 0.f);
  }
}

// The register split: __launch_bounds__(384, 1) starts every thread at 168 registers; the
// copying warpgroup gives back 128 x (168 - 40) and the consumers take 256 x (232 - 168), the
// same 16,384. setmaxnreg.inc waits until the block's pool has them, so a kernel started with
// fewer (a -maxrregcount below 168) would hang: keep the three numbers together.
__device__ __forceinline__ void w4ws_setmaxnreg_inc() {
#ifdef W4GG_SM90A
  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void w4ws_setmaxnreg_dec() {
#ifdef W4GG_SM90A
  asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n" ::: "memory");
#endif
}

// A box of a 2D tensor map (w4ws_maps) at coordinates (c0, c1) into shared memory, counted on
// bar.
__device__ __forceinline__ void w4ws_tensor_load(void* dst, const CUtensorMap* map, int c0, int c1,
                                                 uint64_t* bar, uint64_t policy) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
      " [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(smem_u32(dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(smem_u32(bar)), "l"(policy)
      : "memory");
}

// Launch: grid (ceil(tokens / BN), rows / 128, splits), 384 threads, W4WS_SMEM bytes.
// xs: w4ws_stage_x's images for BN. cmap: the codes as (rows / 16) strips of 8 k bytes, in
// 4-byte elements, box 256 x 8 (a stage's 1,024 bytes of 8 strips); smap: the strip-major
// scales (Z8: without zero points) as strips of groups x 8 entries, box W4WS_SZB / 4 x 8.
// splits (gridDim.z): 1 (y written) or 2 (added onto y, zeroed before).
template <int BN, int NS, int GK, int Z8>
__device__ __forceinline__ void w4ws_run(const uint4* __restrict__ xs, const CUtensorMap& cmap,
                                         const CUtensorMap& smap, float* __restrict__ y,
                                         int tokens, int rows, int k) {
#ifndef W4GG_SM90A
  pdl_enter();
#else
  extern __shared__ __align__(1024) uint8_t w4ws_raw[];
  uint8_t* sm = w4ws_raw + ((1024 - (smem_u32(w4ws_raw) & 1023)) & 1023);
  constexpr int STAGE = W4WS_STAGE(BN, GK, Z8), XB = BN * 256, SZB = W4WS_SZB(GK, Z8);
  uint64_t* full = reinterpret_cast<uint64_t*>(sm + NS * STAGE);
  uint64_t* empty = full + NS;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int nst = k / W4WS_KS, splits = gridDim.z;
  const int st0 = blockIdx.z * nst / splits, st1 = (blockIdx.z + 1) * nst / splits;
  const int tile = blockIdx.x, row0 = blockIdx.y * 128;
  if (tid == 0) {
    for (int s = 0; s < NS; s++) {
      mbar_init(full + s, 1);
      mbar_init(empty + s, 8);  // each consumer warp's lane 0
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  if (warp < 4) {  // the producer warpgroup: warp 0 copies, the others leave
    w4ws_setmaxnreg_dec();
    if (warp != 0) {
      pdl_enter();
      return;
    }
    uint64_t keep, stream;
    asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(keep));
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(stream));
    // codes: read by the row tile's every token tile, which run together (blockIdx.x fastest);
    // activations: by every row tile
    const uint64_t cpol = gridDim.x > 1 ? keep : stream;
    const uint8_t* xsrc = reinterpret_cast<const uint8_t*>(xs) + (size_t)tile * nst * XB;
    auto weights = [&](int st, int slot) {
      uint8_t* s = sm + slot * STAGE;
      mbar_expect_tx(full + slot, XB + 8192 + 8 * SZB);
      w4ws_tensor_load(s + XB, &cmap, st * 256, row0 / 16, full + slot, cpol);
      w4ws_tensor_load(s + XB + 8192, &smap, st * (SZB / 4), row0 / 16, full + slot, cpol);
    };
    // The weights do not depend on the kernel before (programmatic dependent launch): the
    // ring's first stages of them go out before waiting for it, their activations after.
    const int pre = min(NS, st1 - st0);
    if (lane == 0)
      for (int it = 0; it < pre; it++) weights(st0 + it, it);
    pdl_enter();
    if (lane == 0)
      for (int it = 0; it < pre; it++)
        bulk_load(sm + it * STAGE, xsrc + (size_t)(st0 + it) * XB, XB, full + it, keep);
    for (int st = st0 + pre, it = pre; st < st1; st++, it++) {
      const int slot = it % NS;
      mbar_wait(empty + slot, ((it / NS) - 1) & 1);
      if (lane == 0) {
        weights(st, slot);
        bulk_load(sm + slot * STAGE, xsrc + (size_t)st * XB, XB, full + slot, keep);
      }
    }
    return;
  }
  pdl_enter();
  w4ws_setmaxnreg_inc();
  // a consumer warpgroup: rows 64 (wg - 1) .. of the tile, warp wq's strip 16 wq ..
  const int wg = warp >> 2, wq = warp & 3, cs = 4 * (wg - 1) + wq, g = lane >> 2;
  float d[BN / 2], acc[BN / 2];
#pragma unroll
  for (int i = 0; i < BN / 2; i++) acc[i] = 0.f;
  const unsigned base = smem_u32(sm);
  // A stage as this warp reads it: its strip's codes (two pairs) and scale entries (entry g of
  // each of the stage's 8 / GK groups).
  struct Part {
    uint4 w[2];
    uint2 e[8 / GK];
  };
  auto load = [&](int it, Part& pt) {
    const int slot = it % NS;
    mbar_wait(full + slot, (it / NS) & 1);
    const uint8_t* sp = sm + slot * STAGE;
    const uint4* cw = reinterpret_cast<const uint4*>(sp + XB + 1024 * cs) + lane;
    const uint8_t* se = sp + XB + 8192 + SZB * cs;
    pt.w[0] = cw[0];
    pt.w[1] = cw[32];
#pragma unroll
    for (int q = 0; q < 8 / GK; q++) {
      if (Z8) pt.e[q] = make_uint2(reinterpret_cast<const unsigned*>(se)[8 * q + g], 0x43084308u);
      else pt.e[q] = reinterpret_cast<const uint2*>(se)[8 * q + g];
    }
  };
  // the stage's eight k-tiles as (q - zero) A fragments: pair p's chunk h, words 2 h, 2 h + 1
  uint32_t a[8][4];
  auto unpack = [&](const Part& pt) {
#pragma unroll
    for (int p = 0; p < 2; p++) {
      const uint2 ep = pt.e[(4 * p) / GK];  // a pair (4 k-tiles) lies in one group
      __nv_bfloat162 zb = *reinterpret_cast<const __nv_bfloat162*>(&ep.y);
      __nv_bfloat162 z0 = __low2bfloat162(zb), z8 = __high2bfloat162(zb);
      const uint4 w = pt.w[p];
      w4_frags(w.x, w.y, z0, z8, a[4 * p], a[4 * p + 1]);
      w4_frags(w.z, w.w, z0, z8, a[4 * p + 2], a[4 * p + 3]);
    }
  };
  // Software-pipelined: the next stage's codes are read while this one's last wgmmas run, and
  // unpacked with this one's last scaling (two independent streams for the schedulers: with
  // two consumer warps a scheduler, issue was the limit, 0.33 a cycle, docs/benchmarks).
  const int n = st1 - st0;
  Part cur, nxt;
  if (n > 0) {
    load(0, cur);
    unpack(cur);
  }
  for (int it = 0; it < n; it++) {
    const unsigned sb = base + (it % NS) * STAGE;
#pragma unroll
    for (int q = 0; q < 8 / GK; q++) {
      const bool last = q == 8 / GK - 1;
      w4gg_issue_group<BN, GK>(d, a, sb, q);
      if (last && it + 1 < n) load(it + 1, nxt);
      wg_wait<0>();
      wg_hold(d);
      if (last) {
        __syncwarp();
        if (lane == 0) mbar_arrive(empty + it % NS);  // this warp is done with the stage
      }
      float2 f = __half22float2(*reinterpret_cast<const __half2*>(&cur.e[q].x));
#pragma unroll
      for (int i = 0; i < BN / 2; i++) acc[i] = fmaf((i & 2) ? f.y : f.x, d[i], acc[i]);
      if (last && it + 1 < n) unpack(nxt);
    }
    cur = nxt;
  }
  // acc[i]: row 16 wq + g + 8 ((i >> 1) & 1) of the warpgroup's 64, token 8 (i >> 2) + 2 (lane
  // & 3) + (i & 1)
  const int c = lane & 3;
  float* yr = y + row0 + 16 * cs + g;
  const int tok0 = tile * BN;
#pragma unroll
  for (int i = 0; i < BN / 2; i++) {
    int t = tok0 + 8 * (i >> 2) + 2 * c + (i & 1);
    if (t < tokens) {
      float* p = yr + (size_t)t * rows + 8 * ((i >> 1) & 1);
      if (splits == 1) *p = acc[i];
      else atomicAdd(p, acc[i]);
    }
  }
#endif
}

#define W4WS(NAME, BN, NS, GK, Z8)                                                            \
  extern "C" __global__ void __launch_bounds__(W4WS_THREADS, 1)                               \
      NAME(const uint4* __restrict__ xs, const __grid_constant__ CUtensorMap cmap,            \
           const __grid_constant__ CUtensorMap smap, float* __restrict__ y, int tokens,       \
           int rows, int k) {                                                                  \
    w4ws_run<BN, NS, GK, Z8>(xs, cmap, smap, y, tokens, rows, k);                              \
  }
// 128 tokens a tile; groups of 128 (a stage one group) and 64; with and without zero points.
W4WS(w4ws_n128_g128, 128, 4, 8, 0)
W4WS(w4ws_n128_g64, 128, 4, 4, 0)
W4WS(w4ws_n128_g128_z8, 128, 4, 8, 1)
W4WS(w4ws_n128_g64_z8, 128, 4, 4, 1)
// 64 tokens a tile: steps of 129 to 192 tokens, whose second 128-token tile would be half
// empty (Kernels.w4Ws; one H200, a 14B layer at 192 tokens 269 against 296 us for the
// 64-token tiles of w4a16_wgmma.cu and 336 for two 128-token tiles). A ring of 6 stages read
// the same as 4.
W4WS(w4ws_n64_g128, 64, 4, 8, 0)
W4WS(w4ws_n64_g64, 64, 4, 4, 0)
W4WS(w4ws_n64_g128_z8, 64, 4, 8, 1)
W4WS(w4ws_n64_g64_z8, 64, 4, 4, 1)
