// w4a16_chain.cu's launch (a layer's O, gate/up and down int4 projections after its attention,
// and the next layer's QKV) without grid barriers: a phase's work waits only for the slices of
// its input it reads, and the blocks take groups from a queue across the phases.
//
// Why: in w4_chain every block waits at each of three grid barriers for the slowest one. At
// 14B batch 1 the residual phases have 160 groups for 132 blocks (28 blocks take two) and
// gate/up 864 (6.5 a block), so a block in the middle of the field idled some 25 of a layer's
// 71 us (docs/benchmarks/README.md, "The chain in the engine, phase by phase"). Here:
// - Work: each block's producer warp takes the next group of the earliest phase with groups
//   left (an atomic ticket a phase) and streams its codes; the consumers learn the group from a
//   queue in shared memory, written before the group's first stage is signalled. A block that
//   finishes its O group early starts on gate/up; nothing waits for a phase to end as a whole.
// - Inputs: the next phase's input is cut into slices of CHAIN_SP * 64 (a stage's inputs). A
//   group's epilogue adds one to its slice's counter once its rows are stored (a block barrier
//   of the epilogue threads, then a fence and the atomic by one of them, as a grid barrier's
//   arrival); a consumer stages a slice into shared memory when its counter is complete, with
//   every later slice already complete, before the first stage that reads it.
// - The norms: RMSNorm needs the sum of squares of the whole residual row, which is known only
//   when every group of the residual phase before is done. So the normed phases (gate/up, the
//   next QKV) multiply x times the norm's weight, which each residual group's epilogue writes as
//   bf16 beside the residual (xw) with its 32 rows' sums of squares (ssq), and their epilogues
//   scale the sums by 1 / rms: the only place that waits for a whole phase, once a block a
//   phase, mostly long after that phase has ended. x w rounded to bf16 and scaled after the
//   sum, where the separate kernels round x w / rms, agree with them within bf16 noise; the
//   1 / rms adds the groups' sums in group order, so the bits do not depend on the timing.
// - The counters (tickets, slices, finished groups) are the Chain's own: the next launch of
//   another layer's chain overlaps this one (its producers start during the attention), and
//   each launch's last block to finish zeroes them for that chain's next launch (next step).
//   The producer takes tickets before pdl_wait: they are no memory a kernel before it touches.
// - Warps: the chain's consumers and producer, a signal warp (each group's release fence and
//   counters, off the consumers' path) and a stager warp (waits for the slices, copies them).
//
// Measured slower than w4_chain and kept off (redress.cuda.chainFlow; docs/benchmarks/README.md):
// 14B GPTQ batch 1 221 against 232 tokens/s, 7B 381 against 457 (one H100, same call). Every
// release fence waits for the SM's bulk copies in flight (1.3-1.8 us a signal), so a phase's
// inputs reach the next phase 3-4 us after its last group, later than a grid barrier does; and
// the deferred norm rounds x w, not x w / rms, to bf16 (logits within 0.1-0.3 % of the separate
// kernels, up to 7.8 % at one step of a small random model, where w4_chain's are identical).
#include "common.cuh"

#define FLOW_QN 16       // groups a producer may be ahead of its consumers (> CHAIN_NS + 1)
#define FLOW_SLICES 32   // most input slices of a phase (k <= 65,536)
// Counter words of a chain: tickets, finished groups (a phase each), finished blocks, then the
// slices' counters of phases 0 .. 2's outputs.
#define FLOW_TICKET 0
#define FLOW_FIN 4
#define FLOW_DONE 8
#define FLOW_READY 32
#define FLOW_COUNTERS (FLOW_READY + (CHAIN_PHASES - 1) * FLOW_SLICES)

__device__ const int w4_flow_geometry[2] = {FLOW_COUNTERS, FLOW_SLICES};

__device__ __forceinline__ unsigned flow_load(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}

// Waits until *p >= target, then acquires: polled with relaxed loads and short sleeps (132
// blocks poll the same few lines, which their producers' tickets and the signals also hit).
__device__ __forceinline__ void flow_wait(const unsigned* p, unsigned target) {
  while (*reinterpret_cast<const volatile unsigned*>(p) < target) __nanosleep(64);
  asm volatile("fence.acq_rel.gpu;" ::: "memory");
}

// Inputs of the next phase one group of p writes: 32 residual rows, or 16 SiLU units.
__device__ __forceinline__ int flow_out(const ChainPhase& p) {
  return p.kind == CHAIN_SILU ? 16 : 32;
}

// Groups of p that write slice s of the next phase's input.
__device__ __forceinline__ unsigned flow_expected(const ChainPhase& p, int s) {
  int per = CHAIN_SP * 64 / flow_out(p);
  return (unsigned)min(per, p.units / 16 - per * s);
}

// The epilogue threads' own barrier (consumer threads 0 .. 127).
__device__ __forceinline__ void flow_epi_sync() { asm volatile("bar.sync 2, 128;" ::: "memory"); }

// inv[t] = 1 / rms of token t's residual row after phase pi, from its groups' sums of squares
// added in group order (lane order, then the warp's shuffle tree): a warp per token, `warps`
// warps from warp 0.
__device__ __forceinline__ void flow_inv(const Chain& c, int pi, int tokens, int warps,
                                         float* inv) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, ng = c.ph[pi].units / 16;
  for (int t = warp; t < tokens; t += warps) {
    float s = 0.f;
    for (int g = lane; g < ng; g += 32)
      s += __ldcg(c.ssq + ((size_t)pi * c.ssq_groups + g) * 8 + t);
    s = warp_sum(s);
    if (lane == 0) inv[t] = inv_rms(s, c.hidden, c.eps);
  }
}

// Shared-memory flags between the block's warps (the data they guard: plain shared stores).
__device__ __forceinline__ void flag_release(int* p, int v) {
  asm volatile("st.release.cta.shared.b32 [%0], %1;" ::"r"(smem_u32(p)), "r"(v) : "memory");
}

// Waits until *p >= target and returns it, acquiring: polled with plain loads and short sleeps,
// so the waiting warps leave the issue slots to the stager and the signal warp.
__device__ __forceinline__ int flag_wait(const int* p, int target) {
  int v;
  while ((v = *reinterpret_cast<const volatile int*>(p)) < target) __nanosleep(20);
  asm volatile("fence.acq_rel.cta;" ::: "memory");
  return v;
}

// The stager warp: for each phase the consumers ask for (req: (sequence << 8) | phase, 0xff at
// the end), copies its input into xs (tokens, k) bf16 slice by slice as the slices complete,
// each run of complete slices at once, and publishes how many are in (xs_state: (sequence << 8)
// | slices). The input: the attention's output (phase 0, complete at the launch's start), the
// xw of the residual phase before (normed phases) or the SiLU output (down); read through L2
// (other blocks wrote them in this launch, and L1 may hold stale lines).
__device__ __forceinline__ void flow_stager(const Chain& c, int tokens, bf16* xs, const int* req,
                                            int* xs_state) {
  int lane = threadIdx.x & 31, served = 0;
  for (;;) {
    int r = flag_wait(req, (served + 1) << 8);
    served = r >> 8;
    int pi = r & 0xff;
    if (pi == 0xff) return;
    const ChainPhase& p = c.ph[pi];
    const bf16* src = p.kind == CHAIN_RESID ? p.a : c.xw[pi >> 1];
    int slices = ((p.k >> 6) + CHAIN_SP - 1) / CHAIN_SP;
    for (int s = 0; s < slices;) {
      int hi = slices;
      if (pi > 0) {
        const ChainPhase& prev = c.ph[pi - 1];
        const unsigned* rd = c.counters + FLOW_READY + (pi - 1) * FLOW_SLICES;
        if (lane == 0) {
          flow_wait(rd + s, flow_expected(prev, s));
          hi = s + 1;
          while (hi < slices && flow_load(rd + hi) >= flow_expected(prev, hi)) hi++;
        }
        hi = __shfl_sync(0xffffffffu, hi, 0);
        __syncwarp();  // lane 0's acquire before every lane's copies
      }
      int lo = s * CHAIN_SP * 64, per = (min(p.k, hi * CHAIN_SP * 64) - lo) >> 3;
      int m = tokens * per;
      for (int i = lane; i < m; i += 32) {  // all in flight at once, through L2
        int t = i / per, at = t * p.k + lo + 8 * (i - t * per);
        cp_async16(xs + at, src + at, 16);
      }
      cp_async_wait_all();
      __syncwarp();
      if (lane == 0) flag_release(xs_state, (served << 8) | hi);
      s = hi;
    }
  }
}

// A group's sums (warp partials in red) through its phase's epilogue, by consumer threads
// 0 .. 127 (thread (e, l): row g + 8 (e / 2) of both strips, token 2c + e % 2, as
// chain_epilogue). Residual phases add x0, x1 (this thread's rows of x, loaded when the group
// began) and, followed by a normed phase, also write xw and the group's sums of squares; normed
// phases scale by 1 / rms (inv, computed on their first group: inv_ok).
__device__ __forceinline__ void flow_epilogue(const Chain& c, int pi, int j, int tokens,
                                              const float* red, float x0, float x1, float w0,
                                              float w1, float* fpart, float* inv,
                                              bool& inv_ok) {
  const ChainPhase& p = c.ph[pi];
  int tid = threadIdx.x, e = tid >> 5, l = tid & 31;
  int t = 2 * (l & 3) + (e & 1);
  bool live = t < tokens;
  float a = 0.f, b = 0.f;
  for (int w = 0; w < CHAIN_CW; w++) {
    a += red[((w * 2) * 4 + e) * 32 + l];
    b += red[((w * 2 + 1) * 4 + e) * 32 + l];
  }
  int u = 16 * j + (l >> 2) + 8 * (e >> 1);
  if (p.kind == CHAIN_RESID) {
    bool normed_next = pi + 1 < c.phases;
    int r0 = 32 * j + (l >> 2) + 8 * (e >> 1), r1 = r0 + 16;
    float ss = 0.f;
    if (live) {
      float* xr = c.resid + (size_t)t * c.hidden;
      x0 += a;
      x1 += b;
      xr[r0] = x0;
      xr[r1] = x1;
      if (normed_next) {
        bf16* xw = c.xw[pi >> 1] + (size_t)t * c.hidden;
        xw[r0] = to_bf(w0 * x0);
        xw[r1] = to_bf(w1 * x1);
        ss = sum_sq(sum_sq(0.f, x0), x1);
      }
    }
    if (normed_next) {
      // the 16 threads of a token: lanes of one l & 3 in warps e and e + 2
      ss += __shfl_xor_sync(0xffffffffu, ss, 4);
      ss += __shfl_xor_sync(0xffffffffu, ss, 8);
      ss += __shfl_xor_sync(0xffffffffu, ss, 16);
      if (l < 4) fpart[e * 4 + l] = ss;
      flow_epi_sync();
      if (tid < tokens)
        c.ssq[((size_t)pi * c.ssq_groups + j) * 8 + tid] =
            fpart[(tid & 1) * 4 + (tid >> 1)] + fpart[((tid & 1) + 2) * 4 + (tid >> 1)];
    }
  } else {
    if (!inv_ok) {
      if (tid == 0) flow_wait(c.counters + FLOW_FIN + pi - 1, c.ph[pi - 1].units / 16);
      flow_epi_sync();
      flow_inv(c, pi - 1, tokens, 4, inv);
      flow_epi_sync();
      inv_ok = true;
    }
    if (live) {
      float s = inv[t];
      if (p.kind == CHAIN_ROWS) {
        StripRowsEpilogue<false>{p.y, p.rows}.store(u, t, a * s, b * s);
      } else if (p.kind == CHAIN_SILU) {
        SiluEpilogue{p.act, c.inter}.store(u, t, a * s, b * s);
      } else {
        W4QkvRopeEpilogue{{p.bias, p.q_out, p.k_cache, p.v_cache, c.num_heads, c.num_kv_heads,
                           c.head_dim, c.head_dim / 2, c.theta, 0.f, -1},
                          c.positions,
                          c.slots}
            .store(u, t, a * s, b * s);
      }
    }
  }
}

// The signal warp's handover barriers (3 for even groups, 4 for odd ones, so the epilogue can
// hand over a group while the signal warp still signals the one before): the epilogue threads
// arrive without waiting once a group's stores are issued, the signal warp waits for them.
__device__ __forceinline__ void flow_handover_arrive(int n) {
  asm volatile("bar.arrive %0, 160;" ::"r"(3 + (n & 1)) : "memory");
}
__device__ __forceinline__ void flow_handover_wait(int n) {
  asm volatile("bar.sync %0, 160;" ::"r"(3 + (n & 1)) : "memory");
}

// Diagnostics: compiled with -DFLOW_TIMING=N, launch N of w4_chain_flow prints thread 0's
// %globaltimer marks (ns) of each block: "FT block time code", code = (event << 24) | (phase
// << 16) | group or slice.
#ifdef FLOW_TIMING
__device__ unsigned flow_launches;
#define FLOW_EV 96
#define FLOW_TIMES __shared__ unsigned long long ft[FLOW_EV], sft[64]; \
  __shared__ unsigned fc[FLOW_EV], sfc[64]; \
  int fn = 0, sn = 0; unsigned flaunch = *(volatile unsigned*)&flow_launches;
#define FLOW_MARK(ev, a, b) \
  { if (threadIdx.x == 0 && fn < FLOW_EV) { ft[fn] = chain_now(); fc[fn++] = ((ev) << 24) | ((a) << 16) | (b); } }
#define FLOW_SMARK(ev, a, b) \
  { if (lane == 0 && sn < 64) { sft[sn] = chain_now(); sfc[sn++] = ((ev) << 24) | ((a) << 16) | (b); } }
#define FLOW_REPORT()                                                                          \
  { if (threadIdx.x == 0) {                                                                    \
      if (flaunch == FLOW_TIMING)                                                             \
        for (int i = 0; i < fn; i++) printf("FT %d %llu %u\n", blockIdx.x, ft[i], fc[i]);      \
      if (blockIdx.x == 0) atomicAdd(&flow_launches, 1u); } }
#else
#define FLOW_TIMES
#define FLOW_MARK(ev, a, b) {}
#define FLOW_SMARK(ev, a, b) {}
#define FLOW_REPORT() {}
#endif
#ifndef CHAIN_TIMING
__device__ __forceinline__ unsigned long long chain_now() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
#endif

#define FLOW_THREADS (32 * (CHAIN_CW + 3))
// The signal's release: every bulk copy of the SM in flight delays a fence (w4a16_chain.cu's
// CHAIN_EARLY_PAUSE), so the lightest one that orders the epilogue's stores.
#ifndef FLOW_FENCE_SC
#define FLOW_FENCE_SC 0
#endif
#define FLOW_FENCE() \
  { if (FLOW_FENCE_SC) __threadfence(); else asm volatile("fence.acq_rel.gpu;" ::: "memory"); }  // consumers, producer, signal warp, stager

// Launch: as w4_chain (grid = SMs at most, every block resident; Kernels.chainSmem) with
// FLOW_THREADS threads (Kernels.FLOW_THREADS); tokens 1 .. 8.
extern "C" __global__ void __launch_bounds__(FLOW_THREADS, 1)
    w4_chain_flow(const Chain* __restrict__ chain, int tokens) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ uint4 chain_smem[];
  __shared__ uint64_t full[CHAIN_NS], empty[CHAIN_NS];
  __shared__ int items[FLOW_QN];  // (phase << 16) | group, -1: no more
  __shared__ float fpart[16], inv[8];
  __shared__ int handed_item[4];  // groups handed to the signal warp, -1: no more
  __shared__ int signalled;       // groups the signal warp has signalled
  __shared__ int req, xs_state;   // consumers -> stager, stager -> consumers
  FLOW_TIMES
  const Chain& c = *chain;
  int gps = CHAIN_SP * 64 / c.group;  // scale groups a stage
  unsigned char* sm = reinterpret_cast<unsigned char*>(chain_smem);
  uint4* ring = chain_smem;
  uint2* szr = reinterpret_cast<uint2*>(sm + CHAIN_NS * CHAIN_STAGE_CODES);
  float* red = reinterpret_cast<float*>(sm + CHAIN_NS * CHAIN_STAGE_CODES +
                                        CHAIN_NS * 2 * 16 * gps * 4);
  bf16* xs = reinterpret_cast<bf16*>(red + CHAIN_RED * CHAIN_CW * 2 * 4 * 32);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (threadIdx.x == 0) {
    for (int s = 0; s < CHAIN_NS; s++) {
      mbar_init(full + s, 1);
      mbar_init(empty + s, CHAIN_CW);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    signalled = 0;
    req = 0;
    xs_state = 0;
  }
  __syncthreads();

  if (warp == CHAIN_CW) {
    // Producer: takes groups, earliest phase first, and streams each one's stages into the
    // ring as w4_chain's producer does.
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    int it = 0, q = 0, pi = 0;
    for (;; q++) {
      int j = -1;
      while (pi < c.phases) {
        unsigned tk = 0;
        if (lane == 0) tk = atomicAdd(c.counters + FLOW_TICKET + pi, 1u);
        tk = __shfl_sync(0xffffffffu, tk, 0);
        if ((int)tk < c.ph[pi].units / 16) {
          j = (int)tk;
          break;
        }
        pi++;
      }
      if (j < 0) {  // the consumers' last item: a stage signalled without bytes
        int slot = it % CHAIN_NS;
        if (it >= CHAIN_NS) mbar_wait(empty + slot, ((it / CHAIN_NS) - 1) & 1);
        if (lane == 0) {
          items[q % FLOW_QN] = -1;
          mbar_arrive(full + slot);
        }
        break;
      }
      if (lane == 0) items[q % FLOW_QN] = (pi << 16) | j;
      const ChainPhase& p = c.ph[pi];
      int pairs = p.k >> 6, groups = p.k / c.group, slices = (pairs + CHAIN_SP - 1) / CHAIN_SP;
      int strip[2] = {chain_strip(c, p, j, 0), chain_strip(c, p, j, 1)};
      for (int sl = 0; sl < slices; sl++, it++) {
        int slot = it % CHAIN_NS;
        if (it >= CHAIN_NS) mbar_wait(empty + slot, ((it / CHAIN_NS) - 1) & 1);
        int np = min(CHAIN_SP, pairs - sl * CHAIN_SP), gn = np * 64 / c.group;
        if (lane == 0) {
          mbar_expect_tx(full + slot, 2 * np * 512 + 2 * gn * 64);
          for (int s = 0; s < 2; s++) {
            bulk_load(ring + (slot * 2 + s) * CHAIN_SP * 32,
                      p.codes + ((size_t)strip[s] * pairs + sl * CHAIN_SP) * 32, np * 512,
                      full + slot, policy);
            bulk_load(szr + (slot * 2 + s) * gps * 8,
                      p.szs + ((size_t)strip[s] * groups + sl * gps) * 8, gn * 64, full + slot,
                      policy);
          }
        }
        __syncwarp();
      }
    }
    pdl_wait();
    pdl_launch_dependents();
    return;
  }
  pdl_wait();
  if (warp == CHAIN_CW + 2) {
    flow_stager(c, tokens, xs, &req, &xs_state);
    pdl_launch_dependents();
    return;
  }
  if (warp == CHAIN_CW + 1) {
    // Signal warp: each group's counters once its epilogue's stores are issued (the fence
    // waits for them here, not in the consumers); then, once the block is done, the launch's
    // count of finished blocks, the last of which zeroes the counters.
    for (int n = 0;; n++) {
      flow_handover_wait(n);
      int item = handed_item[n % 4];
      if (item < 0) break;
      int pi = item >> 16, j = item & 0xffff;
      FLOW_SMARK(8, pi, j)
      if (lane == 0) {
        FLOW_FENCE();
        atomicAdd(c.counters + FLOW_READY + pi * FLOW_SLICES +
                      j * flow_out(c.ph[pi]) / (CHAIN_SP * 64),
                  1u);
        atomicAdd(c.counters + FLOW_FIN + pi, 1u);
        *reinterpret_cast<volatile int*>(&signalled) = n + 1;
      }
      FLOW_SMARK(9, pi, j)
      __syncwarp();
    }
#ifdef FLOW_TIMING
    if (lane == 0 && flaunch == FLOW_TIMING)
      for (int i = 0; i < sn; i++) printf("FT %d %llu %u\n", blockIdx.x, sft[i], sfc[i]);
#endif
    if (lane == 0) {
      __threadfence();
      if (atomicAdd(c.counters + FLOW_DONE, 1u) == gridDim.x - 1) {
        for (int i = 0; i < FLOW_COUNTERS; i++) c.counters[i] = 0;
        __threadfence();
      }
    }
    pdl_launch_dependents();
    return;
  }

  // Consumers.
  FLOW_MARK(0, 0, 0)
  int g = lane >> 2, cc = lane & 3;
  int it = 0, red_buf = 0, cur = -1, seq = 0, staged = 0, handed = 0;
  bool inv_ok = false;
  for (int q = 0;; q++) {
    int slot = it % CHAIN_NS;
    mbar_wait(full + slot, (it / CHAIN_NS) & 1);
    int item = items[q % FLOW_QN];
    if (item < 0) break;
    int pi = item >> 16, j = item & 0xffff;
    FLOW_MARK(1, pi, j)
    const ChainPhase& p = c.ph[pi];
    if (pi != cur) {  // a new phase: its input into xs, once no consumer reads the old one
      chain_sync();
      seq++;
      if (threadIdx.x == 0) flag_release(&req, (seq << 8) | pi);
      cur = pi;
      staged = 0;
      inv_ok = false;
      // the attention after this launch may take its SMs' spare room from the last phase on
      if (pi == c.phases - 1) pdl_launch_dependents();
    }
    int pairs = p.k >> 6, slices = (pairs + CHAIN_SP - 1) / CHAIN_SP;
    // Lanes past the live tokens read the last one's activations (never stored).
    const bf16* xl = xs + (size_t)min(g, tokens - 1) * p.k + 8 * cc;
    float acc[2][1][4] = {};
    // a residual phase's rows of x and of the next norm's weight, for the epilogue
    float x0 = 0.f, x1 = 0.f, w0 = 0.f, w1 = 0.f;
    if (p.kind == CHAIN_RESID && threadIdx.x < 128 && pi + 1 < c.phases) {
      int r0 = 32 * j + (lane >> 2) + 8 * ((threadIdx.x >> 5) >> 1);
      w0 = to_f(c.ph[pi + 1].norm_w[r0]);
      w1 = to_f(c.ph[pi + 1].norm_w[r0 + 16]);
    }
    for (int sl = 0; sl < slices; sl++, it++) {
      slot = it % CHAIN_NS;
      if (sl > 0) mbar_wait(full + slot, (it / CHAIN_NS) & 1);
      if (sl >= staged) {
        FLOW_MARK(2, pi, sl)
        int st = 0;
        if (lane == 0) st = flag_wait(&xs_state, (seq << 8) | (sl + 1));
        staged = __shfl_sync(0xffffffffu, st, 0) & 0xff;
        __syncwarp();  // lane 0's acquire before every lane's reads of xs
        FLOW_MARK(3, pi, staged)
      }
      if (sl == 0 && p.kind == CHAIN_RESID && threadIdx.x < 128) {
        // x after the phase before it (which the slice just staged depends on); issued now,
        // used in the epilogue
        int e = threadIdx.x >> 5, t = 2 * (lane & 3) + (e & 1);
        int r0 = 32 * j + (lane >> 2) + 8 * (e >> 1);
        if (t < tokens) {
          x0 = __ldcg(c.resid + (size_t)t * c.hidden + r0);
          x1 = __ldcg(c.resid + (size_t)t * c.hidden + r0 + 16);
        }
      }
      const uint2* zr = szr + slot * 2 * gps * 8;
#pragma unroll
      for (int i = 0; i < CHAIN_SP / CHAIN_CW; i++) {
        int pl = warp + CHAIN_CW * i, pp = sl * CHAIN_SP + pl;
        if (pp < pairs) {
          uint4 w0 = ring[(slot * 2 + 0) * CHAIN_SP * 32 + pl * 32 + lane];
          uint4 w1 = ring[(slot * 2 + 1) * CHAIN_SP * 32 + pl * 32 + lane];
          int gl = pl * 64 / c.group;
          uint2 ea = zr[gl * 8 + g], eb = zr[(gps + gl) * 8 + g];
          uint4 v0 = *reinterpret_cast<const uint4*>(xl + 64 * pp);
          uint4 v1 = *reinterpret_cast<const uint4*>(xl + 64 * pp + 32);
          chain_pair(w0, v0, v1, ea, acc[0]);
          chain_pair(w1, v0, v1, eb, acc[1]);
        }
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(empty + slot);
    }
    // as w4_chain: double-buffered sums, one barrier a group
    float* rb = red + red_buf * CHAIN_CW * 2 * 4 * 32;
    red_buf = (red_buf + 1) % CHAIN_RED;
#pragma unroll
    for (int s = 0; s < 2; s++)
#pragma unroll
      for (int e = 0; e < 4; e++) rb[((warp * 2 + s) * 4 + e) * 32 + lane] = acc[s][0][e];
    chain_sync();
    FLOW_MARK(4, pi, j)
    if (threadIdx.x < 128) {
      flow_epilogue(c, pi, j, tokens, rb, x0, x1, w0, w1, fpart, inv, inv_ok);
      FLOW_MARK(7, pi, j)
      if (pi + 1 < c.phases) {  // hand the group's counters to the signal warp
        // barrier 3 + handed % 2 is free once the signal warp has signalled group handed - 2
        if (threadIdx.x == 0) {
          flag_wait(&signalled, handed - 1);
          handed_item[handed % 4] = item;
        }
        flow_epi_sync();
        flow_handover_arrive(handed);
        handed++;
      }
    }
    FLOW_MARK(5, pi, j)
    if (CHAIN_RED == 1) chain_sync();
  }
  chain_sync();
  if (threadIdx.x == 0) flag_release(&req, ((seq + 1) << 8) | 0xff);
  if (threadIdx.x < 128) {
    if (threadIdx.x == 0) {
      flag_wait(&signalled, handed - 1);
      handed_item[handed % 4] = -1;
    }
    flow_epi_sync();
    flow_handover_arrive(handed);
  }
  FLOW_MARK(6, 0, 0)
  FLOW_REPORT()
  pdl_launch_dependents();
#endif
}
