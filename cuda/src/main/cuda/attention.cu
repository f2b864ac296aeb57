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

// Launch: grid (tokens, num_heads / heads_per_block), block 128 or 512 threads (4 or 16 warps:
// more warps split a long context when there are few blocks, e.g. decode at batch 1).
// heads_per_block divides the group size (query heads per KV head): the whole group for
// prefill (each K/V row read once for the group), 1 for small decode batches (more blocks).
// q: (tokens, num_heads * head_dim) bf16, rotated. k_cache/v_cache: (slots, num_kv_heads *
// head_dim) bf16. token_seq[t]: the token's sequence (row of block_tables, stride max_blocks).
// positions[t] < 0 marks padding (output zeros). out: (tokens, num_heads * head_dim) bf16.
// Requires head_dim % 8 == 0, head_dim <= 128.
extern "C" __global__ void __launch_bounds__(32 * MAX_WARPS)
paged_attention_bf16(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,
                     const bf16* __restrict__ v_cache, const int* __restrict__ token_seq,
                     const int* __restrict__ positions, const int* __restrict__ block_tables,
                     int max_blocks, int block_size, bf16* __restrict__ out, int num_heads,
                     int num_kv_heads, int head_dim, float scale, int heads_per_block) {
  int t = blockIdx.x;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
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
#pragma unroll
  for (int g = 0; g < MAX_GROUP; g++) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < MAX_PER_LANE; e++) acc[g][e] = 0.f;
  }

  for (int tile = warp * 32; tile <= pos; tile += warps * 32) {
    int j = tile + lane;
    bool valid = j <= pos;
    int slot = valid ? table[j / block_size] * block_size + j % block_size : 0;
    // Scores of this lane's key for every head.
    float s[MAX_GROUP];
#pragma unroll
    for (int g = 0; g < MAX_GROUP; g++) s[g] = 0.f;
    if (valid) {
      const uint4* krow = reinterpret_cast<const uint4*>(k_cache + (size_t)slot * kv_size
                                                          + kvh * head_dim);
      for (int c = 0; c < head_dim / 8; c++) {
        float k8[8];
        unpack8(__ldg(krow + c), k8);
#pragma unroll
        for (int g = 0; g < MAX_GROUP; g++) {
          if (g < group) {
            const float* qg = &qs[g][c * 8];
#pragma unroll
            for (int i = 0; i < 8; i++) s[g] = fmaf(qg[i], k8[i], s[g]);
          }
        }
      }
    }
    // Online softmax, once per tile and head.
#pragma unroll
    for (int g = 0; g < MAX_GROUP; g++) {
      if (g < group) {
        float x = valid ? s[g] : -INFINITY;
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
    // P . V over the tile's keys; lane d owns output dims d + 32 e.
    int n = min(32, pos - tile + 1);
    for (int jj = 0; jj < n; jj++) {
      int sj = __shfl_sync(0xffffffffu, slot, jj);
      const bf16* vrow = v_cache + (size_t)sj * kv_size + kvh * head_dim;
      float v[MAX_PER_LANE];
#pragma unroll
      for (int e = 0; e < MAX_PER_LANE; e++) {
        int d = lane + 32 * e;
        v[e] = d < head_dim ? to_f(vrow[d]) : 0.f;
      }
#pragma unroll
      for (int g = 0; g < MAX_GROUP; g++) {
        if (g < group) {
          float pj = __shfl_sync(0xffffffffu, s[g], jj);
#pragma unroll
          for (int e = 0; e < MAX_PER_LANE; e++) acc[g][e] = fmaf(pj, v[e], acc[g][e]);
        }
      }
    }
  }

  // Merge the warps' partial softmaxes, warp by warp in a fixed order (deterministic).
  __shared__ float sm[MAX_WARPS][MAX_GROUP];
  __shared__ float sl[MAX_WARPS][MAX_GROUP];
  __shared__ float gm[MAX_GROUP], gl[MAX_GROUP];
  __shared__ float sacc[MAX_GROUP][32 * MAX_PER_LANE];
  if (lane == 0) {
#pragma unroll
    for (int g = 0; g < MAX_GROUP; g++) {
      sm[warp][g] = m[g];
      sl[warp][g] = l[g];
    }
  }
  for (int i = threadIdx.x; i < MAX_GROUP * 32 * MAX_PER_LANE; i += blockDim.x)
    (&sacc[0][0])[i] = 0.f;
  __syncthreads();
  if (threadIdx.x < group) {
    int g = threadIdx.x;
    float mx = -INFINITY;
    for (int w = 0; w < warps; w++) mx = fmaxf(mx, sm[w][g]);
    float den = 0.f;
    for (int w = 0; w < warps; w++)
      if (sm[w][g] != -INFINITY) den += sl[w][g] * __expf(sm[w][g] - mx);
    gm[g] = mx;
    gl[g] = den;
  }
  __syncthreads();
  for (int w = 0; w < warps; w++) {
    if (warp == w) {
#pragma unroll
      for (int g = 0; g < MAX_GROUP; g++) {
        if (g < group && m[g] != -INFINITY) {
          float c = __expf(m[g] - gm[g]);
#pragma unroll
          for (int e = 0; e < MAX_PER_LANE; e++) sacc[g][lane + 32 * e] += acc[g][e] * c;
        }
      }
    }
    __syncthreads();
  }
  for (int i = threadIdx.x; i < group * head_dim; i += blockDim.x) {
    int g = i / head_dim, d = i % head_dim;
    out[(size_t)t * q_size + (first_head + g) * head_dim + d] = to_bf(sacc[g][d] / gl[g]);
  }
}
