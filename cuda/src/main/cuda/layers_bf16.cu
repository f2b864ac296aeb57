// Every decoder layer of a one-token bf16 step in one persistent launch (small models, where
// a layer's weights take less time to read than its kernel boundaries cost: Qwen2.5-0.5B's 24
// layers took about 34 us each as separate fused kernels against 10 us for their 30 MB at copy
// bandwidth; a lab of this design, tools/bf16_layers_lab.cu in commit 08cdc9c, took 25 us on one
// H100). -DLW_TIMING=N prints a layer's timeline (below).
//
// One block an SM. Its warp LW_CW is a producer: it walks the block's share of every layer's
// weights (QKV rows, O rows, gate/up row pairs, down rows, in the consumers' order) and
// bulk-copies them into a ring of stages, waiting only for a free stage, never for the math:
// while the consumers wait at a grid barrier or run the attention, the ring fills with what
// they need next. Warps 0..LW_CW-1 consume, phase by phase, with a grid barrier after each (a
// phase reads what the one before wrote in every block):
//   QKV   xs = RMSNorm(x) (each block for itself); qkv = xs . Wqkv^T + bias (fp32, before RoPE)
//   ATT   a warp per (query head, run of keys): RoPE on q and the new k (rope_rotate, as the
//         fused QKV kernel), scores, softmax and P.V into a partial; the group's first query
//         head writes the new k and v into the cache
//   O     xs = the partials merged (each block for itself); x += xs . Wo^T (a block owns rows)
//   GU    xs = RMSNorm(x); act = bf16(silu(gate) * up) (silu_mul, as the fused kernel)
//   DOWN  xs = act; x += xs . Wd^T (each warp an eighth of a row's inputs, summed in warp order)
// Layer 0 reads token 0's embedding row itself (no embedding kernel before the launch). With
// head set (a step that samples its token), after the last layer:
//   HEAD  xs = RMSNorm(x); logits = xs . Wlm^T (the ring streams the LM head like a layer's
//         weights: 3.2 TB/s at 0.5B against 2.8 for the separate kernel), and their greedy id
//         (lw_argmax), so a greedy, unguided step launches no LM head or sampler of its own
// Where 16 rows fit a stage (0.5B), QKV, O and gate/up run on the tensor cores: a stage is a
// 16-row strip, each warp takes an eighth of its k steps and frees the strip's stage once done,
// and the warps' sums meet in warp order once a batch of up to LW_BATCH strips (lw_strips);
// wider models take the CUDA-core dot products. Down stages meet once a batch too (lw_down).
// A phase keeps its consumers off L2 where it can: the block's rows of x live in shared memory
// (xown; no other block writes them), so O and down store x without reading it back; the
// norms' weights load with x and the QKV bias before the norm. While the consumers wait at a
// grid barrier the producer issues nothing new (LW_PAUSE), from the moment the phase's last
// stage has arrived (LW_EARLY_PAUSE) until the prologue after the barrier is done
// (LW_LATE_RESUME; after QKV, the barrier): the barrier's release waits for the bulk copies in
// flight, and the copies slow the prologue's round trip to L2. The arithmetic is the fused
// kernels' (same norm, RoPE and SiLU helpers) with its own summation orders, so logits agree
// with the separate kernels to bf16 rounding, not bit for bit (LayersBf16GpuTest).
//
// Requirements (Kernels.layersFit): one token (row 0 of the step's metadata), bf16 weights and
// cache, head_dim 64 or 128, hidden and intermediate sizes multiples of 8 with 2 x hidden
// bytes and 2 x intermediate bytes at most a stage, intermediate size at most LW_XS, at most
// LW_OWN rows of x a block.
#include "common.cuh"
#include <stddef.h>
// (Also the helpers of norm.cu, rope_cache.cu, activation.cu, gemv_fused.cu and w4a16_chain.cu,
// which kernels.cu includes before this file.)

#define LW_CW 8            // consumer warps (Kernels.LAYERS_THREADS = 32 * (LW_CW + 1))
#define LW_STAGE 29184     // bytes of a ring stage: 16 rows of 896 inputs (+ pads), 3 of 4,864
#define LW_XS 9216         // largest input row (bf16) a phase stages: hidden and intermediate
#define LW_KEYS 32         // keys an attention warp takes at a time
#define LW_MAX_SPLITS 16   // most runs of keys a head's attention is cut into (merged at once)
#define LW_OWN 64          // most rows of x a block owns (Kernels.layersFit)
#ifndef LW_RUN_TILES
#define LW_RUN_TILES 1     // fewest key tiles a run of the attention takes
#endif
#ifndef LW_BATCH
#define LW_BATCH 6         // most strips (down: stages) whose warp sums meet at once
#endif

// One layer's weights and cache (Kernels.layersArgs writes an array of them, LAYER_WORDS each).
struct LwLayer {
  const bf16 *qkv_w, *qkv_b, *o_w, *gu_w, *down_w, *norm1, *norm2;
  bf16 *k_cache, *v_cache;
};
static_assert(sizeof(LwLayer) == 72, "Kernels.LAYER_WORDS");

// The pointers of a layer its consumers read (the producer reads the weights'), which each
// block copies into shared memory at the launch's start: read from the launch's parameters,
// each layer's first use missed the constant cache, a round trip at the norm's start and
// another at the attention's.
struct LwHot {
  const bf16 *qkv_b, *norm1, *norm2;
  bf16 *k_cache, *v_cache;
};

#define LW_MAX_LAYERS 64

// The launch's arguments, by value (a graph captures them as they are; the layers' pointers
// are read through the constant cache, not from global memory at each layer's start).
struct LwArgs {
  float* x;                   // (hidden) fp32 residual stream
  float* qkv;                 // (q + 2 kv) fp32 scratch
  float* part;                // (num_heads, LW_MAX_SPLITS, head_dim + 4) attention partials
  bf16* act;                  // (inter) bf16 SiLU output
  unsigned* barrier;          // grid barrier (grid_arrive_wait), zero at first use
  const int* positions;       // the step's metadata: token 0's position, slot and block table
  const int* slots;
  const int* block_tables;
  const int* ids;             // token 0's id (the step's metadata; step_token)
  const int* fed;             // the step before's sampled ids (step_token)
  const bf16* embed;          // (vocab, hidden) embedding table
  const bf16* final_norm;     // LW_HEAD: the final norm's weights, LM head, logits (vocab) fp32
  const bf16* lm_head;
  float* logits;
  int* sampled;               // LW_HEAD: the greedy id (lowest on ties)
  unsigned* best;             // LW_HEAD: [0] blocks done, [32 + 2 b] block b's (max, id), zeroed
  float eps, theta;
  int num_layers, hidden, inter, num_heads, num_kv_heads, block_size, vocab, head;
  LwLayer layers[LW_MAX_LAYERS];
};

static_assert(sizeof(LwArgs) == 168 + 72 * LW_MAX_LAYERS && offsetof(LwArgs, eps) == 128 &&
                  offsetof(LwArgs, num_layers) == 136 && offsetof(LwArgs, layers) == 168,
              "Kernels.layersArgs: 21 words, then LAYERS_MAX of 9");

// The weight phases of a layer, in order, then (head != 0) the LM head after the last layer.
enum { LW_QKV, LW_O, LW_GU, LW_DOWN, LW_HEAD };

template <int HD, int NS>
struct LwSmem {
  alignas(128) unsigned char ring[NS][LW_STAGE];
  union {  // the attention's buffers live between two phases that stage inputs in xs
    alignas(16) bf16 xs[LW_XS];
    struct {
      alignas(16) bf16 vt[LW_CW][LW_KEYS][HD];  // a warp's V rows of its current keys
      float qs[LW_CW][HD];                      // a warp's query, rotated and scaled
      float kn[LW_CW][HD];                      // the new key, rotated
    } att;
  } u;
  int paused;  // the consumers are at a grid barrier (LW_PAUSE)
  int slot0[LW_CW][LW_KEYS];               // a warp's first unit's first tile: its keys' slots
  float red[LW_CW];
  int red_id[LW_CW];  // the LM head's argmax: each warp's id
  LwHot hot[LW_MAX_LAYERS];
  // The block's rows of x (the rows its O and down phases add to; no other block writes them):
  // kept here, so those phases store x without reading it back from L2 first.
  float xown[LW_OWN];
  float dred[2][LW_BATCH][LW_CW][4];        // down stages' warp sums, by batch parity
  float bred[2][LW_BATCH][LW_CW][16];       // tensor-core strips' warp sums, by batch parity
  uint64_t full[NS], empty[NS];
};

__device__ __forceinline__ void lw_sync() {
  asm volatile("bar.sync 1, %0;" ::"n"(32 * LW_CW) : "memory");
}

// The grid barrier (grid_arrive_wait). Under LW_PAUSE the block's producer issues no new
// stage while its consumers wait here: a barrier's atomics and polls are L2 round trips, and
// with every SM's producer refilling the stages the phase just freed they took 2-3 us, against
// 0.7 us after the attention, when the rings are full and nothing streams.
#ifndef LW_PAUSE
#define LW_PAUSE 1
#endif
// The producer stops once the phase's last stage has arrived, not at the barrier: the
// release before a barrier's arrival waited for the SM's bulk copies in flight, so the
// barriers after the weight phases took 2.1-2.4 us against 1.0-1.6 with the pause here (0.5B,
// one H100: 1,527 against 1,426 output tokens/s). The next phase starts on the stages issued
// before the pause and the rest stream in after the barrier, or after the prologue that follows
// it with LW_LATE_RESUME (its norm and gate/up took
// 0.3-0.6 us longer). -DLW_EARLY_PAUSE=0 pauses at the barrier.
#ifndef LW_EARLY_PAUSE
#define LW_EARLY_PAUSE 1
#endif
template <typename S>
__device__ __forceinline__ void lw_early_pause(S& sm, bool last) {
  if (LW_EARLY_PAUSE && LW_PAUSE && last && threadIdx.x == 0)
    *reinterpret_cast<volatile int*>(&sm.paused) = 1;
}
// The producer stays paused after a barrier until the prologue after it (a norm, the merge,
// the SiLU output's copy) is done: its copies would slow that prologue's round trip to L2
// (w4a16_chain.cu's CHAIN_LATE_RESUME). -DLW_LATE_RESUME=0 resumes at the barrier.
#ifndef LW_LATE_RESUME
#define LW_LATE_RESUME 1
#endif
template <typename S>
__device__ __forceinline__ void lw_grid_sync(unsigned* bar, S& sm, bool prologue = true) {
  lw_sync();
  if (threadIdx.x == 0) {
    if (LW_PAUSE) *reinterpret_cast<volatile int*>(&sm.paused) = 1;
    grid_arrive_wait(bar);
    if (LW_PAUSE && (!LW_LATE_RESUME || !prologue))
      *reinterpret_cast<volatile int*>(&sm.paused) = 0;
  }
  lw_sync();
}
template <typename S>
__device__ __forceinline__ void lw_resume(S& sm) {
  if (LW_PAUSE && LW_LATE_RESUME && threadIdx.x == 0)
    *reinterpret_cast<volatile int*>(&sm.paused) = 0;
}

// Rows (gate/up: row pairs) of phase p, a row's bytes, and the rows a stage holds: a row a
// consumer warp (two in QKV and O), as many as fit; down stages a few long rows. (The queries
// are as wide as the hidden size, Kernels.layersFit, so a head is hidden / num_heads wide.)
__device__ __forceinline__ int lw_rows(const LwArgs& a, int p) {
  return p == LW_QKV ? (a.num_heads + 2 * a.num_kv_heads) * (a.hidden / a.num_heads)
                     : p == LW_GU ? a.inter : p == LW_HEAD ? a.vocab : a.hidden;
}
__device__ __forceinline__ int lw_row_bytes(const LwArgs& a, int p) {
  return 2 * (p == LW_DOWN ? a.inter : a.hidden);
}
// Whether the QKV, O and gate/up phases run on the tensor cores: a stage then holds one strip
// of 16 rows (gate/up: 8 gate rows, then their 8 up rows), each row LW_PAD bytes past the one
// before it so that a quarter warp's ldmatrix rows fall in distinct banks.
#define LW_PAD 16
__device__ __forceinline__ bool lw_tc(const LwArgs& a) {
  return 16 * (2 * a.hidden + LW_PAD) <= LW_STAGE && a.hidden % 16 == 0;
}
__device__ __forceinline__ int lw_per_stage(const LwArgs& a, int p) {
  int fit = LW_STAGE / lw_row_bytes(a, p) / (p == LW_GU ? 2 : 1);
  if (p == LW_DOWN) return min(fit, 4);
  if (lw_tc(a)) return p == LW_GU ? 8 : 16;
  return min(fit, p == LW_GU ? LW_CW : 2 * LW_CW);
}
// Bytes from one staged row to the next.
__device__ __forceinline__ int lw_stride(const LwArgs& a, int p) {
  return lw_row_bytes(a, p) + (p != LW_DOWN && lw_tc(a) ? LW_PAD : 0);
}

__device__ __forceinline__ void lw_range(const LwArgs& a, int p, int& r0, int& r1) {
  int n = lw_rows(a, p);
  r0 = (int)((long long)blockIdx.x * n / gridDim.x);
  r1 = (int)((long long)(blockIdx.x + 1) * n / gridDim.x);
}

// The producer's stages of phase p, whose weights start at base (QKV, O, gate/up, down, LM
// head).
template <int HD, int NS>
__device__ __forceinline__ void lw_stream(const LwArgs& a, LwSmem<HD, NS>& sm, int p,
                                          const void* base, int& si, uint64_t policy) {
  int lane = threadIdx.x & 31;
  int r0, r1;
  lw_range(a, p, r0, r1);
  int rb = lw_row_bytes(a, p), per = lw_per_stage(a, p), stride = lw_stride(a, p);
  bool tc = lw_tc(a);
  for (int c = r0; c < r1; c += per, si++) {
    int s = si % NS, n = min(per, r1 - c), copies = p == LW_GU ? 2 * n : n;
    if (si >= NS) mbar_wait(&sm.empty[s], ((si / NS) - 1) & 1);
    if (LW_PAUSE)
      while (*reinterpret_cast<volatile int*>(&sm.paused)) {
      }
    if (lane == 0) mbar_expect_tx(&sm.full[s], copies * rb);
    __syncwarp();
    if (lane < copies) {  // gate rows, then their up rows (inter rows further)
      int row = p == LW_GU ? c + lane % n + (lane / n) * a.inter : c + lane;
      // the up rows start at slot n, or at 8 in a tensor-core strip
      int slot = p == LW_GU ? lane % n + (lane / n) * (tc ? 8 : n) : lane;
      bulk_load(sm.ring[s] + slot * stride, reinterpret_cast<const char*>(base) + (size_t)row * rb,
                rb, &sm.full[s], policy);
    }
  }
}

template <int HD, int NS>
__device__ void lw_producer(const LwArgs& a, LwSmem<HD, NS>& sm) {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  int si = 0;
  for (int l = 0; l < a.num_layers; l++) {
    const LwLayer& w = a.layers[l];
    lw_stream(a, sm, LW_QKV, w.qkv_w, si, policy);
    lw_stream(a, sm, LW_O, w.o_w, si, policy);
    lw_stream(a, sm, LW_GU, w.gu_w, si, policy);
    lw_stream(a, sm, LW_DOWN, w.down_w, si, policy);
  }
  if (a.head) lw_stream(a, sm, LW_HEAD, a.lm_head, si, policy);
}

// A warp's dot products of rows ra and rb (if not null) in shared memory with xs over 8-input
// chunks [c0, c1); every lane ends with the sums.
__device__ __forceinline__ void lw_dot2(const bf16* ra, const bf16* rb, const bf16* xs, int c0,
                                        int c1, float& da, float& db) {
  int lane = threadIdx.x & 31;
  float a0 = 0.f, a1 = 0.f, b0 = 0.f, b1 = 0.f;
#pragma unroll 4
  for (int c = c0 + lane; c < c1; c += 32) {
    uint4 x = reinterpret_cast<const uint4*>(xs)[c];
    uint4 u = reinterpret_cast<const uint4*>(ra)[c];
    uint4 v = rb ? reinterpret_cast<const uint4*>(rb)[c] : make_uint4(0, 0, 0, 0);
    const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&x);
    const __nv_bfloat162* u2 = reinterpret_cast<const __nv_bfloat162*>(&u);
    const __nv_bfloat162* v2 = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
    for (int e = 0; e < 4; e++) {
      float2 xf = __bfloat1622float2(x2[e]), uf = __bfloat1622float2(u2[e]),
             vf = __bfloat1622float2(v2[e]);
      a0 = fmaf(xf.x, uf.x, a0);
      a1 = fmaf(xf.y, uf.y, a1);
      b0 = fmaf(xf.x, vf.x, b0);
      b1 = fmaf(xf.y, vf.y, b1);
    }
  }
  da = warp_sum(a0 + a1);
  db = warp_sum(b0 + b1);
}

// Float4 i of the residual stream: x through L2 (other blocks wrote it in this launch), or
// (EMB) layer 0's input, token 0's embedding row emb (the embedding kernel's conversion).
template <bool EMB>
__device__ __forceinline__ float4 lw_x4(const LwArgs& a, const bf16* emb, int i) {
  if (!EMB) return __ldcg(reinterpret_cast<const float4*>(a.x) + i);
  uint2 u = __ldg(reinterpret_cast<const uint2*>(emb) + i);
  float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.x));
  float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}

// Token 0's embedding row.
__device__ __forceinline__ const bf16* lw_embedding(const LwArgs& a) {
  return a.embed + (size_t)step_token(a.ids, a.fed, 0) * a.hidden;
}

// xs = RMSNorm(x) * w (norm.cu's arithmetic), every block for itself, x as lw_x4 reads it
// (a template flag, not a runtime test on emb: that kept x's loads from issuing together).
template <bool EMB = false, int HD, int NS>
__device__ void lw_norm(const LwArgs& a, const bf16* nw, LwSmem<HD, NS>& sm,
                        const bf16* emb = nullptr) {
  int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  constexpr int HELD = 4;  // float4s a thread: hidden up to 4,096 in one round trip
  int n4 = a.hidden / 4;
  float4 v[HELD];
  uint2 wv[HELD];  // the norm weights, loaded with x (not a round trip of their own after it)
  float ss = 0.f;
#pragma unroll
  for (int j = 0; j < HELD; j++) {
    int i = tid + j * 32 * LW_CW;
    v[j] = i < n4 ? lw_x4<EMB>(a, emb, i) : make_float4(0, 0, 0, 0);
    wv[j] = i < n4 ? __ldg(reinterpret_cast<const uint2*>(nw) + i) : make_uint2(0, 0);
  }
#pragma unroll
  for (int j = 0; j < HELD; j++) ss = sum_sq4(ss, v[j]);
  for (int i = tid + HELD * 32 * LW_CW; i < n4; i += 32 * LW_CW)
    ss = sum_sq4(ss, lw_x4<EMB>(a, emb, i));
  ss = warp_sum(ss);
  if (lane == 0) sm.red[warp] = ss;
  lw_sync();
  float total = 0.f;
#pragma unroll
  for (int w = 0; w < LW_CW; w++) total += sm.red[w];
  float inv = inv_rms(total, a.hidden, a.eps);
#pragma unroll
  for (int j = 0; j < HELD; j++) {
    int i = tid + j * 32 * LW_CW;
    if (i < n4) rms_store4w(sm.u.xs, i, v[j], wv[j], inv);
  }
  for (int i = tid + HELD * 32 * LW_CW; i < n4; i += 32 * LW_CW)
    rms_store4(sm.u.xs, nw, i, lw_x4<EMB>(a, emb, i), inv);
  lw_sync();
}

// xs = the attention output: each query head's runs of keys merged, every block for itself,
// a thread per four dimensions of a head, all runs' loads issued together.
template <int HD, int NS>
__device__ void lw_merge(const LwArgs& a, int runs, LwSmem<HD, NS>& sm) {
  constexpr int PS = HD + 4;
  for (int i = threadIdx.x; i < a.num_heads * HD / 4; i += 32 * LW_CW) {
    int j = i / (HD / 4), dq = i % (HD / 4);
    const float* base = a.part + (size_t)j * LW_MAX_SPLITS * PS;
    float2 ml[LW_MAX_SPLITS];
    float4 o[LW_MAX_SPLITS];
#pragma unroll
    for (int u = 0; u < LW_MAX_SPLITS; u++) {
      bool ok = u < runs;
      ml[u] = ok ? __ldcg(reinterpret_cast<const float2*>(base + u * PS + HD))
                 : make_float2(-INFINITY, 0.f);
      o[u] = ok ? __ldcg(reinterpret_cast<const float4*>(base + u * PS) + dq)
                : make_float4(0.f, 0.f, 0.f, 0.f);
    }
    float m = -INFINITY;
#pragma unroll
    for (int u = 0; u < LW_MAX_SPLITS; u++) m = fmaxf(m, ml[u].x);
    float l = 0.f;
    float4 b = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int u = 0; u < LW_MAX_SPLITS; u++) {
      float c = ml[u].x == -INFINITY ? 0.f : exp2f(ml[u].x - m);
      l = fmaf(ml[u].y, c, l);
      b.x = fmaf(o[u].x, c, b.x);
      b.y = fmaf(o[u].y, c, b.y);
      b.z = fmaf(o[u].z, c, b.z);
      b.w = fmaf(o[u].w, c, b.w);
    }
    float r = l > 0.f ? 1.f / l : 0.f;
    reinterpret_cast<uint2*>(sm.u.xs)[i] =
        make_uint2(pack_bf16(b.x * r, b.y * r), pack_bf16(b.z * r, b.w * r));
  }
  lw_sync();
}

// x[own0 + i] += v, for the block's own row i (one thread a row in a phase).
template <typename S>
__device__ __forceinline__ void lw_add_own(const LwArgs& a, S& sm, int i, int own0, float v) {
  float x = sm.xown[i] + v;
  sm.xown[i] = x;
  __stcg(a.x + own0 + i, x);
}

// The consumers' stages of weight phase p: f(first row, rows, stage bytes).
template <int HD, int NS, typename F>
__device__ __forceinline__ void lw_consume(const LwArgs& a, LwSmem<HD, NS>& sm, int p, int& si,
                                           F f) {
  int lane = threadIdx.x & 31;
  int r0, r1;
  lw_range(a, p, r0, r1);
  int per = lw_per_stage(a, p);
  for (int c = r0; c < r1; c += per, si++) {
    int s = si % NS, n = min(per, r1 - c);
    mbar_wait(&sm.full[s], (si / NS) & 1);
    lw_early_pause(sm, p != LW_HEAD && c + per >= r1);
    f(c, n, sm.ring[s]);
    __syncwarp();
    if (lane == 0) mbar_arrive(&sm.empty[s]);
  }
}

// A CUDA-core phase p over k inputs (xs): warp w takes rows w and w + LW_CW of each stage,
// and its lane 0 calls f(first row of the stage, row, sum) for each.
template <int HD, int NS, typename F>
__device__ __forceinline__ void lw_rows2(const LwArgs& a, LwSmem<HD, NS>& sm, int p, int k,
                                         int& si, F f) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  lw_consume(a, sm, p, si, [&](int c, int rows, const unsigned char* st) {
    if (warp >= rows) return;
    const bf16* r = reinterpret_cast<const bf16*>(st);
    bool two = warp + LW_CW < rows;
    float d0, d1;
    lw_dot2(r + warp * k, two ? r + (warp + LW_CW) * k : nullptr, sm.u.xs, 0, k / 8, d0, d1);
    if (lane == 0) {
      f(c, c + warp, d0);
      if (two) f(c, c + warp + LW_CW, d1);
    }
  });
}

// A tensor-core phase p over k inputs (xs): its 16-row strips (stage after stage in the ring,
// rows `stride` bytes apart), in batches of up to LW_BATCH. Each warp takes an eighth of the
// k16 steps of each strip in turn (two accumulators: half the dependent MMA chain) and frees
// the strip's stage as soon as it is done, so the producer refills the ring as before; the
// warps' sums meet in bred in warp order once a batch, not once a strip (a 0.5B gate/up
// phase, five strips, took 3.7 us meeting once a strip, 2.8 us once a batch). Then every
// consumer thread calls epi(first row of its strip, row in the strip, rows the strip holds,
// sum): thread t has strip t / 16, row t % 16 (past the batch: rows 0, sum 0).
template <int HD, int NS, typename E>
__device__ __forceinline__ void lw_strips(const LwArgs& a, LwSmem<HD, NS>& sm, int p, int k,
                                          int& si, int& batch, E epi) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tig = lane & 3;
  int r0, r1;
  lw_range(a, p, r0, r1);
  int per = lw_per_stage(a, p), stride = lw_stride(a, p);
  int steps = k / 16, s0 = warp * steps / LW_CW, s1 = (warp + 1) * steps / LW_CW;
  int off = (lane & 15) * stride + (lane >> 4) * 16;  // this lane's ldmatrix row, in bytes
  const bf16* xs = sm.u.xs;
  for (int c = r0; c < r1; batch++) {
    int nb = min(LW_BATCH, (r1 - c + per - 1) / per);
    float(&red)[LW_BATCH][LW_CW][16] = sm.bred[batch & 1];
    for (int i = 0; i < nb; i++, si++) {
      int st = si % NS;
      mbar_wait(&sm.full[st], (si / NS) & 1);
      lw_early_pause(sm, p != LW_HEAD && c + (i + 1) * per >= r1);
      const bf16* row = reinterpret_cast<const bf16*>(sm.ring[st] + off);
      float d[4] = {0.f, 0.f, 0.f, 0.f}, e[4] = {0.f, 0.f, 0.f, 0.f};
      int s = s0;
      for (; s + 1 < s1; s += 2) {
        uint32_t fa[4], fb[4];
        ldmatrix_x4(fa, row + 16 * s);
        ldmatrix_x4(fb, row + 16 * s + 16);
        mma_bf16_16816(d, fa, ld_b32(xs + 16 * s + 2 * tig), ld_b32(xs + 16 * s + 8 + 2 * tig));
        mma_bf16_16816(e, fb, ld_b32(xs + 16 * s + 16 + 2 * tig),
                       ld_b32(xs + 16 * s + 24 + 2 * tig));
      }
      if (s < s1) {
        uint32_t fa[4];
        ldmatrix_x4(fa, row + 16 * s);
        mma_bf16_16816(d, fa, ld_b32(xs + 16 * s + 2 * tig), ld_b32(xs + 16 * s + 8 + 2 * tig));
      }
      if (tig == 0) {
        red[i][warp][g] = d[0] + e[0];
        red[i][warp][g + 8] = d[2] + e[2];
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(&sm.empty[st]);
    }
    lw_sync();
    int i = threadIdx.x / 16, row = threadIdx.x % 16;
    float y = 0.f;
    if (i < nb)
#pragma unroll
      for (int w = 0; w < LW_CW; w++) y += red[i][w][row];
    int ci = c + i * per;
    epi(ci, row, i < nb ? min(per, r1 - ci) : 0, y);
    c += nb * per;
  }
}

// The down phase: x += xs (act) . Wd^T over the block's rows, up to 4 rows a stage, in
// batches of up to LW_BATCH stages. Down rows are long: each warp takes an eighth of every
// row's inputs and frees each stage once done; the sums meet in dred, added in warp order,
// once a batch.
template <int HD, int NS>
__device__ __forceinline__ void lw_down(const LwArgs& a, LwSmem<HD, NS>& sm, int& si,
                                        int& batch, int own0) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int r0, r1;
  lw_range(a, LW_DOWN, r0, r1);
  int per = lw_per_stage(a, LW_DOWN);
  int chunks = a.inter / 8, c0 = warp * chunks / LW_CW, c1 = (warp + 1) * chunks / LW_CW;
  for (int c = r0; c < r1; batch++) {
    int nb = min(LW_BATCH, (r1 - c + per - 1) / per);
    float(&red)[LW_BATCH][LW_CW][4] = sm.dred[batch & 1];
    for (int i = 0; i < nb; i++, si++) {
      int st = si % NS, rows = min(per, r1 - c - i * per);
      mbar_wait(&sm.full[st], (si / NS) & 1);
      lw_early_pause(sm, c + (i + 1) * per >= r1);
      const bf16* r = reinterpret_cast<const bf16*>(sm.ring[st]);
      float d[4] = {0.f, 0.f, 0.f, 0.f};
      lw_dot2(r, rows > 1 ? r + a.inter : nullptr, sm.u.xs, c0, c1, d[0], d[1]);
      if (rows > 2)
        lw_dot2(r + 2 * a.inter, rows > 3 ? r + 3 * a.inter : nullptr, sm.u.xs, c0, c1, d[2],
                d[3]);
      if (lane == 0) {
#pragma unroll
        for (int q = 0; q < 4; q++) red[i][warp][q] = d[q];
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(&sm.empty[st]);
    }
    lw_sync();
    int i = threadIdx.x / 4, q = threadIdx.x % 4;
    if (i < nb && c + i * per + q < min(r1, c + (i + 1) * per)) {
      float t = 0.f;
#pragma unroll
      for (int w = 0; w < LW_CW; w++) t += red[i][w][q];
      lw_add_own(a, sm, c + i * per + q - own0, own0, t);
    }
    c += nb * per;
  }
}

// The LM head's greedy pick: the larger logit, the lower id on ties (sampling.cu's order, so
// the pick is the sampler's whatever order the candidates meet in).
__device__ __forceinline__ void lw_keep(float& bv, int& bi, float v, int i) {
  if (v > bv || (v == bv && i < bi)) {
    bv = v;
    bi = i;
  }
}
__device__ __forceinline__ void lw_keep_warp(float& bv, int& bi) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    lw_keep(bv, bi, __shfl_xor_sync(0xffffffffu, bv, o), __shfl_xor_sync(0xffffffffu, bi, o));
}

// After the LM head: every block hands its best (logit, id) to a.best, and the last to arrive
// (a count, not a grid barrier: the others go) picks among them and writes a.sampled. The
// host then skips the sampler for a greedy, unguided row.
template <int HD, int NS>
__device__ void lw_argmax(const LwArgs& a, LwSmem<HD, NS>& sm, float bv, int bi) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  lw_keep_warp(bv, bi);
  if (lane == 0) {
    sm.red[warp] = bv;
    sm.red_id[warp] = bi;
  }
  lw_sync();
  if (warp != 0) return;
  bv = lane < LW_CW ? sm.red[lane] : -INFINITY;
  bi = lane < LW_CW ? sm.red_id[lane] : 0x7fffffff;
  lw_keep_warp(bv, bi);
  unsigned last = 0;
  if (lane == 0) {
    __stcg(reinterpret_cast<int2*>(a.best + 32) + blockIdx.x, make_int2(__float_as_int(bv), bi));
    __threadfence();
    last = atomicAdd(a.best, 1u) == gridDim.x - 1;
  }
  if (!__shfl_sync(0xffffffffu, last, 0)) return;
  __threadfence();
  bv = -INFINITY;
  bi = 0x7fffffff;
  for (int b = lane; b < gridDim.x; b += 32) {
    int2 p = __ldcg(reinterpret_cast<const int2*>(a.best + 32) + b);
    lw_keep(bv, bi, __int_as_float(p.x), p.y);
  }
  lw_keep_warp(bv, bi);
  if (lane == 0) {
    *a.sampled = bi == 0x7fffffff ? 0 : bi;
    a.best[0] = 0;  // for the next launch
  }
}

// Query head j's keys [lo, hi) of the layer (a run; the new key at pos in the last): one warp.
// Lane l scores key lo + 32 t + l of each tile t and accumulates dimensions [D l, D l + D).
template <int HD, int NS>
__device__ void lw_attention(const LwArgs& a, const LwHot& w, int j, int run, int lo, int hi,
                             int pos, const int* table, bool first, LwSmem<HD, NS>& sm) {
  constexpr int D = HD / 32, CH = HD / 8, PS = HD + 4;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int group = a.num_heads / a.num_kv_heads, g = j / group, half = HD / 2;
  int kv_size = a.num_kv_heads * HD;
  PagedBlocks blocks(a.block_size);
  // q rotated (log2-scaled for exp2), and the new key rotated when this run holds it
  float scale_log2 = rsqrtf((float)HD) * 1.4426950408889634f;
  bool has_new = hi == pos + 1;
  // The new value (from qkv) for dimensions i and i + half of this lane's rotation pairs, loaded
  // with q and k rather than a round trip of its own in the tile that holds the new key.
  const float* vnew = a.qkv + (a.num_heads + a.num_kv_heads + g) * HD;
  float vn[HD / 32];
  for (int i = lane, t = 0; i < half; i += 32, t += 2) {
    float qa, qb, ka, kb;
    if (has_new) {
      vn[t] = __ldcg(vnew + i);
      vn[t + 1] = __ldcg(vnew + i + half);
    }
    const float* qr = a.qkv + j * HD;
    rope_rotate(__ldcg(qr + i), __ldcg(qr + i + half), (float)pos, i, HD, a.theta, qa, qb);
    sm.u.att.qs[warp][i] = to_f(to_bf(qa)) * scale_log2;
    sm.u.att.qs[warp][i + half] = to_f(to_bf(qb)) * scale_log2;
    if (has_new) {
      const float* kr = a.qkv + (a.num_heads + g) * HD;
      rope_rotate(__ldcg(kr + i), __ldcg(kr + i + half), (float)pos, i, HD, a.theta, ka, kb);
      sm.u.att.kn[warp][i] = to_f(to_bf(ka));
      sm.u.att.kn[warp][i + half] = to_f(to_bf(kb));
      int slot = a.slots[0];
      if (j % group == 0 && slot >= 0) {  // the group's first head writes the cache
        bf16* kc = w.k_cache + (size_t)slot * kv_size + g * HD;
        bf16* vc = w.v_cache + (size_t)slot * kv_size + g * HD;
        kc[i] = to_bf(ka);
        kc[i + half] = to_bf(kb);
        vc[i] = to_bf(vn[t]);
        vc[i + half] = to_bf(vn[t + 1]);
      }
    }
  }
  __syncwarp();
  float m = -INFINITY, l = 0.f, o[D];
#pragma unroll
  for (int d = 0; d < D; d++) o[d] = 0.f;
  for (int k0 = lo; k0 < hi; k0 += LW_KEYS) {
    // The cache slots of the warp's first unit's first tile were looked up at the launch's
    // start (the same for every layer); other tiles look theirs up.
    bool cached = first && k0 == lo;
    // V rows of the tile by cp.async (the new key's row from qkv below), this lane's K row
    for (int i = lane; i < LW_KEYS * CH; i += 32) {
      int r = i / CH, ch = i % CH, key = k0 + r;
      bool ok = key < hi && key != pos;
      int slot = !ok ? 0 : cached ? sm.slot0[warp][r]
                                  : blocks.slot(__ldg(table + blocks.entry(key)), key);
      cp_async16(&sm.u.att.vt[warp][r][ch * 8],
                 w.v_cache + (size_t)slot * kv_size + g * HD + ch * 8, ok ? 16 : 0);
    }
    cp_async_commit();
    int key = k0 + lane;
    float s = -INFINITY;
    if (key < hi) {
      float acc = 0.f;
      if (key == pos) {
#pragma unroll 8
        for (int d = 0; d < HD; d++) acc = fmaf(sm.u.att.qs[warp][d], sm.u.att.kn[warp][d], acc);
      } else {
        int slot = cached ? sm.slot0[warp][lane]
                          : blocks.slot(__ldg(table + blocks.entry(key)), key);
        const uint4* kr =
            reinterpret_cast<const uint4*>(w.k_cache + (size_t)slot * kv_size + g * HD);
        uint4 kv[CH];
#pragma unroll
        for (int ch = 0; ch < CH; ch++) kv[ch] = __ldcg(kr + ch);
#pragma unroll
        for (int ch = 0; ch < CH; ch++) {
          const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(&kv[ch]);
#pragma unroll
          for (int e = 0; e < 4; e++) {
            float2 kf = __bfloat1622float2(k2[e]);
            acc = fmaf(sm.u.att.qs[warp][ch * 8 + 2 * e], kf.x, acc);
            acc = fmaf(sm.u.att.qs[warp][ch * 8 + 2 * e + 1], kf.y, acc);
          }
        }
      }
      s = acc;
    }
    float mn = fmaxf(m, warp_max(s));
    float alpha = m == -INFINITY ? 0.f : exp2f(m - mn);
    float p = s == -INFINITY ? 0.f : exp2f(s - mn);
    l = l * alpha + warp_sum(p);
    m = mn;
    cp_async_wait_all();
    __syncwarp();
    if (pos >= k0 && pos < k0 + LW_KEYS && pos < hi) {  // the new value (has_new)
      for (int i = lane, t = 0; i < half; i += 32, t += 2) {
        sm.u.att.vt[warp][pos - k0][i] = to_bf(vn[t]);
        sm.u.att.vt[warp][pos - k0][i + half] = to_bf(vn[t + 1]);
      }
      __syncwarp();
    }
#pragma unroll
    for (int d = 0; d < D; d++) o[d] *= alpha;
#pragma unroll 8
    for (int k = 0; k < LW_KEYS; k++) {
      float pk = __shfl_sync(0xffffffffu, p, k);
      const bf16* vr = &sm.u.att.vt[warp][k][D * lane];
#pragma unroll
      for (int d = 0; d < D; d++) o[d] = fmaf(pk, to_f(vr[d]), o[d]);
    }
    __syncwarp();  // the tile's V rows are read before the next tile's copies
  }
  float* pp = a.part + ((size_t)j * LW_MAX_SPLITS + run) * PS;
#pragma unroll
  for (int d = 0; d < D; d++) __stcg(pp + D * lane + d, o[d]);
  if (lane == 0) __stcg(reinterpret_cast<float2*>(pp + HD), make_float2(m, l));
}

// Diagnostics: compiled with -DLW_TIMING=N, launch N prints, for layer LW_TIMING_LAYER (10 by
// default), each block's %globaltimer (ns, common to all SMs) at 15 points of the layer: its
// start, after the norm, the QKV stages and the barrier, the attention and the barrier, the
// merge, the O stages and the barrier, the norm, the gate/up stages and the barrier, the
// act copy, the down stages and the barrier ("LT block t0 .. t14"); the LM head's start, norm,
// strips and pick ("LH block t0 .. t3"); and the 32 launches before it ("LS launch start
// end": from one launch's end to the next's start is the step's time outside it).
#ifdef LW_TIMING
#ifndef LW_TIMING_LAYER
#define LW_TIMING_LAYER 10
#endif
__device__ unsigned lw_launches, lw_launches_done;
// Each launch's span, the consumers' start in block 0 to the last block's end (launch % 64):
// launch N also prints the 32 before it ("LS launch start end"), the steps' time outside it.
__device__ unsigned long long lw_span[64][2];
#define LW_TIMES unsigned long long tm[15] = {}, th[4] = {}; int nt = 0; \
  unsigned launch = *(volatile unsigned*)&lw_launches; \
  if (threadIdx.x == 0 && blockIdx.x == 0) { \
    unsigned long long t0 = global_ns(); \
    lw_span[launch % 64][0] = t0; lw_span[launch % 64][1] = 0; }
#define LW_MARK(l)                                                                             \
  { if (threadIdx.x == 0 && (l) == LW_TIMING_LAYER && nt < 15) {                              \
      tm[nt] = global_ns();                                                                    \
      nt++; } }
#define LW_HMARK(i)                                                                            \
  { if (threadIdx.x == 0) th[i] = global_ns(); }
#define LW_REPORT()                                                                            \
  { if (threadIdx.x == 0 && launch == LW_TIMING && a.head)                                     \
      printf("LH %d %llu %llu %llu %llu\n", blockIdx.x, th[0], th[1], th[2], th[3]);          \
    if (threadIdx.x == 0 && launch == LW_TIMING)                                               \
      printf("LT %d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n", \
             blockIdx.x, tm[0], tm[1], tm[2], tm[3], tm[4], tm[5], tm[6], tm[7], tm[8], tm[9],  \
             tm[10], tm[11], tm[12], tm[13], tm[14]);                                           \
    if (threadIdx.x == 0 && launch == LW_TIMING && blockIdx.x == 0)                           \
      for (unsigned k = launch - 32; k < launch; k++)                                          \
        printf("LS %u %llu %llu\n", k, lw_span[k % 64][0], lw_span[k % 64][1]);              \
    lw_sync(); /* the consumers (the producer has returned) */                                  \
    if (threadIdx.x == 0) {                                                                    \
      unsigned long long t1 = global_ns();                                                     \
      atomicMax(&lw_span[launch % 64][1], t1);                                                 \
      __threadfence();                                                                         \
      if (atomicAdd(&lw_launches_done, 1u) == gridDim.x - 1) {                                 \
        lw_launches_done = 0;                                                                  \
        atomicAdd(&lw_launches, 1u);                                                           \
      } } }
#else
#define LW_TIMES
#define LW_MARK(l) {}
#define LW_HMARK(i) {}
#define LW_REPORT() {}
#endif

template <int HD, int NS>
__device__ __forceinline__ void layers_body(const LwArgs& a) {
  extern __shared__ __align__(128) unsigned char lw_smem_raw[];
  LwSmem<HD, NS>& sm = *reinterpret_cast<LwSmem<HD, NS>*>(lw_smem_raw);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (threadIdx.x == 0) {
    sm.paused = 0;
    for (int s = 0; s < NS; s++) {
      mbar_init(&sm.full[s], 1);
      mbar_init(&sm.empty[s], LW_CW);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  if (warp == LW_CW) {
    // Weights only: the producer starts before the previous kernel has finished.
    lw_producer(a, sm);
    pdl_wait();
    return;
  }
  pdl_wait();
  LW_TIMES
  int pos = a.positions[0];
  int n = max(pos + 1, 0);
  // Runs of keys per head: up to LW_MAX_SPLITS, each a whole number of LW_KEYS tiles.
  int tiles = (n + LW_KEYS - 1) / LW_KEYS;
  int per_run = max(LW_RUN_TILES, (tiles + LW_MAX_SPLITS - 1) / LW_MAX_SPLITS) * LW_KEYS;
  int runs = n == 0 ? 0 : (n + per_run - 1) / per_run;
  const int* table = a.block_tables;  // token 0 is sequence 0
  {  // the slots of each warp's first unit's first tile (lw_attention)
    int u = blockIdx.x + warp * gridDim.x, run = runs > 0 ? u % runs : 0;
    int key = run * per_run + lane;
    if (u < a.num_heads * runs && key < n) {
      PagedBlocks blocks(a.block_size);
      sm.slot0[warp][lane] = blocks.slot(__ldg(table + blocks.entry(key)), key);
    }
    __syncwarp();
  }
  int si = 0, batch = 0;  // the ring's stages and the strip batches taken so far
  int q_rows = a.num_heads * HD;
  bool tc = lw_tc(a);
  int own0, own1, qkv0, qkv1;  // the block's rows of x (O and down) and of QKV
  lw_range(a, LW_O, own0, own1);
  lw_range(a, LW_QKV, qkv0, qkv1);
  // Layer 0's input is token 0's embedding row (no embedding kernel before the launch).
  for (int r = own0 + threadIdx.x; r < own1; r += 32 * LW_CW)
    sm.xown[r - own0] = to_f(lw_embedding(a)[r]);
  // The layers' LwHot pointers, out of the launch's parameters all at once (a thread a layer).
  for (int l = threadIdx.x; l < a.num_layers; l += 32 * LW_CW) {
    const LwLayer& w = a.layers[l];
    sm.hot[l] = LwHot{w.qkv_b, w.norm1, w.norm2, w.k_cache, w.v_cache};
  }
  lw_sync();
  // The row of the QKV bias a thread adds in the first QKV stage: thread t (tensor cores);
  // lane 0 of warp w, rows w and w + LW_CW (CUDA cores).
  int bias_row = tc ? threadIdx.x : warp;
  for (int l = 0; l < a.num_layers; l++) {
    const LwHot& w = sm.hot[l];
    // the final norm and LM head's prefetch (the sampler, when the LM head is here, would
    // only sit waiting on an SM)
    if (l == a.num_layers - 1 && !a.head) pdl_launch_dependents();
    LW_MARK(l)
    // loaded before the norm, so that its latency hides behind the norm's
    float bias0 = qkv0 + bias_row < qkv1 ? to_f(w.qkv_b[qkv0 + bias_row]) : 0.f;
    float bias1 = !tc && qkv0 + bias_row + LW_CW < qkv1
                      ? to_f(w.qkv_b[qkv0 + bias_row + LW_CW]) : 0.f;
    if (l == 0) lw_norm<true>(a, w.norm1, sm, lw_embedding(a));  // (not held: registers)
    else lw_norm(a, w.norm1, sm);
    lw_resume(sm);
    LW_MARK(l)
    if (tc) {
      lw_strips(a, sm, LW_QKV, a.hidden, si, batch, [&](int c, int row, int rows, float y) {
        if (row < rows)
          __stcg(a.qkv + c + row, y + (c == qkv0 ? bias0 : to_f(w.qkv_b[c + row])));
      });
    } else lw_rows2(a, sm, LW_QKV, a.hidden, si, [&](int c, int row, float y) {
      float b = c != qkv0 ? to_f(w.qkv_b[row]) : row < c + LW_CW ? bias0 : bias1;
      __stcg(a.qkv + row, y + b);
    });
    LW_MARK(l)
    lw_grid_sync(a.barrier, sm, false);  // the rings fill during the attention
    LW_MARK(l)
    // a unit per (head, run), the first warps of every block first
    for (int u = blockIdx.x + warp * gridDim.x; u < a.num_heads * runs;
         u += gridDim.x * LW_CW) {
      int j = u / runs, run = u % runs;
      lw_attention(a, w, j, run, run * per_run, min(n, run * per_run + per_run), pos, table,
                   u == blockIdx.x + warp * gridDim.x, sm);
    }
    LW_MARK(l)
    lw_grid_sync(a.barrier, sm);
    LW_MARK(l)
    lw_merge(a, runs, sm);
    lw_resume(sm);
    LW_MARK(l)
    if (tc) {
      lw_strips(a, sm, LW_O, q_rows, si, batch, [&](int c, int row, int rows, float y) {
        if (row < rows) lw_add_own(a, sm, c + row - own0, own0, y);
      });
    } else lw_rows2(a, sm, LW_O, q_rows, si, [&](int, int row, float y) {
      lw_add_own(a, sm, row - own0, own0, y);
    });
    LW_MARK(l)
    lw_grid_sync(a.barrier, sm);
    LW_MARK(l)
    lw_norm(a, w.norm2, sm);
    lw_resume(sm);
    LW_MARK(l)
    if (tc) {  // rows 0..7 of a strip are gate rows, 8..15 their up rows
      lw_strips(a, sm, LW_GU, a.hidden, si, batch, [&](int c, int row, int rows, float y) {
        float up = __shfl_down_sync(0xffffffffu, y, 8);
        if (row < rows) a.act[c + row] = to_bf(silu_mul(y, up));
      });
    } else lw_consume(a, sm, LW_GU, si, [&](int c, int rows, const unsigned char* st) {
      if (warp >= rows) return;
      const bf16* r = reinterpret_cast<const bf16*>(st);
      float gate, up;
      lw_dot2(r + warp * a.hidden, r + (rows + warp) * a.hidden, sm.u.xs, 0, a.hidden / 8, gate,
              up);
      if (lane == 0) a.act[c + warp] = to_bf(silu_mul(gate, up));
    });
    LW_MARK(l)
    lw_grid_sync(a.barrier, sm);
    LW_MARK(l)
    for (int i = threadIdx.x; i < a.inter / 8; i += 32 * LW_CW)
      reinterpret_cast<uint4*>(sm.u.xs)[i] = __ldcg(reinterpret_cast<const uint4*>(a.act) + i);
    lw_sync();
    lw_resume(sm);
    LW_MARK(l)
    lw_down(a, sm, si, batch, own0);
    LW_MARK(l)
    lw_grid_sync(a.barrier, sm);
    LW_MARK(l)
  }
  if (a.head) {  // the final norm, the LM head's logits and their greedy pick
    LW_HMARK(0)
    lw_norm(a, a.final_norm, sm);
    lw_resume(sm);
    LW_HMARK(1)
    float bv = -INFINITY;
    int bi = 0x7fffffff;
    auto logit = [&](int row, float y) {
      __stcg(a.logits + row, y);
      lw_keep(bv, bi, y, row);
    };
    if (tc) {
      lw_strips(a, sm, LW_HEAD, a.hidden, si, batch, [&](int c, int row, int rows, float y) {
        if (row < rows) logit(c + row, y);
      });
    } else lw_rows2(a, sm, LW_HEAD, a.hidden, si, [&](int, int row, float y) { logit(row, y); });
    LW_HMARK(2)
    lw_argmax(a, sm, bv, bi);
    LW_HMARK(3)
  }
  LW_REPORT()
}

// Launch: grid (the SM count), block 32 * (LW_CW + 1), dynamic shared memory
// sizeof(LwSmem<HD, NS>) (NAME_smem, which Kernels reads), one block an SM: every block must
// be resident for the grid barriers.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900  // bulk copies, mbarrier transaction counts
#define LW_BODY(HD, NS) layers_body<HD, NS>(a);
#else
#define LW_BODY(HD, NS)
#endif
#define LW_ENTRY(NAME, HD, NS)                                                                 \
  extern "C" __global__ void __launch_bounds__(32 * (LW_CW + 1), 1)                           \
  NAME(const __grid_constant__ LwArgs a) {                                                    \
    LW_BODY(HD, NS)                                                                            \
  }                                                                                            \
  __device__ const int NAME##_smem = sizeof(LwSmem<HD, NS>);
LW_ENTRY(layers_hd64_bf16, 64, 6)
LW_ENTRY(layers_hd128_bf16, 128, 5)
