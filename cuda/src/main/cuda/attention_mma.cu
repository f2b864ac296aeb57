// Tensor-core attention for prompt chunks (mma.sync m16n8k16: bf16 in, fp32 accumulate), in
// the manner of FlashAttention-2. A block serves 16 consecutive tokens of a step and one KV
// head, a warp each query head of that head's group. A prompt chunk's tokens sit next to each
// other in a step, so a tile's rows mostly share one sequence: each tile of 64 keys is staged
// once in shared memory for its 16 tokens and all the group's heads, where the CUDA-core kernel
// (attention.cu, paged_attention_gqa_bf16) reads it once per token and multiplies on CUDA
// cores (an 8,192-token 7B prefill step spent 81-90 ms there, about 10 TFLOP/s).
//
// Rows of another sequence in the same 16 (a chunk's edge, a decode token) are served by
// further passes over the tile, one per run of rows of one sequence. Each pass and key tile:
//   S = Q K^T (16 x 64 for the warp's head), masked causally by each row's own position;
//   an online softmax per row in registers (running max m, sum l; exp2 with the scale folded);
//   P rounded to bf16 as the A operand of O += P V (V read through ldmatrix.trans).
// Key tiles past a row's position add exact zeros (p = 0, V zero-filled past the pass's last
// key), so a token's output does not depend on the tokens beside it. P in bf16 is the one
// rounding the CUDA-core kernel does not make: the two agree to bf16 rounding.
#include "common.cuh"
#include <type_traits>

#define PMMA_TOKENS 16  // rows of a block: one m16 tile
#define PMMA_KEYS 64    // keys staged per tile
#define PMMA_MAX_GROUP 8

// Dynamic shared memory: two stages of K and V tiles (the next tile streams in while the warps
// multiply the current one), the rows' sequences and positions, then each warp's Q rows (read
// as A fragments per tile rather than held in registers: two blocks fit an SM).
template <int HD>
struct __align__(16) PmmaSmem {
  // Rows padded by 16 bytes: the 8 rows one fragment reads fall in distinct banks.
  bf16 k[2][PMMA_KEYS][HD + 8];
  bf16 v[2][PMMA_KEYS][HD + 8];
  int seq[PMMA_TOKENS], pos[PMMA_TOKENS];
  bf16 q[1][PMMA_TOKENS][HD + 8];  // in fact one per warp (Kernels.mmaSmem)
};

// Over an FP8 cache (the _fp8 entries): two stages of the K and V rows as stored (e4m3, half
// the bytes) and of their scales' words, each tile converted once, times its scales, into one
// bf16 K and V tile that the warps then multiply as above (as the decode kernels below do).
// Why: the prompt chunks over an FP8 cache took the decode kernel, a block per token and KV
// head reading its whole context, where here 16 tokens share each tile.
template <int HD>
struct __align__(16) PmmaSmemFp8 {
  bf16 k[1][PMMA_KEYS][HD + 8];
  bf16 v[1][PMMA_KEYS][HD + 8];
  unsigned char raw[2][2][PMMA_KEYS][HD];  // stage, K / V, row
  unsigned sc[2][2][PMMA_KEYS];  // the 4-byte word holding each row's fp16 scale
  int odd[2][PMMA_KEYS];         // whether the scale is that word's high half
  int seq[PMMA_TOKENS], pos[PMMA_TOKENS];
  bf16 q[1][PMMA_TOKENS][HD + 8];  // in fact one per warp (Kernels.mmaSmem)
};

// 4 bytes global -> shared (zeros where src_bytes is 0), as cp_async16.
__device__ __forceinline__ void cp_async4(void* dst, const void* src, int src_bytes) {
  unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src),
               "r"(src_bytes)
               : "memory");
}

__device__ __forceinline__ uint32_t ld_b32(const bf16* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// A 16-byte chunk of an FP8 row as stored (16 e4m3 values) times its scale, rounded to bf16,
// into dst (two 16-byte stores): how every tensor-core kernel here reads an FP8 cache.
__device__ __forceinline__ void fp8_chunk_bf16(uint4 r, float sc, bf16* dst) {
  float f[16];
  KvFp8::unpack(make_uint2(r.x, r.y), f);
  KvFp8::unpack(make_uint2(r.z, r.w), f + 8);
  uint4 b0 = make_uint4(pack_bf16(f[0] * sc, f[1] * sc), pack_bf16(f[2] * sc, f[3] * sc),
                        pack_bf16(f[4] * sc, f[5] * sc), pack_bf16(f[6] * sc, f[7] * sc));
  uint4 b1 = make_uint4(pack_bf16(f[8] * sc, f[9] * sc), pack_bf16(f[10] * sc, f[11] * sc),
                        pack_bf16(f[12] * sc, f[13] * sc), pack_bf16(f[14] * sc, f[15] * sc));
  reinterpret_cast<uint4*>(dst)[0] = b0;
  reinterpret_cast<uint4*>(dst)[1] = b1;
}

__device__ __forceinline__ uint32_t pack_f16(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// An e4m3 pair (bits) as an fp16 pair (exact).
__device__ __forceinline__ uint32_t fp8x2_f16x2(unsigned short bits) {
  __half2_raw v = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)bits, __NV_E4M3);
  return (uint32_t)v.x | ((uint32_t)v.y << 16);
}

// A 16-byte chunk of an FP8 row as stored (16 e4m3 values) as fp16, unscaled (exact), into
// dst (two 16-byte stores): the decode kernels' tiles, whose MMAs take the scales outside.
__device__ __forceinline__ void fp8_chunk_f16(uint4 r, bf16* dst) {
  const unsigned short* p = reinterpret_cast<const unsigned short*>(&r);
  uint32_t h[8];
#pragma unroll
  for (int i = 0; i < 8; i++) h[i] = fp8x2_f16x2(p[i]);
  reinterpret_cast<uint4*>(dst)[0] = make_uint4(h[0], h[1], h[2], h[3]);
  reinterpret_cast<uint4*>(dst)[1] = make_uint4(h[4], h[5], h[6], h[7]);
}

// The B fragment (16 x 8, k = keys, n = dims) of V rows k0..k0+15 at dims d0..d0+7, from V
// stored row-major: lanes 0-7 address rows k0..k0+7, lanes 8-15 rows k0+8..k0+15.
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t& b0, uint32_t& b1, const bf16* p) {
  unsigned a = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0, %1}, [%2];"
               : "=r"(b0), "=r"(b1)
               : "r"(a));
}

// The A fragment (16 x 16) of rows 0..15 at columns k0..k0+15, from a row-major tile: lanes
// 0-15 address rows 0-15 at k0, lanes 16-31 the same rows at k0 + 8.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&a)[4], const bf16* p) {
  unsigned s = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3])
               : "r"(s));
}

// One pass: rows [rs, re) of the block's 16, all of sequence `seq`, over keys 0..max_pos.
template <int HD, bool FP8, class SM, class E>
__device__ __forceinline__ void pmma_pass(SM& sm, const bf16 (*qs)[HD + 8],
                                          const E* __restrict__ k_cache,
                                          const E* __restrict__ v_cache,
                                          const __half* __restrict__ k_scale,
                                          const __half* __restrict__ v_scale,
                                          const int* __restrict__ table, int block_size,
                                          int kv_size, int kvh, int num_kv_heads, int rs,
                                          int re, int max_pos, float scale_log2,
                                          bf16* __restrict__ out, int t0, int tokens,
                                          int q_size, int head) {
  constexpr int CHUNKS = HD / 8;  // 16-byte chunks per row
  int lane = threadIdx.x & 31;
  int r0 = lane >> 2, r1 = r0 + 8, c2 = 2 * (lane & 3);
  bool in0 = r0 >= rs && r0 < re, in1 = r1 >= rs && r1 < re;
  int pos0 = in0 ? sm.pos[r0] : -1, pos1 = in1 ? sm.pos[r1] : -1;
  float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
  float o[HD / 8][4];
#pragma unroll
  for (int dt = 0; dt < HD / 8; dt++) o[dt][0] = o[dt][1] = o[dt][2] = o[dt][3] = 0.f;
  int tiles = (max_pos + PMMA_KEYS) / PMMA_KEYS;  // max_pos -1: none
  PagedBlocks blocks(block_size);
  constexpr int RCH = HD / 16;  // FP8: 16-byte chunks of a stored row
  // Copies key tile kt into stage kt & 1 (zeros past max_pos), as one cp.async group; over
  // FP8 the rows as stored and their scales' words.
  auto stage = [&](int kt) {
    int buf = kt & 1;
    if constexpr (FP8) {
      for (int i = threadIdx.x; i < PMMA_KEYS * RCH; i += blockDim.x) {
        int row = i / RCH, ch = i - row * RCH, key = kt * PMMA_KEYS + row;
        bool ok = key <= max_pos;
        size_t slot = ok ? (size_t)blocks.slot(__ldg(table + blocks.entry(key)), key) : 0;
        size_t off = slot * kv_size + (size_t)kvh * HD + ch * 16;
        cp_async16(&sm.raw[buf][0][row][ch * 16], k_cache + off, ok ? 16 : 0);
        cp_async16(&sm.raw[buf][1][row][ch * 16], v_cache + off, ok ? 16 : 0);
        if (ch == 0) {
          size_t si = slot * num_kv_heads + kvh;
          sm.odd[buf][row] = (int)(si & 1);
          cp_async4(&sm.sc[buf][0][row], k_scale + (si & ~(size_t)1), ok ? 4 : 0);
          cp_async4(&sm.sc[buf][1][row], v_scale + (si & ~(size_t)1), ok ? 4 : 0);
        }
      }
    } else {
      for (int i = threadIdx.x; i < PMMA_KEYS * CHUNKS; i += blockDim.x) {
        int row = i / CHUNKS, ch = i - row * CHUNKS, key = kt * PMMA_KEYS + row;
        bool ok = key <= max_pos;
        size_t slot = ok ? (size_t)blocks.slot(__ldg(table + blocks.entry(key)), key) : 0;
        size_t off = slot * kv_size + (size_t)kvh * HD + ch * 8;
        cp_async16(&sm.k[buf][row][ch * 8], k_cache + off, ok ? 16 : 0);
        cp_async16(&sm.v[buf][row][ch * 8], v_cache + off, ok ? 16 : 0);
      }
    }
    cp_async_commit();
  };
  // FP8: raw stage kt & 1 times its scales into the bf16 tile, 16 values a chunk.
  auto convert = [&](int kt) {
    if constexpr (FP8) {
      int buf = kt & 1;
      for (int i = threadIdx.x; i < PMMA_KEYS * RCH; i += blockDim.x) {
        int row = i / RCH, ch = i - row * RCH;
#pragma unroll
        for (int tv = 0; tv < 2; tv++) {
          uint4 r = *reinterpret_cast<const uint4*>(&sm.raw[buf][tv][row][ch * 16]);
          unsigned w = sm.sc[buf][tv][row] >> (16 * sm.odd[buf][row]);
          float sc = __half2float(__ushort_as_half((unsigned short)(w & 0xffffu)));
          fp8_chunk_bf16(r, sc, tv == 0 ? &sm.k[0][row][ch * 16] : &sm.v[0][row][ch * 16]);
        }
      }
    }
  };
  __syncthreads();  // the previous pass is done with both stages
  if (tiles > 0) stage(0);
  for (int kt = 0; kt < tiles; kt++) {
    int kbase = kt * PMMA_KEYS, buf = FP8 ? 0 : kt & 1;
    // The next tile streams into the other stage (read by the previous iteration, which
    // ended at a barrier) while this one is multiplied.
    if (kt + 1 < tiles) stage(kt + 1);
    else cp_async_commit();  // an empty group keeps the count below uniform
    cp_async_wait<1>();      // this thread's copies of tile kt have landed
    __syncthreads();         // and everyone's
    if constexpr (FP8) {
      convert(kt);
      __syncthreads();
    }

    float s[PMMA_KEYS / 8][4];
#pragma unroll
    for (int nt = 0; nt < PMMA_KEYS / 8; nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
#pragma unroll
    for (int ks = 0; ks < HD / 16; ks++) {
      uint32_t qa[4];
      ldmatrix_x4(qa, &qs[lane & 15][16 * ks + (lane >> 4) * 8]);
#pragma unroll
      for (int nt = 0; nt < PMMA_KEYS / 8; nt++) {
        const bf16* krow = &sm.k[buf][nt * 8 + r0][c2 + 16 * ks];
        mma_bf16_16816(s[nt], qa, ld_b32(krow), ld_b32(krow + 8));
      }
    }
    // Causal mask by each row's position, scale (log2 domain), the tile's row maxima.
    float mx0 = m0, mx1 = m1;
#pragma unroll
    for (int nt = 0; nt < PMMA_KEYS / 8; nt++)
#pragma unroll
      for (int e = 0; e < 2; e++) {
        int key = kbase + nt * 8 + c2 + e;
        s[nt][e] = key <= pos0 ? s[nt][e] * scale_log2 : -INFINITY;
        s[nt][2 + e] = key <= pos1 ? s[nt][2 + e] * scale_log2 : -INFINITY;
        mx0 = fmaxf(mx0, s[nt][e]);
        mx1 = fmaxf(mx1, s[nt][2 + e]);
      }
    // The four lanes of a quad hold one row's 64 scores between them.
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    // A row with no key yet keeps max -inf: subtract 0 instead (its p and alpha stay 0).
    float b0 = mx0 == -INFINITY ? 0.f : mx0, b1 = mx1 == -INFINITY ? 0.f : mx1;
    float alpha0 = exp2f(m0 - b0), alpha1 = exp2f(m1 - b1);
    m0 = mx0;
    m1 = mx1;
    float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
    for (int nt = 0; nt < PMMA_KEYS / 8; nt++)
#pragma unroll
      for (int e = 0; e < 2; e++) {
        s[nt][e] = exp2f(s[nt][e] - b0);
        s[nt][2 + e] = exp2f(s[nt][2 + e] - b1);
        sum0 += s[nt][e];
        sum1 += s[nt][2 + e];
      }
    l0 = l0 * alpha0 + sum0;
    l1 = l1 * alpha1 + sum1;
#pragma unroll
    for (int dt = 0; dt < HD / 8; dt++) {
      o[dt][0] *= alpha0;
      o[dt][1] *= alpha0;
      o[dt][2] *= alpha1;
      o[dt][3] *= alpha1;
    }
    // O += P V, 16 keys per step: S tiles 2ks and 2ks + 1 are the A fragment of keys
    // 16 ks .. 16 ks + 15 (the m16n8 accumulator layout is the A layout's halves).
#pragma unroll
    for (int ks = 0; ks < PMMA_KEYS / 16; ks++) {
      uint32_t pa[4] = {pack_bf16(s[2 * ks][0], s[2 * ks][1]),
                        pack_bf16(s[2 * ks][2], s[2 * ks][3]),
                        pack_bf16(s[2 * ks + 1][0], s[2 * ks + 1][1]),
                        pack_bf16(s[2 * ks + 1][2], s[2 * ks + 1][3])};
      const bf16* vrow = &sm.v[buf][16 * ks + (lane & 15)][0];
#pragma unroll
      for (int dt = 0; dt < HD / 8; dt++) {
        uint32_t vb0, vb1;
        ldmatrix_x2_trans(vb0, vb1, vrow + dt * 8);
        mma_bf16_16816(o[dt], pa, vb0, vb1);
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  // Each lane summed its own columns of l: add the quad's.
  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
  l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
  float inv0 = l0 > 0.f ? 1.f / l0 : 0.f, inv1 = l1 > 0.f ? 1.f / l1 : 0.f;
  bool w0 = in0 && t0 + r0 < tokens, w1 = in1 && t0 + r1 < tokens;
  bf16* out0 = out + (size_t)(t0 + r0) * q_size + head * HD + c2;
  bf16* out1 = out + (size_t)(t0 + r1) * q_size + head * HD + c2;
#pragma unroll
  for (int dt = 0; dt < HD / 8; dt++) {
    if (w0)
      *reinterpret_cast<uint32_t*>(out0 + dt * 8) = pack_bf16(o[dt][0] * inv0, o[dt][1] * inv0);
    if (w1)
      *reinterpret_cast<uint32_t*>(out1 + dt * 8) = pack_bf16(o[dt][2] * inv1, o[dt][3] * inv1);
  }
}

template <int HD, bool FP8, class E>
__device__ __forceinline__ void pmma_attention(
    const bf16* __restrict__ q, const E* __restrict__ k_cache, const E* __restrict__ v_cache,
    const __half* __restrict__ k_scale, const __half* __restrict__ v_scale,
    const int* __restrict__ token_seq, const int* __restrict__ positions,
    const int* __restrict__ block_tables, int max_blocks, int block_size,
    bf16* __restrict__ out, int tokens, int num_heads, int num_kv_heads, float scale) {
  using SM = typename std::conditional<FP8, PmmaSmemFp8<HD>, PmmaSmem<HD>>::type;
  extern __shared__ uint4 pmma_smem[];
  SM& sm = *reinterpret_cast<SM*>(pmma_smem);
  int t0 = blockIdx.x * PMMA_TOKENS, kvh = blockIdx.y;
  int group = num_heads / num_kv_heads;
  int lane = threadIdx.x & 31, head = kvh * group + (threadIdx.x >> 5);
  int q_size = num_heads * HD, kv_size = num_kv_heads * HD;
  if (threadIdx.x < PMMA_TOKENS) {
    int t = t0 + threadIdx.x;
    bool live = t < tokens;
    sm.seq[threadIdx.x] = live ? token_seq[t] : -1;
    sm.pos[threadIdx.x] = live ? positions[t] : -1;
  }
  // The warp's Q rows into its shared tile (rows past the last token copy the last token's:
  // their results are not written).
  bf16 (*qs)[HD + 8] = sm.q[0] + (threadIdx.x >> 5) * PMMA_TOKENS;
  for (int i = lane; i < PMMA_TOKENS * (HD / 8); i += 32) {
    int row = i / (HD / 8), ch = i - row * (HD / 8);
    cp_async16(&qs[row][ch * 8], q + (size_t)min(t0 + row, tokens - 1) * q_size + head * HD
               + ch * 8, 16);
  }
  cp_async_commit();
  cp_async_wait_all();
  __syncthreads();
  float scale_log2 = scale * 1.4426950408889634f;
  // Runs of rows of one sequence, in turn (uniform across the block: barriers inside).
  for (int rs = 0; rs < PMMA_TOKENS;) {
    int seq = sm.seq[rs], re = rs + 1, max_pos = sm.pos[rs];
    while (re < PMMA_TOKENS && sm.seq[re] == seq) max_pos = max(max_pos, sm.pos[re++]);
    if (seq >= 0)
      pmma_pass<HD, FP8>(sm, qs, k_cache, v_cache, k_scale, v_scale,
                         block_tables + (size_t)seq * max_blocks, block_size, kv_size, kvh,
                         num_kv_heads, rs, re, max_pos, scale_log2, out, t0, tokens, q_size,
                         head);
    rs = re;
  }
}

// Launch: grid (ceil(tokens / 16), num_kv_heads), block 32 * (num_heads / num_kv_heads) (a
// warp per query head of the group, at most PMMA_MAX_GROUP), dynamic shared memory
// PmmaSmem<head_dim> with a Q tile per warp (Kernels.mmaSmem). Arguments as
// paged_attention_gqa_bf16's, plus tokens; head_dim 64 or 128 (the _hd64 / _hd128 entries).
// Positions < 0 (padding) give zeros. Rows past `tokens` are not written.
#define PMMA_ENTRY(NAME, HD)                                                                   \
  extern "C" __global__ void __launch_bounds__(32 * PMMA_MAX_GROUP, 2)                        \
  NAME(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,                          \
       const bf16* __restrict__ v_cache, const int* __restrict__ token_seq,                   \
       const int* __restrict__ positions, const int* __restrict__ block_tables,               \
       int max_blocks, int block_size, bf16* __restrict__ out, int tokens, int num_heads,     \
       int num_kv_heads, float scale) {                                                       \
    pdl_enter();                                                                              \
    pmma_attention<HD, false>(q, k_cache, v_cache, nullptr, nullptr, token_seq, positions,    \
                              block_tables, max_blocks, block_size, out, tokens, num_heads,   \
                              num_kv_heads, scale);                                           \
  }
PMMA_ENTRY(paged_attention_mma_hd64_bf16, 64)
PMMA_ENTRY(paged_attention_mma_hd128_bf16, 128)

// The same over an FP8 cache (qkv_rope_cache_fp8's layout: e4m3 rows, an fp16 scale per slot
// and KV head for K and for V), dynamic shared memory PmmaSmemFp8<head_dim> with a Q tile per
// warp (Kernels.mmaSmemFp8); head_dim 64 or 128.
#define PMMA_FP8_ENTRY(NAME, HD)                                                               \
  extern "C" __global__ void __launch_bounds__(32 * PMMA_MAX_GROUP, 2)                        \
  NAME(const bf16* __restrict__ q, const __nv_fp8_storage_t* __restrict__ k_cache,            \
       const __nv_fp8_storage_t* __restrict__ v_cache, const __half* __restrict__ k_scale,    \
       const __half* __restrict__ v_scale, const int* __restrict__ token_seq,                 \
       const int* __restrict__ positions, const int* __restrict__ block_tables,               \
       int max_blocks, int block_size, bf16* __restrict__ out, int tokens, int num_heads,     \
       int num_kv_heads, float scale) {                                                       \
    pdl_enter();                                                                              \
    pmma_attention<HD, true>(q, k_cache, v_cache, k_scale, v_scale, token_seq, positions,     \
                             block_tables, max_blocks, block_size, out, tokens, num_heads,    \
                             num_kv_heads, scale);                                            \
  }
PMMA_FP8_ENTRY(paged_attention_mma_hd64_fp8, 64)
PMMA_FP8_ENTRY(paged_attention_mma_hd128_fp8, 128)

// Decode attention on the tensor cores: the arithmetic above with the m16 tile's rows turned
// from 16 tokens to one token's query heads. A block serves one token, one KV head and one
// split of its context (split_keys, attention.cu; or the whole context): the KV head's group
// are rows 0..group-1 of Q (rows up to 15 zero: the MMA's other half idles, which costs
// nothing here since the kernel waits on memory, not on the tensor cores). Each staged tile of
// 64 keys is split between the 4 warps, 16 keys each: S = Q K^T (2 n-tiles x HD / 16 k-steps),
// an online softmax per row, O += P V (one k-step x HD / 8 n-tiles). The warps merge in warp
// order at the end, and the splits by attention.cu's merge (deterministic). The CUDA-core GQA
// kernels spend some 3,000 instructions a warp on 32 keys of 7 heads (FMAs per score and per
// output dim, a smem load per q chunk); this spends about 200 on 16.
//
// Over an FP8 cache the rows are staged as they are stored (half the bytes). Each tile's V rows
// are converted once into an fp16 tile, each e4m3 pair by one cvt (exact: e4m3 lies within
// fp16); K's fragments are read from the stage as stored and converted in registers. The same
// arithmetic runs on fp16 MMAs: Q goes in times the log2 scale, and the rows' scales stay out
// of the tiles (a score takes its key's K scale in fp32, as the CUDA-core kernels' do; P its
// key's V scale before it is rounded for P V). Why: converted times their scales into
// bf16 (unpacked to fp32, multiplied, packed: some 40 instructions a 16-byte chunk, against 11),
// the tiles bound the kernel, and 14B GPTQ at batch 256 (contexts 512-768) spent 9.9 ms a step
// in it over an FP8 cache against 7.6 over bf16, half the bytes (one H200, eager profile).
#define DMMA_WARPS 4  // warps of the _bf16, _deep_bf16 and _fp8 entries: tiles of 64 keys
// The _wide_bf16 and _wide_fp8 entries: 8 warps, tiles of 128 keys, DMMA_WIDE_STAGES of them,
// for one-wave grids and split contexts (Kernels.attentionDecodeMma). Where the grid
// is one block an SM or less, 4 warps left one warp a scheduler, which waited on each of its
// instructions in turn (Nsight Compute, 14B heads at 16 tokens and 256 keys: 0.18 instructions
// issued a scheduler-cycle); twice the warps take half the tiles each. One H100, bench gemm
// --attention, 16 tokens: 14B heads, 256 keys, 9.8 us (the deep twin 10.1, 11.2 before the
// staging below lost its divisions); 7B heads, 256 keys, split: 9.4 against 14.6.
#define DMMA_WIDE_WARPS 8
// Tile stages (over FP8: stages of the rows as stored): DMMA_STAGES in the _bf16 and _fp8
// entries, DMMA_WIDE_STAGES in the _wide ones, DMMA_DEEP_STAGES in the _deep_bf16 ones (which
// Kernels takes with redress.cuda.decodeWide=false) where the grid is one
// block an SM or less (then the smem costs no occupancy): 14B GPTQ batch 16 (128 blocks, contexts
// 128-384) read 2,402 output tokens/s with 4 stages against 2,334-2,345 with 2, 3 stages 2,363
// (one H100, same call); at 64 and 256 sequences 4 stages lost a third (one block an SM).
#ifndef DMMA_STAGES
#define DMMA_STAGES 2
#endif
#ifndef DMMA_DEEP_STAGES
#define DMMA_DEEP_STAGES 4
#endif
#ifndef DMMA_WIDE_STAGES
#define DMMA_WIDE_STAGES 2
#endif
// Kernels reads them, in the order of its DecodeMma twins (plain, deep, wide).
__device__ const int dmma_stages[3] = {DMMA_STAGES, DMMA_DEEP_STAGES, DMMA_WIDE_STAGES};

// BF tiles of 16 W keys: the bf16 stages over a bf16 cache; over FP8 one, whose V rows hold
// fp16 (its K rows go unused), the raw stages following this struct in shared memory
// (Kernels.decodeMmaSmem).
template <int HD, int BF, int W>
struct __align__(16) DmmaSmem {
  union {
    struct {
      bf16 k[BF][16 * W][HD + 8];  // rows padded: a fragment's 8 rows, 8 banks
      bf16 v[BF][16 * W][HD + 8];
    } kv;
    struct {  // after the last tile: the warps' rows for the merge, and its weights
      float o[W][PMMA_MAX_GROUP][HD];
      float m[W][PMMA_MAX_GROUP], l[W][PMMA_MAX_GROUP], c[W][PMMA_MAX_GROUP];
      float bm[PMMA_MAX_GROUP], bl[PMMA_MAX_GROUP];
    } merge;
  } u;
  float ksc[16 * W], vsc[16 * W];  // FP8: the converted tile's rows' K and V scales
  int last;
};
// Kernels.decodeMmaSmem's bytes: BF tiles of K and V rows of 16 W keys (padded), the scales,
// the flag.
constexpr int dmma_smem_bytes(int hd, int bf, int w) {
  return bf * 2 * 16 * w * (hd + 8) * 2 + 8 * 16 * w + 16;
}
static_assert(sizeof(DmmaSmem<128, DMMA_STAGES, 4>) == dmma_smem_bytes(128, DMMA_STAGES, 4) &&
                  sizeof(DmmaSmem<64, DMMA_STAGES, 4>) == dmma_smem_bytes(64, DMMA_STAGES, 4) &&
                  sizeof(DmmaSmem<128, DMMA_DEEP_STAGES, 4>) ==
                      dmma_smem_bytes(128, DMMA_DEEP_STAGES, 4) &&
                  sizeof(DmmaSmem<128, DMMA_WIDE_STAGES, 8>) ==
                      dmma_smem_bytes(128, DMMA_WIDE_STAGES, 8) &&
                  sizeof(DmmaSmem<64, DMMA_WIDE_STAGES, 8>) ==
                      dmma_smem_bytes(64, DMMA_WIDE_STAGES, 8) &&
                  sizeof(DmmaSmem<128, 1, 4>) == dmma_smem_bytes(128, 1, 4) &&
                  sizeof(DmmaSmem<64, 1, 4>) == dmma_smem_bytes(64, 1, 4) &&
                  sizeof(DmmaSmem<128, 1, 8>) == dmma_smem_bytes(128, 1, 8) &&
                  sizeof(DmmaSmem<64, 1, 8>) == dmma_smem_bytes(64, 1, 8),
              "Kernels.decodeMmaSmem");

// -DCHAIN_TIMING=N (w4a16_chain.cu's timeline builds) also times the one-token attention
// launches that run while the chain's launch counter reads N .. N + 2: each block prints "AT
// counter kv-head split start wait tile0 tiles merged tiles" (globaltimer ns: its start, the
// wait's end, its first tile ready, its last tile done, the merge done).
#ifdef CHAIN_TIMING
extern __device__ unsigned chain_launches;
#define DMMA_MARK(i) { if (threadIdx.x == 0) dmma_tm[i] = global_ns(); }
#else
#define DMMA_MARK(i) {}
#endif

// -DDMMA_CLOCKS=N: launches N .. N + 3 of the one-token attention (counted by block 0) print
// each block's SM clock between its marks ("AC launch kv-head split tiles" then the cycles:
// the early staging issued, the wait, Q in, the first tile ready, the tiles done, the warps'
// rows stored, the merge and its stores): where the attention's time goes, at cycle
// resolution (the globaltimer's of CHAIN_TIMING is too coarse for it). Thread 0 waits for its
// Q loads at their mark, so its own row's staging starts later than in the kept build.
#ifdef DMMA_CLOCKS
__device__ unsigned dmma_clock_launches;
#define DMMA_CLK(i) { if (threadIdx.x == 0) dmma_ck[i] = clock64(); }
#else
#define DMMA_CLK(i) {}
#endif

// KV: attention.cu's KvBf16 or KvFp8. W warps, each 16 keys of a tile.
template <int HD, int S, int W, typename KV>
__device__ __forceinline__ void dmma_attention(
    const bf16* __restrict__ q, const KV& kv, const int* __restrict__ token_seq,
    const int* __restrict__ positions, const int* __restrict__ block_tables, int max_blocks,
    int block_size, bf16* __restrict__ out, int num_heads, int num_kv_heads, float scale,
    float* __restrict__ part_o, float* __restrict__ part_ml, int* __restrict__ counters,
    int split_min_keys, int flags) {
  constexpr bool FP8 = sizeof(typename KV::Elem) == 1;
  constexpr int BF = FP8 ? 1 : S;
  // (the FP8 prologue stages the early tiles' scales into one set of registers: two stages)
  static_assert(!FP8 || S <= 2, "FP8 decode tiles: at most two stages");
  constexpr int RB = HD * sizeof(typename KV::Elem);         // bytes of a stored row
  constexpr int RCH = RB / 16;                               // its 16-byte chunks
  // FP8: a staged row's stride, padded 16 bytes so that the K fragments' 2-byte loads straight
  // from the stage (8 rows a fragment) fall in distinct banks
  constexpr int RBP = RB + 16;
  constexpr int KEYS = 16 * W;                               // keys a tile
  constexpr int RSTEP = 32 * W / RCH;                        // rows the block stages at once
  constexpr int CPT = KEYS / RSTEP;                          // chunks a thread stages a tensor
  extern __shared__ uint4 dmma_smem[];
  DmmaSmem<HD, BF, W>& sm = *reinterpret_cast<DmmaSmem<HD, BF, W>*>(dmma_smem);
  // FP8: stage s's K rows, then its V rows, RBP bytes apart.
  unsigned char* raw = reinterpret_cast<unsigned char*>(dmma_smem) + sizeof(DmmaSmem<HD, BF, W>);
  int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  KT_SCOPE(1)
#ifdef CHAIN_TIMING
  unsigned long long dmma_tm[5] = {};
  unsigned dmma_launch = *(volatile unsigned*)&chain_launches;
#endif
  DMMA_MARK(0)
#ifdef DMMA_CLOCKS
  long long dmma_ck[8] = {};
#endif
  DMMA_CLK(0)
  int group = num_heads / num_kv_heads;
  int q_size = num_heads * HD, kv_size = num_kv_heads * HD;
  // Before the wait for the previous kernel (the QKV projection, which writes Q and this
  // token's K and V): the positions, sequences and block tables are the step's metadata,
  // copied from the host before its first kernel, so the first stages' slots are looked up
  // while that kernel drains.
  int pos = positions[t];
  int n = max(pos + 1, 0);
  // The wide twin takes longer splits: at a few hundred keys a block's merge costs more than
  // its tiles take.
  int chunk = gridDim.z == 1 || n == 0 ? n : split_keys(n, split_min_keys);
  int splits = chunk > 0 ? (n + chunk - 1) / chunk : 0;
  int lo = split * chunk, hi = min(n, lo + chunk);
  int tiles = split < splits ? (hi - lo + KEYS - 1) / KEYS : 0;
  const int* table = block_tables + (size_t)(tiles > 0 ? token_seq[t] : 0) * max_blocks;
  // This thread stages chunk sch of rows srow, srow + RSTEP, ... of every tile: its column
  // of the head's rows (kvh) is fixed, so a row's address is its slot times the row bytes.
  PagedBlocks blocks(block_size);
  int srow = threadIdx.x / RCH, sch = threadIdx.x % RCH;
  auto slots_of = [&](int kt, int (&sl)[CPT]) {
#pragma unroll
    for (int j = 0; j < CPT; j++) {
      int key = lo + kt * KEYS + srow + j * RSTEP;
      sl[j] = key < hi ? blocks.slot(__ldg(table + blocks.entry(key)), key) : 0;
    }
  };
  int ahead[S > 1 ? S - 1 : 1][CPT];  // the slots of tiles 0 .. S - 2
#pragma unroll
  for (int s = 0; s < S - 1; s++)
    if (s < tiles) slots_of(s, ahead[s]);
  size_t row_bytes = (size_t)kv_size * sizeof(typename KV::Elem);
  const char* kcol = reinterpret_cast<const char*>(kv.k) + (size_t)kvh * RB + sch * 16;
  const char* vcol = reinterpret_cast<const char*>(kv.v) + (size_t)kvh * RB + sch * 16;
  // FP8: the scales of the rows this thread stages, for the tile being converted (cur) and the
  // one in flight (next); loaded as the rows are, used a tile later.
  float ks_cur[CPT], vs_cur[CPT], ks_next[CPT], vs_next[CPT];
  // Key tile kt into stage kt % S (zeros past hi: P is 0 there, and 0 x a stale
  // NaN would not be), as one cp.async group. part 1: only the rows of keys before the
  // token's own (and the zeros), uncommitted; part 2: the others, then the commit.
  auto stage = [&](int kt, const int (&sl)[CPT], float (&ksc)[CPT], float (&vsc)[CPT],
                   int part) {
    int buf = kt % S;
#pragma unroll
    for (int j = 0; j < CPT; j++) {
      int row = srow + j * RSTEP, key = lo + kt * KEYS + row;
      bool ok = key < hi;
      if (part != 0 && (key < n - 1 || !ok) != (part == 1)) continue;
      int slot = sl[j];
      size_t off = (size_t)slot * row_bytes;
      if constexpr (FP8) {
        cp_async16(raw + ((buf * 2) * KEYS + row) * RBP + sch * 16, kcol + off, ok ? 16 : 0);
        cp_async16(raw + ((buf * 2 + 1) * KEYS + row) * RBP + sch * 16, vcol + off, ok ? 16 : 0);
        ksc[j] = ok ? kv.kscale(slot, kvh) : 0.f;
        vsc[j] = ok ? kv.vscale(slot, kvh) : 0.f;
      } else {
        cp_async16(&sm.u.kv.k[buf][row][sch * 8], kcol + off, ok ? 16 : 0);
        cp_async16(&sm.u.kv.v[buf][row][sch * 8], vcol + off, ok ? 16 : 0);
      }
    }
    if (part != 1) cp_async_commit();
  };
  // flags & 2 (old_keys): every key before a token's own was written by an earlier step (a
  // step of one token a sequence), not by the kernel before, so tile 0's rows of them are
  // staged before the wait: the attention between two GPTQ chains at batch 1 runs on 8 SMs,
  // one per KV head, and waited for its first tile after the QKV phase was done.
  bool early = S > 1 && (flags & 2) && tiles > 0;
  if (early) stage(0, ahead[0], ks_cur, vs_cur, 1);
  DMMA_CLK(1)
  pdl_enter();
  DMMA_CLK(2)
  DMMA_MARK(1)
  if (flags & 1) pdl_launch_dependents();
#ifdef DMMA_PROBE  // measurement build: one-token launches do nothing past the wait (wrong
  if (gridDim.x == 1) {  // results): what the attention's work costs between two kernels
    cp_async_wait_all();
    return;
  }
#endif
  bf16* o;
  gqa_split_block(out, positions, num_heads, num_kv_heads, HD, o);
  if (tiles == 0) return;  // a padding token (its output zeroed above), or a split past n
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int r0 = lane >> 2, c2 = 2 * (lane & 3);
  // Q's A fragments for every k-step, held for the whole context: row r0 is query head r0 of
  // the group (zero past it); rows 8..15 (fragment registers 1 and 3) are zero.
  uint32_t qa[HD / 16][2];
  const bf16* qr = q + (size_t)t * q_size + (size_t)(kvh * group + min(r0, group - 1)) * HD;
#pragma unroll
  for (int ks = 0; ks < HD / 16; ks++) {
    qa[ks][0] = r0 < group ? __ldg(reinterpret_cast<const unsigned*>(qr + 16 * ks + c2)) : 0u;
    qa[ks][1] = r0 < group ? __ldg(reinterpret_cast<const unsigned*>(qr + 16 * ks + 8 + c2))
                           : 0u;
  }
#ifdef DMMA_CLOCKS
  if (threadIdx.x == 0) {  // waits for Q's loads (the store never happens)
    if ((qa[0][0] ^ qa[HD / 16 - 1][1]) == 0x7fc17fc1u) out[0] = bf16();
    dmma_ck[3] = clock64();
  }
#endif
  float scale_log2 = scale * 1.4426950408889634f;
  if constexpr (FP8) {  // Q times the log2 scale, as fp16 pairs (the tile's fp16 MMAs)
#pragma unroll
    for (int ks = 0; ks < HD / 16; ks++)
#pragma unroll
      for (int h = 0; h < 2; h++) {
        float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&qa[ks][h]));
        qa[ks][h] = pack_f16(f.x * scale_log2, f.y * scale_log2);
      }
  }
  float m0 = -INFINITY, l0 = 0.f;
  float acc[HD / 8][4];
#pragma unroll
  for (int dt = 0; dt < HD / 8; dt++) acc[dt][0] = acc[dt][1] = acc[dt][2] = acc[dt][3] = 0.f;
  // FP8: this thread's chunks of raw stage kt % S's V rows into the fp16 tile (16 values a
  // chunk: eight cvts, two 16-byte stores; P V's fragments come by ldmatrix.trans, which takes
  // 16-bit values; the K fragments are read from the stage as they are), and its rows' scales.
  auto convert = [&](int kt) {
    int buf = kt % S;
#pragma unroll
    for (int j = 0; j < CPT; j++) {
      int row = srow + j * RSTEP, ch = sch;
      uint4 r = *reinterpret_cast<const uint4*>(raw + ((buf * 2 + 1) * KEYS + row) * RBP
                                                + ch * 16);
      fp8_chunk_f16(r, &sm.u.kv.v[0][row][ch * 16]);
      if (sch == 0) {
        sm.ksc[row] = ks_cur[j];
        sm.vsc[row] = vs_cur[j];
      }
    }
  };
#pragma unroll
  for (int s = 0; s < S - 1; s++) {
    if (s < tiles) stage(s, ahead[s], ks_cur, vs_cur, s == 0 && early ? 2 : 0);
    else cp_async_commit();  // empty groups keep the wait count below uniform
  }
  for (int kt = 0; kt < tiles; kt++) {
    // The stage refilled here was last read in the previous iteration, which ended at a barrier.
    if (kt + S - 1 < tiles) {
      int sl[CPT];
      slots_of(kt + S - 1, sl);
      stage(kt + S - 1, sl, ks_next, vs_next, 0);
    } else {
      cp_async_commit();
    }
    cp_async_wait<S - 1>();
    __syncthreads();
    if (kt == 0) DMMA_MARK(2)
    if (kt == 0) DMMA_CLK(4)
    int buf = 0;
    if constexpr (FP8) {
      convert(kt);
#pragma unroll
      for (int j = 0; j < CPT; j++) {
        ks_cur[j] = ks_next[j];
        vs_cur[j] = vs_next[j];
      }
      __syncthreads();
    } else {
      buf = kt % S;
    }
    int kr = 16 * warp;  // the warp's first key row of the tile
    float s[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
    for (int ks = 0; ks < HD / 16; ks++) {
      uint32_t a[4] = {qa[ks][0], 0u, qa[ks][1], 0u};
#pragma unroll
      for (int nt = 0; nt < 2; nt++) {
        if constexpr (FP8) {  // the key row's e4m3 pairs at c2 and c2 + 8, converted here
          const unsigned char* kb =
              raw + ((kt % S) * 2 * KEYS + kr + nt * 8 + r0) * RBP + 16 * ks + c2;
          mma_f16_16816(s[nt], a, fp8x2_f16x2(*reinterpret_cast<const unsigned short*>(kb)),
                        fp8x2_f16x2(*reinterpret_cast<const unsigned short*>(kb + 8)));
        } else {
          const bf16* krow = &sm.u.kv.k[buf][kr + nt * 8 + r0][c2 + 16 * ks];
          mma_bf16_16816(s[nt], a, ld_b32(krow), ld_b32(krow + 8));
        }
      }
    }
    // Row r0's 16 scores sit in the lane's s[nt][0..1] and its quad's; rows 8..15 are unused.
    int kbase = lo + kt * KEYS + kr;
    float mx = m0;
#pragma unroll
    for (int nt = 0; nt < 2; nt++)
#pragma unroll
      for (int e = 0; e < 2; e++) {
        // FP8: Q came in log2-scaled, the key's K scale goes on here
        float f = FP8 ? sm.ksc[kr + nt * 8 + c2 + e] : scale_log2;
        s[nt][e] = kbase + nt * 8 + c2 + e < hi ? s[nt][e] * f : -INFINITY;
        mx = fmaxf(mx, s[nt][e]);
      }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    float b = mx == -INFINITY ? 0.f : mx;  // no key yet: p and alpha stay 0
    float alpha = exp2f(m0 - b), sum = 0.f;
    m0 = mx;
#pragma unroll
    for (int nt = 0; nt < 2; nt++)
#pragma unroll
      for (int e = 0; e < 2; e++) {
        s[nt][e] = exp2f(s[nt][e] - b);
        sum += s[nt][e];
      }
    l0 = l0 * alpha + sum;
    // P (row r0, keys kr..kr+15) is the A fragment of the one k-step of O += P V (FP8: times
    // each key's V scale, as fp16).
    uint32_t pa[4];
    if constexpr (FP8) {  // times 256 too, so that small scales keep the weights normal in
      // fp16 (V's amax / 448 over a row of amax 0.03 left them subnormal); undone at the merge
      const float* vs = &sm.vsc[kr + c2];
      pa[0] = pack_f16(s[0][0] * vs[0] * 256.f, s[0][1] * vs[1] * 256.f);
      pa[2] = pack_f16(s[1][0] * vs[8] * 256.f, s[1][1] * vs[9] * 256.f);
    } else {
      pa[0] = pack_bf16(s[0][0], s[0][1]);
      pa[2] = pack_bf16(s[1][0], s[1][1]);
    }
    pa[1] = pa[3] = 0u;
    const bf16* vrow = &sm.u.kv.v[buf][kr + (lane & 15)][0];
#pragma unroll
    for (int dt = 0; dt < HD / 8; dt++) {
      acc[dt][0] *= alpha;
      acc[dt][1] *= alpha;
      uint32_t vb0, vb1;
      ldmatrix_x2_trans(vb0, vb1, vrow + dt * 8);
      if constexpr (FP8)
        mma_f16_16816(acc[dt], pa, vb0, vb1);
      else
        mma_bf16_16816(acc[dt], pa, vb0, vb1);
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait_all();
  DMMA_MARK(3)
  DMMA_CLK(5)
  // Each lane summed its own columns of l: add the quad's.
  l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
  l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
  // The warps' rows through shared memory (the tiles' space; the loop ended at a barrier).
  if (r0 < group) {
#pragma unroll
    for (int dt = 0; dt < HD / 8; dt++) {
      // (FP8: the weights' factor 256 off, exactly)
      sm.u.merge.o[warp][r0][dt * 8 + c2] = FP8 ? acc[dt][0] * (1.f / 256) : acc[dt][0];
      sm.u.merge.o[warp][r0][dt * 8 + c2 + 1] = FP8 ? acc[dt][1] * (1.f / 256) : acc[dt][1];
    }
    if (c2 == 0) {
      sm.u.merge.m[warp][r0] = m0;
      sm.u.merge.l[warp][r0] = l0;
    }
  }
  __syncthreads();
  DMMA_CLK(6)
  bool whole = splits == 1;
  size_t first = ((size_t)t * num_heads + kvh * group) * SPLIT_MAX;
  // The merge: each row's weights once (a warp's exp2 against the block's max), then a thread
  // a row's four dims at a time, the warps in order (the sums a thread an output made before:
  // the same bits, with one exp2 a warp and row, not one a warp and output, and float4 loads
  // and stores).
  if (threadIdx.x < group) {
    int g = threadIdx.x;
    float bm = -INFINITY;
#pragma unroll
    for (int w = 0; w < W; w++) bm = fmaxf(bm, sm.u.merge.m[w][g]);
    float bl = 0.f;
#pragma unroll
    for (int w = 0; w < W; w++) {
      float mw = sm.u.merge.m[w][g];
      float c = mw == -INFINITY ? 0.f : exp2f(mw - bm);  // a warp without keys
      sm.u.merge.c[w][g] = c;
      bl = fmaf(sm.u.merge.l[w][g], c, bl);
    }
    sm.u.merge.bm[g] = bm;
    sm.u.merge.bl[g] = bl;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < group * HD / 4; i += blockDim.x) {
    int g = i / (HD / 4), d = 4 * (i % (HD / 4));
    float4 bo = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int w = 0; w < W; w++) {
      float c = sm.u.merge.c[w][g];
      float4 ow = *reinterpret_cast<const float4*>(&sm.u.merge.o[w][g][d]);
      bo.x = fmaf(ow.x, c, bo.x);
      bo.y = fmaf(ow.y, c, bo.y);
      bo.z = fmaf(ow.z, c, bo.z);
      bo.w = fmaf(ow.w, c, bo.w);
    }
    float bl = sm.u.merge.bl[g];
    if (whole) {
      *reinterpret_cast<uint2*>(o + g * HD + d) =
          make_uint2(pack_bf16(bo.x / bl, bo.y / bl), pack_bf16(bo.z / bl, bo.w / bl));
      continue;
    }
    // merge_splits works in the natural-log domain: the max goes back from log2.
    size_t at = first + (size_t)g * SPLIT_MAX + split;
    *reinterpret_cast<float4*>(part_o + at * HD + d) = bo;
    if (d == 0)
      reinterpret_cast<float2*>(part_ml)[at] =
          make_float2(sm.u.merge.bm[g] * 0.6931471805599453f, bl);
  }
#ifdef DMMA_CLOCKS
  DMMA_CLK(7)
  if (threadIdx.x == 0 && gridDim.x == 1) {
    unsigned at = *(volatile unsigned*)&dmma_clock_launches;
    if (at - DMMA_CLOCKS < 4u)
      printf("AC %u %d %d %d %lld %lld %lld %lld %lld %lld %lld\n", at, kvh, split, tiles,
             dmma_ck[1] - dmma_ck[0], dmma_ck[2] - dmma_ck[1], dmma_ck[3] - dmma_ck[2],
             dmma_ck[4] - dmma_ck[3], dmma_ck[5] - dmma_ck[4], dmma_ck[6] - dmma_ck[5],
             dmma_ck[7] - dmma_ck[6]);
    if (blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0)
      atomicAdd(&dmma_clock_launches, 1u);
  }
#endif
#ifdef CHAIN_TIMING
  DMMA_MARK(4)
  if (threadIdx.x == 0 && gridDim.x == 1 && dmma_launch - CHAIN_TIMING < 3u)
    printf("AT %u %d %d %llu %llu %llu %llu %llu %d\n", dmma_launch, kvh, split, dmma_tm[0],
           dmma_tm[1], dmma_tm[2], dmma_tm[3], dmma_tm[4], tiles);
#endif
  if (whole || !last_split(counters + (size_t)t * num_kv_heads + kvh, splits, &sm.last)) return;
  for (int i = threadIdx.x; i < group * HD; i += blockDim.x) {
    int g = i / HD, d = i % HD;
    o[g * HD + d] = to_bf(merge_splits(part_o, part_ml, first + (size_t)g * SPLIT_MAX, splits,
                                       HD, d));
  }
}

// Launch: grid (tokens, num_kv_heads, splits), block 32 * DMMA_WARPS (32 * DMMA_WIDE_WARPS for
// the _wide entries), dynamic shared memory
// Kernels.decodeMmaSmem. splits SPLIT_MAX: each context cut as split_keys(n, split_min_keys)
// (Kernels: SPLIT_MIN_KEYS, longer for the wide twin), the partials and counters as
// paged_attention_gqa_split_bf16's; splits 1: a block takes its whole context (part_o, part_ml,
// counters unused). flags & 1 (early next): the next kernel may launch at once (as
// paged_attention_split_bf16's, before the GPTQ chain). Other arguments as
// paged_attention_gqa_bf16's (the _fp8 entries: paged_attention_gqa_fp8's caches and
// scales); head_dim 64 or 128 (_hd64 / _hd128), at most PMMA_MAX_GROUP query heads per KV
// head. Three blocks an SM at head_dim 128 (one for the _deep_bf16 and _wide entries).
#define DMMA_ARGS                                                                              \
  const int *__restrict__ token_seq, const int *__restrict__ positions,                       \
      const int *__restrict__ block_tables, int max_blocks, int block_size,                   \
      bf16 *__restrict__ out, int num_heads, int num_kv_heads, float scale,                   \
      float *__restrict__ part_o, float *__restrict__ part_ml, int *__restrict__ counters,    \
      int split_min_keys, int flags
#define DMMA_PASS                                                                              \
  token_seq, positions, block_tables, max_blocks, block_size, out, num_heads, num_kv_heads,   \
      scale, part_o, part_ml, counters, split_min_keys, flags
// A bf16-cache entry with S stages of W warps' tiles, MIN_BLOCKS blocks an SM to fit.
#define DMMA_BF16_ENTRY(NAME, HD, S, W, MIN_BLOCKS)                                            \
  extern "C" __global__ void __launch_bounds__(32 * W, MIN_BLOCKS)                            \
  NAME(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,                          \
       const bf16* __restrict__ v_cache, DMMA_ARGS) {                                         \
    dmma_attention<HD, S, W>(q, KvBf16{k_cache, v_cache}, DMMA_PASS);                         \
  }
// An FP8-cache entry: S stages of the rows as stored, W warps' tiles.
#define DMMA_FP8_ENTRY(NAME, HD, S, W, MIN_BLOCKS)                                             \
  extern "C" __global__ void __launch_bounds__(32 * W, MIN_BLOCKS)                            \
  NAME(const bf16* __restrict__ q, const __nv_fp8_storage_t* __restrict__ k_cache,            \
       const __nv_fp8_storage_t* __restrict__ v_cache, const __half* __restrict__ k_scale,    \
       const __half* __restrict__ v_scale, DMMA_ARGS) {                                       \
    dmma_attention<HD, S, W>(q, KvFp8{k_cache, v_cache, k_scale, v_scale, num_kv_heads},      \
                             DMMA_PASS);                                                      \
  }
#define DMMA_ENTRY(NAME, HD)                                                                   \
  DMMA_BF16_ENTRY(NAME##_bf16, HD, DMMA_STAGES, DMMA_WARPS, 3)                                 \
  DMMA_BF16_ENTRY(NAME##_deep_bf16, HD, DMMA_DEEP_STAGES, DMMA_WARPS, 1)                       \
  DMMA_BF16_ENTRY(NAME##_wide_bf16, HD, DMMA_WIDE_STAGES, DMMA_WIDE_WARPS, 1)                  \
  DMMA_FP8_ENTRY(NAME##_fp8, HD, DMMA_STAGES, DMMA_WARPS, 3)                                   \
  DMMA_FP8_ENTRY(NAME##_wide_fp8, HD, DMMA_WIDE_STAGES, DMMA_WIDE_WARPS, 1)
DMMA_ENTRY(paged_attention_decode_mma_hd64, 64)
DMMA_ENTRY(paged_attention_decode_mma_hd128, 128)
