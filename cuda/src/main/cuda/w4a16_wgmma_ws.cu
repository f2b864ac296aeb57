// GPTQ int4 projections of many tokens on warpgroup MMAs, warp-specialized: y (tokens, rows)
// fp32 = x (tokens, k) bf16 . W^T, W in w4a16.cu's packed layout with the strip-major scales
// (w4a16_chain.cu's szs, groups of 64 or 128), unpacked in registers.
//
// Why another form of w4a16_wgmma.cu: there every thread copied its share of each stage by
// cp.async with its own addresses and then unpacked, issued and drained the stage's wgmmas, one
// warpgroup a block: about 340 instructions a warp a stage at 0.37 issued a scheduler-cycle
// (Nsight Compute), the tensor pipe 20 % busy. Here one warp copies (bulk copies, completion
// counted on an mbarrier a stage) and two consumer warpgroups only unpack, issue and scale, so
// while one drains its wgmmas the other unpacks; a block covers 128 rows and BN tokens, so each
// weight is unpacked once per BN tokens (128: half the unpacking of the 64-token tiles).
//
// Activations: w4ws_stage_x writes x as the stages' shared-memory images: token tile T's stage
// st is BN x 128 bf16 at (T * stages + st) * BN * 256 bytes, in the packed layout's MMA column
// order (w4a16_wgmma.cu's w4gg_permute) and wgmma's 128-byte swizzle, tokens past the step's
// zero; a stage's activations are then one bulk copy.
//
// Weights: exact, as in w4a16_wgmma.cu: the fragments hold q - zero as bf16 integers, each scale
// group's wgmmas start a fresh fp32 accumulator, its sums are scaled in fp32 into the result.
//
// k splits: blockIdx.z takes an equal run of the stages; with two the halves add onto y, which
// w4ws_stage_x zeroes first (two fp32 adds onto zero give the same bits in either order, so the
// result stays deterministic).
//
// Requirements (Kernels.w4WsFits): sm_90a; rows % 128 == 0; k % 128 == 0; groups of 64 or
// 128 with the strip-major scales; not act-order.

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

// Named barriers 1 and 2 between the two consumer warpgroups (256 threads): one arrives, the
// other waits.
__device__ __forceinline__ void w4ws_bar_arrive(int id) {
  asm volatile("bar.arrive %0, 256;" ::"r"(id) : "memory");
}
__device__ __forceinline__ void w4ws_bar_sync(int id) {
  asm volatile("bar.sync %0, 256;" ::"r"(id) : "memory");
}

// Launch: grid (ceil(tokens / BN), rows / 128, splits), 384 threads, W4WS_SMEM bytes.
// xs: w4ws_stage_x's images for BN; szs: the strip-major scales (Z8: without zero points);
// gsh: log2 of the group (6 or 7). splits: 1 (y written) or 2 (added onto y, zeroed before).
// F: lab flags, 0 in the engine: 1 the warpgroups issue in turn (named barriers); probes (wrong
// results): 2 the ring filled once, the consumers going round it without waiting, 4 no wgmmas, 8 the codes as fragments unconverted.
template <int BN, int NS, int GK, int Z8, int F>
__device__ __forceinline__ void w4ws_run(const uint4* __restrict__ xs, const uint4* __restrict__ codes,
                                         const void* __restrict__ szs, float* __restrict__ y,
                                         int tokens, int rows, int k, int gsh) {
  pdl_enter();
#ifdef W4GG_SM90A
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
    if (warp != 0) return;
    uint64_t keep, stream;
    asm volatile("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(keep));
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(stream));
    const int pairs = k >> 6, groups = k >> gsh;
    const uint8_t* xsrc = reinterpret_cast<const uint8_t*>(xs) + (size_t)tile * nst * XB;
    // lane < 8: strip lane's codes; 8 <= lane < 16: strip lane - 8's scales
    const int strip = row0 / 16 + (lane & 7);
    const uint4* csrc = codes + (size_t)strip * pairs * 32;
    const uint8_t* zsrc = static_cast<const uint8_t*>(szs) + (size_t)strip * groups * 8 * (Z8 ? 4 : 8);
    for (int st = st0, it = 0; st < st1 && (!(F & 2) || it < NS); st++, it++) {
      const int slot = it % NS;
      if (it >= NS) mbar_wait(empty + slot, ((it / NS) - 1) & 1);
      if (lane == 0) mbar_expect_tx(full + slot, XB + 8192 + 8 * SZB);
      __syncwarp();
      uint8_t* s = sm + slot * STAGE;
      // codes: read by the row tile's every token tile, which run together (blockIdx.x fastest);
      // activations: by every row tile
      if (lane == 0) bulk_load(s, xsrc + (size_t)st * XB, XB, full + slot, keep);
      if (lane < 8)
        bulk_load(s + XB + 1024 * lane, csrc + (size_t)st * 64, 1024, full + slot,
                  gridDim.x > 1 ? keep : stream);
      else if (lane < 16)
        bulk_load(s + XB + 8192 + SZB * (lane - 8), zsrc + (size_t)st * SZB, SZB, full + slot,
                  gridDim.x > 1 ? keep : stream);
    }
    return;
  }
  w4ws_setmaxnreg_inc();
  // a consumer warpgroup: rows 64 (wg - 1) .. of the tile, warp wq's strip 16 wq ..
  const int wg = warp >> 2, wq = warp & 3, cs = 4 * (wg - 1) + wq, g = lane >> 2;
  float d[BN / 2], acc[BN / 2];
#pragma unroll
  for (int i = 0; i < BN / 2; i++) acc[i] = 0.f;
  const unsigned base = smem_u32(sm);
  for (int st = st0, it = 0; st < st1; st++, it++) {
    const int slot = it % NS;
    if (!(F & 2) || it < NS) mbar_wait(full + slot, (it / NS) & 1);
    const uint8_t* sp = sm + slot * STAGE;
    const uint4* cw = reinterpret_cast<const uint4*>(sp + XB + 1024 * cs) + lane;
    const uint8_t* se = sp + XB + 8192 + SZB * cs;
    // entry g of each of the stage's groups (8 / GK of them)
    uint2 e[8 / GK];
#pragma unroll
    for (int q = 0; q < 8 / GK; q++) {
      if (Z8) e[q] = make_uint2(reinterpret_cast<const unsigned*>(se)[8 * q + g], 0x43084308u);
      else e[q] = reinterpret_cast<const uint2*>(se)[8 * q + g];
    }
    uint32_t a[8][4];
#pragma unroll
    for (int p = 0; p < 2; p++) {
      uint4 w = cw[32 * p];
      const uint2 ep = e[(4 * p) / GK];  // a pair (4 k-tiles) lies in one group
      __nv_bfloat162 zb = *reinterpret_cast<const __nv_bfloat162*>(&ep.y);
      __nv_bfloat162 z0 = __low2bfloat162(zb), z8 = __high2bfloat162(zb);
#pragma unroll
      for (int h = 0; h < 2; h++) {
        if (F & 8) {
          uint32_t u[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
          for (int j = 0; j < 4; j++) a[4 * p + 2 * h][j] = a[4 * p + 2 * h + 1][j] = u[j];
          continue;
        }
        w4_frags(h ? w.z : w.x, h ? w.w : w.y, z0, z8, a[4 * p + 2 * h], a[4 * p + 2 * h + 1]);
      }
    }
    const unsigned sb = base + slot * STAGE;
#pragma unroll
    for (int q = 0; q < 8 / GK; q++) {
#pragma unroll
      for (int t = 0; t < GK; t++) wg_hold(a[GK * q + t]);
      // F & 1: the two warpgroups issue in turn, each once the other has issued its last, so the
      // tensor cores run one's wgmmas while the other scales and unpacks (issued together, they
      // shared the tensor cores and waited and unpacked together: 2,070 cycles a stage, half
      // of them on the tensor pipe)
      if ((F & 1) && (wg == 2 || it > 0 || q > 0)) w4ws_bar_sync(wg == 1 ? 2 : 1);
      if (F & 4) {
#pragma unroll
        for (int i = 0; i < BN / 2; i++) d[i] = __uint_as_float(a[GK * q + (i & 7) % GK][i & 3]);
      } else {
        wg_fence();
        w4gg_wgmma<0>(d, a[GK * q], w4gg_desc<BN>(sb, GK * q));
#pragma unroll
        for (int t = 1; t < GK; t++)
          w4gg_wgmma<1>(d, a[GK * q + t], w4gg_desc<BN>(sb, GK * q + t));
        wg_commit();
        if (F & 1) w4ws_bar_arrive(wg == 1 ? 1 : 2);  // the other warpgroup may issue
        wg_wait<0>();
        wg_hold(d);
      }
      if (q == 8 / GK - 1 && !(F & 2)) {
        __syncwarp();
        if (lane == 0) mbar_arrive(empty + slot);  // this warp is done with the stage
      }
      float2 f = __half22float2(*reinterpret_cast<const __half2*>(&e[q].x));
#pragma unroll
      for (int i = 0; i < BN / 2; i++) acc[i] = fmaf((i & 2) ? f.y : f.x, d[i], acc[i]);
    }
  }
  if ((F & 1) && wg == 1 && st1 > st0) w4ws_bar_sync(2);  // warpgroup 2's last arrive
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

#define W4WS(NAME, BN, NS, GK, Z8, F)                                                           \
  extern "C" __global__ void __launch_bounds__(W4WS_THREADS, 1)                               \
      NAME(const uint4* __restrict__ xs, const uint4* __restrict__ codes,                     \
           const void* __restrict__ szs, float* __restrict__ y, int tokens, int rows, int k,   \
           int gsh) {                                                                          \
    w4ws_run<BN, NS, GK, Z8, F>(xs,  codes, szs, y, tokens, rows, k, gsh);                     \
  }
// 128 tokens a tile; groups of 128 (a stage one group) and 64; with and without zero points.
W4WS(w4ws_n128_g128, 128, 4, 8, 0, 0)
W4WS(w4ws_n128_g64, 128, 4, 4, 0, 0)
W4WS(w4ws_n128_g128_z8, 128, 4, 8, 1, 0)
W4WS(w4ws_n128_g64_z8, 128, 4, 4, 1, 0)
#ifdef W4GG_VARIANTS  // lab variants (tools/w4_wgmma_gemm_lab.cu)
W4WS(w4ws_n128_g128_z8_s5, 128, 5, 8, 1, 0)
W4WS(w4ws_n128_g128_z8_pp, 128, 4, 8, 1, 1)
W4WS(w4ws_n128_g128_z8_nowait, 128, 4, 8, 1, 2)
W4WS(w4ws_n128_g128_z8_nomma, 128, 4, 8, 1, 4)
W4WS(w4ws_n128_g128_z8_nounpack, 128, 4, 8, 1, 8)
#endif
