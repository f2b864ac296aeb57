// A decoder layer's bf16 projections after its attention, and the next layer's QKV, in one
// persistent launch: w4a16_chain.cu's phases (O + residual, RMSNorm + gate/up + SiLU, down +
// residual, RMSNorm + the next QKV + bias, RoPE, cache write; or the QKV rows before an FP8
// cache) over gemv_fused.cu's arithmetic, the phases meeting at grid barriers.
//
// Why: at batch 1 a small model's step is its kernels' dependent round trips, not its bytes
// (0.5B: about 1 ms a step for 0.33 ms of weights; docs/benchmarks/README.md). The separate
// fused GEMVs load their weights only once they have started, so every kernel boundary, even
// overlapped by programmatic dependent launch, begins with an empty pipe. Here each warp streams
// its own rows through a private ring of shared-memory stages with cp.async, GCH_NS - 1 stages
// ahead of its math and straight across phase boundaries (weights depend on nothing the phases
// compute): while a warp waits at a grid barrier or in a norm prologue, its first stages of the
// next phase are already arriving.
//
// Two bf16 chains were tried before and not kept: a producer warp bulk-copying rows into a
// block-wide ring (the Tensor Memory Accelerator's cost is per copy: 1-2 KB copies streamed at
// 85 % of copy bandwidth, below the fused GEMVs' 90-98 %). Here every lane copies its own
// 16-byte chunks (plain LDGSTS) and consumes only those, so a stage needs no barrier, no
// mbarrier and no producer: cp.async.wait_group per thread is the whole protocol.
//
// Work: a unit is the epilogue's row pair (gemv_fused.cu: a RoPE pair, gate and up, two
// neighbouring rows), against every token; the units of a phase go to the grid's warps
// block-minor (unit u to warp (u / blocks) of block u % blocks, and so on), so a narrow phase
// still spreads over every SM. A stage is a unit's two rows over 256 inputs: lane l holds chunk
// l of each, i.e. chunks l, l + 32, ... of the row over the stages, in ascending order, which is
// gemv_bf16's order; the warp reduction and the epilogues are gemv_fused.cu's. So given the
// same normed activations every output has the fused GEMVs' bits, and a token's result never
// depends on the batch. The norm prologue is w4a16_chain.cu's (chain_prologue, 256 threads).
//
// Requirements (Kernels.gemvChainFits): Hopper (the grid barrier's blocks and the early launch
// as for w4_chain; cp.async itself is sm_80), k % 8 == 0, tokens <= GCH_MAX_TOKENS, tokens * max
// k * 2 bytes of activations beside the rings in shared memory; every block resident (the grid
// is at most blocks-per-SM x SMs).
#include "common.cuh"

#ifndef GCH_NS
#define GCH_NS 8           // stages in each warp's ring
#endif
#ifndef GCH_BLOCKS
#define GCH_BLOCKS 2       // blocks an SM (the launch bounds: 128 registers at 2)
#endif
#define GCH_MAX_TOKENS 2   // Kernels.GCH_MAX_TOKENS (more spill at 128 registers)
#define GCH_STAGE 256      // inputs a stage holds of each of its two rows (a chunk per lane)

// The geometry Kernels sizes the launch by (a variant built with another -DGCH_NS runs as is).
__device__ const int gemv_chain_geometry[3] = {CHAIN_CW, GCH_NS, GCH_BLOCKS};

// Row r (0, 1) of unit u of a phase: the epilogues' pairing.
__device__ __forceinline__ int gch_row(const Chain& c, const ChainPhase& p, int u, int r) {
  if (p.kind == CHAIN_SILU) return SiluEpilogue{nullptr, c.inter}.row(u, r);
  if (p.kind == CHAIN_QKV) {
    int half = c.head_dim / 2;
    return (u / half) * c.head_dim + u % half + r * half;  // QkvRopeEpilogue::row
  }
  return RowsEpilogue<false>{nullptr, p.rows}.row(u, r);
}

// A warp's share of a phase. Where the phase has fewer units than half the grid's warps, S
// warps of a block (2, 4 or 8: the most with units x S <= warps and S <= slices) split each
// unit's slices (warp s of the S taking slices s, s + S, ...) and add their sums in warp order
// (gch_reduce); otherwise S = 1 and a warp takes whole units. Units go to the block's groups
// of S warps block-minor: group g of block b takes units g x blocks + b, then every
// blocks x (CHAIN_CW / S)-th.
struct GchShare {
  int split, unit0, unit_step, slice0, slices;

  __device__ GchShare(const ChainPhase& p, int warps) {
    slices = (p.k + GCH_STAGE - 1) / GCH_STAGE;
    split = 1;
    while (split < CHAIN_CW && p.units * 2 * split <= warps && 2 * split <= slices) split *= 2;
    int warp = threadIdx.x >> 5;
    unit0 = (warp / split) * gridDim.x + blockIdx.x;
    unit_step = gridDim.x * (CHAIN_CW / split);
    slice0 = warp % split;
  }
};

// A warp's place in its sequence of stages: phase, unit, 256-input slice; every phase's units
// of its share, and each unit's slices of its share, in order.
struct GchCursor {
  int phase, unit, slice;
  bool live;

  __device__ void first(const Chain& c, int warps) {
    phase = -1;
    next_phase(c, warps);
  }
  __device__ void next_phase(const Chain& c, int warps) {
    while (++phase < c.phases) {
      GchShare sh(c.ph[phase], warps);
      unit = sh.unit0;
      slice = sh.slice0;
      if (unit < c.ph[phase].units) {
        live = true;
        return;
      }
    }
    live = false;
  }
  __device__ void next(const Chain& c, int warps) {
    GchShare sh(c.ph[phase], warps);
    slice += sh.split;
    if (slice < sh.slices) return;
    slice = sh.slice0;
    unit += sh.unit_step;
    if (unit >= c.ph[phase].units) next_phase(c, warps);
  }
};

// Lane's chunks of the cursor's stage into its ring slot (nothing past the row's end: the math
// skips those chunks), then one commit group, empty once the sequence has ended.
__device__ __forceinline__ void gch_issue(const Chain& c, GchCursor& cur, uint4* slot,
                                          int warps) {
  int lane = threadIdx.x & 31;
  if (cur.live) {
    const ChainPhase& p = c.ph[cur.phase];
    int chunk = cur.slice * (GCH_STAGE / 8) + lane;
    if (chunk < p.k / 8) {
      const bf16* w = reinterpret_cast<const bf16*>(p.codes);
#pragma unroll
      for (int r = 0; r < 2; r++)
        cp_async16(slot + r * 32 + lane, w + (size_t)gch_row(c, p, cur.unit, r) * p.k + 8 * chunk,
                   16);
    }
    cur.next(c, warps);
  }
  cp_async_commit();
}

template <int T>
__device__ __forceinline__ void gemv_chain_body(const Chain& c, int tokens) {
  extern __shared__ uint4 gch_smem[];
  __shared__ float part[8 * CHAIN_CW];
  __shared__ float red[2][CHAIN_CW][T][2];  // split units' warp sums, by unit parity
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int warps = gridDim.x * CHAIN_CW;
  uint4* ring = gch_smem + warp * GCH_NS * 64;  // this warp's slots of 2 x 32 chunks
  bf16* xs = reinterpret_cast<bf16*>(gch_smem + CHAIN_CW * GCH_NS * 64);

  // The weights depend on nothing before this launch: the first stages go out before the wait.
  CHAIN_TIMES
  CHAIN_MARK()
  GchCursor load;
  load.first(c, warps);
  for (int s = 0; s < GCH_NS - 1; s++) gch_issue(c, load, ring + s * 64, warps);
  pdl_wait();
  CHAIN_MARK()

  float pos = 0.f;
  int slot_id = -1;
  if (lane < tokens) {
    pos = (float)c.positions[lane];
    slot_id = c.slots[lane];
  }
  int stage = 0;  // stages consumed so far
  for (int pi = 0; pi < c.phases; pi++) {
    const ChainPhase& p = c.ph[pi];
    if (pi > 0) chain_grid_sync(c.barrier);
    CHAIN_MARK()
    // The attention after this launch may take its SMs' spare room from the last phase on.
    if (pi == c.phases - 1) pdl_launch_dependents();
    chain_prologue(c, p, tokens, xs, part);
    CHAIN_MARK()
    int chunks = p.k >> 3;
    GchShare sh(p, warps);
    const uint4* xv = reinterpret_cast<const uint4*>(xs);
    int buf = 0;
    for (int u = sh.unit0; u < p.units; u += sh.unit_step, buf ^= 1) {
      float acc[2][T];
#pragma unroll
      for (int r = 0; r < 2; r++)
#pragma unroll
        for (int t = 0; t < T; t++) acc[r][t] = 0.f;
      for (int sl = sh.slice0; sl < sh.slices; sl += sh.split, stage++) {
        cp_async_wait<GCH_NS - 2>();
        // Refill the slot read a stage ago (its loads are consumed: the sums below used them).
        gch_issue(c, load, ring + ((stage + GCH_NS - 1) % GCH_NS) * 64, warps);
        int ch = sl * (GCH_STAGE / 8) + lane;
        if (ch < chunks) {
          const uint4* s = ring + (stage % GCH_NS) * 64;
          uint4 w0 = s[lane], w1 = s[32 + lane];
#pragma unroll
          for (int t = 0; t < T; t++) {
            uint4 x = xv[t * chunks + ch];
            fma8(acc[0][t], w0, x);
            fma8(acc[1][t], w1, x);
          }
        }
      }
      float s0[T], s1[T];
#pragma unroll
      for (int t = 0; t < T; t++) {
        s0[t] = warp_sum(acc[0][t]);
        s1[t] = warp_sum(acc[1][t]);
      }
      if (sh.split > 1) {
        // The group's warps meet (a named barrier per group; chain_sync is barrier 1), and
        // its first warp adds their sums in warp order. red[buf] is written again two units
        // later, after every reader has passed the next unit's barrier.
        if (lane == 0)
#pragma unroll
          for (int t = 0; t < T; t++) {
            red[buf][warp][t][0] = s0[t];
            red[buf][warp][t][1] = s1[t];
          }
        __syncwarp();
        asm volatile("bar.sync %0, %1;" ::"r"(2 + warp / sh.split), "r"(32 * sh.split)
                     : "memory");
        if (warp % sh.split != 0) continue;
        int w0 = warp;
#pragma unroll
        for (int t = 0; t < T; t++) {
          float a = 0.f, b = 0.f;
          for (int j = 0; j < sh.split; j++) {
            a += red[buf][w0 + j][t][0];
            b += red[buf][w0 + j][t][1];
          }
          s0[t] = a;
          s1[t] = b;
        }
      }
#pragma unroll
      for (int t = 0; t < T; t++) {
        if (lane == t) {
          if (p.kind == CHAIN_RESID) {
            RowsEpilogue<true>{c.resid, p.rows}.store(u, t, s0[t], s1[t]);
          } else if (p.kind == CHAIN_ROWS) {
            RowsEpilogue<false>{p.y, p.rows}.store(u, t, s0[t], s1[t]);
          } else if (p.kind == CHAIN_SILU) {
            SiluEpilogue{p.act, c.inter}.store(u, t, s0[t], s1[t]);
          } else {
            QkvRopeEpilogue{p.bias,       p.q_out,          p.k_cache, p.v_cache, c.num_heads,
                            c.num_kv_heads, c.head_dim, c.head_dim / 2, c.theta, pos, slot_id}
                .store(u, t, s0[t], s1[t]);
          }
        }
      }
    }
    CHAIN_MARK()
  }
  if (warp < 2) CHAIN_REPORT(warp == 0 ? "c0" : "c1")
  cp_async_wait_all();  // nothing is left in flight (the sequence ended with empty groups)
  pdl_launch_dependents();
}

// Launch: grid = resident blocks an SM (at most GCH_BLOCKS; Kernels.gemvChainGrid) x SMs,
// 32 * CHAIN_CW threads, dynamic shared memory Kernels.gemvChainSmem; chain in device memory (a
// Chain whose phases' `codes` are bf16 weights (rows, k), `szs` unused); tokens 1 ..
// GCH_MAX_TOKENS.
extern "C" __global__ void __launch_bounds__(32 * CHAIN_CW, GCH_BLOCKS)
    gemv_chain_bf16(const Chain* __restrict__ chain, int tokens) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  const Chain& c = *chain;
  switch (tokens) {
    case 1: gemv_chain_body<1>(c, tokens); break;
    default: gemv_chain_body<2>(c, tokens); break;
  }
#endif
}
