// Paged attention for prefill chunks and decodes in one kernel: each new token attends to its
// sequence's positions [0, position] through the block table (causal by construction, cached
// prefix blocks included). GQA-aware: one thread block per (token, KV head) serves all query
// heads of the group, so each K/V row is read once for the group.
#include "common.cuh"

#define ATTN_WARPS 16  // decode at batch 1 has few blocks: more warps split the keys
#define MAX_GROUP 8   // query heads per KV head
#define MAX_PER_LANE 4  // head_dim <= 128

// Launch: grid (tokens, num_heads / heads_per_block), block 32 * ATTN_WARPS (512).
// heads_per_block divides the group size (query heads per KV head): the whole group for
// prefill (each K/V row read once for the group), 1 for decode (more blocks, more SMs busy).
// q: (tokens, num_heads * head_dim) bf16, rotated. k_cache/v_cache: (slots, num_kv_heads *
// head_dim) bf16. token_seq[t]: the token's sequence (row of block_tables, stride max_blocks).
// positions[t] < 0 marks padding (output zeros). out: (tokens, num_heads * head_dim) bf16.
// Each warp takes every ATTN_WARPS-th key with an online softmax; warps merge at the end.
extern "C" __global__ void __launch_bounds__(32 * ATTN_WARPS)
paged_attention_bf16(const bf16* __restrict__ q, const bf16* __restrict__ k_cache,
                     const bf16* __restrict__ v_cache, const int* __restrict__ token_seq,
                     const int* __restrict__ positions, const int* __restrict__ block_tables,
                     int max_blocks, int block_size, bf16* __restrict__ out, int num_heads,
                     int num_kv_heads, int head_dim, float scale, int heads_per_block) {
  int t = blockIdx.x;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int group = heads_per_block;  // the query heads this block serves
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

  float qv[MAX_GROUP][MAX_PER_LANE];
  float acc[MAX_GROUP][MAX_PER_LANE];
  float m[MAX_GROUP], l[MAX_GROUP];
#pragma unroll
  for (int g = 0; g < MAX_GROUP; g++) {
    m[g] = -INFINITY;
    l[g] = 0.f;
#pragma unroll
    for (int e = 0; e < MAX_PER_LANE; e++) {
      int d = lane + 32 * e;
      acc[g][e] = 0.f;
      qv[g][e] = (g < group && d < head_dim)
          ? to_f(q[(size_t)t * q_size + (first_head + g) * head_dim + d]) * scale : 0.f;
    }
  }

  for (int j = warp; j <= pos; j += ATTN_WARPS) {
    int slot = table[j / block_size] * block_size + j % block_size;
    const bf16* krow = k_cache + (size_t)slot * kv_size + kvh * head_dim;
    const bf16* vrow = v_cache + (size_t)slot * kv_size + kvh * head_dim;
    float kv[MAX_PER_LANE], vv[MAX_PER_LANE];
#pragma unroll
    for (int e = 0; e < MAX_PER_LANE; e++) {
      int d = lane + 32 * e;
      kv[e] = d < head_dim ? to_f(krow[d]) : 0.f;
      vv[e] = d < head_dim ? to_f(vrow[d]) : 0.f;
    }
#pragma unroll
    for (int g = 0; g < MAX_GROUP; g++) {
      if (g < group) {
        float s = 0.f;
#pragma unroll
        for (int e = 0; e < MAX_PER_LANE; e++) s += qv[g][e] * kv[e];
        s = warp_sum(s);
        float m_new = fmaxf(m[g], s);
        float corr = __expf(m[g] - m_new);
        float p = __expf(s - m_new);
        l[g] = l[g] * corr + p;
#pragma unroll
        for (int e = 0; e < MAX_PER_LANE; e++) acc[g][e] = acc[g][e] * corr + p * vv[e];
        m[g] = m_new;
      }
    }
  }

  // Merge the warps' partial softmaxes, warp by warp in a fixed order (deterministic).
  __shared__ float sm[ATTN_WARPS][MAX_GROUP];
  __shared__ float sl[ATTN_WARPS][MAX_GROUP];
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
    for (int w = 0; w < ATTN_WARPS; w++) mx = fmaxf(mx, sm[w][g]);
    float den = 0.f;
    for (int w = 0; w < ATTN_WARPS; w++)
      if (sm[w][g] != -INFINITY) den += sl[w][g] * __expf(sm[w][g] - mx);
    gm[g] = mx;
    gl[g] = den;
  }
  __syncthreads();
  for (int w = 0; w < ATTN_WARPS; w++) {
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
