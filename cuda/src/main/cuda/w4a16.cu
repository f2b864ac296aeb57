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

// A weight chunk, streamed: read once, so kept out of L1 (where the activations stay).
__device__ __forceinline__ uint4 w4_ld_stream(const uint4* p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}

__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4],
                                               uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
      "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// A register i of a word: its two nibbles as bf16 (q - zero). 0x4300 | q is the bf16 128 + q
// (exact for q < 128), so subtracting 128 + zero gives the small integer q - zero exactly.
__device__ __forceinline__ uint32_t w4_pair(uint32_t word, int i, __nv_bfloat162 bias) {
  uint32_t v = ((word >> (4 * i)) & 0x000F000Fu) | 0x43004300u;
  __nv_bfloat162 r = __hsub2(*reinterpret_cast<__nv_bfloat162*>(&v), bias);
  return *reinterpret_cast<uint32_t*>(&r);
}

#define W4_MAX_WARPS 8
#define W4_MAX_TILES 8  // n-tiles of 8 tokens: 64 tokens at most

// One 32-input chunk starting at pos (k-tile words w0, w1) into acc, scaled per row in fp32.
template <int NT>
__device__ __forceinline__ void w4_chunk(uint32_t w0, uint32_t w1, int pos, int group,
                                         const __half2* __restrict__ sRow,
                                         const __half2* __restrict__ sRow8,
                                         const bf16* const (&xr)[NT], const bool (&ok)[NT],
                                         float (&acc)[NT][4]) {
  int gi = pos / group;
  float2 f0 = __half22float2(sRow[gi]);
  float2 f8 = __half22float2(sRow8[gi]);
  __nv_bfloat162 z0 = __float2bfloat162_rn(128.f + f0.y);
  __nv_bfloat162 z8 = __float2bfloat162_rn(128.f + f8.y);
  uint32_t a0[4] = {w4_pair(w0, 0, z0), w4_pair(w0, 1, z8), w4_pair(w0, 2, z0),
                    w4_pair(w0, 3, z8)};
  uint32_t a1[4] = {w4_pair(w1, 0, z0), w4_pair(w1, 1, z8), w4_pair(w1, 2, z0),
                    w4_pair(w1, 3, z8)};
#pragma unroll
  for (int t = 0; t < NT; t++) {
    uint4 b = make_uint4(0, 0, 0, 0);
    if (ok[t]) b = __ldg(reinterpret_cast<const uint4*>(xr[t] + pos));
    float d[4] = {0.f, 0.f, 0.f, 0.f};
    mma_bf16_16816(d, a0, b.x, b.y);
    mma_bf16_16816(d, a1, b.z, b.w);
    acc[t][0] = fmaf(f0.x, d[0], acc[t][0]);
    acc[t][1] = fmaf(f0.x, d[1], acc[t][1]);
    acc[t][2] = fmaf(f8.x, d[2], acc[t][2]);
    acc[t][3] = fmaf(f8.x, d[3], acc[t][3]);
  }
}

// Launch (w4a16_mma_<NT>): grid (rows / 16), block 32 * warps (warps <= W4_MAX_WARPS).
// Block b computes rows 16b .. 16b + 15; its warps split the k / 64 pairs evenly and their
// partial sums are added in warp order (deterministic).
// x: (parts, tokens, k) bf16, part p at x + p * xPartStride (0 when not permuted);
// codes, sz: the layout above; y: (tokens, rows) fp32; tokens <= 8 * NT.
template <int NT>
__device__ void w4_mma(const bf16* __restrict__ x, long long xPartStride,
                       const uint4* __restrict__ codes, const __half2* __restrict__ sz,
                       float* __restrict__ y, int tokens, int rows, int k, int group, int b1,
                       int b2) {
  __shared__ float red[W4_MAX_WARPS * NT * 4 * 32];
  int warps = blockDim.x >> 5, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int g = lane >> 2, c = lane & 3;
  int row0 = blockIdx.x * 16;
  int pairs = k >> 6;
  int p0 = warp * pairs / warps, p1 = (warp + 1) * pairs / warps;
  x += ((row0 >= b1) + (row0 >= b2)) * xPartStride;
  const uint4* w = codes + (size_t)blockIdx.x * pairs * 32 + lane;
  int groups = k / group;
  const __half2* sRow = sz + (size_t)(row0 + g) * groups;
  const __half2* sRow8 = sRow + (size_t)8 * groups;
  const bf16* xr[NT];
  bool ok[NT];
#pragma unroll
  for (int t = 0; t < NT; t++) {
    int n = g + 8 * t;  // the token of this lane's B column in n-tile t
    ok[t] = n < tokens;
    xr[t] = x + (size_t)(ok[t] ? n : 0) * k + 8 * c;
  }
  float acc[NT][4];
#pragma unroll
  for (int t = 0; t < NT; t++)
#pragma unroll
    for (int e = 0; e < 4; e++) acc[t][e] = 0.f;
  // U 16-byte weight loads in flight per lane before their use; fewer with more tokens,
  // whose activation loads and MMAs already keep a warp busy.
  constexpr int U = NT <= 2 ? 4 : 2;
  int p = p0;
  for (; p + U <= p1; p += U) {
    uint4 wv[U];
#pragma unroll
    for (int u = 0; u < U; u++) wv[u] = w4_ld_stream(w + (size_t)(p + u) * 32);
#pragma unroll
    for (int u = 0; u < U; u++) {
      w4_chunk<NT>(wv[u].x, wv[u].y, 64 * (p + u), group, sRow, sRow8, xr, ok, acc);
      w4_chunk<NT>(wv[u].z, wv[u].w, 64 * (p + u) + 32, group, sRow, sRow8, xr, ok, acc);
    }
  }
  for (; p < p1; p++) {
    uint4 wv = w4_ld_stream(w + (size_t)p * 32);
    w4_chunk<NT>(wv.x, wv.y, 64 * p, group, sRow, sRow8, xr, ok, acc);
    w4_chunk<NT>(wv.z, wv.w, 64 * p + 32, group, sRow, sRow8, xr, ok, acc);
  }
#pragma unroll
  for (int t = 0; t < NT; t++)
#pragma unroll
    for (int e = 0; e < 4; e++) red[((warp * NT + t) * 4 + e) * 32 + lane] = acc[t][e];
  __syncthreads();
  // C fragment: element e of lane l is row g + 8 (e / 2), token 2c + e % 2 of its n-tile.
  for (int i = threadIdx.x; i < NT * 4 * 32; i += blockDim.x) {
    int te = i >> 5, l = i & 31;
    int t = te >> 2, e = te & 3;
    int n = 8 * t + 2 * (l & 3) + (e & 1);
    if (n >= tokens) continue;
    float v = 0.f;
    for (int wp = 0; wp < warps; wp++) v += red[(wp * NT * 4 + te) * 32 + l];
    y[(size_t)n * rows + row0 + (l >> 2) + 8 * (e >> 1)] = v;
  }
}

// One entry point per n-tile count: a single kernel switching on it would allocate registers
// for the largest body everywhere.
#define W4_MMA(NT)                                                                             \
  extern "C" __global__ void __launch_bounds__(32 * W4_MAX_WARPS)                             \
  w4a16_mma_##NT(const bf16* __restrict__ x, long long xPartStride,                          \
                 const uint4* __restrict__ codes, const __half2* __restrict__ sz,             \
                 float* __restrict__ y, int tokens, int rows, int k, int group, int b1,       \
                 int b2) {                                                                     \
    w4_mma<NT>(x, xPartStride, codes, sz, y, tokens, rows, k, group, b1, b2);                 \
  }
W4_MMA(1)
W4_MMA(2)
W4_MMA(4)
W4_MMA(8)

// Launch: grid (ceil(k / 256), tokens, parts), block 256.
// out (parts, tokens, k) bf16: out[p][t][j] = x[t][perm[p * k + j]], x (tokens, k) bf16.
extern "C" __global__ void __launch_bounds__(256)
gather_cols_bf16(const bf16* __restrict__ x, const int* __restrict__ perm, bf16* __restrict__ out,
                 int k) {
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

// Launch: grid (ceil(k / 8 / 128), rows), block 128. Each thread writes 8 consecutive weights
// (one 16-byte store) of w (rows, k) bf16, nn.Linear layout in the checkpoint's input order:
// w[r][i] = bf16(scale * (q - zero)) of position invPerm[part * k + i] (i itself when
// invPerm is null). Layout constraints as for w4a16_mma.
extern "C" __global__ void __launch_bounds__(128)
dequant_w4_bf16(const uint32_t* __restrict__ codes, const __half2* __restrict__ sz,
                const int* __restrict__ invPerm, bf16* __restrict__ w, int rows, int k, int group,
                int b1, int b2) {
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
