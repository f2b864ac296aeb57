// Decode GEMVs with their neighbours fused in, so a decoder layer is five launches (this file's
// four kernels and the attention) instead of nine: at batch 1 the launches, not the weight
// bytes, bound the step.
//
//   gemv_rmsnorm_qkv_rope_bf16   RMSNorm prologue, QKV bias + RoPE + KV-cache write epilogue
//   gemv_residual_bf16           residual add epilogue (O and down projections)
//   gemv_rmsnorm_silu_bf16       RMSNorm prologue, SiLU-and-mul epilogue (gate/up)
//   gemv_rmsnorm_bf16            RMSNorm prologue over selected rows (final norm + LM head)
//
// A warp computes one unit: R = 2 weight rows that its epilogue needs together (a RoPE pair,
// gate and up, or two neighbouring rows), against all T tokens, each weight row read once.
// Blocks are a single wave (the grid is capped by what fits on the GPU at once) and their
// warps stride over the units, so the prologue runs once per block, not once per row.
//
// Rounding: each lane sums its 16-byte chunks in the order gemv_bf16 uses, the warp reduces
// them alike and the epilogues call the unfused kernels' arithmetic helpers, so given the same
// normed activations the GEMVs match gemv_bf16 bit for bit (gemv_residual_bf16 matches it and
// the add exactly). The norm prologue is a plain block reduction, not add_rmsnorm_bf16's
// 1024-thread tree (replaying that tree in 128 or 256 threads cost more than the GEMV at
// batch 1), so a sum of squares may round differently, a normed activation may differ by a
// bf16 ulp, and the normed kernels agree with the unfused path to bf16 rounding. Every sum's
// order is fixed by the shape, never by T: each token's result is independent of the batch.
#include "common.cuh"

#define FUSED_MAX_TOKENS 4  // Kernels.FUSED_MAX_TOKENS (more would cost registers at batch 1)
#define FUSED_ROWS 2        // weight rows per warp unit
#define FUSED_UNROLL 4      // 16-byte loads per lane and row issued before their use
// Most bytes of weights a normed kernel prefetches into L2 before its wait: the first units of
// its first warps. More streams in too early and is evicted before use, or crowds out the
// previous kernel's loads: with each warp's whole first unit (up to 42 MB at 14B), 14B batch 1
// ran at 94 tokens/s on one H100 and 145 on two (tensor parallel); with 8 MB, 96 and 152.
#ifndef NORMED_PREFETCH_BYTES
#define NORMED_PREFETCH_BYTES (8 << 20)
#endif

__device__ __forceinline__ void prefetch_l2(const void* p) {
  asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}

// acc[r][t] += w_r . x_t over k = 8 * chunks, for one warp. Lane l takes chunks l, l + 32, ...
// in ascending order (as gemv_bf16 does); the R * FUSED_UNROLL weight loads of an iteration are
// all issued before the first is used, and a row's tail is one predicated iteration rather than
// single loads one after another. x is in shared memory (XS) or global (read through L1).
template <int T, bool XS>
__device__ __forceinline__ void warp_dot(const uint4* const (&w)[FUSED_ROWS],
                                         const uint4* __restrict__ x, int chunks,
                                         float (&acc)[FUSED_ROWS][T]) {
  int lane = threadIdx.x & 31;
  for (int base = lane; base < chunks; base += 32 * FUSED_UNROLL) {
    uint4 wv[FUSED_ROWS][FUSED_UNROLL];
#pragma unroll
    for (int j = 0; j < FUSED_UNROLL; j++) {
      int c = base + 32 * j;
#pragma unroll
      for (int r = 0; r < FUSED_ROWS; r++)
        wv[r][j] = c < chunks ? ld_stream(w[r] + c) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int j = 0; j < FUSED_UNROLL; j++) {
      int c = base + 32 * j;
      // Activation loads are unconditional (from a valid chunk) so they can be issued early;
      // only the products past the row's end are skipped.
      int cx = min(c, chunks - 1);
#pragma unroll
      for (int t = 0; t < T; t++) {
        uint4 xv = XS ? x[t * chunks + cx] : __ldg(x + t * chunks + cx);
        if (c < chunks) {
#pragma unroll
          for (int r = 0; r < FUSED_ROWS; r++) fma8(acc[r][t], wv[r][j], xv);
        }
      }
    }
  }
}

// Prefetches the warp's first unit into L2 if it is below `units`, so the weights stream in
// while the block waits for the previous kernel and computes its prologue.
template <class Epi>
__device__ __forceinline__ void prefetch_first_unit(const bf16* __restrict__ w, int k, int units,
                                                    const Epi& epi) {
  int warps = blockDim.x >> 5;
  int u = blockIdx.x * warps + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (u >= units) return;
#pragma unroll
  for (int r = 0; r < FUSED_ROWS; r++) {
    const char* row = reinterpret_cast<const char*>(w + (size_t)epi.row(u, r) * k);
    for (int off = lane * 128; off < 2 * k; off += 32 * 128) prefetch_l2(row + off);
  }
}

// The GEMV proper: each warp computes units gw, gw + (all warps), ... and hands each unit's
// sums to the epilogue, lane t storing token t.
template <int T, bool XS, class Epi>
__device__ __forceinline__ void gemv_units(const bf16* __restrict__ w, const bf16* x, int k,
                                           int units, Epi& epi) {
  int warps = blockDim.x >> 5, lane = threadIdx.x & 31;
  int chunks = k >> 3;
  const uint4* xv = reinterpret_cast<const uint4*>(x);
  for (int u = blockIdx.x * warps + (threadIdx.x >> 5); u < units; u += gridDim.x * warps) {
    const uint4* wr[FUSED_ROWS];
#pragma unroll
    for (int r = 0; r < FUSED_ROWS; r++)
      wr[r] = reinterpret_cast<const uint4*>(w + (size_t)epi.row(u, r) * k);
    float acc[FUSED_ROWS][T];
#pragma unroll
    for (int r = 0; r < FUSED_ROWS; r++)
#pragma unroll
      for (int t = 0; t < T; t++) acc[r][t] = 0.f;
    warp_dot<T, XS>(wr, xv, chunks, acc);
#pragma unroll
    for (int t = 0; t < T; t++) {
      float s0 = warp_sum(acc[0][t]), s1 = warp_sum(acc[1][t]);
      if (lane == t) epi.store(u, t, s0, s1);
    }
  }
  pdl_tail();
}

// x . x over one float4, in component order.
__device__ __forceinline__ float sum_sq4(float ss, float4 v) {
  return sum_sq(sum_sq(sum_sq(sum_sq(ss, v.x), v.y), v.z), v.w);
}

// RMSNorm of x4 (four elements of a row) with their four norm weights w, as bf16 pairs.
__device__ __forceinline__ void rms_norm4(float4 x4, uint2 w, float inv, __nv_bfloat162& lo,
                                          __nv_bfloat162& hi) {
  const bf16* wb = reinterpret_cast<const bf16*>(&w);
  lo = __halves2bfloat162(rms_scale(x4.x, inv, wb[0]), rms_scale(x4.y, inv, wb[1]));
  hi = __halves2bfloat162(rms_scale(x4.z, inv, wb[2]), rms_scale(x4.w, inv, wb[3]));
}

// xs[t][4i .. 4i + 3] = RMSNorm of x4 (elements 4i .. 4i + 3 of a row) with their four norm
// weights w.
__device__ __forceinline__ void rms_store4w(bf16* xs, int i, float4 x4, uint2 w, float inv) {
  __nv_bfloat162 lo, hi;
  rms_norm4(x4, w, inv, lo, hi);
  uint2 out;
  out.x = *reinterpret_cast<unsigned*>(&lo);
  out.y = *reinterpret_cast<unsigned*>(&hi);
  reinterpret_cast<uint2*>(xs)[i] = out;
}

// The same with weights nw (hidden) bf16.
__device__ __forceinline__ void rms_store4(bf16* xs, const bf16* __restrict__ nw, int i,
                                           float4 x4, float inv) {
  rms_store4w(xs, i, x4, __ldg(reinterpret_cast<const uint2*>(nw) + i), inv);
}

// Prologue: xs (T, hidden) bf16 in shared memory = RMSNorm of x rows src_rows[t] (or t), by a
// plain block reduction: thread i sums the float4s i, i + blockDim, ... of each row in that
// order, the warps reduce by shuffles, and after the one barrier every thread adds the warps'
// partials in warp order. That order depends on blockDim (which Kernels picks from the shape
// alone), never on T, so a token's result does not depend on the batch around it; it is not
// add_rmsnorm_bf16's order, so the two paths agree to bf16 rounding, not bit for bit.
// A thread's first U float4s of each row stay in registers for the scaling pass (all of them
// at the Qwen2.5 widths), so x is read once. part: FUSED_MAX_TOKENS x 32 floats of shared
// scratch. Requires hidden % 4 == 0 and norm_w 8-byte aligned (its own allocation).
// Under tensor parallelism (TP) each x row first gets the ranks' partials added
// (allreduce.cu): after the wait for the peers, every load of x is x + sum, and block 0
// stores that to tp->x_out. The TP code is compiled only into the TP kernels, so the others
// keep their registers.
template <int T, bool TP>
__device__ __forceinline__ void rmsnorm_prologue(const float* __restrict__ x,
                                                 const int* __restrict__ src_rows,
                                                 const bf16* __restrict__ nw, int hidden,
                                                 float eps, bf16* xs, float (*part)[32],
                                                 const TpSum* tp) {
  constexpr int U = T <= 2 ? 4 : 2;  // float4 loads per row and thread issued together
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  int n4 = hidden >> 2, stride = blockDim.x;
  const float4* xr[T];
#pragma unroll
  for (int t = 0; t < T; t++)
    xr[t] = reinterpret_cast<const float4*>(x + (size_t)(src_rows ? src_rows[t] : t) * hidden);
  float4 held[T][U];
  float ss[T];
  if constexpr (TP) tp_wait_peers(*tp);
  // x + the ranks' partials when tensor parallel (token t of a TP step is row t: no src_rows)
  auto load = [&](int t, int i) {
    float4 v = __ldg(xr[t] + i);
    if constexpr (TP) v = tp_row_sum4(*tp, v, t, hidden, i);
    return v;
  };
#pragma unroll
  for (int t = 0; t < T; t++)
#pragma unroll
    for (int u = 0; u < U; u++) {
      int i = threadIdx.x + u * stride;
      held[t][u] = i < n4 ? load(t, i) : make_float4(0.f, 0.f, 0.f, 0.f);
    }
#pragma unroll
  for (int t = 0; t < T; t++) {
    ss[t] = 0.f;
#pragma unroll
    for (int u = 0; u < U; u++) ss[t] = sum_sq4(ss[t], held[t][u]);
  }
  for (int i = threadIdx.x + U * stride; i < n4; i += stride)  // wider rows: the rest
#pragma unroll
    for (int t = 0; t < T; t++) ss[t] = sum_sq4(ss[t], load(t, i));
#pragma unroll
  for (int t = 0; t < T; t++) {
    float s = warp_sum(ss[t]);
    if (lane == 0) part[t][warp] = s;
  }
  __syncthreads();
  float inv[T];
#pragma unroll
  for (int t = 0; t < T; t++) {
    float total = 0.f;
    for (int w = 0; w < warps; w++) total += part[t][w];
    inv[t] = inv_rms(total, hidden, eps);
  }
  bool write_x = false;
  float* x_out = nullptr;
  if constexpr (TP) {
    x_out = tp->x_out;
    write_x = x_out != nullptr && blockIdx.x == 0;
  }
#pragma unroll
  for (int u = 0; u < U; u++) {
    int i = threadIdx.x + u * stride;
    if (i < n4)
#pragma unroll
      for (int t = 0; t < T; t++) {
        rms_store4(xs + (size_t)t * hidden, nw, i, held[t][u], inv[t]);
        if (write_x) reinterpret_cast<float4*>(x_out + (size_t)t * hidden)[i] = held[t][u];
      }
  }
  for (int i = threadIdx.x + U * stride; i < n4; i += stride)
#pragma unroll
    for (int t = 0; t < T; t++) {
      float4 v = load(t, i);
      rms_store4(xs + (size_t)t * hidden, nw, i, v, inv[t]);
      if (write_x) reinterpret_cast<float4*>(x_out + (size_t)t * hidden)[i] = v;
    }
  __syncthreads();
}

// Epilogue of the QKV projection. Unit u is the RoPE pair (i, i + half) of head u / half, heads
// in the row order Q, K, V; lane t adds the bias, rotates Q and K, and writes Q to q_out and K
// and V to the cache at slots[t] (none when negative: padding), as qkv_rope_cache_bf16 does.
struct QkvRopeEpilogue {
  const bf16* bias;
  bf16 *q_out, *k_cache, *v_cache;
  int num_heads, num_kv_heads, head_dim, half;
  float theta;
  float pos;  // this lane's token's
  int slot;

  __device__ int row(int u, int r) const {
    return (u / half) * head_dim + u % half + r * half;
  }
  __device__ void store(int u, int t, float s0, float s1) const {
    int c0 = (u / half) * head_dim + u % half;
    store_biased(u, t, s0 + to_f(bias[c0]), s1 + to_f(bias[c0 + half]));
  }
  // The same with the bias already added (a: row c0's sum, b: row c0 + half's).
  __device__ void store_biased(int u, int t, float a, float b) const {
    int head = u / half, i = u % half;
    int q_size = num_heads * head_dim, kv_size = num_kv_heads * head_dim;
    int c0 = head * head_dim + i, c1 = c0 + half;
    if (head >= num_heads + num_kv_heads) {  // V: bias only
      if (slot < 0) return;
      v_cache[(size_t)slot * kv_size + c0 - q_size - kv_size] = to_bf(a);
      v_cache[(size_t)slot * kv_size + c1 - q_size - kv_size] = to_bf(b);
      return;
    }
    float ra, rb;
    rope_rotate(a, b, pos, i, head_dim, theta, ra, rb);
    if (head < num_heads) {
      q_out[(size_t)t * q_size + c0] = to_bf(ra);
      q_out[(size_t)t * q_size + c1] = to_bf(rb);
    } else if (slot >= 0) {
      k_cache[(size_t)slot * kv_size + c0 - q_size] = to_bf(ra);
      k_cache[(size_t)slot * kv_size + c1 - q_size] = to_bf(rb);
    }
  }
};

// Epilogue of the gate/up projection: unit i is gate row i and up row inter + i.
struct SiluEpilogue {
  bf16* act;
  int inter;

  __device__ int row(int u, int r) const { return u + r * inter; }
  __device__ void store(int u, int t, float gate, float up) const {
    act[(size_t)t * inter + u] = to_bf(silu_mul(gate, up));
  }
};

// Epilogue writing y (tokens, rows) fp32 into slot [parity][this rank] of every rank
// (tensor parallelism, allreduce.cu): unit u is rows 2u and 2u + 1 as in RowsEpilogue.
struct PushEpilogue {
  TpPush out;
  int rows;

  __device__ int row(int u, int r) const { return min(2 * u + r, rows - 1); }
  __device__ void store(int u, int t, float s0, float s1) const {
    for (int q = 0; q < out.ranks; q++) {
      float* yt = out.dst[q] + (size_t)t * rows + 2 * u;
      yt[0] = s0;
      if (2 * u + 1 < rows) yt[1] = s1;
    }
  }
};

// Epilogue adding into (Add) or writing (!Add) y (tokens, rows) fp32: unit u is rows 2u and
// 2u + 1 (the last row stands in for a missing second row, its result dropped).
template <bool Add>
struct RowsEpilogue {
  float* y;
  int rows;

  __device__ int row(int u, int r) const { return min(2 * u + r, rows - 1); }
  __device__ void store(int u, int t, float s0, float s1) const {
    float* yt = y + (size_t)t * rows + 2 * u;
    if (Add) {
      yt[0] += s0;
      if (2 * u + 1 < rows) yt[1] += s1;
    } else {
      yt[0] = s0;
      if (2 * u + 1 < rows) yt[1] = s1;
    }
  }
};

// Runs body.run<T>() for the runtime token count T (1..FUSED_MAX_TOKENS).
template <class Body>
__device__ __forceinline__ void for_tokens(int tokens, Body& body) {
  switch (tokens) {
    case 1: body.template run<1>(); break;
    case 2: body.template run<2>(); break;
    case 3: body.template run<3>(); break;
    default: body.template run<4>(); break;
  }
}

// Prologue then GEMV over the normed activations in shared memory, for T tokens.
template <class Epi, bool TP>
struct NormedGemv {
  const float* x;
  const int* src_rows;
  const bf16* norm_w;
  float eps;
  const bf16* w;
  bf16* xs;
  float (*part)[32];
  int hidden, units;
  Epi& epi;
  const TpSum* tp;

  template <int T>
  __device__ void run() {
    rmsnorm_prologue<T, TP>(x, src_rows, norm_w, hidden, eps, xs, part, tp);
    gemv_units<T, true>(w, xs, hidden, units, epi);
  }
};

// Prefetch, prologue, GEMV: the body of the three normed kernels. The weights start streaming
// into L2 before the wait for the previous kernel (pdl_wait) and, under tensor parallelism,
// for the peers' partials.
template <bool TP, class Epi>
__device__ __forceinline__ void normed_gemv(const float* __restrict__ x,
                                            const int* __restrict__ src_rows,
                                            const bf16* __restrict__ norm_w, float eps,
                                            const bf16* __restrict__ w, int tokens, int hidden,
                                            int units, Epi& epi, bf16* xs, float (*part)[32],
                                            const TpSum* tp) {
  prefetch_first_unit(w, hidden, min(units, NORMED_PREFETCH_BYTES / (4 * hidden)), epi);
  pdl_enter();
  if constexpr (TP) tp_signal_peers(*tp);
  NormedGemv<Epi, TP> body{x, src_rows, norm_w, eps, w, xs, part, hidden, units, epi, tp};
  for_tokens(tokens, body);
}

// Launch (all four kernels): grid min(ceil(units / warps), SMs x blocks resident per SM),
// block 128 or 256 threads (Kernels.launchFused picks); dynamic shared memory
// tokens * hidden * 2 bytes for the normed kernels. units = rows / 2 (rounded up), the
// epilogue's pairs. w: (rows, k) bf16 (nn.Linear layout), k % 8 == 0; tokens <=
// FUSED_MAX_TOKENS. x: (tokens, hidden) fp32 residual stream, norm_w (hidden) bf16.

// q_out (tokens, q_size) bf16 and the K/V cache rows at slots[t] = RoPE(RMSNorm(x) . w_qkv^T +
// bias). w: (q_size + 2 kv_size, hidden); positions, slots: per token.
#define QKV_ROPE_PARAMS                                                                         \
  const float *__restrict__ x, const bf16 *__restrict__ norm_w, float eps,                    \
      const bf16 *__restrict__ w, const bf16 *__restrict__ bias,                              \
      const int *__restrict__ positions, const int *__restrict__ slots,                       \
      bf16 *__restrict__ q_out, bf16 *__restrict__ k_cache, bf16 *__restrict__ v_cache,       \
      int tokens, int hidden, int num_heads, int num_kv_heads, int head_dim, float theta
template <bool TP>
__device__ __forceinline__ void qkv_rope_body(QKV_ROPE_PARAMS, const TpSum* tp) {
  extern __shared__ uint4 smem[];
  __shared__ float part[FUSED_MAX_TOKENS][32];
  int lane = threadIdx.x & 31;
  QkvRopeEpilogue epi{bias,     q_out,        k_cache, v_cache, num_heads, num_kv_heads,
                      head_dim, head_dim / 2, theta,   0.f,     -1};
  if (lane < tokens) {
    epi.pos = (float)positions[lane];
    epi.slot = slots[lane];
  }
  int units = (num_heads + 2 * num_kv_heads) * (head_dim / 2);
  normed_gemv<TP>(x, nullptr, norm_w, eps, w, tokens, hidden, units, epi,
                  reinterpret_cast<bf16*>(smem), part, tp);
}
extern "C" __global__ void __launch_bounds__(256, 2)
gemv_rmsnorm_qkv_rope_bf16(QKV_ROPE_PARAMS) {
  qkv_rope_body<false>(x, norm_w, eps, w, bias, positions, slots, q_out, k_cache, v_cache,
                       tokens, hidden, num_heads, num_kv_heads, head_dim, theta, nullptr);
}
// The same summing the ranks' partials into x first (tensor parallelism). The TP kernels run
// blocks of 16 warps, one per SM (Kernels.launchFused): every block repeats the prologue, which
// here also waits for the peers and reads their partials, and halving the blocks took 14B TP=2
// batch 1 from 151 to 156 tokens/s on two H100s (the plain kernels gained nothing from it).
extern "C" __global__ void __launch_bounds__(512, 1)
gemv_rmsnorm_qkv_rope_tp_bf16(QKV_ROPE_PARAMS, TpSum tp) {
  qkv_rope_body<true>(x, norm_w, eps, w, bias, positions, slots, q_out, k_cache, v_cache,
                      tokens, hidden, num_heads, num_kv_heads, head_dim, theta, &tp);
}

// act (tokens, inter) bf16 = silu(gate) * up of RMSNorm(x) . w_gate_up^T. w: (2 inter, hidden),
// gate rows then up rows.
template <bool TP>
__device__ __forceinline__ void silu_body(const float* __restrict__ x,
                                          const bf16* __restrict__ norm_w, float eps,
                                          const bf16* __restrict__ w, bf16* __restrict__ act,
                                          int tokens, int hidden, int inter, const TpSum* tp) {
  extern __shared__ uint4 smem[];
  __shared__ float part[FUSED_MAX_TOKENS][32];
  SiluEpilogue epi{act, inter};
  normed_gemv<TP>(x, nullptr, norm_w, eps, w, tokens, hidden, inter, epi,
                  reinterpret_cast<bf16*>(smem), part, tp);
}
extern "C" __global__ void __launch_bounds__(256, 2)
gemv_rmsnorm_silu_bf16(const float* __restrict__ x, const bf16* __restrict__ norm_w, float eps,
                       const bf16* __restrict__ w, bf16* __restrict__ act, int tokens,
                       int hidden, int inter) {
  silu_body<false>(x, norm_w, eps, w, act, tokens, hidden, inter, nullptr);
}
extern "C" __global__ void __launch_bounds__(512, 1)
gemv_rmsnorm_silu_tp_bf16(const float* __restrict__ x, const bf16* __restrict__ norm_w,
                          float eps, const bf16* __restrict__ w, bf16* __restrict__ act,
                          int tokens, int hidden, int inter, TpSum tp) {
  silu_body<true>(x, norm_w, eps, w, act, tokens, hidden, inter, &tp);
}

// y (tokens, rows) fp32 = RMSNorm(x[src_rows[t]]) . w^T, src_rows null meaning t. w: (rows,
// hidden). For the final norm and LM head over the sampling rows.
template <bool TP>
__device__ __forceinline__ void normed_rows_body(const float* __restrict__ x,
                                                 const int* __restrict__ src_rows,
                                                 const bf16* __restrict__ norm_w, float eps,
                                                 const bf16* __restrict__ w,
                                                 float* __restrict__ y, int tokens, int rows,
                                                 int hidden, const TpSum* tp) {
  extern __shared__ uint4 smem[];
  __shared__ float part[FUSED_MAX_TOKENS][32];
  RowsEpilogue<false> epi{y, rows};
  normed_gemv<TP>(x, src_rows, norm_w, eps, w, tokens, hidden, (rows + 1) / 2, epi,
                  reinterpret_cast<bf16*>(smem), part, tp);
}
extern "C" __global__ void __launch_bounds__(256, 2)
gemv_rmsnorm_bf16(const float* __restrict__ x, const int* __restrict__ src_rows,
                  const bf16* __restrict__ norm_w, float eps, const bf16* __restrict__ w,
                  float* __restrict__ y, int tokens, int rows, int hidden) {
  normed_rows_body<false>(x, src_rows, norm_w, eps, w, y, tokens, rows, hidden, nullptr);
}
// Tensor parallel: token t's row is t (src_rows must be null: a one-token step samples it).
extern "C" __global__ void __launch_bounds__(512, 1)
gemv_rmsnorm_tp_bf16(const float* __restrict__ x, const bf16* __restrict__ norm_w, float eps,
                     const bf16* __restrict__ w, float* __restrict__ y, int tokens, int rows,
                     int hidden, TpSum tp) {
  normed_rows_body<true>(x, nullptr, norm_w, eps, w, y, tokens, rows, hidden, &tp);
}

// The activations straight from global memory (no prologue).
template <class Epi>
struct ResidualGemv {
  const bf16* a;
  const bf16* w;
  int k, units;
  Epi& epi;

  template <int T>
  __device__ void run() {
    gemv_units<T, false>(w, a, k, units, epi);
  }
};

// resid (tokens, rows) fp32 += a . w^T: the O projection (a = attention output, k = q_size)
// and the down projection (a = activations, k = inter) adding into the residual stream.
// a: (tokens, k) bf16; w: (rows, k).
extern "C" __global__ void __launch_bounds__(256, 2)
gemv_residual_bf16(const bf16* __restrict__ a, const bf16* __restrict__ w,
                   float* __restrict__ resid, int tokens, int rows, int k) {
  RowsEpilogue<true> epi{resid, rows};
  pdl_enter();
  ResidualGemv<RowsEpilogue<true>> body{a, w, k, (rows + 1) / 2, epi};
  for_tokens(tokens, body);
}

// Tensor parallelism: a . w^T (tokens, rows) fp32, this rank's partial of the O or down
// projection, stored into its slot in every rank's memory (out.dst; TpPush). The peers'
// copies travel over NVLink as the GEMV runs, so the consumer reads its slots locally.
extern "C" __global__ void __launch_bounds__(256, 2)
gemv_push_bf16(const bf16* __restrict__ a, const bf16* __restrict__ w, TpPush out, int tokens,
               int rows, int k) {
  PushEpilogue epi{out, rows};
  pdl_enter();
  ResidualGemv<PushEpilogue> body{a, w, k, (rows + 1) / 2, epi};
  for_tokens(tokens, body);
}
