// GPTQ int4 projections of many tokens (decode batches and prompt chunks past the fused
// kernels' 64) on Hopper's warpgroup MMAs: y (tokens, rows) fp32 = x (tokens, k) bf16 . W^T,
// W in w4a16.cu's packed layout, unpacked in registers.
//
// Why: those steps used to dequantize each layer into a bf16 scratch buffer for cuBLAS, every
// step (dequant_w4_packed_bf16): the weights' bytes went out of HBM once as int4, then in and
// out again as bf16, 4.5 bytes a weight where bf16 weights take 2 (one H200: a 14B GPTQ batch-128
// step 30.7 ms against bf16's 12.5). Here they leave HBM once, as int4 (docs/benchmarks: a 14B
// layer's four projections at 128 tokens 253 us against 372).
//
// Shape: a block is WGS warpgroups (1 or 2), each over 64 rows (four 16-row strips, a warp
// each), and BN tokens; blockIdx.x the token tile (fastest, so the blocks that read the same
// codes run together), blockIdx.y the row tile. k goes by stages of 128 inputs (two input
// pairs): a stage's activations (BN x 128 bf16, shared by the warpgroups), codes (4 strips x 2
// pairs x 512 bytes a warpgroup) and scales land in shared memory by cp.async, NS stages in
// flight. Each warp unpacks its strip's codes of a stage into A fragments (w4a16.cu's
// mma.m16n8k16 layout is wgmma's A-from-registers layout, a warp's 16 rows) and its warpgroup
// issues the stage's eight m64nBNk16 wgmmas with the activations as B by descriptor, then drains
// them: ptxas serializes every wgmma when an accumulator in flight crosses a loop's back edge
// (tools/w4_wgmma_lab.cu), so a stage is straight-line code and the SM's other warpgroups keep
// the tensor cores busy while this one unpacks.
//
// Weights: exact, as in w4a16.cu's kernels: the fragments hold q - zero as bf16 integers
// (w4_frags), each scale group's wgmmas start a fresh fp32 accumulator and its sums are scaled
// in fp32 into the result (the cuBLAS path rounds scale * (q - zero) to bf16 instead). Where
// every zero point is 8 the _z8 twins read the strip-major scales without zero points
// (w4a16_chain.cu's szs), the zero a constant.
//
// Activations: the packed layout orders each 32-input chunk's MMA columns as 8c + 4j + 2hi + e
// for column 8hi + 2c + e of k-tile j (w4a16.cu), so B's rows need the inputs in that order:
// w4gg_permute writes x so (a 4 x 4 transpose of 4-byte words a chunk), and a stage is then
// plain 16-byte copies into wgmma's 128-byte swizzle.
//
// Requirements (Kernels.w4WgmmaFits): sm_90a; rows % 64 == 0 (128 for two warpgroups); k % 128
// == 0; a group of a power of two from 32, or all of k; not act-order. Elsewhere (sm_80,
// compute_90 PTX) the kernels are empty and never launched.

#define W4GG_KS 128  // inputs a stage

// Shared-memory bytes of a stage: activations, then each warpgroup's codes (4 strips x 2 pairs x
// 512), then its scales (64 rows x 4 chunks of 32 inputs x {scale, zero}).
#define W4GG_STAGE(BN, WGS) ((BN) * W4GG_KS * 2 + 5120 * (WGS))

// xp = x (tokens, k) bf16 with each 32-input chunk's words transposed 4 x 4: output 16-byte
// word q of a chunk holds word q of each of its four input words, in order. n = tokens * k / 32.
extern "C" __global__ void w4gg_permute(const uint4* __restrict__ x, uint4* __restrict__ xp,
                                        long long n) {
  pdl_enter();
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    uint4 a = x[4 * i], b = x[4 * i + 1], c = x[4 * i + 2], d = x[4 * i + 3];
    xp[4 * i] = make_uint4(a.x, b.x, c.x, d.x);
    xp[4 * i + 1] = make_uint4(a.y, b.y, c.y, d.y);
    xp[4 * i + 2] = make_uint4(a.z, b.z, c.z, d.z);
    xp[4 * i + 3] = make_uint4(a.w, b.w, c.w, d.w);
  }
}

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define W4GG_SM90A 1
#endif

__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void wg_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Ties A registers to the asm stream: complete before the fence that precedes their wgmma.
__device__ __forceinline__ void wg_hold(uint32_t (&a)[4]) {
#pragma unroll
  for (int i = 0; i < 4; i++) asm volatile("" : "+r"(a[i])::"memory");
}
// The generic proxy's shared-memory writes made visible to wgmma's async proxy.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
// A shared-memory matrix descriptor for a K-major operand in 128-byte swizzle: rows of 64 bf16 (128 bytes), 8-row atoms
// of 1,024 bytes (1,024-aligned) one after another in n; addr may step 32 bytes a k-tile within
// the row. Without the swizzle wgmma's reads of the same tile took several times the shared
// memory wavefronts (Nsight Compute on w4gg: 64 % excessive).
__device__ __forceinline__ uint64_t wg_desc_sw128(unsigned addr) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | (1ull << 16) | ((uint64_t)(1024 >> 4) << 32) |
         (1ull << 62);
}

// d (64 x 64 fp32) = SCALE_D d + a (64 x 16 bf16 in registers: each warp's 16 rows as
// mma.m16n8k16's A fragment) . b (16 x 64 bf16 in shared memory by descriptor, K-major).
// SCALE_D must be an immediate for ptxas to keep the wgmma asynchronous.
template <int SCALE_D>
__device__ __forceinline__ void w4gg_wgmma(float (&d)[32], const uint32_t (&a)[4], uint64_t desc) {
#ifdef W4GG_SM90A
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, "
      "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, "
      "%36, %37, 1, 1, 0;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(SCALE_D));
#endif
}

// The same over 32 tokens.
template <int SCALE_D>
__device__ __forceinline__ void w4gg_wgmma(float (&d)[16], const uint32_t (&a)[4], uint64_t desc) {
#ifdef W4GG_SM90A
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, {%16, %17, %18, %19}, "
      "%20, %21, 1, 1, 0;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]),
        "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]),
        "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(SCALE_D));
#endif
}

// The same over 128 tokens.
template <int SCALE_D>
__device__ __forceinline__ void w4gg_wgmma(float (&d)[64], const uint32_t (&a)[4], uint64_t desc) {
#ifdef W4GG_SM90A
  asm volatile(
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, "
      "%19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, "
      "%36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, "
      "%53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, "
      "%68, %69, 1, 1, 0;\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]),
        "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]),
        "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]),
        "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]),
        "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc), "n"(SCALE_D));
#endif
}

// B's descriptor for k-tile t (of 8) of a stage at sb: k-atom t / 4, 32 bytes a k-tile in it.
template <int BN>
__device__ __forceinline__ uint64_t w4gg_desc(unsigned sb, int t) {
  return wg_desc_sw128(sb + (t >> 2) * BN * 128 + (t & 3) * 32);
}

// Issues and commits scale group q's wgmmas of the stage at sb (k-tiles GK q .. GK q + GK - 1,
// A fragments a) into a fresh d; the caller drains them (wg_wait) before reading d.
template <int BN, int GK, int N>
__device__ __forceinline__ void w4gg_issue_group(float (&d)[N], uint32_t (&a)[8][4], unsigned sb,
                                                 int q) {
#pragma unroll
  for (int t = 0; t < GK; t++) wg_hold(a[GK * q + t]);
  wg_fence();
  w4gg_wgmma<0>(d, a[GK * q], w4gg_desc<BN>(sb, GK * q));
#pragma unroll
  for (int t = 1; t < GK; t++) w4gg_wgmma<1>(d, a[GK * q + t], w4gg_desc<BN>(sb, GK * q + t));
  wg_commit();
}

// Accumulators d (64 x BN) after a drain: held in the asm stream, so nothing reads them before
// the wait.
template <int N>
__device__ __forceinline__ void wg_hold(float (&d)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(d[i])::"memory");
}

// 128 + zero of a {scale, zero} entry as a bf16 pair (exact: zero is a small integer).
__device__ __forceinline__ __nv_bfloat162 w4gg_bias(__half2 e) {
  return __float2bfloat162_rn(128.f + __high2float(e));
}

// A thread's share of a stage's copies (w4gg_run): where it reads for stage 0 and writes in a
// slot; stage st reads st * 128 inputs further on.
// ZG: 0 for w4a16.cu's (rows, groups) {scale, zero}; 1 or 2 for the strip-major scales without
// zero points (w4a16_chain.cu's szs with z8: every zero point 8), ZG groups a stage.
template <int BN, int WGS, int ZG>
struct W4ggCopies {
  static constexpr int XU = BN / (8 * WGS);  // activation copies a thread
  const bf16* xs[XU];
  unsigned xd[XU], xn;   // destinations; bit u of xn: token past the step's (zeros)
  const uint4* cs[2];    // codes
  const __half2* zs[2];  // scales (group index added per stage)
  int zc[2];             // their 32-input chunk in a stage
  const unsigned* z8s;   // ZG: the thread's 16 bytes of a strip's stage entries, or null
  unsigned z8d;

  __device__ __forceinline__ W4ggCopies(const bf16* xp, const uint4* codes, const void* sz,
                                        int tokens, int k, int groups, int tok0, int row0) {
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    // Activations, in wgmma's 128-byte swizzle (K-major): token n's 16-byte chunk c (of the
    // stage's 16) at (c / 8) BN 128 + n 128 + ((c % 8) ^ (n % 8)) 16, so eight lanes that copy
    // one token's eight chunks of a k-atom read 128 contiguous bytes and write all 32 banks.
    // Warp instruction ii: k-atom ii % 2, tokens 4 (ii / 2) .. + 3.
    const int c8 = lane & 7;
    xn = 0;
#pragma unroll
    for (int u = 0; u < XU; u++) {
      int ii = warp + 4 * WGS * u, ka = ii & 1, n = 4 * (ii >> 1) + (lane >> 3), t = tok0 + n;
      if (t >= tokens) xn |= 1u << u;
      xs[u] = xp + (size_t)(t < tokens ? t : 0) * k + 64 * ka + 8 * c8;
      xd[u] = ka * BN * 128 + n * 128 + ((c8 ^ (n & 7)) << 4);
    }
    const int pairs = k >> 6;
#pragma unroll
    for (int u = 0; u < 2; u++) {
      int id = tid + 128 * WGS * u;
      cs[u] = codes + ((size_t)(row0 / 16 + (id >> 6)) * pairs) * 32 + (id & 63);
      zs[u] = static_cast<const __half2*>(sz) + (size_t)(row0 + (id >> 2)) * groups;
      zc[u] = id & 3;
    }
    // ZG: a strip's stage entries are 32 ZG contiguous bytes (8 a group), 2 ZG copies of 16
    z8s = nullptr;
    if (ZG && tid < 8 * ZG * WGS) {
      int strip = tid / (2 * ZG), c = tid % (2 * ZG);
      z8s = static_cast<const unsigned*>(sz) + (size_t)(row0 / 16 + strip) * groups * 8 + 4 * c;
      z8d = strip * 32 * ZG + 16 * c;
    }
  }

  // Stage st into slot (shared memory at `slot`); gsh: log2 of the group (30: one group).
  __device__ __forceinline__ void issue(uint8_t* slot, int st, int gsh) const {
#pragma unroll
    for (int u = 0; u < XU; u++)
      cp_async16(slot + xd[u], xs[u] + st * W4GG_KS, (xn >> u) & 1 ? 0 : 16);
    uint8_t* c = slot + BN * W4GG_KS * 2;
    const int tid = threadIdx.x;
#pragma unroll
    for (int u = 0; u < 2; u++)
      cp_async16(c + (tid + 128 * WGS * u) * 16, cs[u] + st * 64, 16);
    uint8_t* z = c + 4096 * WGS;
    if (ZG) {
      if (z8s) cp_async16(z + z8d, z8s + ((st * W4GG_KS) >> gsh) * 8, 16);
      return;
    }
#pragma unroll
    for (int u = 0; u < 2; u++)
      cp_async4(z + (tid + 128 * WGS * u) * 4, zs[u] + ((st * W4GG_KS + 32 * zc[u]) >> gsh), 4);
  }
};

// Launch: grid (ceil(tokens / BN), rows / (64 WGS)), 128 WGS threads, NS * W4GG_STAGE(BN, WGS)
// + 1,024 bytes of dynamic shared memory. xp: w4gg_permute's x. gsh: log2 of the group size (30 where
// the group is all of k).
template <int BN, int NS, int WGS, int GK, int ZG>
__device__ __forceinline__ void w4gg_run(const bf16* __restrict__ xp, const uint4* __restrict__ codes,
                                         const void* __restrict__ sz, float* __restrict__ y,
                                         int tokens, int rows, int k, int gsh) {
  pdl_enter();
#ifdef W4GG_SM90A
  extern __shared__ __align__(1024) uint8_t w4gg_raw[];
  // the swizzle atoms need 1,024-byte alignment (the launch adds 1,024 bytes for it)
  uint8_t* w4gg_smem = w4gg_raw + ((1024 - (smem_u32(w4gg_raw) & 1023)) & 1023);
  constexpr int STAGE = W4GG_STAGE(BN, WGS), XB = BN * W4GG_KS * 2;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2;
  const int wg = warp >> 2, wq = warp & 3;  // warpgroup, its warp (strip)
  const int tok0 = blockIdx.x * BN, row0 = blockIdx.y * 64 * WGS, nst = k / W4GG_KS;
  const W4ggCopies<BN, WGS, ZG> cp(xp, codes, sz, tokens, k, gsh >= 30 ? 1 : k >> gsh, tok0,
                                   row0);
  const unsigned base = smem_u32(w4gg_smem);
  float d[BN / 2], acc[BN / 2];
#pragma unroll
  for (int i = 0; i < BN / 2; i++) acc[i] = 0.f;
#pragma unroll
  for (int s = 0; s < NS - 1; s++) {
    if (s < nst) cp.issue(w4gg_smem + s * STAGE, s, gsh);
    cp_async_commit();
  }
  int slot = 0;
  for (int st = 0; st < nst; st++) {
    cp_async_wait<NS - 2>();
    fence_proxy_async();
    __syncthreads();  // stage st landed everywhere; every warp has drained stage st - 1
    if (st + NS - 1 < nst) {
      int ls = slot == 0 ? NS - 1 : slot - 1;  // (st + NS - 1) % NS
      cp.issue(w4gg_smem + ls * STAGE, st + NS - 1, gsh);
    }
    cp_async_commit();
    const uint8_t* sp = w4gg_smem + slot * STAGE;
    const uint4* cw = reinterpret_cast<const uint4*>(sp + XB + warp * 1024) + lane;
    const __half2* se =
        reinterpret_cast<const __half2*>(sp + XB + 4096 * WGS) + (64 * wg + 16 * wq + g) * 4;
    // the stage's eight k-tiles as (q - zero) A fragments: chunk 2 p + h's words 2 h, 2 h + 1
    // ZG: the warp's strip's entries of the stage's groups, lane row g's at g
    const unsigned* s8 = reinterpret_cast<const unsigned*>(sp + XB + 4096 * WGS) + warp * 8 * ZG + g;
    uint32_t a[8][4];
#pragma unroll
    for (int p = 0; p < 2; p++) {
      uint4 w = cw[32 * p];
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const unsigned z136 = 0x43084308u;  // bf16 128 + 8, both halves
        __nv_bfloat162 z0 = *reinterpret_cast<const __nv_bfloat162*>(&z136), z8 = z0;
        if (!ZG) {
          z0 = w4gg_bias(se[2 * p + h]);
          z8 = w4gg_bias(se[32 + 2 * p + h]);
        }
        w4_frags(h ? w.z : w.x, h ? w.w : w.y, z0, z8, a[4 * p + 2 * h], a[4 * p + 2 * h + 1]);
      }
    }
    const unsigned sb = base + slot * STAGE;
#pragma unroll
    for (int q = 0; q < 8 / GK; q++) {  // scale group q of the stage: k-tiles GK q ..
      w4gg_issue_group<BN, GK>(d, a, sb, q);
      wg_wait<0>();
      wg_hold(d);
      const int ch = GK * q / 2;  // the group's first 32-input chunk
      float2 f;
      if (ZG) {
        unsigned e = s8[8 * q];
        f = __half22float2(*reinterpret_cast<const __half2*>(&e));
      } else {
        f = make_float2(__low2float(se[ch]), __low2float(se[32 + ch]));
      }
#pragma unroll
      for (int i = 0; i < BN / 2; i++) acc[i] = fmaf((i & 2) ? f.y : f.x, d[i], acc[i]);
    }
    slot = slot + 1 == NS ? 0 : slot + 1;
  }
  cp_async_wait<0>();
  // d[i]: row 16 wq + g + 8 ((i >> 1) & 1) of the warpgroup's 64, token 8 (i >> 2) + 2 (lane &
  // 3) + (i & 1)
  const int c = lane & 3;
  float* yr = y + row0 + 64 * wg + 16 * wq + g;
#pragma unroll
  for (int i = 0; i < BN / 2; i++) {
    int t = tok0 + 8 * (i >> 2) + 2 * c + (i & 1);
    if (t < tokens) yr[(size_t)t * rows + 8 * ((i >> 1) & 1)] = acc[i];
  }
#endif
}

#define W4GG(NAME, BN, NS, WGS, GK, ZG, MINB)                                                   \
  extern "C" __global__ void __launch_bounds__(128 * WGS, MINB)                               \
      NAME(const bf16* __restrict__ xp, const uint4* __restrict__ codes,                      \
           const void* __restrict__ sz, float* __restrict__ y, int tokens, int rows, int k,    \
           int gsh) {                                                                          \
    w4gg_run<BN, NS, WGS, GK, ZG>(xp, codes, sz, y, tokens, rows, k, gsh);                     \
  }
// Groups of 128 inputs or more (_g128: a stage in one group), of 64 and of 32; a warpgroup a
// block (w1: narrow layers, more blocks) or two sharing the staged activations (w2).
W4GG(w4gg_w1_g128, 64, 4, 1, 8, 0, 3)
W4GG(w4gg_w1_g64, 64, 4, 1, 4, 0, 3)
W4GG(w4gg_w1_g32, 64, 4, 1, 2, 0, 3)
W4GG(w4gg_w2_g128, 64, 3, 2, 8, 0, 2)
W4GG(w4gg_w2_g64, 64, 3, 2, 4, 0, 2)
W4GG(w4gg_w2_g32, 64, 3, 2, 2, 0, 2)
// The same over the strip-major scales without zero points (every zero point 8), groups of 128
// or more and of 64.
W4GG(w4gg_w1_g128_z8, 64, 4, 1, 8, 1, 3)
W4GG(w4gg_w1_g64_z8, 64, 4, 1, 4, 2, 3)
W4GG(w4gg_w2_g128_z8, 64, 3, 2, 8, 1, 2)
W4GG(w4gg_w2_g64_z8, 64, 3, 2, 4, 2, 2)
#ifdef W4GG_VARIANTS  // lab variants (tools/w4_wgmma_gemm_lab.cu)
W4GG(w4gg_n32_w1, 32, 4, 1, 8, 0, 4)
W4GG(w4gg_n32_w2, 32, 4, 2, 8, 0, 2)
W4GG(w4gg_n128_w2, 128, 3, 2, 8, 0, 1)
#endif
