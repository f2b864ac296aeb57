// Paged attention for prefill chunks and decodes in one kernel: each new token attends to its
// sequence's positions [0, position] through the block table (causal by construction, cached
// prefix blocks included). GQA-aware: a thread block serves heads_per_block query heads of one
// KV head, reading each K/V row once for all of them.
//
// Keys go in tiles of 32, one key per lane: a lane computes its key's scores for every head
// from 16-byte loads (no shuffles per key), the warp updates an online softmax per head once
// per tile, then multiplies the tile's V rows (lane d holds output dims d, d+32, ...). Warps
// take tiles in turn and merge at the end in a fixed order (deterministic).
#include "common.cuh"
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#define MAX_WARPS 16
#define MAX_GROUP 8     // query heads per block
#define MAX_PER_LANE 4  // head_dim <= 128 (output dims per lane)
#define MAX_HEAD_DIM 128

__device__ __forceinline__ void unpack8(uint4 raw, float* f) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; i++) {
    float2 v = __bfloat1622float2(h[i]);
    f[2 * i] = v.x;
    f[2 * i + 1] = v.y;
  }
}

// How the one-block kernel reads the paged cache: bf16 rows, or fp8 (e4m3) rows with one fp16
// scale per (slot, KV head) for K and for V (the FP8 KV cache: about half the bytes a token).
// Raw8: the raw type of 8 consecutive dims; krow/vrow point at a slot's head row.
struct KvBf16 {
  typedef uint4 Raw8;
  typedef bf16 Elem;
  const bf16* k;
  const bf16* v;
  __device__ __forceinline__ const Raw8* krow(size_t row) const {
    return reinterpret_cast<const Raw8*>(k + row);
  }
  __device__ __forceinline__ const Elem* vrow(size_t row) const { return v + row; }
  __device__ __forceinline__ float kscale(int, int) const { return 1.f; }
  __device__ __forceinline__ float vscale(int, int) const { return 1.f; }
  __device__ __forceinline__ static void unpack(Raw8 raw, float* f) { unpack8(raw, f); }
  __device__ __forceinline__ static float value(Elem e) { return to_f(e); }
};

struct KvFp8 {
  typedef uint2 Raw8;
  typedef __nv_fp8_storage_t Elem;
  const Elem* k;
  const Elem* v;
  const __half* ks;  // (slots, num_kv_heads)
  const __half* vs;
  int num_kv_heads;
  __device__ __forceinline__ const Raw8* krow(size_t row) const {
    return reinterpret_cast<const Raw8*>(k + row);
  }
  __device__ __forceinline__ const Elem* vrow(size_t row) const { return v + row; }
  __device__ __forceinline__ float kscale(int slot, int kvh) const {
    return __half2float(ks[(size_t)slot * num_kv_heads + kvh]);
  }
  __device__ __forceinline__ float vscale(int slot, int kvh) const {
    return __half2float(vs[(size_t)slot * num_kv_heads + kvh]);
  }
  __device__ __forceinline__ static void unpack(Raw8 raw, float* f) {
    const __nv_fp8x2_storage_t* p = reinterpret_cast<const __nv_fp8x2_storage_t*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; i++) {
      float2 v = __half22float2(__half2(__nv_cvt_fp8x2_to_halfraw2(p[i], __NV_E4M3)));
      f[2 * i] = v.x;
      f[2 * i + 1] = v.y;
    }
  }
  __device__ __forceinline__ static float value(Elem e) {
    return __half2float(__half(__nv_cvt_fp8_to_halfraw(e, __NV_E4M3)));
  }
};

// Attends G query heads (the first `group` of them live; qs holds them, pre-scaled) to keys
// [lo, hi] of one sequence. The warp takes the tiles lo + 32 * (warp + warps * n) and keeps per
// head its running max m, sum l and unnormalized output acc (lane d holds dims d + 32 e).
// KEY_LOADS 16-byte K loads per lane and the V rows of VALUE_LOADS keys (dividing 32) are in
// flight before their use, instead of one load's latency per step; more costs registers.
template <int G, int KEY_LOADS, int VALUE_LOADS, typename KV>
__device__ __forceinline__ void attend_keys(const float (*qs)[MAX_HEAD_DIM], int group,
                                            const KV& kv,
                                            const int* __restrict__ table, int block_size,
                                            int kv_size, int kvh, int head_dim, int lo, int hi,
                                            int warp, int warps, float (&m)[G], float (&l)[G],
                                            float (&acc)[G][MAX_PER_LANE]) {
  int lane = threadIdx.x & 31;
#pragma unroll
  for (int g = 0; g < G; g++) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < MAX_PER_LANE; e++) acc[g][e] = 0.f;
  }

  for (int tile = lo + warp * 32; tile <= hi; tile += warps * 32) {
    int j = tile + lane;
    bool valid = j <= hi;
    int slot = valid ? table[j / block_size] * block_size + j % block_size : 0;
    // Scores of this lane's key for every head.
    float s[G];
#pragma unroll
    for (int g = 0; g < G; g++) s[g] = 0.f;
    // fp8: the key's and the value's scales (1 for bf16); each lane loads its own key's.
    float kscale = 1.f, vscale = 1.f;
    if (valid) {
      kscale = kv.kscale(slot, kvh);
      vscale = kv.vscale(slot, kvh);
      const typename KV::Raw8* krow = kv.krow((size_t)slot * kv_size + kvh * head_dim);
      int chunks = head_dim / 8;
      for (int c0 = 0; c0 < chunks; c0 += KEY_LOADS) {
        typename KV::Raw8 kraw[KEY_LOADS];
#pragma unroll
        for (int u = 0; u < KEY_LOADS; u++)
          kraw[u] = c0 + u < chunks ? __ldg(krow + c0 + u) : typename KV::Raw8{};
#pragma unroll
        for (int u = 0; u < KEY_LOADS; u++) {
          if (c0 + u < chunks) {
            float k8[8];
            KV::unpack(kraw[u], k8);
#pragma unroll
            for (int g = 0; g < G; g++) {
              if (g < group) {
                const float* qg = &qs[g][(c0 + u) * 8];
#pragma unroll
                for (int i = 0; i < 8; i++) s[g] = fmaf(qg[i], k8[i], s[g]);
              }
            }
          }
        }
      }
    }
    // Online softmax, once per tile and head.
#pragma unroll
    for (int g = 0; g < G; g++) {
      if (g < group) {
        float x = valid ? s[g] * kscale : -INFINITY;
        float m_new = fmaxf(m[g], warp_max(x));
        float corr = __expf(m[g] - m_new);  // 0 when m was -inf
        float p = valid ? __expf(x - m_new) : 0.f;
        l[g] = l[g] * corr + warp_sum(p);
#pragma unroll
        for (int e = 0; e < MAX_PER_LANE; e++) acc[g][e] *= corr;
        m[g] = m_new;
        s[g] = p;
      }
    }
    // P . V over the tile's keys in key order; lane d owns output dims d + 32 e.
    int n = min(32, hi - tile + 1);
    for (int j0 = 0; j0 < n; j0 += VALUE_LOADS) {
      float v[VALUE_LOADS][MAX_PER_LANE];
#pragma unroll
      for (int u = 0; u < VALUE_LOADS; u++) {
        int sj = __shfl_sync(0xffffffffu, slot, j0 + u);
        float vsj = __shfl_sync(0xffffffffu, vscale, j0 + u);
        const typename KV::Elem* vrow = kv.vrow((size_t)sj * kv_size + kvh * head_dim);
#pragma unroll
        for (int e = 0; e < MAX_PER_LANE; e++) {
          int d = lane + 32 * e;
          v[u][e] = j0 + u < n && d < head_dim ? KV::value(vrow[d]) * vsj : 0.f;
        }
      }
#pragma unroll
      for (int u = 0; u < VALUE_LOADS; u++) {
#pragma unroll
        for (int g = 0; g < G; g++) {
          if (g < group) {
            float pj = __shfl_sync(0xffffffffu, s[g], j0 + u);  // the whole warp, unconditionally
            if (j0 + u < n) {
#pragma unroll
              for (int e = 0; e < MAX_PER_LANE; e++) acc[g][e] = fmaf(pj, v[u][e], acc[g][e]);
            }
          }
        }
      }
    }
  }
}

// The block's softmax over its warps' keys: max gm, sum gl and unnormalized output sacc.
template <int G>
struct BlockSoftmax {
  float sm[MAX_WARPS][G];
  float sl[MAX_WARPS][G];
  float gm[G], gl[G];
  float sacc[G][32 * MAX_PER_LANE];
};

// Merges the warps' partial softmaxes into b, warp by warp in a fixed order (deterministic).
// Every thread of the block calls it; b is ready when it returns.
template <int G>
__device__ __forceinline__ void merge_warps(BlockSoftmax<G>& b, int group, const float (&m)[G],
                                            const float (&l)[G],
                                            const float (&acc)[G][MAX_PER_LANE]) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  if (lane == 0) {
#pragma unroll
    for (int g = 0; g < G; g++) {
      b.sm[warp][g] = m[g];
      b.sl[warp][g] = l[g];
    }
  }
  for (int i = threadIdx.x; i < G * 32 * MAX_PER_LANE; i += blockDim.x) (&b.sacc[0][0])[i] = 0.f;
  __syncthreads();
  if (threadIdx.x < group) {
    int g = threadIdx.x;
    float mx = -INFINITY;
    for (int w = 0; w < warps; w++) mx = fmaxf(mx, b.sm[w][g]);
    float den = 0.f;
    for (int w = 0; w < warps; w++)
      if (b.sm[w][g] != -INFINITY) den += b.sl[w][g] * __expf(b.sm[w][g] - mx);
    b.gm[g] = mx;
    b.gl[g] = den;
  }
  __syncthreads();
  for (int w = 0; w < warps; w++) {
    if (warp == w) {
#pragma unroll
      for (int g = 0; g < G; g++) {
        if (g < group && m[g] != -INFINITY) {
          float c = __expf(m[g] - b.gm[g]);
#pragma unroll
          for (int e = 0; e < MAX_PER_LANE; e++) b.sacc[g][lane + 32 * e] += acc[g][e] * c;
        }
      }
    }
    __syncthreads();
  }
}

// Launch: grid (tokens, num_heads / heads_per_block), block 128 or 512 threads (4 or 16 warps:
// more warps split a long context when there are few blocks, e.g. decode at batch 1).
// heads_per_block divides the group size (query heads per KV head): the whole group for
// prefill (each K/V row read once for the group), 1 for small decode batches (more blocks).
// q: (tokens, num_heads * head_dim) bf16, rotated. k_cache/v_cache: (slots, num_kv_heads *
// head_dim) bf16. token_seq[t]: the token's sequence (row of block_tables, stride max_blocks).
// positions[t] < 0 marks padding (output zeros). out: (tokens, num_heads * head_dim) bf16.
// Requires head_dim % 8 == 0, head_dim <= 128.
template <typename KV>
__device__ __forceinline__ void paged_attention(const bf16* __restrict__ q, const KV& kv,
                                                const int* __restrict__ token_seq,
                                                const int* __restrict__ positions,
                                                const int* __restrict__ block_tables,
                                                int max_blocks, int block_size,
                                                bf16* __restrict__ out, int num_heads,
                                                int num_kv_heads, int head_dim, float scale,
                                                int heads_per_block) {
  int t = blockIdx.x;
  int warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  int group = heads_per_block;
  int first_head = blockIdx.y * heads_per_block;
  int kvh = first_head / (num_heads / num_kv_heads);
  int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
  int pos = positions[t];
  if (pos < 0) {
    for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x)
      out[(size_t)t * q_size + first_head * head_dim + i] = to_bf(0.f);
    return;
  }
  const int* table = block_tables + (size_t)token_seq[t] * max_blocks;

  __shared__ float qs[MAX_GROUP][MAX_HEAD_DIM];
  for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x)
    qs[i / head_dim][i % head_dim] =
        to_f(q[(size_t)t * q_size + first_head * head_dim + i]) * scale;
  __syncthreads();

  float acc[MAX_GROUP][MAX_PER_LANE];
  float m[MAX_GROUP], l[MAX_GROUP];
  // One load at a time, as before the split kernel came (more would cost 34 registers here).
  attend_keys<MAX_GROUP, 1, 1>(qs, group, kv, table, block_size, kv_size, kvh, head_dim, 0,
                               pos, warp, warps, m, l, acc);
  __shared__ BlockSoftmax<MAX_GROUP> b;
  merge_warps<MAX_GROUP>(b, group, m, l, acc);
  for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x) {
    int g = i / head_dim, d = i % head_dim;
    out[(size_t)t * q_size + (first_head + g) * head_dim + d] = to_bf(b.sacc[g][d] / b.gl[g]);
  }
}

extern "C" __global__ void __launch_bounds__(32 * MAX_WARPS)
paged_attention_bf16(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,
                     const bf16* __restrict__ v_cache, const int* __restrict__ token_seq,
                     const int* __restrict__ positions, const int* __restrict__ block_tables,
                     int max_blocks, int block_size, bf16* __restrict__ out, int num_heads,
                     int num_kv_heads, int head_dim, float scale, int heads_per_block) {
  pdl_enter();
  paged_attention(q, KvBf16{k_cache, v_cache}, token_seq, positions, block_tables, max_blocks,
                  block_size, out, num_heads, num_kv_heads, head_dim, scale, heads_per_block);
}

// As paged_attention_bf16 over an FP8 cache: k_cache/v_cache (slots, num_kv_heads * head_dim)
// e4m3, k_scale/v_scale (slots, num_kv_heads) fp16: a stored value times its scale.
extern "C" __global__ void __launch_bounds__(32 * MAX_WARPS)
paged_attention_fp8(const bf16* __restrict__ q, const __nv_fp8_storage_t* __restrict__ k_cache,
                    const __nv_fp8_storage_t* __restrict__ v_cache,
                    const __half* __restrict__ k_scale, const __half* __restrict__ v_scale,
                    const int* __restrict__ token_seq, const int* __restrict__ positions,
                    const int* __restrict__ block_tables, int max_blocks, int block_size,
                    bf16* __restrict__ out, int num_heads, int num_kv_heads, int head_dim,
                    float scale, int heads_per_block) {
  pdl_enter();
  paged_attention(q, KvFp8{k_cache, v_cache, k_scale, v_scale, num_kv_heads}, token_seq,
                  positions, block_tables, max_blocks, block_size, out, num_heads,
                  num_kv_heads, head_dim, scale, heads_per_block);
}

// Split-K decode attention (flash-decoding): with few tokens there are too few (token, head)
// blocks to fill the GPU, so each context is cut into up to SPLIT_MAX contiguous key ranges,
// one block each, and the ranges' softmaxes merge in split order.
//
// At batch 1-2 the K/V bytes per layer are small, so the kernel is bound by its chain of
// dependent memory round trips, and everything below is arranged to keep that chain short:
//   1. q, positions and token_seq load together;
//   2. the block-table entries of the block's key range load once into shared memory;
//   3. per tile of 32 keys each lane loads its key's whole K row (16-byte loads, registers)
//      and copies its whole V row into shared memory (cp.async, no registers), all in flight
//      together, so P.V needs no further global loads;
//   4. the warps merge through shared memory behind one barrier;
//   5. the last split's block loads every split's (m, l) and partial output at once.
// One (token, head) per block rather than a KV head's whole group: the other heads' blocks
// find the K/V rows in L2, and 7x the blocks shorten each block's score loop (latency, not
// bytes, is what counts here).
#define SPLIT_MAX 16        // most splits of a context: grid z (Kernels.ATTENTION_SPLITS)
#define SPLIT_MIN_KEYS 128  // fewer keys per split would not pay for the merge
#define SPLIT_WARPS 4
#define SPLIT_TABLE 128     // block-table entries staged in shared memory (else read from global)

// Keys per split of a context of n keys, in whole tiles, splits of at least min_keys (the
// wide tensor-core decode attention takes longer ones: attention_mma.cu). It depends on n
// alone, so a token's result does not depend on the batch around it.
__device__ __forceinline__ int split_keys(int n, int min_keys = SPLIT_MIN_KEYS) {
  int splits = min(SPLIT_MAX, (n + min_keys - 1) / min_keys);
  int per = (n + splits - 1) / splits;
  return (per + 31) & ~31;
}

// The merge of a (token, head)'s splits for dim d, in split order whichever block runs it:
// every split's (m, l) and dim d loaded at once (one round trip). __ldcg reads L2, where the
// other blocks' partials are (L1 is not coherent across SMs). first: the head's split 0.
__device__ __forceinline__ float merge_splits(const float* part_o, const float* part_ml,
                                              size_t first, int splits, int head_dim, int d) {
  float2 ml[SPLIT_MAX];
  float po[SPLIT_MAX];
#pragma unroll
  for (int s = 0; s < SPLIT_MAX; s++) {
    if (s < splits) {
      ml[s] = __ldcg(reinterpret_cast<const float2*>(part_ml) + first + s);
      po[s] = __ldcg(part_o + (first + s) * head_dim + d);
    } else {
      ml[s] = make_float2(-INFINITY, 0.f);
      po[s] = 0.f;
    }
  }
  float mx = -INFINITY;
#pragma unroll
  for (int s = 0; s < SPLIT_MAX; s++) mx = fmaxf(mx, ml[s].x);
  float den = 0.f, out_d = 0.f;
#pragma unroll
  for (int s = 0; s < SPLIT_MAX; s++) {
    if (s < splits) {  // every split has keys: m finite
      float c = __expf(ml[s].x - mx);
      den = fmaf(ml[s].y, c, den);
      out_d = fmaf(po[s], c, out_d);
    }
  }
  return out_d / den;
}

// Counts a block's published partial (the classic last-block reduction: each writer fences its
// stores before the block's count); true in the last block of the `splits` to count, which
// resets the counter for the next launch. Every thread of the block calls it.
__device__ __forceinline__ bool last_split(int* counter, int splits, int* flag) {
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    int last = atomicAdd(counter, 1) == splits - 1;
    if (last) *counter = 0;  // every split has counted: ready for the next launch
    *flag = last;
  }
  __syncthreads();
  bool last = *flag;
  if (last) __threadfence();
  return last;
}

// Shared memory of one split block for head_dim <= 8 * CH (CH 16-byte chunks per row).
template <int CH>
struct SplitSmem {
  // Each warp's tile of V rows, bf16. Key j's chunk c sits at chunk (c + j) % CH of row j, so
  // the 8 lanes of a 16-byte store phase (keys j..j+7, same c) hit 8 different bank groups.
  uint4 v[SPLIT_WARPS][32][CH];
  float q[CH * 8];  // pre-scaled, zero past head_dim
  float p[SPLIT_WARPS][32];
  float acc[SPLIT_WARPS][CH * 8];
  float m[SPLIT_WARPS], l[SPLIT_WARPS];
  int table[SPLIT_TABLE];
  int last;
};

// DPL consecutive bf16 values from shared memory as floats.
template <int DPL>
__device__ __forceinline__ void load_dims(const char* p, float (&v)[DPL]) {
  if constexpr (DPL == 4) {
    uint2 raw = *reinterpret_cast<const uint2*>(p);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
    float2 a = __bfloat1622float2(h[0]), b = __bfloat1622float2(h[1]);
    v[0] = a.x, v[1] = a.y, v[2] = b.x, v[3] = b.y;
  } else if constexpr (DPL == 2) {
    float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(p));
    v[0] = a.x, v[1] = a.y;
  } else {
    v[0] = to_f(*reinterpret_cast<const bf16*>(p));
  }
}

// One split block: query head `head` of token t over keys [lo, hi] (bf16 rows of kv_size,
// this head's at kvh * head_dim). Writes the output (one split) or the partial and, in the
// last block to finish, merges the splits. CH: 16-byte chunks per row padded up (4, 8, 16).
template <int CH>
__device__ __forceinline__ void split_block(
    SplitSmem<CH>& sm, float qv, const bf16* __restrict__ k_cache,
    const bf16* __restrict__ v_cache, const int* __restrict__ table, int block_size,
    int kv_size, int kvh, int head_dim, int lo, int hi, int splits, int split, bf16* o,
    float* __restrict__ part_o, float* __restrict__ part_ml, int* __restrict__ counter,
    size_t first) {
  constexpr int DPL = CH / 4;  // output dims per lane: lane L owns [L * DPL, (L + 1) * DPL)
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int chunks = head_dim >> 3;
  int e0 = lo / block_size, entries = hi / block_size - e0 + 1;
  bool staged = entries <= SPLIT_TABLE;
  if (staged)
    for (int i = threadIdx.x; i < entries; i += blockDim.x) sm.table[i] = __ldg(table + e0 + i);
  if (threadIdx.x < CH * 8) sm.q[threadIdx.x] = qv;
  __syncthreads();

  float m = -INFINITY, l = 0.f, acc[DPL];
#pragma unroll
  for (int e = 0; e < DPL; e++) acc[e] = 0.f;
  char* vs = reinterpret_cast<char*>(&sm.v[warp][0][0]);
  const float4* q4 = reinterpret_cast<const float4*>(sm.q);
  // This lane's output dims within a V row: chunk vc, byte offset voff.
  int vc = (lane * DPL) >> 3, voff = ((lane * DPL) & 7) * 2;

  for (int tile = lo + 32 * warp; tile <= hi; tile += 32 * SPLIT_WARPS) {
    __syncwarp();  // the previous tile's V and p are read before they are overwritten
    int j = tile + lane;
    bool valid = j <= hi;
    int slot = 0;
    if (valid) {
      int e = j / block_size;
      slot = (staged ? sm.table[e - e0] : __ldg(table + e)) * block_size + j % block_size;
    }
    size_t row = (size_t)slot * kv_size + kvh * head_dim;
    const uint4* krow = reinterpret_cast<const uint4*>(k_cache + row);
    const uint4* vrow = reinterpret_cast<const uint4*>(v_cache + row);
    // The whole K row into registers and the whole V row into shared memory, all in flight
    // at once (chunks past head_dim and keys past hi read as zeros).
    uint4 k[CH];
#pragma unroll
    for (int c = 0; c < CH; c++)
      k[c] = valid && c < chunks ? __ldg(krow + c) : make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int c = 0; c < CH; c++) {
      bool live = valid && c < chunks;
      cp_async16(vs + lane * CH * 16 + ((c + lane) & (CH - 1)) * 16, live ? vrow + c : vrow,
                 live ? 16 : 0);
    }
    // Score: four partial sums (a chain of 32 FMAs, not 128).
    float s4[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
    for (int c = 0; c < CH; c++) {
      float k8[8];
      unpack8(k[c], k8);
      float4 qa = q4[2 * c], qb = q4[2 * c + 1];
      s4[0] = fmaf(qa.x, k8[0], s4[0]);
      s4[1] = fmaf(qa.y, k8[1], s4[1]);
      s4[2] = fmaf(qa.z, k8[2], s4[2]);
      s4[3] = fmaf(qa.w, k8[3], s4[3]);
      s4[0] = fmaf(qb.x, k8[4], s4[0]);
      s4[1] = fmaf(qb.y, k8[5], s4[1]);
      s4[2] = fmaf(qb.z, k8[6], s4[2]);
      s4[3] = fmaf(qb.w, k8[7], s4[3]);
    }
    float x = valid ? (s4[0] + s4[1]) + (s4[2] + s4[3]) : -INFINITY;
    // Online softmax, once per tile (the tile has a valid key, so m_new is finite).
    float m_new = fmaxf(m, warp_max(x));
    float corr = __expf(m - m_new);  // 0 while m is -inf
    float p = valid ? __expf(x - m_new) : 0.f;
    l = l * corr + warp_sum(p);
    m = m_new;
    sm.p[warp][lane] = p;
    cp_async_wait_all();
    __syncwarp();  // every lane's V row and p are in shared memory
    // P . V over the tile's 32 keys in key order, even and odd keys in two sums.
    float a0[DPL], a1[DPL];
#pragma unroll
    for (int e = 0; e < DPL; e++) a0[e] = a1[e] = 0.f;
    const float4* p4 = reinterpret_cast<const float4*>(sm.p[warp]);
#pragma unroll
    for (int j4 = 0; j4 < 8; j4++) {
      float4 pj = p4[j4];
      float pv[4] = {pj.x, pj.y, pj.z, pj.w};
#pragma unroll
      for (int u = 0; u < 4; u++) {
        int jj = 4 * j4 + u;
        float v[DPL];
        load_dims<DPL>(vs + jj * CH * 16 + ((vc + jj) & (CH - 1)) * 16 + voff, v);
#pragma unroll
        for (int e = 0; e < DPL; e++) {
          if (u & 1) a1[e] = fmaf(pv[u], v[e], a1[e]);
          else a0[e] = fmaf(pv[u], v[e], a0[e]);
        }
      }
    }
#pragma unroll
    for (int e = 0; e < DPL; e++) acc[e] = fmaf(acc[e], corr, a0[e] + a1[e]);
  }

  // Warp merge: each warp leaves (m, l, acc) in shared memory, one barrier, then thread d
  // combines dim d over the warps in warp order.
#pragma unroll
  for (int e = 0; e < DPL; e++) sm.acc[warp][lane * DPL + e] = acc[e];
  if (lane == 0) {
    sm.m[warp] = m;
    sm.l[warp] = l;
  }
  __syncthreads();
  int d = threadIdx.x;
  float bm = -INFINITY;
#pragma unroll
  for (int w = 0; w < SPLIT_WARPS; w++) bm = fmaxf(bm, sm.m[w]);
  float bl = 0.f, bo = 0.f;
#pragma unroll
  for (int w = 0; w < SPLIT_WARPS; w++) {
    float c = sm.m[w] == -INFINITY ? 0.f : __expf(sm.m[w] - bm);  // a warp without keys
    bl = fmaf(sm.l[w], c, bl);
    if (d < CH * 8) bo = fmaf(sm.acc[w][d], c, bo);
  }
  if (splits == 1) {
    if (d < head_dim) o[d] = to_bf(bo / bl);
    return;
  }

  // Publish the partial, then count it; the last split's block merges.
  if (d < head_dim) part_o[(first + split) * head_dim + d] = bo;
  if (d == 0) reinterpret_cast<float2*>(part_ml)[first + split] = make_float2(bm, bl);
  if (!last_split(counter, splits, &sm.last) || d >= head_dim) return;
  o[d] = to_bf(merge_splits(part_o, part_ml, first, splits, head_dim, d));
}

// Launch: grid (tokens, num_heads, SPLIT_MAX), block 32 * SPLIT_WARPS. Block z attends one
// query head of token t to keys [z * chunk, (z + 1) * chunk) of its context, chunk =
// split_keys(positions[t] + 1); blocks past the context's last split return at once.
// q, k_cache, v_cache, token_seq, positions, block_tables, out as for paged_attention_bf16.
// part_o: (tokens, num_heads, SPLIT_MAX, head_dim) fp32 and part_ml: (tokens, num_heads,
// SPLIT_MAX, 2) fp32 receive each split's unnormalized output, max and sum. counters:
// (tokens, num_heads) int32, zero before the launch and zero again after it: the last split of
// a (token, head) to finish merges all splits in split order and resets its counter. A context
// of one split writes its output directly. Requires head_dim % 8 == 0, head_dim <= 128.
// Five blocks per SM (96 registers, 36 KB of shared memory each): the 448 blocks of a
// 28-head token at 16 splits fit one wave, and a lane still holds a whole 128-dim K row.
extern "C" __global__ void __launch_bounds__(32 * SPLIT_WARPS, 5)
paged_attention_split_bf16(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,
                           const bf16* __restrict__ v_cache, const int* __restrict__ token_seq,
                           const int* __restrict__ positions,
                           const int* __restrict__ block_tables, int max_blocks, int block_size,
                           bf16* __restrict__ out, int num_heads, int num_kv_heads,
                           int head_dim, float scale, float* __restrict__ part_o,
                           float* __restrict__ part_ml, int* __restrict__ counters,
                           int early_next) {
  pdl_enter();
  // early_next: the next kernel (w4a16_chain.cu's, one block an SM) may launch now; its blocks
  // fill their rings with the weights while this attention runs (14B GPTQ batch 1: 187 -> 194
  // tokens/s in one call; the separate W4 kernels gained nothing from it).
  if (early_next) pdl_launch_dependents();
  // One buffer for every head_dim variant (separate __shared__ arrays would add up).
  __shared__ uint4 smem[(sizeof(SplitSmem<16>) + 15) / 16];
  int t = blockIdx.x, head = blockIdx.y, split = blockIdx.z;
  int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
  // q, the position and the sequence are independent loads: issue them together.
  bf16 qraw = threadIdx.x < head_dim ? q[(size_t)t * q_size + head * head_dim + threadIdx.x]
                                     : to_bf(0.f);
  int pos = positions[t];
  int seq = token_seq[t];
  bf16* o = out + (size_t)t * q_size + head * head_dim;
  if (pos < 0) {
    if (split == 0)
      for (int d = threadIdx.x; d < head_dim; d += blockDim.x) o[d] = to_bf(0.f);
    return;
  }
  int n = pos + 1, chunk = split_keys(n), splits = (n + chunk - 1) / chunk;
  if (split >= splits) return;
  int kvh = head / (num_heads / num_kv_heads);
  const int* table = block_tables + (size_t)seq * max_blocks;
  int lo = split * chunk, hi = min(n, lo + chunk) - 1;
  float qv = to_f(qraw) * scale;
  size_t first = ((size_t)t * num_heads + head) * SPLIT_MAX;  // this (token, head)'s splits
  int* counter = counters + (size_t)t * num_heads + head;
  if (head_dim <= 32)
    split_block<4>(*reinterpret_cast<SplitSmem<4>*>(smem), qv, k_cache, v_cache, table,
                   block_size, kv_size, kvh, head_dim, lo, hi, splits, split, o, part_o,
                   part_ml, counter, first);
  else if (head_dim <= 64)
    split_block<8>(*reinterpret_cast<SplitSmem<8>*>(smem), qv, k_cache, v_cache, table,
                   block_size, kv_size, kvh, head_dim, lo, hi, splits, split, o, part_o,
                   part_ml, counter, first);
  else
    split_block<16>(*reinterpret_cast<SplitSmem<16>*>(smem), qv, k_cache, v_cache, table,
                    block_size, kv_size, kvh, head_dim, lo, hi, splits, split, o, part_o,
                    part_ml, counter, first);
}

// Attention for many tokens (large decode batches, prefill chunks), GQA-aware and arranged like
// split_block for short dependency chains: one block per (token, KV head) serves the G query
// heads of that KV head, so each K/V row is read once for all of them; per tile of 32 keys each
// lane loads its key's whole K row into registers and copies its V row into shared memory
// (cp.async), all in flight together; scores, one online-softmax update per head and P.V then
// run from registers and shared memory. The one-block kernel above loaded one 16-byte chunk
// (and one V value) at a time, a chain of dependent round trips per tile: at 7B batch 256 it
// took 61 % of a decode step.
#define GQA_WARPS 4
#define GQA_MAX_GROUP 8

template <int CH>
struct GqaSmem {
  union {
    uint4 v[GQA_WARPS][32][CH];  // each warp's tile of V rows (rotated chunks, as SplitSmem)
    float acc[GQA_WARPS][GQA_MAX_GROUP][CH * 8];  // the warps' outputs, after the last tile
  } u;
  float q[GQA_MAX_GROUP][CH * 8];  // pre-scaled, zero past head_dim
  float p[GQA_WARPS][GQA_MAX_GROUP][32];
  float m[GQA_WARPS][GQA_MAX_GROUP], l[GQA_WARPS][GQA_MAX_GROUP];
  int last;
};

// Where a split GQA block leaves its partials (as paged_attention_split_bf16's, per query
// head: head kvh * group + g's splits start at first + g * SPLIT_MAX); null: not split.
struct GqaSplit {
  float* part_o;
  float* part_ml;
  int* counter;  // the (token, KV head)'s
  size_t first;
  int splits, split;
};

// DPL consecutive values of an fp8 V row staged in shared memory, as floats (unscaled).
template <int DPL>
__device__ __forceinline__ void load_dims_fp8(const char* p, float (&v)[DPL]) {
#pragma unroll
  for (int e = 0; e < DPL; e++)
    v[e] = KvFp8::value(*reinterpret_cast<const __nv_fp8_storage_t*>(p + e));
}

// KV: the cache's type (KvBf16 or KvFp8, above); its V rows are staged as raw bytes.
template <int CH, typename KV>
__device__ __forceinline__ void gqa_block(GqaSmem<CH>& sm, const bf16* __restrict__ q,
                                          const KV& kv,
                                          const int* __restrict__ table, int block_size,
                                          int kv_size, int kvh, int head_dim, int group,
                                          int lo, int n, float scale, bf16* __restrict__ o,
                                          const GqaSplit* split) {
  constexpr int DPL = CH / 4;  // output dims per lane
  constexpr int G = GQA_MAX_GROUP;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int chunks = head_dim >> 3;
  // The group's q rows, 16 bytes a thread (one round trip, not one per 2-byte element).
  for (int i = threadIdx.x; i < G * CH; i += blockDim.x) {
    int g = i / CH, c = i % CH;
    float f[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
    if (g < group && c < chunks)
      unpack8(__ldg(reinterpret_cast<const uint4*>(q + g * head_dim) + c), f);
#pragma unroll
    for (int e = 0; e < 8; e++) sm.q[g][c * 8 + e] = f[e] * scale;
  }
  __syncthreads();
  float m[G], l[G], acc[G][DPL];
#pragma unroll
  for (int g = 0; g < G; g++) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < DPL; e++) acc[g][e] = 0.f;
  }
  char* vs = reinterpret_cast<char*>(&sm.u.v[warp][0][0]);
  // A V row is RC 16-byte chunks (bf16: CH; fp8: half as many bytes); this lane's output dims
  // start at byte vbyte of it.
  constexpr int EB = sizeof(typename KV::Elem);
  constexpr int RC = CH * EB / 2 > 0 ? CH * EB / 2 : 1;
  int rowChunks = (head_dim * EB + 15) >> 4;
  int vbyte = lane * DPL * EB;
  int vc = vbyte >> 4, voff = vbyte & 15;
  for (int tile = lo + 32 * warp; tile < n; tile += 32 * GQA_WARPS) {
    __syncwarp();  // the previous tile's V and p are read before they are overwritten
    int j = tile + lane;
    bool valid = j < n;
    int slot = valid ? __ldg(table + j / block_size) * block_size + j % block_size : 0;
    size_t row = (size_t)slot * kv_size + kvh * head_dim;
    const typename KV::Raw8* krow = kv.krow(row);
    const uint4* vrow = reinterpret_cast<const uint4*>(kv.vrow(row));
    float kscale = valid ? kv.kscale(slot, kvh) : 1.f;
    float vscale = valid ? kv.vscale(slot, kvh) : 0.f;
    // V rows first (no registers), then the K row in halves: half the registers of a whole
    // row for the same loads in flight per SM (more blocks fit).
#pragma unroll
    for (int c = 0; c < RC; c++) {
      bool live = valid && c < rowChunks;
      cp_async16(vs + lane * RC * 16 + ((c + lane) & (RC - 1)) * 16, live ? vrow + c : vrow,
                 live ? 16 : 0);
    }
    constexpr int KH = CH > 4 ? CH / 2 : CH;
    float s[G];
#pragma unroll
    for (int g = 0; g < G; g++) s[g] = 0.f;
#pragma unroll
    for (int h = 0; h < CH; h += KH) {
      typename KV::Raw8 k[KH];
#pragma unroll
      for (int c = 0; c < KH; c++)
        k[c] = valid && h + c < chunks ? __ldg(krow + h + c) : typename KV::Raw8{};
#pragma unroll
      for (int cc = 0; cc < KH; cc++) {
        int c = h + cc;
        float k8[8];
        KV::unpack(k[cc], k8);
#pragma unroll
        for (int g = 0; g < G; g++) {
          if (g < group) {
            const float4* q4 = reinterpret_cast<const float4*>(&sm.q[g][c * 8]);
            float4 qa = q4[0], qb = q4[1];
            s[g] = fmaf(qa.x, k8[0], s[g]);
            s[g] = fmaf(qa.y, k8[1], s[g]);
            s[g] = fmaf(qa.z, k8[2], s[g]);
            s[g] = fmaf(qa.w, k8[3], s[g]);
            s[g] = fmaf(qb.x, k8[4], s[g]);
            s[g] = fmaf(qb.y, k8[5], s[g]);
            s[g] = fmaf(qb.z, k8[6], s[g]);
            s[g] = fmaf(qb.w, k8[7], s[g]);
          }
        }
      }
    }
    float corr[G];
#pragma unroll
    for (int g = 0; g < G; g++) {
      corr[g] = 1.f;
      if (g < group) {
        float x = valid ? s[g] * kscale : -INFINITY;
        float m_new = fmaxf(m[g], warp_max(x));
        corr[g] = __expf(m[g] - m_new);  // 0 while m is -inf
        float p = valid ? __expf(x - m_new) : 0.f;
        l[g] = l[g] * corr[g] + warp_sum(p);
        m[g] = m_new;
        sm.p[warp][g][lane] = p * vscale;  // the V row's scale rides on its weight
      }
    }
    cp_async_wait_all();
    __syncwarp();  // every lane's V row and p are in shared memory
    float a[G][DPL];
#pragma unroll
    for (int g = 0; g < G; g++)
#pragma unroll
      for (int e = 0; e < DPL; e++) a[g][e] = 0.f;
    // All 32 keys (a tile's keys past n have p = 0 and zero V rows), 2 at a time: the heads'
    // weights of 2 keys in one 8-byte shared load each, both keys' loads in flight.
#pragma unroll 1
    for (int j2 = 0; j2 < 16; j2++) {
      float2 pq[G];
#pragma unroll
      for (int g = 0; g < G; g++)
        if (g < group) pq[g] = reinterpret_cast<const float2*>(sm.p[warp][g])[j2];
#pragma unroll
      for (int u = 0; u < 2; u++) {
        int jj = 2 * j2 + u;
        float v[DPL];
        const char* vp = vs + jj * RC * 16 + ((vc + jj) & (RC - 1)) * 16 + voff;
        if constexpr (EB == 2) {
          load_dims<DPL>(vp, v);
        } else {
          load_dims_fp8<DPL>(vp, v);
        }
#pragma unroll
        for (int g = 0; g < G; g++) {
          if (g < group) {
            float pj = u == 0 ? pq[g].x : pq[g].y;
#pragma unroll
            for (int e = 0; e < DPL; e++) a[g][e] = fmaf(pj, v[e], a[g][e]);
          }
        }
      }
    }
#pragma unroll
    for (int g = 0; g < G; g++)
#pragma unroll
      for (int e = 0; e < DPL; e++) acc[g][e] = fmaf(acc[g][e], corr[g], a[g][e]);
  }
  // Warp merge in warp order (deterministic): the V tiles' space holds the warps' outputs.
  __syncthreads();
#pragma unroll
  for (int g = 0; g < G; g++) {
#pragma unroll
    for (int e = 0; e < DPL; e++) sm.u.acc[warp][g][lane * DPL + e] = acc[g][e];
    if (lane == 0) {
      sm.m[warp][g] = m[g];
      sm.l[warp][g] = l[g];
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x) {
    int g = i / head_dim, d = i % head_dim;
    float bm = -INFINITY;
#pragma unroll
    for (int w = 0; w < GQA_WARPS; w++) bm = fmaxf(bm, sm.m[w][g]);
    float bl = 0.f, bo = 0.f;
#pragma unroll
    for (int w = 0; w < GQA_WARPS; w++) {
      float c = sm.m[w][g] == -INFINITY ? 0.f : __expf(sm.m[w][g] - bm);  // a warp without keys
      bl = fmaf(sm.l[w][g], c, bl);
      bo = fmaf(sm.u.acc[w][g][d], c, bo);
    }
    if (split == nullptr) {
      o[g * head_dim + d] = to_bf(bo / bl);
      continue;
    }
    size_t at = split->first + (size_t)g * SPLIT_MAX + split->split;
    split->part_o[at * head_dim + d] = bo;
    if (d == 0) reinterpret_cast<float2*>(split->part_ml)[at] = make_float2(bm, bl);
  }
  if (split == nullptr || !last_split(split->counter, split->splits, &sm.last)) return;
  for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x) {
    int g = i / head_dim, d = i % head_dim;
    o[g * head_dim + d] = to_bf(merge_splits(split->part_o, split->part_ml,
                                             split->first + (size_t)g * SPLIT_MAX,
                                             split->splits, head_dim, d));
  }
}

template <typename KV>
__device__ __forceinline__ void gqa_dispatch(uint4* smem, const bf16* qh, const KV& kv,
                                             const int* table, int block_size, int kv_size,
                                             int kvh, int head_dim, int group, int lo, int n,
                                             float scale, bf16* o, const GqaSplit* split) {
  if (head_dim <= 32)
    gqa_block<4>(*reinterpret_cast<GqaSmem<4>*>(smem), qh, kv, table, block_size, kv_size, kvh,
                 head_dim, group, lo, n, scale, o, split);
  else if (head_dim <= 64)
    gqa_block<8>(*reinterpret_cast<GqaSmem<8>*>(smem), qh, kv, table, block_size, kv_size, kvh,
                 head_dim, group, lo, n, scale, o, split);
  else
    gqa_block<16>(*reinterpret_cast<GqaSmem<16>*>(smem), qh, kv, table, block_size, kv_size,
                  kvh, head_dim, group, lo, n, scale, o, split);
}

// One (token, KV head) block of the GQA kernels: padding tokens write zeros.
template <typename KV>
__device__ __forceinline__ void gqa_attention(const bf16* __restrict__ q, const KV& kv,
                                              const int* __restrict__ token_seq,
                                              const int* __restrict__ positions,
                                              const int* __restrict__ block_tables,
                                              int max_blocks, int block_size,
                                              bf16* __restrict__ out, int num_heads,
                                              int num_kv_heads, int head_dim, float scale) {
  __shared__ uint4 smem[(sizeof(GqaSmem<16>) + 15) / 16];
  int t = blockIdx.x, kvh = blockIdx.y;
  int group = num_heads / num_kv_heads;
  int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
  int pos = positions[t];
  bf16* o = out + (size_t)t * q_size + kvh * group * head_dim;
  if (pos < 0) {
    for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x) o[i] = to_bf(0.f);
    return;
  }
  const int* table = block_tables + (size_t)token_seq[t] * max_blocks;
  const bf16* qh = q + (size_t)t * q_size + kvh * group * head_dim;
  gqa_dispatch(smem, qh, kv, table, block_size, kv_size, kvh, head_dim, group, 0, pos + 1,
               scale, o, nullptr);
}

// Launch: grid (tokens, num_kv_heads), block 32 * GQA_WARPS. Same inputs and output as
// paged_attention_bf16 (no heads_per_block: a block takes its KV head's whole group, at most
// GQA_MAX_GROUP query heads). Requires head_dim % 8 == 0, head_dim <= 128. Four blocks per SM
// (128 registers, 41 KB of shared memory each): at three, 7B batch 256 ran 10 % slower.
extern "C" __global__ void __launch_bounds__(32 * GQA_WARPS, 4)
paged_attention_gqa_bf16(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,
                         const bf16* __restrict__ v_cache, const int* __restrict__ token_seq,
                         const int* __restrict__ positions, const int* __restrict__ block_tables,
                         int max_blocks, int block_size, bf16* __restrict__ out, int num_heads,
                         int num_kv_heads, int head_dim, float scale) {
  pdl_enter();
  gqa_attention(q, KvBf16{k_cache, v_cache}, token_seq, positions, block_tables, max_blocks,
                block_size, out, num_heads, num_kv_heads, head_dim, scale);
}

// As paged_attention_gqa_bf16 over an FP8 cache (paged_attention_fp8's arguments).
extern "C" __global__ void __launch_bounds__(32 * GQA_WARPS, 4)
paged_attention_gqa_fp8(const bf16* __restrict__ q,
                        const __nv_fp8_storage_t* __restrict__ k_cache,
                        const __nv_fp8_storage_t* __restrict__ v_cache,
                        const __half* __restrict__ k_scale, const __half* __restrict__ v_scale,
                        const int* __restrict__ token_seq, const int* __restrict__ positions,
                        const int* __restrict__ block_tables, int max_blocks, int block_size,
                        bf16* __restrict__ out, int num_heads, int num_kv_heads, int head_dim,
                        float scale) {
  pdl_enter();
  gqa_attention(q, KvFp8{k_cache, v_cache, k_scale, v_scale, num_kv_heads}, token_seq,
                positions, block_tables, max_blocks, block_size, out, num_heads, num_kv_heads,
                head_dim, scale);
}

// The start of a block of grid (tokens, KV heads, splits): its token's position, and o, the
// token's output rows of the KV head's query group. A padding token (position < 0) gets zeros
// from its split 0, and the caller returns.
__device__ __forceinline__ int gqa_split_block(bf16* __restrict__ out,
                                               const int* __restrict__ positions, int num_heads,
                                               int num_kv_heads, int head_dim, bf16*& o) {
  int t = blockIdx.x, kvh = blockIdx.y, group = num_heads / num_kv_heads;
  int pos = positions[t];
  o = out + (size_t)t * num_heads * head_dim + kvh * group * head_dim;
  if (pos < 0 && blockIdx.z == 0)
    for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x) o[i] = to_bf(0.f);
  return pos;
}

// Split-K decode attention, GQA-aware: paged_attention_split_bf16's grid with a block per
// (token, KV head, split) serving the KV head's whole query-head group (gqa_block over the
// split's keys), so each K/V row is read once for the group rather than once per query head.
// At 14B batch 16 (5 query heads per KV head) the per-head split kernel read the context five
// times through L2 and took 63 us a layer. Launch: grid (tokens, num_kv_heads, SPLIT_MAX),
// block 32 * GQA_WARPS; splits as split_keys; part_o, part_ml and counters as for
// paged_attention_split_bf16 (counters: the first tokens * num_kv_heads of them). At most
// GQA_MAX_GROUP query heads per KV head; head_dim % 8 == 0, head_dim <= 128.
template <typename KV>
__device__ __forceinline__ void gqa_split_attention(
    const bf16* __restrict__ q, const KV& kv, const int* __restrict__ token_seq,
    const int* __restrict__ positions, const int* __restrict__ block_tables, int max_blocks,
    int block_size, bf16* __restrict__ out, int num_heads, int num_kv_heads, int head_dim,
    float scale, float* __restrict__ part_o, float* __restrict__ part_ml,
    int* __restrict__ counters) {
  __shared__ uint4 smem[(sizeof(GqaSmem<16>) + 15) / 16];
  int t = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  int group = num_heads / num_kv_heads;
  int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
  bf16* o;
  int pos = gqa_split_block(out, positions, num_heads, num_kv_heads, head_dim, o);
  if (pos < 0) return;
  int n = pos + 1, chunk = split_keys(n), splits = (n + chunk - 1) / chunk;
  if (split >= splits) return;
  const int* table = block_tables + (size_t)token_seq[t] * max_blocks;
  const bf16* qh = q + (size_t)t * q_size + kvh * group * head_dim;
  GqaSplit sp{part_o, part_ml, counters + (size_t)t * num_kv_heads + kvh,
              ((size_t)t * num_heads + kvh * group) * SPLIT_MAX, splits, split};
  gqa_dispatch(smem, qh, kv, table, block_size, kv_size, kvh, head_dim, group, split * chunk,
               min(n, (split + 1) * chunk), scale, o, splits == 1 ? nullptr : &sp);
}

extern "C" __global__ void __launch_bounds__(32 * GQA_WARPS, 4)
paged_attention_gqa_split_bf16(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,
                               const bf16* __restrict__ v_cache,
                               const int* __restrict__ token_seq,
                               const int* __restrict__ positions,
                               const int* __restrict__ block_tables, int max_blocks,
                               int block_size, bf16* __restrict__ out, int num_heads,
                               int num_kv_heads, int head_dim, float scale,
                               float* __restrict__ part_o, float* __restrict__ part_ml,
                               int* __restrict__ counters) {
  pdl_enter();
  gqa_split_attention(q, KvBf16{k_cache, v_cache}, token_seq, positions, block_tables,
                      max_blocks, block_size, out, num_heads, num_kv_heads, head_dim, scale,
                      part_o, part_ml, counters);
}

// As paged_attention_gqa_split_bf16 over an FP8 cache (k_scale, v_scale after the caches).
extern "C" __global__ void __launch_bounds__(32 * GQA_WARPS, 4)
paged_attention_gqa_split_fp8(const bf16* __restrict__ q,
                              const __nv_fp8_storage_t* __restrict__ k_cache,
                              const __nv_fp8_storage_t* __restrict__ v_cache,
                              const __half* __restrict__ k_scale,
                              const __half* __restrict__ v_scale,
                              const int* __restrict__ token_seq,
                              const int* __restrict__ positions,
                              const int* __restrict__ block_tables, int max_blocks,
                              int block_size, bf16* __restrict__ out, int num_heads,
                              int num_kv_heads, int head_dim, float scale,
                              float* __restrict__ part_o, float* __restrict__ part_ml,
                              int* __restrict__ counters) {
  pdl_enter();
  gqa_split_attention(q, KvFp8{k_cache, v_cache, k_scale, v_scale, num_kv_heads}, token_seq,
                      positions, block_tables, max_blocks, block_size, out, num_heads,
                      num_kv_heads, head_dim, scale, part_o, part_ml, counters);
}
