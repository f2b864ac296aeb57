// QKV bias + rotary embedding + write of K and V into the paged cache.
#include "common.cuh"
#include <cuda_fp16.h>
#include <cuda_fp8.h>

// Rotates the pair (a, b) = dims (i, i + head_dim / 2) of a head at position pos, as
// Qwen2RotaryEmbedding does in fp32: inv_freq = 1 / theta^(2i / head_dim), angle = pos *
// inv_freq. Products are rounded apart (no FMA), as the CPU reference computes them; the fused
// QKV GEMV calls this too, so both paths agree bit for bit.
__device__ __forceinline__ void rope_rotate(float a, float b, float pos, int i, int head_dim,
                                            float theta, float& ra, float& rb) {
  float inv_freq = 1.f / powf(theta, (float)(2 * i) / (float)head_dim);
  float angle = pos * inv_freq;
  float c = cosf(angle), s = sinf(angle);
  ra = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s));
  rb = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s));
}

// Launch: grid (tokens, num_heads + 2 * num_kv_heads), block 64: one block per head of a token
// (Q heads, then K heads, then V heads), so a decode token spreads over many SMs.
// qkv: (tokens, qSize + 2*kvSize) fp32 GEMM output without bias; bias: (qSize + 2*kvSize) bf16.
// q_out: (tokens, qSize) bf16 rotated queries. k_cache, v_cache: (slots, kvSize) bf16; token t
// goes to slot slots[t] (skipped when negative: padding). RoPE in HF's rotate_half layout, with
// inv_freq and angles in fp32 as Qwen2RotaryEmbedding computes them.
extern "C" __global__ void qkv_rope_cache_bf16(const float* __restrict__ qkv,
                                               const bf16* __restrict__ bias,
                                               const int* __restrict__ positions,
                                               const int* __restrict__ slots,
                                               bf16* __restrict__ q_out, bf16* __restrict__ k_cache,
                                               bf16* __restrict__ v_cache, int num_heads,
                                               int num_kv_heads, int head_dim, float theta) {
  pdl_enter();
  int t = blockIdx.x, head = blockIdx.y;
  int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
  const float* row = qkv + (size_t)t * (q_size + 2 * kv_size);
  int slot = slots[t];
  int col0 = head * head_dim;  // K heads follow Q heads, V heads follow K heads in the row
  if (head >= num_heads + num_kv_heads) {  // V: bias only
    if (slot < 0) return;
    int vc = col0 - q_size - kv_size;
    for (int i = threadIdx.x; i < head_dim; i += blockDim.x)
      v_cache[(size_t)slot * kv_size + vc + i] = to_bf(row[col0 + i] + to_f(bias[col0 + i]));
    return;
  }
  if (head >= num_heads && slot < 0) return;
  int half = head_dim / 2;
  float pos = (float)positions[t];
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    int col = col0 + i;
    float a = row[col] + to_f(bias[col]);
    float b = row[col + half] + to_f(bias[col + half]);
    float ra, rb;
    rope_rotate(a, b, pos, i, head_dim, theta, ra, rb);
    if (head < num_heads) {
      q_out[(size_t)t * q_size + col] = to_bf(ra);
      q_out[(size_t)t * q_size + col + half] = to_bf(rb);
    } else {
      int kc = col - q_size;
      k_cache[(size_t)slot * kv_size + kc] = to_bf(ra);
      k_cache[(size_t)slot * kv_size + kc + half] = to_bf(rb);
    }
  }
}

// The FP8 KV cache's writer: as qkv_rope_cache_bf16, but each K and V head row of a token is
// stored as e4m3 with its own fp16 scale (amax / 448, so nothing saturates: no calibration
// needed), in k_scale/v_scale (slots, num_kv_heads). The value is stored / scale, read back
// times scale, with the scale rounded to fp16 before dividing so both sides use the same one.
// Launch as qkv_rope_cache_bf16 (block 64); head_dim <= 128.
extern "C" __global__ void __launch_bounds__(64)
qkv_rope_cache_fp8(const float* __restrict__ qkv, const bf16* __restrict__ bias,
                   const int* __restrict__ positions, const int* __restrict__ slots,
                   bf16* __restrict__ q_out, __nv_fp8_storage_t* __restrict__ k_cache,
                   __nv_fp8_storage_t* __restrict__ v_cache, __half* __restrict__ k_scale,
                   __half* __restrict__ v_scale, int num_heads, int num_kv_heads, int head_dim,
                   float theta) {
  __shared__ float scratch[32];
  pdl_enter();
  int t = blockIdx.x, head = blockIdx.y;
  int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
  const float* row = qkv + (size_t)t * (q_size + 2 * kv_size);
  int slot = slots[t];
  int col0 = head * head_dim;
  bool is_v = head >= num_heads + num_kv_heads;
  if (head >= num_heads && slot < 0) return;  // block-uniform
  int half = head_dim / 2;
  int i = threadIdx.x;  // this thread's pair: dims i and i + half of the head
  float ra = 0.f, rb = 0.f;
  if (i < half) {
    float a = row[col0 + i] + to_f(bias[col0 + i]);
    float b = row[col0 + i + half] + to_f(bias[col0 + i + half]);
    if (is_v) {
      ra = a, rb = b;
    } else {
      rope_rotate(a, b, (float)positions[t], i, head_dim, theta, ra, rb);
    }
  }
  if (head < num_heads) {
    if (i < half) {
      q_out[(size_t)t * q_size + col0 + i] = to_bf(ra);
      q_out[(size_t)t * q_size + col0 + i + half] = to_bf(rb);
    }
    return;
  }
  float amax = block_max(fmaxf(fabsf(ra), fabsf(rb)), scratch);
  __half sh = __float2half_rn(amax > 0.f ? amax / 448.f : 1.f);
  float inv = 1.f / __half2float(sh);
  int kvh = head - num_heads - (is_v ? num_kv_heads : 0);
  __nv_fp8_storage_t* cache = is_v ? v_cache : k_cache;
  if (i < half) {
    size_t at = (size_t)slot * kv_size + kvh * head_dim + i;
    cache[at] = __nv_cvt_float_to_fp8(ra * inv, __NV_SATFINITE, __NV_E4M3);
    cache[at + half] = __nv_cvt_float_to_fp8(rb * inv, __NV_SATFINITE, __NV_E4M3);
  }
  if (i == 0) (is_v ? v_scale : k_scale)[(size_t)slot * num_kv_heads + kvh] = sh;
}
