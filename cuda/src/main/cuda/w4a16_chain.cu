// A decoder layer's int4 projections after its attention, and the next layer's QKV, in one
// persistent launch: O (+ residual), RMSNorm + gate/up (+ SiLU), down (+ residual), RMSNorm +
// the next layer's QKV (+ bias, RoPE, cache write). One block per SM; each block's warp
// CHAIN_CW is a producer that streams the block's share of every phase's codes and scales
// into a ring of shared-memory stages with bulk copies (cp.async.bulk, completion counted on
// an mbarrier per stage), phase after phase, never waiting for the math; the other warps
// consume the stages (chain_pair: w4a16_fused.cu's MMAs, over the codes unpacked as fp16 and
// the activations staged as fp16) and meet the other blocks at a grid barrier between phases
// (a phase reads what the one before wrote everywhere).
//
// Why: the separate fused kernels each pay a start (launch, first bytes from DRAM, the norm)
// and a tail (the last blocks' groups): at batch 1 a 14B GPTQ layer's four projections took
// about 88 us for 146 MB (tools/w4_chain_lab.cu), 55 % of the copy bandwidth. Here the
// producer keeps loading the next phase's weights while the consumers wait at a barrier or
// finish an epilogue, so phases no longer start from an empty pipe: 80 us in the lab, and 14B
// batch 1 182-186 -> 192-195 tokens/s in the engine. What is left is mostly the barriers:
// blocks wait there for the slowest (docs/benchmarks/README.md has the per-phase timings).
//
// Work: phase p's unit groups (16 units, two 16-row strips as in w4a16_fused.cu) are shared
// out in equal runs of input pairs, one per block, whose ends may cut a group in two
// (chain_run); a stage is one group's two strips over up to CHAIN_SP input pairs (2 x CHAIN_SP x
// 512 bytes of codes) plus their scales. Each consumer warp takes pairs warp, warp + CHAIN_CW,
// ... of a stage for both strips; at the end of a group the warps' sums meet in shared memory in
// warp order and 128 threads run the epilogue. Every sum's order is fixed by the shape and the
// grid (the warp split of a stage, where the runs end), never by the token count, so a token's
// result does not depend on the batch.
//
// Scales: szs is a strip-major copy of w4a16.cu's {scale, zero} made at load (w4_chain_scales):
// (rows / 16, groups, 8) entries of 8 bytes, entry g of a strip's group holding rows g and
// g + 8 of the strip as {fp16 scale of g, of g + 8; bf16 128 + zero of g, of g + 8}: a stage's
// scales of a strip are one contiguous run, and a lane reads both of its rows' in one load, the
// zero points ready for w4_pair. Where every zero point is 8 (w4_zeros_not8), entries of 4
// bytes hold the two scales alone (the _z8 kernels, Z8 below).
//
// Requirements (Kernels.w4ChainFits and the runner): Hopper (bulk copies, mbarrier transaction
// counts); groups of 64 or 128 inputs (w4_chain_g64, w4_chain: a pair lies in one group; a
// group's scales are 64 bytes, 32 without zero points, so any run of them is a valid bulk
// copy); not act-order; a tokens * max k * 2 bytes of activations beside the ring in shared
// memory. Over an FP8 cache the last phase writes the next layer's QKV rows (CHAIN_ROWS) and
// qkv_rope_cache_fp8 follows.
#include "common.cuh"
#include <stddef.h>
#include <type_traits>

// The ring's geometry. The consumers are latency-bound (about 0.3 instructions issued a
// scheduler-cycle with 8 warps, docs/benchmarks), so more of them hide more: with 13 warps a
// block, 3 or 4 share a scheduler, whose 16K registers then cap a thread at 128 (9 warps: 168),
// which these loops fit without spills. 3 stages of 48 pairs (4 a warp; 147 KB, what fits beside
// two tokens' activations at 14B). Why: on an H200, whose HBM outruns the consumers, fewer and
// larger stages pay (a stage costs each warp a ring wait and an arrive, and a 14B group of 80
// pairs takes 2 stages instead of 3): one H200, same call, 14B GPTQ batch 1 316.7 / 316.6
// decode tokens/s a sequence against 300.2 / 300.2 for 4 stages of 36 pairs, batch 2 587
// output tokens/s against 560; 7B 525.6 against 532.9. Deeper or wider rings no longer leave
// room for two tokens' activations at 14B; 40 pairs and 10 warps read 306.9, 48 pairs and 8
// warps 304.0, 2 stages of 60 294.1, 6 of 24 285.3. On the H100, where the ring waits on HBM,
// an earlier state of these loops read 246 for 4 stages of 36 pairs against 239 for 3 of 48
// (14B GPTQ batch 1, same call); the H100 is no longer at hand to measure this state on.
// Before that, 12 warps of 48 pairs read 229 / 230 against 221 / 221 for 8 warps, 32 pairs and
// 4 stages.
#ifndef CHAIN_CW
#define CHAIN_CW 12     // consumer warps (the launch's threads: 32 * (CHAIN_CW + 1))
#endif
#ifndef CHAIN_SP
#define CHAIN_SP 48     // input pairs (64 inputs each) of a stage
#endif
#ifndef CHAIN_NS
#define CHAIN_NS 3      // stages in the ring
#endif
#ifndef CHAIN_RED
#define CHAIN_RED 2     // buffers of the groups' warp sums (1: one more barrier a group)
#endif
#define CHAIN_PHASES 4  // most phases a launch runs
#define CHAIN_MAX_TOKENS 8  // most tokens a launch takes (one MMA n-tile)
// Measurement builds: -DCHAIN_PROBE=1 issues no copies (the consumers multiply whatever the
// ring holds: their speed alone), 2 keeps the copies but drops the consumers' arithmetic.
#ifndef CHAIN_PROBE
#define CHAIN_PROBE 0
#endif
// -DCHAIN_NO_BARRIER=m skips the grid barrier before each phase p whose bit p is set (wrong
// results): what a phase boundary's barrier costs, the bound of a design without it.
#ifndef CHAIN_NO_BARRIER
#define CHAIN_NO_BARRIER 0
#endif
// -DCHAIN_NO_EPI=1 ends each group without its warps' meeting and epilogue (wrong results):
// what the groups' ends cost the consumers; 2 only the groups before a phase's last (and no
// owner waits for its partner), 3 only the last; 4 keeps the meeting but runs no epilogue, 5
// runs the epilogues without the meeting's barrier (the warps' sums read as they stand).
#ifndef CHAIN_NO_EPI
#define CHAIN_NO_EPI 0
#endif
#ifndef CHAIN_NO_EPI_LIVE
#define CHAIN_NO_EPI_LIVE 0
#endif

#define CHAIN_STAGE_CODES (2 * CHAIN_SP * 512)  // bytes of codes a stage
static_assert(CHAIN_SP % CHAIN_CW == 0, "a stage's pairs are shared out evenly among the warps");

// The geometry Kernels sizes the launch's shared memory by (so a variant built with other
// -DCHAIN_* values runs as it is).
__device__ const int w4_chain_geometry[4] = {CHAIN_CW, CHAIN_SP, CHAIN_NS, CHAIN_RED};

// Phase kinds.
#define CHAIN_RESID 0  // resid (tokens, rows) fp32 += a . w^T, a (tokens, k) bf16
#define CHAIN_SILU 1   // act = silu(gate) * up of RMSNorm(resid) . w^T
#define CHAIN_QKV 2    // q_out, K/V cache = RoPE(RMSNorm(resid) . w^T + bias)
#define CHAIN_ROWS 3   // y (tokens, rows) fp32 = RMSNorm(resid) . w^T (the QKV before an FP8
                       // cache: its writer needs a head's whole row, qkv_rope_cache_fp8)

struct ChainPhase {
  const uint4* codes;
  const void* szs;       // strip-major scales: uint2 entries, or unsigned ones (Z8, below)
  const bf16* a;         // RESID: input activations
  const bf16* norm_w;    // SILU, QKV: norm weight
  bf16* act;             // SILU: output
  const bf16* bias;      // QKV
  bf16* q_out;           // QKV
  bf16* k_cache;         // QKV
  bf16* v_cache;         // QKV
  float* y;              // ROWS
  int kind, k, rows, units;
};

// One launch's work, kept in device memory (built once per layer at load: every pointer in
// it is fixed for the runner's life, so CUDA graphs capture the launch as is). Kernels.chain
// writes it byte for byte: the offsets are asserted below.
struct Chain {
  ChainPhase ph[CHAIN_PHASES];
  float* resid;          // (tokens, hidden) fp32 residual stream
  const int* positions;  // (tokens)
  const int* slots;      // (tokens) KV-cache slot of each token, the QKV phase's writes
  unsigned* barrier;     // scratch, zero at first use (Kernels.w4ChainScratchBytes): the grid
                         // barrier's arrivals (chain_grid_sync; resets itself), the epoch, then
                         // the partners' sums (chain_part)
  float eps, theta;
  int phases, hidden, group, inter, num_heads, num_kv_heads, head_dim;
};
static_assert(sizeof(ChainPhase) == 96 && offsetof(ChainPhase, y) == 72 &&
                  offsetof(ChainPhase, kind) == 80,
              "Kernels.CHAIN_PHASE_BYTES");
static_assert(sizeof(Chain) == 456 && offsetof(Chain, resid) == 384 &&
                  offsetof(Chain, eps) == 416 && offsetof(Chain, phases) == 424,
              "Kernels.CHAIN_BYTES");

// bytes (a multiple of 16, both addresses 16-byte aligned) global -> shared, counted on bar;
// evict-first in L2: the codes are read once a step.
__device__ __forceinline__ void bulk_load(void* dst, const void* src, unsigned bytes,
                                          uint64_t* bar, uint64_t policy) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
      " [%0], [%1], %2, [%3], %4;" ::"r"(smem_u32(dst)),
      "l"(src), "r"(bytes), "r"(smem_u32(bar)), "l"(policy)
      : "memory");
}

// The consumer warps' own barrier (the producer never joins it).
__device__ __forceinline__ void chain_sync() {
  asm volatile("bar.sync 1, %0;" ::"n"(32 * CHAIN_CW) : "memory");
}

// Rows g and g + 8's offsets from an entry's zero points as fp16 pairs, {1024 + zero, 1024 +
// 16 zero} (exact: integers below 2,048): as 8 where every zero point is (unsigned entries),
// else from the entry's bf16 128 + zero (w4_chain_scales).
__device__ __forceinline__ uint2 chain_offsets(unsigned) {
  return make_uint2(0x64086408u, 0x64806480u);  // 1032, 1152
}
__device__ __forceinline__ uint2 chain_offsets(uint2 e) {
  float2 z = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&e.y));
  __half2 h0 = __float2half2_rn(896.f + z.x), h8 = __float2half2_rn(16.f * z.y - 1024.f);
  return make_uint2(*reinterpret_cast<unsigned*>(&h0), *reinterpret_cast<unsigned*>(&h8));
}

// One input pair (64 inputs, one scale group) of a strip: the lane's word quad w of codes, its
// token's fp16 activations of both chunks (x0, x1, chain_prologue), its scale entry e; into
// acc. The codes unpack as fp16 1024 + q (rows g) and 1024 + 16 q (rows g + 8; w4_frags_f16:
// one shift a word where w4_pair's bf16 takes three), less their offsets, to q - zero and
// 16 (q - zero) exactly; rows g + 8's scale takes the 1/16 (exact). So the products and sums
// are those of the bf16 arithmetic, bit for bit wherever fp16 holds the activations exactly.
// The four MMAs share one accumulator, scaled once (w4a16_fused.cu's w4_pair_szs; w4a16.cu
// scales each 32-input chunk: a pair lies in one group here, so the sum differs only in
// rounding). One H200, same call, against w4_pair_szs's bf16 (eleven instructions a word, nine
// here): 14B GPTQ batch 1 333.7 / 334.0 decode tokens/s a sequence against 322.8 / 322.8,
// batch 2 614 output tokens/s against 595, 7B 548.9 against 532.2; over scales with zero
// points 319.7 against 320.0 (the offsets made from each entry cost what the shifts saved).
// Taking the offsets off through the accumulators instead (four more MMAs a pair, no
// subtractions; commit 5aa99a8) read 319.7 against 321.7, and its sums, which pass through
// 1,000 times the result's size, missed W4ChainGpuTest's tolerance.
// Measured against four accumulators of two MMAs in the lab's 48 14B layers: 3,884 -> 3,840 us.
// E: the scales' entry, uint2 or (every zero point 8) unsigned: the same offsets either way
// where the zero points are 8, so the same bits.
// ONE: a step of one token, whose C fragments' columns 1, 3, ... hold copies of token 0's
// sums (chain_red_cols): their scaling is left out (never stored; -DCHAIN_ONE_TRIM=0 keeps it,
// for measurements).
#ifndef CHAIN_ONE_TRIM
#define CHAIN_ONE_TRIM 1
#endif
template <bool ONE, class E>
__device__ __forceinline__ void chain_pair(uint4 w, uint4 x0, uint4 x1, E e, float (&acc)[1][4]) {
#if CHAIN_PROBE == 2  // measurement: the loads kept alive, no arithmetic
  acc[0][0] += __uint_as_float((w.x ^ w.y ^ w.z ^ w.w ^ x0.x ^ x1.y ^
                                reinterpret_cast<const unsigned&>(e)) & 0x3f800000u);
#else
#if CHAIN_PROBE >= 3  // measurement: no scales (3), and only token 0's columns (4)
  float2 f = make_float2(1.f, 16.f);
#else
  float2 f = __half22float2(*reinterpret_cast<const __half2*>(&e));
#endif
  uint2 o = chain_offsets(e);
  const __half2 o0 = *reinterpret_cast<const __half2*>(&o.x);
  const __half2 o8 = *reinterpret_cast<const __half2*>(&o.y);
  uint32_t a[4][4];
  const uint32_t ws[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
  for (int j = 0; j < 4; j++) {
    w4_frags_f16(ws[j], a[j]);
#pragma unroll
    for (int i = 0; i < 4; i++) {
      __half2 h = __hsub2(*reinterpret_cast<const __half2*>(&a[j][i]), i & 1 ? o8 : o0);
      a[j][i] = *reinterpret_cast<const uint32_t*>(&h);
    }
  }
  float d[4] = {0.f, 0.f, 0.f, 0.f};
  mma_f16_16816(d, a[0], x0.x, x0.y);
  mma_f16_16816(d, a[1], x0.z, x0.w);
  mma_f16_16816(d, a[2], x1.x, x1.y);
  mma_f16_16816(d, a[3], x1.z, x1.w);
  float f8 = f.y * 0.0625f;
  constexpr bool odd = !(ONE && CHAIN_ONE_TRIM) && CHAIN_PROBE != 4;  // columns 1, 3, ...
  acc[0][0] = fmaf(f.x, d[0], acc[0][0]);
  if (odd) acc[0][1] = fmaf(f.x, d[1], acc[0][1]);
  acc[0][2] = fmaf(f8, d[2], acc[0][2]);
  if (odd) acc[0][3] = fmaf(f8, d[3], acc[0][3]);
#endif
}

// Strip s (0, 1) of unit group j of a phase: the epilogues' row pairing (w4a16_fused.cu).
__device__ __forceinline__ int chain_strip(const Chain& c, const ChainPhase& p, int j, int s) {
  int u = 16 * j, row;
  if (p.kind == CHAIN_RESID || p.kind == CHAIN_ROWS) {
    row = 32 * j + 16 * s;
  } else if (p.kind == CHAIN_SILU) {
    row = u + s * c.inter;
  } else {
    int half = c.head_dim / 2;
    row = (u / half) * c.head_dim + u % half + s * half;
  }
  return row >> 4;
}

// How a phase's work is shared out. With at least as many unit groups as blocks, each block
// takes an equal run of the phase's input pairs, in scale groups (1 << gsh pairs, so a stage's
// scales stay whole groups), walked group by group. A run's ends fall inside groups: such a
// group's two parts are computed by the blocks on either side, the later block first (its
// run's first group: it is the group's partner, and leaves its sums in the chain's parts), the
// earlier one last (its run's last group: it is the owner, adds the partner's sums to its own,
// head before tail, and runs the epilogue). Runs are at least a group long, so a group has at
// most two parts, and a partner publishes long before its owner needs the sums (chain_part).
// Fewer groups than blocks (or one phase, no barrier to count launches by): a whole group each.
// Why: shared out by whole groups, the slowest block carried more than the fluid share, and a
// phase ends with it: 14B's O and down (160 groups for 132 SMs) 1.6 groups' time (a group and a
// strip, chain_split before) against 1.21, gate/up (864) 7 against 6.55, QKV (224) 2 against 1.7.
// One H100, same call: 14B GPTQ batch 1 253 / 253 tokens/s against 245 / 244 (decode a
// sequence 258.7 against 250.5), batch 2 485 against 474; 7B 460 against 461 (its O and down
// have fewer groups than SMs, and gate/up 9 a block). The split points depend on the shape and
// the grid only, so a token's sums still do not depend on the batch.
struct ChainRun {
  int u0, u1;  // the block's units
  int q, up;   // units a group, input pairs a unit
  int j0;      // the group of unit u0
};

// rs: where given (the launch's runs, Kernels.w4ChainRuns), the block's run {u0, u1} of this
// phase instead: cut so that the blocks' costs, not their pairs, come out equal. Why: a block's
// time in a phase followed its stages and group parts, not its pairs (each stage a ring wait and
// arrive, each group part a sum through shared memory and an epilogue or a partner's publish):
// at 14B batch 1, QKV blocks of 4 stages in 2 group parts took 5.9 us, of 6 stages in 3 parts
// 7.6 us, for the same pairs, and across launches and runs a block's time correlated 0.6-0.98 by
// block (by SM only 0-0.3), so the phases' slowest blocks were those the equal runs gave the
// most stages and parts, not slow SMs.
__device__ __forceinline__ ChainRun chain_run(const Chain& c, const ChainPhase& p, int gsh,
                                              const int* rs) {
  int pairs = p.k >> 6, ng = p.units / 16, nb = (int)gridDim.x;
  ChainRun r;
  bool split = ng >= nb && c.phases > 1;
  r.up = split ? 1 << gsh : pairs;
  r.q = split ? pairs >> gsh : 1;
  if (split && rs) {
    r.u0 = rs[0];
    r.u1 = rs[1];
    r.j0 = (int)((unsigned)r.u0 / (unsigned)r.q);
    return r;
  }
  unsigned long long n = (unsigned long long)ng * r.q;
  // 32-bit divisions where they suffice (every Qwen2.5 shape): the consumers make the runs
  // before each phase's first stage. One H100, same call: 14B GPTQ batch 1 254 / 254 tokens/s
  // against 253 / 253 with 64-bit ones, 7B 466 against 460.
  if (n * nb < (1ull << 32)) {
    unsigned n32 = (unsigned)n;
    r.u0 = (int)(blockIdx.x * n32 / (unsigned)nb);
    r.u1 = (int)((blockIdx.x + 1) * n32 / (unsigned)nb);
  } else {
    r.u0 = (int)(blockIdx.x * n / nb);
    r.u1 = (int)((blockIdx.x + 1) * n / nb);
  }
  r.j0 = (int)((unsigned)r.u0 / (unsigned)r.q);
  return r;
}

// All blocks' consumers have finished the phase (its stores visible everywhere) when this
// returns: common.cuh's grid barrier between the consumers' own barriers (every block is
// resident: one per SM, launched no wider than the GPU).
__device__ __forceinline__ void chain_grid_sync(unsigned* bar) {
  chain_sync();
  if (threadIdx.x == 0) grid_arrive_wait(bar);
  chain_sync();
}

// Float4s of a residual row, and uint4s of a RESID phase's activations, a consumer thread
// loads before using the first: all of a row up to hidden 6,144 (12 warps; 8 held spilled
// there), so the prologue costs one L2 round trip, not one per load. (Looping load by load,
// the RMSNorm prologue took 2.3 us after the barrier in a 7B-shaped chain on an H200, reading
// x twice.)
#ifndef CHAIN_HELD
#define CHAIN_HELD 4
#endif

// Two bf16 activations as fp16 times sc (a power of two: exact wherever the product is a
// normal fp16); m = max(m, their |value|) before the scaling.
__device__ __forceinline__ unsigned chain_h2(__nv_bfloat162 v, float sc, __nv_bfloat162& m) {
  m = __hmax2(m, __habs2(v));
  float2 f = __bfloat1622float2(v);
  __half2 h = __floats2half2_rn(f.x * sc, f.y * sc);
  return *reinterpret_cast<unsigned*>(&h);
}

// The RESID prologue's uint4 loads in flight a thread: 5, so that down's input at 14B (13,824
// inputs, one token: 4.5 a thread) is one round trip to L2, not two. One H200, same call, 14B
// GPTQ batch 1 334.5 / 334.4 decode tokens/s a sequence against 332.5 / 332.6 with 4, batch 2
// 313.9 against 313.0; 9 (two tokens' in one) spilled 8 bytes and read 320.8.
#ifndef CHAIN_COPY_HELD
#define CHAIN_COPY_HELD 5
#endif

// A RESID phase's activations (p.a) into xs as fp16 times sc; m as chain_h2. Threads take
// uint4s (eight inputs) tid, tid + n, ..., CHAIN_COPY_HELD loads in flight.
__device__ __forceinline__ void chain_stage_copy(const ChainPhase& p, int tokens, __half* xs,
                                                 float sc, __nv_bfloat162& m) {
  int tid = threadIdx.x, n = 32 * CHAIN_CW;
  const uint4* src = reinterpret_cast<const uint4*>(p.a);
  uint4* dst = reinterpret_cast<uint4*>(xs);
  int total = tokens * p.k / 8;
  for (int b = tid; b < total; b += CHAIN_COPY_HELD * n) {
    uint4 v[CHAIN_COPY_HELD];
#pragma unroll
    for (int u = 0; u < CHAIN_COPY_HELD; u++)
      if (b + u * n < total) v[u] = __ldcg(src + b + u * n);
#pragma unroll
    for (int u = 0; u < CHAIN_COPY_HELD; u++)
      if (b + u * n < total) {
        const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v[u]);
        dst[b + u * n] = make_uint4(chain_h2(h[0], sc, m), chain_h2(h[1], sc, m),
                                    chain_h2(h[2], sc, m), chain_h2(h[3], sc, m));
      }
  }
}

// rms_norm4's four values (x4 normed with inv and weights w, rounded to bf16) into xt's 8
// bytes at i as fp16 through chain_h2: the same values where fp16 holds them.
__device__ __forceinline__ void chain_store_norm(__half* xt, int i, float4 x4, uint2 w, float inv,
                                                 float sc, __nv_bfloat162& m) {
  __nv_bfloat162 lo, hi;
  rms_norm4(x4, w, inv, lo, hi);
  reinterpret_cast<uint2*>(xt)[i] = make_uint2(chain_h2(lo, sc, m), chain_h2(hi, sc, m));
}

// Token t's inverse rms from its warps' sums of squares in part, added in warp order.
__device__ __forceinline__ float chain_inv_rms(const Chain& c, const float* part, int t) {
  float total = 0.f;
  for (int w8 = 0; w8 < CHAIN_CW; w8++) total += part[t * CHAIN_CW + w8];
  return inv_rms(total, c.hidden, c.eps);
}

// Token t's normed float4s i0, i0 + n, ... of its residual row into its row of xs, read from
// memory (the rows past what a thread holds, and the rare rescaling pass), through
// chain_store_norm.
__device__ __forceinline__ void chain_store_norm_row(const Chain& c, const ChainPhase& p, int t,
                                                     int i0, __half* xs, float inv, float sc,
                                                     __nv_bfloat162& m) {
  int n = 32 * CHAIN_CW, h4 = c.hidden >> 2;
  const float4* xr = reinterpret_cast<const float4*>(c.resid + (size_t)t * c.hidden);
  const uint2* nw = reinterpret_cast<const uint2*>(p.norm_w);
  for (int i = i0; i < h4; i += n)
    chain_store_norm(xs + (size_t)t * c.hidden, i, __ldcg(xr + i), __ldg(nw + i), inv, sc, m);
}

// The consumers' prologue of a phase: its activations as chain_pair takes them, xs (tokens, k)
// fp16, read through L2 (other blocks wrote them in this launch; L1 may hold stale lines).
// Returns the factor the phase's sums take back: 1, unless an activation lies beyond fp16's
// range (65,504; bf16's reaches 3e38), when all are staged again times a power of two that
// brings the largest within it (the same in every block: each stages all of them) and the
// sums are multiplied back (W4ChainGpuTest's activations beyond fp16). The factor is the
// step's, not a token's: a power of two changes no product, but where one token's activations
// pass 65,504, another's below 2^-14 times the factor (fp16's subnormals) lose bits, so only
// then do a token's bits depend on the batch.
__device__ __forceinline__ float chain_prologue(const Chain& c, const ChainPhase& p, int tokens,
                                                __half* xs, float* part, float* amax,
                                                volatile int* paused) {
  int tid = threadIdx.x, n = 32 * CHAIN_CW, warp = tid >> 5, lane = tid & 31;
  __nv_bfloat162 m2 = __float2bfloat162_rn(0.f);
  int h4 = c.hidden >> 2;
  const uint2* nw = reinterpret_cast<const uint2*>(p.norm_w);
  if (p.kind == CHAIN_RESID) {
    chain_stage_copy(p, tokens, xs, 1.f, m2);
  } else {
    // gemv_fused.cu's rmsnorm_prologue with as many threads: the same sums, the same bits; the
    // row and its norm weights held in registers between the passes
    for (int t = 0; t < tokens; t++) {
      const float4* xr = reinterpret_cast<const float4*>(c.resid + (size_t)t * c.hidden);
      float4 held[CHAIN_HELD];
      uint2 w[CHAIN_HELD];
#pragma unroll
      for (int u = 0; u < CHAIN_HELD; u++) {
        int i = tid + u * n;
        if (i < h4) {
          held[u] = __ldcg(xr + i);
          w[u] = __ldg(nw + i);
        }
      }
      float ss = 0.f;
#pragma unroll
      for (int u = 0; u < CHAIN_HELD; u++)
        if (tid + u * n < h4) ss = sum_sq4(ss, held[u]);
      for (int i = tid + CHAIN_HELD * n; i < h4; i += n) ss = sum_sq4(ss, __ldcg(xr + i));
      ss = warp_sum(ss);
      if (lane == 0) part[t * CHAIN_CW + warp] = ss;
      chain_sync();
      float inv = chain_inv_rms(c, part, t);
#pragma unroll
      for (int u = 0; u < CHAIN_HELD; u++)
        if (tid + u * n < h4)
          chain_store_norm(xs + (size_t)t * c.hidden, tid + u * n, held[u], w[u], inv, 1.f, m2);
      chain_store_norm_row(c, p, t, tid + CHAIN_HELD * n, xs, inv, 1.f, m2);
    }
  }
  float m = warp_max(fmaxf(__low2float(m2), __high2float(m2)));
  if (lane == 0) amax[warp] = m;
  chain_sync();
  for (int w8 = 0; w8 < CHAIN_CW; w8++) m = fmaxf(m, amax[w8]);
  float back = 1.f;
  if (m > 65504.f) {  // rare: every block takes this branch, or none
    float sc = ldexpf(1.f, 15 - ilogbf(m));
    if (m * sc > 65504.f) sc *= 0.5f;
    back = 1.f / sc;
    if (p.kind == CHAIN_RESID) {
      chain_stage_copy(p, tokens, xs, sc, m2);
    } else {
      for (int t = 0; t < tokens; t++)
        chain_store_norm_row(c, p, t, tid, xs, chain_inv_rms(c, part, t), sc, m2);
    }
    chain_sync();
  }
  if (paused && tid == 0) *paused = 0;
  return back;
}

// The lanes' columns of a C fragment a warp's sums keep (chain_red_cols(tokens) of the four,
// the rest hold tokens beyond the step's): the warp-sum buffers are CHAIN_CW x 2 strips x 4
// registers x 8 rows x that many floats. Sized for 8 tokens, twelve warps' two buffers took 24 KB
// of shared memory and left no room for a second token's activations at 14B.
__device__ __forceinline__ int chain_red_cols(int tokens) { return (tokens + 1) >> 1; }

// Where warp w's register e of strip s sits in a warp-sum buffer, for lane (row g, column c)
// of the C fragment (c < cols): the writers and the epilogue's reader share the layout.
__device__ __forceinline__ int chain_red_at(int w, int s, int e, int g, int c, int cols) {
  return ((w * 2 + s) * 4 + e) * 8 * cols + g * cols + c;
}

// A stage of a block's walk through the launch (the producer's order, which the consumers
// follow): phase pi; unit group j, of which the block computes input pairs [pa, pe)
// (chain_run: pa > 0 a partner's part, pe short of the group's pairs the owner's); the stage's
// first pair ps; the run's end ue in units of up pairs, q a group.
struct ChainStage {
  int pi, j, ue, q, up, pa, pe, ps;
};

__device__ __forceinline__ void chain_part_end(ChainStage& s) {
  s.pe = (min(s.ue, (s.j + 1) * s.q) - s.j * s.q) * s.up;
}

// s at the first stage of phase pi; false where this block has no work in it. (The runs of
// every phase made once at the start, in shared memory, spared the consumers the divisions
// before each phase's first stage, 0.7 -> 0.3 us from the prologue's end, yet read 247 tokens/s
// against 253 at 14B GPTQ batch 1: one H100, same call, two runs each.)
__device__ __forceinline__ bool chain_begin(const Chain& c, ChainStage& s, int pi, int gsh,
                                            const int* rs) {
  ChainRun r = chain_run(c, c.ph[pi], gsh, rs ? rs + 2 * pi : nullptr);
  if (r.u0 >= r.u1) return false;
  s.pi = pi;
  s.j = r.j0;
  s.ue = r.u1;
  s.q = r.q;
  s.up = r.up;
  s.pa = s.ps = (r.u0 - r.j0 * r.q) * r.up;
  chain_part_end(s);
  return true;
}

// s at the first stage of phase pi or of the first phase after it with work for this block;
// false past the last phase.
__device__ __forceinline__ bool chain_enter(const Chain& c, ChainStage& s, int pi, int gsh,
                                            const int* rs) {
  for (; pi < c.phases; pi++)
    if (chain_begin(c, s, pi, gsh, rs)) return true;
  return false;
}

// Whether s is its group's last stage, and its phase's.
__device__ __forceinline__ bool chain_group_end(const ChainStage& s) {
  return s.ps + CHAIN_SP >= s.pe;
}
__device__ __forceinline__ bool chain_phase_end(const ChainStage& s) {
  return chain_group_end(s) && (s.j + 1) * s.q >= s.ue;
}

// s at the next stage of its phase; false past the phase's last.
__device__ __forceinline__ bool chain_step(ChainStage& s) {
  if ((s.ps += CHAIN_SP) < s.pe) return true;
  if (++s.j * s.q >= s.ue) return false;
  s.pa = s.ps = 0;
  chain_part_end(s);
  return true;
}

// A partner's sums (chain_run) in the launch's scratch, past the barrier and epoch words: a
// slot of 16 bytes for each epilogue thread of each block and phase, its two sums each beside
// the launch's tag (1 + the epoch word, which block 0 bumps once every block has read it) in
// one 64-bit word, so an owner that reads its tag has read the sum that came with it: no fence,
// which would wait for the SM's bulk copies in flight (1.3-1.8 us, docs/benchmarks), on the
// partner's side, and no flag to reset on the owner's.
__device__ __forceinline__ uint4* chain_part(const Chain& c, int pi, int block, int th) {
  return reinterpret_cast<uint4*>(reinterpret_cast<char*>(c.barrier) + 128) +
         ((size_t)pi * gridDim.x + block) * 128 + th;
}

__device__ __forceinline__ unsigned long long chain_ld_word(const uint4* p, int half) {
  unsigned long long v;
  asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];"
               : "=l"(v)
               : "l"(reinterpret_cast<const unsigned long long*>(p) + half)
               : "memory");
  return v;
}

__device__ __forceinline__ void chain_st_word(uint4* p, int half, float v, unsigned tag) {
  unsigned long long w = ((unsigned long long)tag << 32) | __float_as_uint(v);
  asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(
                   reinterpret_cast<unsigned long long*>(p) + half),
               "l"(w)
               : "memory");
}

// The consumer threads that issue a group's prefetches (chain_prefetch_part, _rows) at its
// first stage and wait for them before its sums meet: the last four warps, not the first four,
// which run the epilogues. Both on the first four, a phase's first stage began 0.2 us later
// for them (the prefetches' addressing), and every group's end waited for them.
#define CHAIN_PF0 (32 * (CHAIN_CW - 4))
static_assert(CHAIN_CW >= 8, "the prefetching warps are not the epilogue's");

// The owner's early read of its partner's slot (prefetch thread th, at the group's first
// stage) into pre[th], which epilogue thread th checks for the tags (and reads again where the
// partner was late).
__device__ __forceinline__ void chain_prefetch_part(const Chain& c, int pi, uint4* pre, int th) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n cp.async.commit_group;" ::"r"(
                   smem_u32(pre + th)),
               "l"(chain_part(c, pi, blockIdx.x + 1, th))
               : "memory");
}

// What a group's epilogue reads from global memory, into pf (32 floats a token) at the group's
// first stage, by prefetch threads tid (cp.async through L2: other blocks wrote the
// residual in this launch): a RESID phase's 32 rows of the residual a token, a QKV phase's
// 32 bias values (16 of rows c0, 16 of c0 + half; chain_epilogue). Read at the epilogue, each
// cost the phase's last group an L2 round trip behind the ring's copies (0.7-1 us in the
// timelines of docs/benchmarks) before its stores.
__device__ __forceinline__ void chain_prefetch_rows(const Chain& c, const ChainPhase& p,
                                                    const ChainStage& s, int tokens,
                                                    float* pf, int tid) {
  const void* src = nullptr;
  if (p.kind == CHAIN_RESID) {
    if (tid < 8 * tokens)
      src = c.resid + (size_t)(tid >> 3) * p.rows + 32 * s.j + 4 * (tid & 7);
  } else if (p.kind == CHAIN_QKV) {  // strip tid / 2's first row (its 16 are contiguous)
    if (tid < 4) src = p.bias + 16 * chain_strip(c, p, s.j, tid >> 1) + 8 * (tid & 1);
  } else {
    return;  // SiLU's and the FP8 rows' epilogues read nothing
  }
  if (src)
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n cp.async.commit_group;" ::"r"(
                     smem_u32(pf + 4 * tid)),
                 "l"(src)
                 : "memory");
}

// A group's sums (warp partials in red) through the phase's epilogue, by consumer threads
// 0..127: thread (e, l) hands row g + 8 (e / 2) of both strips, token 2c + e % 2 (the C
// fragment layout), as w4f_units does. A partner's part leaves its sums in its slot instead;
// an owner's adds its partner's (prefetched into pre) to its own first.
__device__ __forceinline__ void chain_epilogue(const Chain& c, const ChainPhase& p,
                                               const ChainStage& s, int tokens, const float* red,
                                               const uint4* pre, unsigned tag, const float* pf,
                                               const float* pos, const int* slots, float back) {
  if (threadIdx.x >= 128) return;
  int e = threadIdx.x >> 5, l = threadIdx.x & 31;
  int t = 2 * (l & 3) + (e & 1);
  bool owner = s.pe < (p.k >> 6);
  if (t >= tokens) return;
  float a = 0.f, b = 0.f;
  int cols = chain_red_cols(tokens);
  for (int w = 0; w < CHAIN_CW; w++) {
    a += red[chain_red_at(w, 0, e, l >> 2, l & 3, cols)];
    b += red[chain_red_at(w, 1, e, l >> 2, l & 3, cols)];
  }
  if (s.pa > 0) {  // a partner's part
    uint4* slot = chain_part(c, s.pi, blockIdx.x, threadIdx.x);
    chain_st_word(slot, 0, a, tag);
    chain_st_word(slot, 1, b, tag);
    return;
  }
  if (owner && CHAIN_NO_EPI != 2) {
    uint4 v = pre[threadIdx.x];
    const uint4* slot = chain_part(c, s.pi, blockIdx.x + 1, threadIdx.x);
    unsigned long long w;
    for (w = ((unsigned long long)v.y << 32) | v.x; (unsigned)(w >> 32) != tag;)
      w = chain_ld_word(slot, 0);
    a += __uint_as_float((unsigned)w);
    for (w = ((unsigned long long)v.w << 32) | v.z; (unsigned)(w >> 32) != tag;)
      w = chain_ld_word(slot, 1);
    b += __uint_as_float((unsigned)w);
  }
  a *= back;  // chain_prologue's factor (exact: a power of two, 1 but for huge activations)
  b *= back;
  int k = (l >> 2) + 8 * (e >> 1), u = 16 * s.j + k;  // the unit's place in the group
  if (p.kind == CHAIN_RESID) {  // rows 32 j + k and + 16 (StripRowsEpilogue's), prefetched
    float* y = c.resid + (size_t)t * p.rows + 32 * s.j + k;
    y[0] = pf[32 * t + k] + a;
    y[16] = pf[32 * t + k + 16] + b;
  } else if (p.kind == CHAIN_ROWS) {
    StripRowsEpilogue<false>{p.y, p.rows}.store(u, t, a, b);
  } else if (p.kind == CHAIN_SILU) {
    SiluEpilogue{p.act, c.inter}.store(u, t, a, b);
  } else {
    const bf16* bias = reinterpret_cast<const bf16*>(pf);  // prefetched
    QkvRopeEpilogue{p.bias, p.q_out, p.k_cache, p.v_cache, c.num_heads, c.num_kv_heads,
                    c.head_dim, c.head_dim / 2, c.theta, pos[t], slots[t]}
        .store_biased(u, t, a + to_f(bias[k]), b + to_f(bias[16 + k]));
  }
}

// Stage s's codes and scales into a ring slot (codes, scales), counted on bar: one lane.
template <class E>
__device__ __forceinline__ void chain_issue(const Chain& c, const ChainStage& s, uint4* codes,
                                            E* scales, int gsh, uint64_t* bar,
                                            uint64_t policy) {
  const ChainPhase& p = c.ph[s.pi];
  int pairs = p.k >> 6, groups = pairs >> gsh, gps = CHAIN_SP >> gsh;
  int np = min(CHAIN_SP, s.pe - s.ps), gn = np >> gsh;
  if (CHAIN_PROBE == 1) {
    mbar_arrive(bar);
    return;
  }
  constexpr unsigned gb = 8 * sizeof(E);  // bytes of a strip's group of entries
  mbar_expect_tx(bar, 2 * np * 512 + 2 * gn * gb);
  for (int h = 0; h < 2; h++) {
    int strip = chain_strip(c, p, s.j, h);
    bulk_load(codes + h * CHAIN_SP * 32, p.codes + ((size_t)strip * pairs + s.ps) * 32,
              np * 512, bar, policy);
    bulk_load(scales + h * gps * 8,
              static_cast<const E*>(p.szs) + ((size_t)strip * groups + (s.ps >> gsh)) * 8,
              gn * gb, bar, policy);
  }
}

// Diagnostics: compiled with -DCHAIN_TIMING=N, launches N and N + 1 of w4_chain print each
// block's %globaltimer at the consumers' start and, per phase, after the grid barrier, after the
// prologue, at the first stage's arrival and at the phase's end (ns, absolute: the timer is
// common to all SMs), and the producer's at the first issue of each phase and at its end (two
// launches: what lies between them, the attention and the launch boundary). A block without
// work in a phase marks its first-stage time at the phase start.
#ifdef CHAIN_TIMING
// -DCHAIN_TIMING_SPAN=S (up to 64) also keeps, for launches N .. N + S - 1, the consumers'
// earliest start and each phase's latest end over the blocks, which launch N + S prints as
// "CS i start O GU DN QKV" lines: a whole step's chains and what lies between them.
#ifndef CHAIN_TIMING_SPAN
#define CHAIN_TIMING_SPAN 0
#endif
__device__ unsigned chain_launches;
#if CHAIN_TIMING_SPAN > 0
__device__ unsigned long long chain_span_start[CHAIN_TIMING_SPAN];  // ~ the earliest start
__device__ unsigned long long chain_span_end[CHAIN_TIMING_SPAN][CHAIN_PHASES];
#define CHAIN_DIGEST()                                                                        \
  { unsigned i = launch - CHAIN_TIMING;                                                       \
    if (threadIdx.x == 0 && i < CHAIN_TIMING_SPAN) {                                          \
      atomicMax(&chain_span_start[i], ~tm[0]);                                                \
      for (int q = 0; q < CHAIN_PHASES; q++)                                                  \
        if (tm[1 + 4 * q + 3]) atomicMax(&chain_span_end[i][q], tm[1 + 4 * q + 3]);           \
    }                                                                                         \
    if (threadIdx.x == 0 && blockIdx.x == 0 && i == CHAIN_TIMING_SPAN)                        \
      for (int j = 0; j < CHAIN_TIMING_SPAN; j++)                                             \
        printf("CS %d %llu %llu %llu %llu %llu\n", j, ~chain_span_start[j],                   \
               chain_span_end[j][0], chain_span_end[j][1], chain_span_end[j][2],              \
               chain_span_end[j][3]);                                                         \
  }
#else
#define CHAIN_DIGEST() {}
#endif
#define CHAIN_TIMES unsigned long long tm[2 + 4 * CHAIN_PHASES] = {}; int nt = 0; \
  unsigned launch = *(volatile unsigned*)&chain_launches;
#define CHAIN_MARK() \
  { if ((threadIdx.x & 31) == 0 && nt < 2 + 4 * CHAIN_PHASES) tm[nt++] = global_ns(); }
#define CHAIN_REPORT(who)                                                                     \
  { if ((threadIdx.x & 31) == 0 && launch - CHAIN_TIMING < 2u) {                              \
    unsigned smid;                                                                            \
    asm("mov.u32 %0, %%smid;" : "=r"(smid));                                                  \
    printf("CT %s %u %d %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "  \
           "%llu %llu %llu %u\n", who, launch, blockIdx.x, tm[0], tm[1], tm[2], tm[3], tm[4], \
           tm[5], tm[6], tm[7], tm[8], tm[9], tm[10], tm[11], tm[12], tm[13], tm[14], tm[15],     \
           tm[16], smid);                                                                      \
  }                                                                                           \
  if (threadIdx.x == 0 && blockIdx.x == 0) atomicAdd(&chain_launches, 1u); }
#else
#define CHAIN_TIMES
#define CHAIN_MARK() {}
#define CHAIN_REPORT(who) {}
#define CHAIN_DIGEST() {}
#endif

#ifndef CHAIN_EARLY_PAUSE
#define CHAIN_EARLY_PAUSE 1
#endif
// 1: the paused producer resumes when the phase's prologue is done, not at the barrier: its
// copies no longer slow the prologue's round trip to L2 (the ring keeps the stages issued before
// the pause). 14B GPTQ batch 1 221 / 220 against 214 / 214 tokens/s, 7B 424 against 414 (one
// H100, same call; resuming once the prologue's loads have returned: 219 / 219, 420).
#ifndef CHAIN_LATE_RESUME
#define CHAIN_LATE_RESUME 1
#endif

// Launch: grid = SMs (at most, every block resident), 32 * (CHAIN_CW + 1) threads, dynamic
// shared memory Kernels.chainSmem; chain in device memory; tokens 1 .. 8.
// GSH: input pairs a scale group spans, as a shift (groups of 64 << GSH inputs), known at
// compile time: read from the Chain, the consumers' loops divided by c.group for every pair,
// reloading it from shared memory after each mbarrier wait (the asm's memory clobber), some 25
// instructions and a long dependency before each pair's scale load (151 instructions a pair,
// now 117); held in a register, it pushed ptxas past the 128-register cap into spills. One
// H100, same call: 14B GPTQ batch 1 239 / 239 tokens/s against 233 / 233, 7B 451 against 424.
// Z8: every zero point of the launch's layers is 8 (GPTQ's symmetric quantization, as in
// Qwen's own GPTQ-Int4 checkpoints): the scales come without them, 4 bytes an entry (unsigned:
// fp16 scales of rows g, g + 8) against 8, so a stage streams 3 % fewer bytes. One H100, same
// call, 14B GPTQ batch 1 258 / 258 tokens/s against 253 / 254 with the zero points (decode a
// sequence 264-265 against 259.6-259.8), batch 2 493 against 488, 7B 472 against 464.
// ONE: steps of one token (the _one twins; chain_pair scales token 0's columns only, and the
// token count is a constant), the same bits as the other twins for that token. One H200, same
// call: 14B GPTQ batch 1 340.1 / 340.0 decode tokens/s a sequence against 337.3 / 337.2 with
// token 1's scaling kept (-DCHAIN_ONE_TRIM=0); the other twins read 332.8-333.5 in five calls
// on other machines the same day.
template <int GSH, bool Z8, bool ONE>
__device__ __forceinline__ void w4_chain_run(const Chain* __restrict__ chain, int tokens,
                                             const int* __restrict__ runs) {
  using Entry = typename std::conditional<Z8, unsigned, uint2>::type;
  if (ONE) tokens = 1;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ uint4 chain_smem[];
  __shared__ uint64_t full[CHAIN_NS], empty[CHAIN_NS];
  __shared__ float part[8 * CHAIN_CW];
  // The producer issues nothing from the moment a phase's last stage has arrived until the
  // barrier after it is passed (with CHAIN_LATE_RESUME, until the next prologue is done): the
  // release before a barrier's arrival waits for the SM's
  // bulk copies in flight (layers_bf16.cu's LW_EARLY_PAUSE). The chain's phases are long, so
  // it gains little: 14B GPTQ batch 1 234 against 233 tokens/s, 7B 459 against 456 (one
  // H100, same call; -DCHAIN_EARLY_PAUSE=0 for before).
  __shared__ int paused;
  // The launch's Chain, copied into shared memory before anything waits (it was written at
  // load, not by the kernel before): read from global memory, a phase's parameters cost a
  // round trip to L2 after the barrier before the prologue's own loads (the O prologue took
  // 1.1 us, now 0.6). One H100, same call, 14B GPTQ batch 1 232 / 231 tokens/s against
  // 230 / 229, batch 2 446 against 444, 7B 419 against 420.
  __shared__ __align__(16) Chain cs;
  static_assert(sizeof(Chain) % 8 == 0, "copied in 8-byte words");
  if (threadIdx.x < sizeof(Chain) / 8)
    reinterpret_cast<unsigned long long*>(&cs)[threadIdx.x] =
        __ldg(reinterpret_cast<const unsigned long long*>(chain) + threadIdx.x);
  // this block's run {u0, u1} of each phase, where the launch is given them
  __shared__ int runs_s[2 * CHAIN_PHASES];
  const int* rs = runs ? runs_s : nullptr;
  if (runs && threadIdx.x >= 64 && threadIdx.x < 64 + 2 * CHAIN_PHASES) {
    int i = threadIdx.x - 64;
    runs_s[i] = __ldg(runs + (i >> 1) * (gridDim.x + 1) + blockIdx.x + (i & 1));
  }
  __syncthreads();
  const Chain& c = cs;
  constexpr int gsh = GSH;
  unsigned char* sm = reinterpret_cast<unsigned char*>(chain_smem);
  uint4* ring = chain_smem;
  Entry* szr = reinterpret_cast<Entry*>(sm + CHAIN_NS * CHAIN_STAGE_CODES);
  float* red = reinterpret_cast<float*>(sm + CHAIN_NS * CHAIN_STAGE_CODES +
                                        CHAIN_NS * 2 * 8 * (CHAIN_SP >> gsh) * sizeof(Entry));
  int red_cols = chain_red_cols(tokens), red_size = CHAIN_CW * 2 * 4 * 8 * red_cols;
  __half* xs = reinterpret_cast<__half*>(red + CHAIN_RED * red_size);
  __shared__ float amax[CHAIN_CW];
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  CHAIN_TIMES
  if (threadIdx.x == 0) {
    paused = 0;
    for (int s = 0; s < CHAIN_NS; s++) {
      mbar_init(full + s, 1);
      mbar_init(empty + s, CHAIN_CW);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  if (warp == CHAIN_CW) {
    // Producer: every phase's stages in order, a slot as soon as the consumers free it. Only
    // weights are read, so it starts before the previous kernel has finished (no pdl_wait
    // until it is done).
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    ChainStage s;
    bool more = chain_enter(c, s, 0, gsh, rs);
    int marked = 0;
    for (int it = 0; more; it++, more = chain_step(s) || chain_enter(c, s, s.pi + 1, gsh, rs)) {
      for (; marked <= s.pi; marked++) CHAIN_MARK()
      int slot = it % CHAIN_NS;
      if (it >= CHAIN_NS) mbar_wait(empty + slot, ((it / CHAIN_NS) - 1) & 1);
      if (CHAIN_EARLY_PAUSE)
        while (*reinterpret_cast<volatile int*>(&paused)) {
        }
      if (lane == 0) {
        chain_issue(c, s, ring + slot * 2 * CHAIN_SP * 32, szr + (slot * 16 * CHAIN_SP >> gsh),
                    gsh, full + slot, policy);
      }
      __syncwarp();
    }
    for (; marked <= c.phases; marked++) CHAIN_MARK()
    CHAIN_REPORT("p")
    pdl_wait();
    pdl_launch_dependents();
    return;
  }

  // Consumers. The epilogues' prefetched rows (chain_prefetch_rows), double-buffered by group
  // (a buffer is rewritten two groups later, once every epilogue thread has passed the group
  // between), and the step's positions and cache slots: step metadata, copied before the
  // step's first kernel, so read before the wait (as the decode attention does).
  __shared__ __align__(16) float pf[2][32 * CHAIN_MAX_TOKENS];
  __shared__ float pos_s[CHAIN_MAX_TOKENS];
  __shared__ int slot_s[CHAIN_MAX_TOKENS];
  if (threadIdx.x < tokens) {
    pos_s[threadIdx.x] = (float)c.positions[threadIdx.x];
    slot_s[threadIdx.x] = c.slots[threadIdx.x];
  }
  pdl_wait();
  CHAIN_MARK()
  // The launch's tag for the partners' sums (chain_part): every block reads the epoch word
  // before it arrives at the first grid barrier, after which block 0 bumps it for the next.
  // Its load is issued here and first used after the O prologue (an asm the compiler keeps
  // behind the prologue's barrier), so its round trip overlaps the prologue's: the add right
  // after the load had every consumer wait for it first (the launch's start to the O phase
  // 1.2 us, docs/benchmarks).
  unsigned* epoch = c.barrier + 1;
  unsigned ep = *reinterpret_cast<volatile unsigned*>(epoch), tag = 0;
  __shared__ uint4 pre[2][128];  // the partners' sums, double-buffered as pf
  // Lanes past the live tokens read the last one's activations: their columns of the product
  // are never stored, and the loads need no predicate or zeroing.
  int g = lane >> 2, cc = lane & 3;
  static_assert(CHAIN_CW % 2 == 0, "a warp's pairs CHAIN_CW apart start whole groups apart");
  const Entry* zw = szr + (warp >> gsh) * 8 + g;
  int it = 0, red_buf = 0;
  for (int pi = 0; pi < c.phases; pi++) {
    const ChainPhase& p = c.ph[pi];
    if (pi > 0) {
      if ((CHAIN_NO_BARRIER >> pi) & 1)
        chain_sync();
      else
        chain_grid_sync(c.barrier);
      if (pi == 1 && blockIdx.x == 0 && threadIdx.x == 0) atomicAdd(epoch, 1u);
      if (CHAIN_EARLY_PAUSE && !CHAIN_LATE_RESUME && threadIdx.x == 0)
        *reinterpret_cast<volatile int*>(&paused) = 0;
    }
    CHAIN_MARK()
    // The attention after this launch may take its SMs' spare room from the last phase on.
    if (pi == c.phases - 1) pdl_launch_dependents();
    float back = chain_prologue(c, p, tokens, xs, part, amax,
                                CHAIN_EARLY_PAUSE && CHAIN_LATE_RESUME && pi > 0
                                    ? reinterpret_cast<volatile int*>(&paused)
                                    : nullptr);
    if (pi == 0) asm volatile("add.u32 %0, %1, 1;" : "=r"(tag) : "r"(ep));
    CHAIN_MARK()
    int pairs = p.k >> 6;
    const __half* xl = xs + (size_t)min(g, tokens - 1) * p.k + 8 * cc;
    ChainStage s;
    bool more = chain_begin(c, s, pi, gsh, rs), first = true;
    if (!more) CHAIN_MARK()
    float acc[2][1][4] = {};
    for (; more; it++) {
      int slot = it % CHAIN_NS;
      int pth = threadIdx.x - CHAIN_PF0;  // prefetch thread
      if (s.ps == 0 && pth >= 0) {  // a group whose epilogue this block runs
        if (s.pe < pairs) chain_prefetch_part(c, pi, pre[s.j & 1], pth);  // an owner's
        chain_prefetch_rows(c, p, s, tokens, pf[s.j & 1], pth);
      }
      mbar_wait(full + slot, (it / CHAIN_NS) & 1);
      if (CHAIN_EARLY_PAUSE && threadIdx.x == 0 && pi + 1 < c.phases && chain_phase_end(s))
        *reinterpret_cast<volatile int*>(&paused) = 1;
      if (first) {
        CHAIN_MARK()
        first = false;
      }
      // the warp's first pair's entries in the slot (2 strips x 8 entries a group); pair
      // warp + CHAIN_CW i's lie (CHAIN_CW i >> gsh) groups on
      const Entry* zr = zw + (slot * 16 * CHAIN_SP >> gsh);
      int np = s.pe - s.ps;
#pragma unroll
      for (int i = 0; i < CHAIN_SP / CHAIN_CW; i++) {
        int pl = warp + CHAIN_CW * i, pp = s.ps + pl;
        if (pl < np) {
          uint4 w0 = ring[(slot * 2 + 0) * CHAIN_SP * 32 + pl * 32 + lane];
          uint4 w1 = ring[(slot * 2 + 1) * CHAIN_SP * 32 + pl * 32 + lane];
          Entry ea = zr[(CHAIN_CW * i >> gsh) * 8];
          Entry eb = zr[((CHAIN_SP + CHAIN_CW * i) >> gsh) * 8];
          uint4 x0 = *reinterpret_cast<const uint4*>(xl + 64 * pp);
          uint4 x1 = *reinterpret_cast<const uint4*>(xl + 64 * pp + 32);
          chain_pair<ONE>(w0, x0, x1, ea, acc[0]);
          chain_pair<ONE>(w1, x0, x1, eb, acc[1]);
        }
      }
      // Measured and not kept: full stages (np == CHAIN_SP) taking their pairs with no test
      // between them, so that the compiler could load one pair while the last one's MMAs ran:
      // 12 bytes of spills, and one H200 read 317.5 / 317.4 (14B GPTQ batch 1) against
      // 321.6 / 321.5 with the tests, batch 2 584 against 594.
      __syncwarp();
      if (lane == 0) mbar_arrive(empty + slot);
      if (CHAIN_NO_EPI >= 1 && CHAIN_NO_EPI <= 3 && chain_group_end(s) &&
          (CHAIN_NO_EPI == 1 || (CHAIN_NO_EPI == 2) != chain_phase_end(s))) {
#pragma unroll
        for (int h = 0; h < 2; h++)
#pragma unroll
          for (int e = 0; e < 4; e++) {
            if (CHAIN_NO_EPI_LIVE && __float_as_uint(acc[h][0][e]) == 0x7fc00001u)
              red[e] = acc[h][0][e];  // never: keeps the sums (and their FFMAs) alive
            acc[h][0][e] = 0.f;
          }
        if (s.pa == 0 && threadIdx.x >= CHAIN_PF0) asm volatile("cp.async.wait_all;" ::: "memory");
      } else if (chain_group_end(s) &&
                 !(CHAIN_NO_EPI >= 6 && (s.j & (CHAIN_NO_EPI == 6 ? 1 : 3)) && s.pa == 0 &&
                   s.pe == pairs && !chain_phase_end(s))) {
        // The group's sums: double-buffered, so one barrier a group suffices (a buffer is
        // rewritten two groups later, after its readers have passed the next group's barrier).
        float* rb = red + red_buf * red_size;
        red_buf = (red_buf + 1) % CHAIN_RED;
#pragma unroll
        for (int h = 0; h < 2; h++)
#pragma unroll
          for (int e = 0; e < 4; e++) {
            if (cc < red_cols) rb[chain_red_at(warp, h, e, g, cc, red_cols)] = acc[h][0][e];
            acc[h][0][e] = 0.f;
          }
        // the prefetches' issuers wait for them before the epilogue reads them
        if (s.pa == 0 && threadIdx.x >= CHAIN_PF0)
          asm volatile("cp.async.wait_all;" ::: "memory");
        if (CHAIN_NO_EPI != 5) chain_sync();
        if (CHAIN_NO_EPI != 4)
          chain_epilogue(c, p, s, tokens, rb, pre[s.j & 1], tag, pf[s.j & 1], pos_s, slot_s, back);
        if (CHAIN_RED == 1) chain_sync();  // its readers are done before the next group writes
      }
      more = chain_step(s);
    }
    CHAIN_MARK()
  }
  if (warp == 0) {
    CHAIN_DIGEST()
    CHAIN_REPORT("c")
  }
  pdl_launch_dependents();
#endif
}

// Groups of 128 inputs (GPTQ's usual) and of 64 (Kernels.w4ChainFits); each over scales with
// zero points, and without them (_z8); each for steps of one token (_one) and of more.
#define W4_CHAIN(NAME, GSH, Z8, ONE)                                                           \
  extern "C" __global__ void __launch_bounds__(32 * (CHAIN_CW + 1), 1)                         \
      NAME(const Chain* __restrict__ chain, int tokens, const int* __restrict__ runs) {        \
    w4_chain_run<GSH, Z8, ONE>(chain, tokens, runs);                                           \
  }
W4_CHAIN(w4_chain, 1, false, false)
W4_CHAIN(w4_chain_g64, 0, false, false)
W4_CHAIN(w4_chain_z8, 1, true, false)
W4_CHAIN(w4_chain_g64_z8, 0, true, false)
#ifndef CHAIN_ONE  // measurement: 0 builds the _one twins as the others
#define CHAIN_ONE 1
#endif
W4_CHAIN(w4_chain_one, 1, false, CHAIN_ONE)
W4_CHAIN(w4_chain_g64_one, 0, false, CHAIN_ONE)
W4_CHAIN(w4_chain_z8_one, 1, true, CHAIN_ONE)
W4_CHAIN(w4_chain_g64_z8_one, 0, true, CHAIN_ONE)

// szs (strip-major, above) from w4a16.cu's sz (rows, groups) half2 {scale, zero}. rows % 16 == 0.
// z8: scales only (unsigned entries: every zero point is 8, w4_zeros_not8), else uint2 entries.
extern "C" __global__ void w4_chain_scales(const __half2* __restrict__ sz, void* __restrict__ szs,
                                           int rows, int groups, int z8) {
  pdl_enter();
  long long n = (long long)rows / 2 * groups;  // entries
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    int g = (int)(i & 7);
    long long sg = i >> 3;  // strip * groups + group
    int strip = (int)(sg / groups), gi = (int)(sg - (long long)strip * groups);
    __half2 r0 = sz[(size_t)(16 * strip + g) * groups + gi];
    __half2 r8 = sz[(size_t)(16 * strip + g + 8) * groups + gi];
    __half2 scales = __halves2half2(__low2half(r0), __low2half(r8));
    unsigned sw = *reinterpret_cast<unsigned*>(&scales);
    if (z8) {
      static_cast<unsigned*>(szs)[i] = sw;
      continue;
    }
    __nv_bfloat162 bias = __floats2bfloat162_rn(128.f + __high2float(r0), 128.f + __high2float(r8));
    static_cast<uint2*>(szs)[i] = make_uint2(sw, *reinterpret_cast<unsigned*>(&bias));
  }
}

// *flag = 1 where any of sz's n {scale, zero} has a zero point other than 8 (left as it is
// otherwise): whether a layer's scales can go without them (w4_chain_scales' z8).
extern "C" __global__ void w4_zeros_not8(const __half2* __restrict__ sz, long long n,
                                         unsigned* __restrict__ flag) {
  pdl_enter();
  bool other = false;
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    other |= __high2float(sz[i]) != 8.f;
  if (__syncthreads_or(other) && threadIdx.x == 0) *flag = 1u;
}
