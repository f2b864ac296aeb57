// A lab for the GPTQ chain (cuda/src/main/cuda/w4a16_chain.cu) at 16 tokens: can one persistent
// launch a layer, which at one token streams a 14B layer's four projections in about 57 us,
// replace batch 16's separate many-token kernels (w4a16_fused.cu)? The chain stages a phase's
// activations for all of k in shared memory, which holds two tokens at 14B; 16 tokens of down's
// 13,824 inputs would take 442 KB. Here a phase's k is cut into slices (40 input pairs for
// k = 5,120, 36 for 13,824: 16 tokens of a slice in 83 KB), and its work is walked slice by
// slice (a block's run is a range of (slice, group, pair) in that order; it stages a slice's
// activations when its run enters it). Each (slice, group) item's part (the block's share of
// it, where a run's end cuts it: a head and a tail) goes, summed over the warps, to a slot in
// global memory; after a grid barrier every block adds its groups' parts in slice order, head
// before tail (the same order for any token count), and runs their epilogues; the norms come
// from the residual epilogues' sums of squares per 32-row group, added in group order.
//
// 48 Qwen2.5-14B-shaped layers (random codes, group 128, every zero point 8) at 16 tokens, with
// a stand-in attention (q copied to the attention output): the engine's many-token kernels
// (w4_qkv_rope_many_z8, w4_residual_many_z8 with its norm, w4_silu_many_z8; down whole-group,
// where the engine splits its runs, 21.1 against 25.9 us alone) against this chain; prints both
// times and the largest difference of the residual stream after one and after 48 layers.
//
// Measured (one H200, us a layer, the baseline 91.4 in every call; docs/benchmarks/README.md):
// this form 115.4 (its rows padded by 64 bytes instead of swizzled, an earlier call: 111.4);
// staging no activations (wrong sums) 94.2; neither staging nor sums nor epilogues 48.1 -- the
// ring-fed loop over 16 tokens is fast, and what the slices cost (each block normalising and
// staging its slice of 16 rows, a warp sum and a part a (slice, group) item, a combine and a
// second grid barrier a phase) takes it back and more. Whole rows at k = 5,120 (8 consumer
// warps, a ring of 2 x 24 pairs, down in 72-pair slices): 137.0, every block normalising all
// 16 x 5,120 residual values. Tried first: each group's epilogue run by the block holding its
// last slice's item, waiting for the other parts as tagged words (the chain's partners'
// scheme): 216-229 us, the waits coupling the blocks' progress item by item. Clustered
// (-DW16_CLUSTER=4 -DW16_NS=2 -DW16_WP5120=80 -DW16_WP13824=216: one slice, all of k, each block
// of a cluster staging every fourth pair, read by the others through distributed shared memory):
// 139.5, its loop and staging alone 70.1 but the sums of whole groups 68 us a layer.
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -o w4_chain16_lab \
//       tools/w4_chain16_lab.cu && ./w4_chain16_lab
#include "../cuda/src/main/cuda/kernels.cu"
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cmath>
#include <cuda_runtime.h>

#include "lab_util.cuh"
#include "lab_layers.cuh"

#ifndef W16_SP
#define W16_SP 36  // input pairs a ring stage holds
#endif
#ifndef W16_NS
#define W16_NS 3   // ring stages (2 x 48: 224 against 216 us in the owner form)
#endif
#define W16_CW CHAIN_CW  // consumer warps (chain_sync's barrier counts them)
#define W16_T 16         // most tokens
#define W16_GSH 1        // groups of 128 inputs: two pairs
#ifndef W16_WP5120
#define W16_WP5120 40   // slice pairs at k = 5,120
#endif
#ifndef W16_WP13824
#define W16_WP13824 36  // slice pairs at k = 13,824
#endif
#ifndef W16_HELD
#define W16_HELD 2  // loads a thread keeps in flight while staging activations
#endif
// Timing probes (wrong sums): bit 0 ends items with no sums, combine or epilogue, bit 1
// stages no activations. W16_CLUSTER=C (a probe, with bits 0 and 1): launched in clusters of C
// blocks, each pair's activations read from the shared memory of block pl % C of the cluster
// (distributed shared memory, mapa + ld.shared::cluster), (C - 1) / C of them remote: what the
// loop pays if a cluster held a phase's activations between its blocks instead of slicing k.
#ifndef W16_CLUSTER
#define W16_CLUSTER 0
#endif
#ifndef W16_PROBE
#define W16_PROBE 0
#endif
static_assert(W16_SP % W16_CW == 0, "a stage's pairs are shared out evenly among the warps");

// The launch's extras beside the engine's Chain: each phase's slice (input pairs, even), the
// parts' slots, and the sums of squares a RESID phase writes and a normed phase reads.
struct W16Chain {
  Chain c;
  int wp[CHAIN_PHASES];
  float* parts[CHAIN_PHASES];               // (groups, slices, 2 parts, 128 threads, 4)
  float* ss_out[CHAIN_PHASES];              // RESID: (tokens, groups) of its rows
  const float* ss_in[CHAIN_PHASES];         // normed: the RESID phase's before
};

// A phase's item space: ng groups x S slices of wp pairs (the last may be shorter), walked
// slice-major; a block's run is [u0, u1) of the phase's pairs in that order.
struct W16Space {
  int ng, pairs, wp, S;
  unsigned long long n;  // ng * pairs
  __device__ int len(int s) const { return min(wp, pairs - s * wp); }
  __device__ unsigned long long at(int s, int j) const {  // linear start of item (s, j)
    return (unsigned long long)ng * s * wp + (unsigned long long)j * len(s);
  }
  __device__ unsigned long long bound(int b, int nb) const { return (n * b / nb) & ~1ull; }
};

__device__ __forceinline__ W16Space w16_space(const W16Chain& w, int pi) {
  const ChainPhase& p = w.c.ph[pi];
  W16Space sp;
  sp.ng = p.units / 16;
  sp.pairs = p.k >> 6;
  sp.wp = w.wp[pi];
  sp.S = (sp.pairs + sp.wp - 1) / sp.wp;
  sp.n = (unsigned long long)sp.ng * sp.pairs;
  return sp;
}

// Whether a run boundary cuts item (s, j) (so it has a head and a tail part). 32-bit: every
// phase here has n * blocks < 2^32 (the 64-bit divisions, 24 of them an owner's epilogue at
// six slices, cost some 5 us an item).
__device__ __forceinline__ bool w16_cut(const W16Space& sp, int s, int j, int nb) {
  unsigned n = (unsigned)sp.n, a = (unsigned)sp.at(s, j), e = a + sp.len(s);
  auto bound = [&](unsigned b) { return (n * b / (unsigned)nb) & ~1u; };
  unsigned b = a * (unsigned)nb / n;
  while (b + 1 < (unsigned)nb && bound(b + 1) <= a) b++;
  while (b > 0 && bound(b) > a) b--;
  unsigned next = bound(b + 1);
  return next > a && next < e;
}

// A walk's stage: item (s, j), the block's pairs [pa, pe) of it (absolute pair indices), the
// stage's first pair ps; the run's linear end ue.
struct W16Stage {
  int pi, s, j, pa, pe, ps;
  unsigned long long ue, l0;  // the run's end; the item's linear start
};

__device__ __forceinline__ void w16_item(const W16Space& sp, W16Stage& st, unsigned long long u) {
  int i0 = st.s * sp.wp, len = sp.len(st.s);
  st.l0 = sp.at(st.s, st.j);
  st.pa = st.ps = i0 + (int)(u - st.l0);
  st.pe = i0 + (int)min((unsigned long long)len, st.ue - st.l0);
}

__device__ __forceinline__ bool w16_begin(const W16Chain& w, W16Stage& st, int pi) {
  W16Space sp = w16_space(w, pi);
  int nb = gridDim.x;
  unsigned long long u0 = sp.bound(blockIdx.x, nb), u1 = sp.bound(blockIdx.x + 1, nb);
  if (blockIdx.x + 1 == nb) u1 = sp.n;
  if (u0 >= u1) return false;
  st.pi = pi;
  st.ue = u1;
  unsigned long long per = (unsigned long long)sp.ng * sp.wp;
  st.s = (int)min((unsigned long long)(sp.S - 1), u0 / per);
  unsigned long long rem = u0 - per * st.s;
  st.j = (int)(rem / sp.len(st.s));
  w16_item(sp, st, u0);
  return true;
}

__device__ __forceinline__ bool w16_step(const W16Chain& w, W16Stage& st) {
  if ((st.ps += W16_SP) < st.pe) return true;
  W16Space sp = w16_space(w, st.pi);
  unsigned long long next = st.l0 + sp.len(st.s);
  if (next >= st.ue) return false;
  if (++st.j == sp.ng) {
    st.j = 0;
    st.s++;
  }
  w16_item(sp, st, next);
  return true;
}

__device__ __forceinline__ bool w16_enter(const W16Chain& w, W16Stage& st, int pi) {
  for (; pi < w.c.phases; pi++)
    if (w16_begin(w, st, pi)) return true;
  return false;
}

// The part slot of item (s, j): 128 threads' four sums (w16_chain_z8's combine).
__device__ __forceinline__ float4* w16_slot(const W16Chain& w, const W16Space& sp, int pi, int j,
                                            int s, int part) {
  return reinterpret_cast<float4*>(w.parts[pi]) + (((size_t)j * sp.S + s) * 2 + part) * 128;
}

// Activations of slice s into xs (tokens rows of stride xst): RESID's as they are, the normed
// phases' RMSNorm(resid) with inv.
// Pairs pair0, pair0 + pstride, ... (npairs of them) side by side (clustered: every C-th pair).
__device__ __forceinline__ void w16_stage_x(const W16Chain& w, const ChainPhase& p,
                                            int pair0, int npairs, int pstride, int tokens,
                                            bf16* xs, int xst, const float* inv) {
  // W16_HELD uint4s of a thread in flight at once: one at a time, each an L2 round trip,
  // staging took some 20 us a layer.
  constexpr int HELD = W16_HELD;
  int n = 32 * W16_CW, i0 = pair0 * 64, m8 = npairs * 8;  // uint4s (8 values) a row
  // the input offset of chunk c (8 values) of a staged row
  auto src = [&](int c) { return i0 + (c >> 3) * pstride * 64 + (c & 7) * 8; };
  int m = tokens * m8;
  for (int b = threadIdx.x; b < m; b += HELD * n) {
    if (p.kind == CHAIN_RESID) {
      uint4 v[HELD];
#pragma unroll
      for (int u = 0; u < HELD; u++) {
        int i = b + u * n, t = i / m8, c = i - t * m8;
        if (i < m) v[u] = __ldcg(reinterpret_cast<const uint4*>(p.a + (size_t)t * p.k + src(c)));
      }
#pragma unroll
      for (int u = 0; u < HELD; u++) {
        int i = b + u * n, t = i / m8, c = i - t * m8;
        if (i < m) *reinterpret_cast<uint4*>(xs + (size_t)t * xst + 8 * (c ^ ((t & 1) << 2))) = v[u];
      }
    } else {
      float4 va[HELD], vb[HELD];
      uint4 nw[HELD];
#pragma unroll
      for (int u = 0; u < HELD; u++) {
        int i = b + u * n, t = i / m8, c = i - t * m8;
        if (i < m) {
          const float4* xr = reinterpret_cast<const float4*>(w.c.resid + (size_t)t * p.k + src(c));
          va[u] = __ldcg(xr);
          vb[u] = __ldcg(xr + 1);
          nw[u] = __ldg(reinterpret_cast<const uint4*>(p.norm_w + src(c)));
        }
      }
#pragma unroll
      for (int u = 0; u < HELD; u++) {
        int i = b + u * n, t = i / m8, c = i - t * m8;
        if (i < m) {
          const bf16* wb = reinterpret_cast<const bf16*>(&nw[u]);
          float4 a = va[u], bb = vb[u];
          __nv_bfloat162 r[4] = {
              __halves2bfloat162(rms_scale(a.x, inv[t], wb[0]), rms_scale(a.y, inv[t], wb[1])),
              __halves2bfloat162(rms_scale(a.z, inv[t], wb[2]), rms_scale(a.w, inv[t], wb[3])),
              __halves2bfloat162(rms_scale(bb.x, inv[t], wb[4]), rms_scale(bb.y, inv[t], wb[5])),
              __halves2bfloat162(rms_scale(bb.z, inv[t], wb[6]), rms_scale(bb.w, inv[t], wb[7]))};
          *reinterpret_cast<uint4*>(xs + (size_t)t * xst + 8 * (c ^ ((t & 1) << 2))) =
              *reinterpret_cast<uint4*>(r);
        }
      }
    }
  }
}

// A 16-byte load from block rank's shared memory in the cluster, at p's offset in this block's.
__device__ __forceinline__ uint4 w16_ld_cluster(const void* p, unsigned rank) {
  unsigned a = smem_u32(p), r;
  uint4 v;
  asm("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(rank));
  asm("ld.shared::cluster.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "r"(r));
  return v;
}

__device__ __forceinline__ void w16_cluster_sync() {
  asm volatile("barrier.cluster.arrive.aligned;\n barrier.cluster.wait.aligned;" ::: "memory");
}

// Launch: grid = SMs (or whole clusters of W16_CLUSTER, every block resident), 32 * (W16_CW + 1)
// threads, dynamic shared memory as main() sizes it; tokens 1..16.
extern "C" __global__ void __launch_bounds__(32 * (W16_CW + 1), 1)
    w16_chain_z8(const W16Chain* __restrict__ wchain, int tokens) {
  using Entry = unsigned;
  constexpr int gsh = W16_GSH, gps = W16_SP >> W16_GSH;
  extern __shared__ uint4 chain_smem[];
  __shared__ uint64_t full[W16_NS], empty[W16_NS];
  __shared__ __align__(16) W16Chain ws;
  __shared__ float pos_s[W16_T], inv_s[W16_T], ssx[W16_CW / 4][2][8][2];
  __shared__ int slot_s[W16_T];
  static_assert(sizeof(W16Chain) % 8 == 0, "copied in 8-byte words");
  for (int i = threadIdx.x; i < (int)(sizeof(W16Chain) / 8); i += blockDim.x)
    reinterpret_cast<unsigned long long*>(&ws)[i] =
        __ldg(reinterpret_cast<const unsigned long long*>(wchain) + i);
  __syncthreads();
  const W16Chain& w = ws;
  const Chain& c = w.c;
  unsigned char* sm = reinterpret_cast<unsigned char*>(chain_smem);
  uint4* ring = chain_smem;
  Entry* szr = reinterpret_cast<Entry*>(sm + W16_NS * 2 * W16_SP * 512);
  float* red = reinterpret_cast<float*>(szr + W16_NS * 2 * 8 * gps);
  bf16* xs = reinterpret_cast<bf16*>(red + W16_CW * 2 * 8 * 32);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (threadIdx.x == 0) {
    for (int s = 0; s < W16_NS; s++) {
      mbar_init(full + s, 1);
      mbar_init(empty + s, W16_CW);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  __shared__ unsigned staged_tag;  // clustered: the last phase whose activations are staged, + 1
  unsigned crank = 0;
  if (W16_CLUSTER) asm("mov.u32 %0, %%cluster_ctarank;" : "=r"(crank));
  if (threadIdx.x == 0) staged_tag = 0;
  if (W16_CLUSTER) w16_cluster_sync();  // every block of the cluster has started

  if (warp == W16_CW) {  // producer: every phase's stages in order
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    W16Stage st;
    bool more = w16_enter(w, st, 0);
    for (int it = 0; more; it++, more = w16_step(w, st) || w16_enter(w, st, st.pi + 1)) {
      int slot = it % W16_NS;
      if (it >= W16_NS) mbar_wait(empty + slot, ((it / W16_NS) - 1) & 1);
      if (lane == 0) {
        const ChainPhase& p = c.ph[st.pi];
        int pairs = p.k >> 6, groups = pairs >> gsh;
        int np = min(W16_SP, st.pe - st.ps), gn = np >> gsh;
        mbar_expect_tx(full + slot, 2 * np * 512 + 2 * gn * 32);
        for (int h = 0; h < 2; h++) {
          int strip = chain_strip(c, p, st.j, h);
          bulk_load(ring + (slot * 2 + h) * W16_SP * 32,
                    p.codes + ((size_t)strip * pairs + st.ps) * 32, np * 512, full + slot, policy);
          bulk_load(szr + (slot * 2 + h) * 8 * gps,
                    static_cast<const Entry*>(p.szs) + ((size_t)strip * groups + (st.ps >> gsh)) * 8,
                    gn * 32, full + slot, policy);
        }
      }
      __syncwarp();
    }
    pdl_wait();
    pdl_launch_dependents();
    if (W16_CLUSTER) w16_cluster_sync();  // no block leaves while another reads its memory
    return;
  }

  // Consumers.
  if (threadIdx.x < tokens) {
    pos_s[threadIdx.x] = (float)c.positions[threadIdx.x];
    slot_s[threadIdx.x] = c.slots[threadIdx.x];
  }
  pdl_wait();
  int g = lane >> 2, cc = lane & 3, sw = (g & 1) * 32;  // sw: the swizzle (w16_stage_x)
  static_assert(W16_T <= 16 && (W16_T % 2) == 0, "tokens g and g + 8 share a parity");
  int it = 0;
  for (int pi = 0; pi < c.phases; pi++) {
    const ChainPhase& p = c.ph[pi];
    W16Space sp = w16_space(w, pi);
    // A token's row of the slice; odd tokens' 16-byte chunks swapped in fours (c ^ 4), so that
    // the eight lanes of a quarter-warp's load (two tokens, four chunks) hit eight bank groups.
    // Clustered: this block holds pairs rank, rank + C, ... of every slice (one slice: all of k),
    // the cluster's other blocks the rest.
    int ppr = W16_CLUSTER ? sp.wp / max(W16_CLUSTER, 1) : sp.wp;
    int xst = ppr * 64;
    if (pi > 0) chain_grid_sync(c.barrier);  // the previous phase's combine is everywhere
    if (p.kind != CHAIN_RESID) {  // the norm's inverse rms of each token, in group order
      int groups = p.k / 32;
      for (int t = warp; t < tokens; t += W16_CW) {
        float s = 0.f;
        for (int j = lane; j < groups; j += 32) s += __ldcg(w.ss_in[pi] + t * groups + j);
        s = warp_sum(s);
        if (lane == 0) inv_s[t] = inv_rms(s, p.k, c.eps);
      }
      chain_sync();
    }
    if (pi == c.phases - 1) pdl_launch_dependents();
    W16Stage st;
    bool more = w16_begin(w, st, pi);
    int staged = -1;
    float acc[2][2][4] = {};
    const Entry* zw = szr + (warp >> gsh) * 8 + g;
    for (; more; it++) {
      int slot = it % W16_NS;
      if (st.ps == st.pa && st.s != staged) {  // the run enters a slice: its activations
        chain_sync();
        if (!(W16_PROBE & 2))
          w16_stage_x(w, p, st.s * sp.wp + (int)crank, W16_CLUSTER ? ppr : sp.len(st.s),
                      W16_CLUSTER ? W16_CLUSTER : 1, tokens, xs, xst, inv_s);
        staged = st.s;
        chain_sync();
#if W16_CLUSTER
        if (!(W16_PROBE & 2) && threadIdx.x == 0) {  // staged here; then wait for the others'
          unsigned a = smem_u32(&staged_tag), want = (unsigned)pi + 1;
          asm volatile("st.release.cluster.shared::cta.u32 [%0], %1;" ::"r"(a), "r"(want) : "memory");
          for (unsigned r = 0; r < W16_CLUSTER; r++) {
            unsigned ra, v;
            asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(ra) : "r"(a), "r"(r));
            do asm volatile("ld.acquire.cluster.shared::cluster.u32 %0, [%1];" : "=r"(v) : "r"(ra) : "memory");
            while (v < want);
          }
        }
        chain_sync();
#endif
      }
      mbar_wait(full + slot, (it / W16_NS) & 1);
      const Entry* zr = zw + slot * 16 * gps;
      int np = min(W16_SP, st.pe - st.ps);
      const bf16* x0 = xs + (size_t)min(g, tokens - 1) * xst + 8 * cc + 64 * (st.ps - st.s * sp.wp);
      const bf16* x1 = xs + (size_t)min(g + 8, tokens - 1) * xst + 8 * cc + 64 * (st.ps - st.s * sp.wp);
      // clustered: the rows' starts, pairs counted from the holding block's first
      const bf16* xc0 = xs + (size_t)min(g, tokens - 1) * xst + 8 * cc;
      const bf16* xc1 = xs + (size_t)min(g + 8, tokens - 1) * xst + 8 * cc;
#pragma unroll
      for (int i = 0; i < W16_SP / W16_CW; i++) {
        int pl = warp + W16_CW * i;
        if (pl < np) {
          uint4 w0 = ring[(slot * 2 + 0) * W16_SP * 32 + pl * 32 + lane];
          uint4 w1 = ring[(slot * 2 + 1) * W16_SP * 32 + pl * 32 + lane];
          Entry ea = zr[(W16_CW * i >> gsh) * 8];
          Entry eb = zr[(gps + (W16_CW * i >> gsh)) * 8];
#if W16_CLUSTER
          // the block holding pair pp of the slice, and the pair's place in its rows
          // (every C-th pair in a block: consecutive pairs, which the warps take at once, read
          // C blocks' memory; contiguous quarters had every block of a cluster reading the same
          // one's, 167 us a layer)
          int pp = st.ps - st.s * sp.wp + pl;
          static_assert((W16_CLUSTER & (W16_CLUSTER - 1)) == 0, "clusters of a power of two");
          unsigned tr = (unsigned)((W16_PROBE & 2) ? pl : pp) % W16_CLUSTER;
          int lp = (W16_PROBE & 2) ? pl : pp / W16_CLUSTER;
          uint4 b[2][2] = {{w16_ld_cluster(xc0 + 64 * lp + sw, tr),
                            w16_ld_cluster(xc0 + 64 * lp + 32 - sw, tr)},
                           {w16_ld_cluster(xc1 + 64 * lp + sw, tr),
                            w16_ld_cluster(xc1 + 64 * lp + 32 - sw, tr)}};
#else
          uint4 b[2][2] = {{*reinterpret_cast<const uint4*>(x0 + 64 * pl + sw),
                            *reinterpret_cast<const uint4*>(x0 + 64 * pl + 32 - sw)},
                           {*reinterpret_cast<const uint4*>(x1 + 64 * pl + sw),
                            *reinterpret_cast<const uint4*>(x1 + 64 * pl + 32 - sw)}};
#endif
          auto bf = [&](int ch, int t) { return b[t][ch]; };
          w4_pair_szs<2>(w0, bf, ea, acc[0]);
          w4_pair_szs<2>(w1, bf, eb, acc[1]);
        }
      }
      __syncwarp();
      if (lane == 0) mbar_arrive(empty + slot);
      if (st.ps + W16_SP >= st.pe) {  // the item's part ends: its sums, to its slot
        if (!(W16_PROBE & 1)) {
#pragma unroll
          for (int h = 0; h < 2; h++)
#pragma unroll
            for (int t = 0; t < 2; t++)
#pragma unroll
              for (int e = 0; e < 4; e++) red[((warp * 2 + h) * 8 + 4 * t + e) * 32 + lane] = acc[h][t][e];
          chain_sync();
          if (threadIdx.x < 128) {
            int e = threadIdx.x >> 5;
            float4 v = {};
            for (int w8 = 0; w8 < W16_CW; w8++) {
              const float* r = red + (w8 * 2 * 8 + e) * 32 + lane;
              v.x += r[0];             // tile 0, strip 0
              v.y += r[8 * 32];        // tile 0, strip 1
              v.z += r[4 * 32];        // tile 1, strip 0
              v.w += r[(8 + 4) * 32];  // tile 1, strip 1
            }
            int part = st.pa > st.s * sp.wp ? 1 : 0;
            w16_slot(w, sp, pi, st.j, st.s, part)[threadIdx.x] = v;
          }
          chain_sync();  // red is free for the next part
        }
#pragma unroll
        for (int h = 0; h < 2; h++)
#pragma unroll
          for (int t = 0; t < 2; t++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[h][t][e] = 0.f;
      }
      more = w16_step(w, st);
    }
    // The combine: every part is stored; each block then adds its groups' parts in slice order
    // (head before tail) and runs their epilogues, three groups at a time.
    chain_grid_sync(c.barrier);
    if (W16_PROBE & 1) continue;
    constexpr int GP = W16_CW / 4;  // groups a pass, 128 threads each
    static_assert(W16_CW % 4 == 0, "whole groups of 128 threads");
    int gl = threadIdx.x >> 7, th = threadIdx.x & 127, e = th >> 5;
    for (int jb = GP * blockIdx.x; jb < sp.ng; jb += GP * gridDim.x) {
      int j = jb + gl;
      float tot[2][2] = {};
      float y[2][2] = {};
      if (j < sp.ng) {
        unsigned cuts = __ballot_sync(0xffffffffu, lane < sp.S && w16_cut(sp, lane, j, gridDim.x));
        for (int s2 = 0; s2 < sp.S; s2++)
          for (int pt = 0; pt < 1 + ((cuts >> s2) & 1); pt++) {
            float4 v = __ldcg(w16_slot(w, sp, pi, j, s2, pt) + th);
            tot[0][0] += v.x; tot[0][1] += v.y; tot[1][0] += v.z; tot[1][1] += v.w;
          }
        int k = (lane >> 2) + 8 * (e >> 1), u = 16 * j + k;
#pragma unroll
        for (int t = 0; t < 2; t++) {
          int tok = 2 * (lane & 3) + (e & 1) + 8 * t;
          if (tok >= tokens) continue;
          if (p.kind == CHAIN_RESID) {
            float* yr = c.resid + (size_t)tok * p.rows + 32 * j + k;
            y[t][0] = __ldcg(yr) + tot[t][0];
            y[t][1] = __ldcg(yr + 16) + tot[t][1];
            yr[0] = y[t][0];
            yr[16] = y[t][1];
          } else if (p.kind == CHAIN_SILU) {
            SiluEpilogue{p.act, c.inter}.store(u, tok, tot[t][0], tot[t][1]);
          } else {
            int half = c.head_dim / 2, c0 = (u / half) * c.head_dim + u % half;
            QkvRopeEpilogue{p.bias, p.q_out, p.k_cache, p.v_cache, c.num_heads, c.num_kv_heads,
                            c.head_dim, half, c.theta, pos_s[tok], slot_s[tok]}
                .store_biased(u, tok, tot[t][0] + to_f(p.bias[c0]), tot[t][1] + to_f(p.bias[c0 + half]));
          }
        }
      }
      if (p.kind == CHAIN_RESID) {  // each token's sum of squares of the group's 32 rows
#pragma unroll
        for (int t = 0; t < 2; t++) {
          float q = sum_sq(sum_sq(0.f, y[t][0]), y[t][1]);
          q += __shfl_xor_sync(0xffffffffu, q, 4);
          q += __shfl_xor_sync(0xffffffffu, q, 8);
          q += __shfl_xor_sync(0xffffffffu, q, 16);
          if ((lane >> 2) == 0) ssx[gl][t][2 * (lane & 3) + (e & 1)][e >> 1] = q;
        }
        chain_sync();
        if (th < tokens && j < sp.ng) {
          int t = th >> 3, tk = th & 7;
          w.ss_out[pi][th * (p.rows / 32) + j] = ssx[gl][t][tk][0] + ssx[gl][t][tk][1];
        }
        chain_sync();
      }
    }
  }
  pdl_launch_dependents();
  if (W16_CLUSTER) w16_cluster_sync();
}

// h = RMSNorm(x) * w, one block a token (layer 0's QKV input).
__global__ void rmsnorm_lab(const float* x, const bf16* w, bf16* h, int n, float eps) {
  __shared__ float part[32];
  const float* xr = x + (size_t)blockIdx.x * n;
  float s = 0.f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s = sum_sq(s, xr[i]);
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = s;
  __syncthreads();
  float tot = 0.f;
  for (int i = 0; i < (int)blockDim.x / 32; i++) tot += part[i];
  float inv = inv_rms(tot, n, eps);
  for (int i = threadIdx.x; i < n; i += blockDim.x) h[(size_t)blockIdx.x * n + i] = rms_scale(xr[i], inv, w[i]);
}

static int sms;


int main() {
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const int L = 48, H = LAB_H, NH = LAB_NH, NKV = LAB_NKV, HD = LAB_HD, I = LAB_I, G = LAB_G, GS = LAB_GS;
  const int QR = LAB_QR, T = W16_T;
  float eps = 1e-6f, theta = 1e6f;
  int tokens = T;
  int b1 = 1 << 30, b2 = 1 << 30;
  long long zero64 = 0;
  LabLayers m = lab_layers(L, L + 1, true);  // every zero point 8 (the _z8 kernels)
  auto &qkv = m.qkv, &o = m.o, &gu = m.gu, &dn = m.dn;
  auto &bias = m.bias, &n1 = m.n1, &n2 = m.n2, &kc = m.kc, &vc = m.vc;
  double bytes = m.bytes;
  float *x, *x0; CK(cudaMalloc(&x, T * H * 4)); CK(cudaMalloc(&x0, T * H * 4));
  fill_f<<<64, 256>>>(x0, (size_t)T * H, 5);
  bf16 *q, *attn, *act, *h, *h0;
  CK(cudaMalloc(&q, T * QR * 2)); CK(cudaMalloc(&attn, T * H * 2)); CK(cudaMalloc(&act, T * I * 2));
  CK(cudaMalloc(&h, T * H * 2)); CK(cudaMalloc(&h0, T * H * 2));
  rmsnorm_lab<<<T, 256>>>(x0, n1[0], h0, H, eps);
  int *pos, *slot; CK(cudaMalloc(&pos, 4 * T)); CK(cudaMalloc(&slot, 4 * T));
  std::vector<int> hp(T), hs(T);
  for (int t = 0; t < T; t++) { hp[t] = 7 + 3 * t; hs[t] = t; }
  CK(cudaMemcpy(pos, hp.data(), 4 * T, cudaMemcpyHostToDevice)); CK(cudaMemcpy(slot, hs.data(), 4 * T, cudaMemcpyHostToDevice));
  float* ss; CK(cudaMalloc(&ss, 4 * T * (I / 32) * 2));
  unsigned* bar; CK(cudaMalloc(&bar, 1 << 20)); CK(cudaMemset(bar, 0, 1 << 20));
  CK(cudaDeviceSynchronize());
  cudaStream_t st; CK(cudaStreamCreate(&st));
  int wsm = W4M_SMEM;
  for (const void* f : {(const void*)w4_qkv_rope_many_z8, (const void*)w4_silu_many_z8, (const void*)w4_residual_many_z8})
    CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, wsm));
  auto grid = [&](int units) { return std::min(units / 16, 2 * sms); };
  auto qkv_kernel = [&](int l, const bf16* hin) {
    void* args[] = {(void*)&hin, &zero64, &qkv[l].codes, &qkv[l].sz, (void*)&G, (void*)&GS, &b1, &b2, &qkv[l].szs,
                    &bias[l], &pos, &slot, &q, &kc[l], &vc[l], &tokens, (void*)&H, (void*)&NH, (void*)&NKV, (void*)&HD, &theta};
    launch_pdl((const void*)w4_qkv_rope_many_z8, grid((NH + 2 * NKV) * (HD / 2)), 256, wsm, args, st);
  };
  auto fake_attn = [&]() {
    int n = H, qs = QR;
    void* args[] = {&q, &attn, &n, &qs, &tokens};
    launch_pdl((const void*)lab_fake_attention, 64, 256, 0, args, st);
  };
  auto resid_kernel = [&](const bf16* a, LabQ& w, const bf16* nw, unsigned* b) {
    void* args[] = {(void*)&a, &w.codes, &w.sz, (void*)&G, (void*)&GS, &x, &tokens, &w.rows, &w.k, (void*)&nw, &eps,
                    &h, &ss, &b, &w.szs};
    launch_pdl((const void*)w4_residual_many_z8, grid(w.rows / 2), 256, wsm, args, st);
  };
  auto silu_kernel = [&](int l) {
    void* args[] = {&h, &zero64, &gu[l].codes, &gu[l].sz, (void*)&G, (void*)&GS, &b1, &b2, &gu[l].szs,
                    &act, &tokens, (void*)&H, (void*)&I};
    launch_pdl((const void*)w4_silu_many_z8, grid(I), 256, wsm, args, st);
  };
  auto baseline = [&]() {
    qkv_kernel(0, h0);
    for (int l = 0; l < L; l++) {
      fake_attn();
      resid_kernel(attn, o[l], n2[l], bar + 64);
      silu_kernel(l);
      resid_kernel(act, dn[l], n1[l + 1], bar + 96);
      if (l + 1 < L) qkv_kernel(l + 1, h);
    }
  };
  // the chain's launches: O, gate/up, down of layer l and the QKV of layer l + 1
  int wp5120 = W16_WP5120, wp13824 = W16_WP13824;
  size_t partWords = 0;
  auto slots = [&](int units, int k, int wp) { return (size_t)(units / 16) * ((k / 64 + wp - 1) / wp) * 2 * 128 * 4; };
  size_t perLayer = slots(H / 2, H, wp5120) + slots(I, H, wp5120) + slots(H / 2, I, wp13824) +
                    slots((NH + 2 * NKV) * (HD / 2), H, wp5120);
  float* parts; CK(cudaMalloc(&parts, perLayer * 4)); CK(cudaMemset(parts, 0, perLayer * 4));
  float *ssO, *ssD; CK(cudaMalloc(&ssO, 4 * T * H / 32)); CK(cudaMalloc(&ssD, 4 * T * H / 32));
  std::vector<W16Chain> hc(L);
  for (int l = 0; l < L; l++) {
    W16Chain& wc = hc[l];
    memset(&wc, 0, sizeof(wc));
    wc.c = lab_chain(m, l, x, attn, act, q, pos, slot, bar, eps, theta);
    Chain& c = wc.c;
    size_t off = 0;
    for (int pi = 0; pi < c.phases; pi++) {
      wc.wp[pi] = c.ph[pi].k == I ? wp13824 : wp5120;
      wc.parts[pi] = parts + off;
      off += slots(c.ph[pi].units, c.ph[pi].k, wc.wp[pi]);
    }
    wc.ss_out[0] = ssO; wc.ss_in[1] = ssO; wc.ss_out[2] = ssD; wc.ss_in[3] = ssD;
  }
  W16Chain* dc; CK(cudaMalloc(&dc, sizeof(W16Chain) * L));
  CK(cudaMemcpy(dc, hc.data(), sizeof(W16Chain) * L, cudaMemcpyHostToDevice));
  int cl = W16_CLUSTER ? W16_CLUSTER : 1;
  int xst = std::max(wp5120 / cl, wp13824 / cl) * 64;
  if (W16_CLUSTER && (!(W16_PROBE & 2)) && ((H / 64) % wp5120 || wp5120 % cl || wp13824 % cl)) {
    printf("clusters of %d: slices of %d and %d pairs do not share out evenly\n", cl, wp5120, wp13824);
    return 1;
  }
  int chainSmem = W16_NS * 2 * W16_SP * 512 + W16_NS * 2 * 8 * (W16_SP / 2) * 4 + W16_CW * 2 * 8 * 32 * 4 + T * xst * 2;
  CK(cudaFuncSetAttribute((const void*)w16_chain_z8, cudaFuncAttributeMaxDynamicSharedMemorySize, chainSmem));
  int occ; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void*)w16_chain_z8, 32 * (W16_CW + 1), chainSmem));
  printf("SMs %d, tokens %d; chain16 ring %d x %d pairs, smem %d, %d blocks/SM\n", sms, T, W16_NS, W16_SP, chainSmem, occ);
  if (occ < 1) return 1;
  // The chain's grid: every block resident (its grid barrier), in whole clusters where clustered.
  int cgrid = sms;
  auto launch_chain = [&](void** args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(cgrid); cfg.blockDim = dim3(32 * (W16_CW + 1)); cfg.dynamicSmemBytes = chainSmem;
    cfg.stream = st;
    cudaLaunchAttribute at[2];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    at[1].id = cudaLaunchAttributeClusterDimension;
    at[1].val.clusterDim.x = W16_CLUSTER ? W16_CLUSTER : 1;
    at[1].val.clusterDim.y = 1;
    at[1].val.clusterDim.z = 1;
    cfg.attrs = at; cfg.numAttrs = W16_CLUSTER ? 2 : 1;
    CK(cudaLaunchKernelExC(&cfg, (const void*)w16_chain_z8, args));
  };
  if (W16_CLUSTER) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(W16_CLUSTER * 64); cfg.blockDim = dim3(32 * (W16_CW + 1));
    cfg.dynamicSmemBytes = chainSmem;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeClusterDimension;
    at[0].val.clusterDim.x = W16_CLUSTER; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
    cfg.attrs = at; cfg.numAttrs = 1;
    int clusters = 0;
    CK(cudaOccupancyMaxActiveClusters(&clusters, (const void*)w16_chain_z8, &cfg));
    cgrid = clusters * W16_CLUSTER;
    printf("clusters of %d: %d resident, grid %d\n", W16_CLUSTER, clusters, cgrid);
  }
  auto chain = [&]() {
    qkv_kernel(0, h0);
    for (int l = 0; l < L; l++) {
      fake_attn();
      W16Chain* d = dc + l;
      void* args[] = {&d, &tokens};
      launch_chain(args);
    }
  };
  // correctness: one step each from the same x
  std::vector<float> xr((size_t)T * H), xc((size_t)T * H);
  CK(cudaMemcpy(x, x0, T * H * 4, cudaMemcpyDeviceToDevice));
  baseline();
  CK(cudaStreamSynchronize(st));
  CK(cudaGetLastError());
  CK(cudaMemcpy(xr.data(), x, T * H * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(x, x0, T * H * 4, cudaMemcpyDeviceToDevice));
  chain();
  CK(cudaStreamSynchronize(st));
  CK(cudaGetLastError());
  CK(cudaMemcpy(xc.data(), x, T * H * 4, cudaMemcpyDeviceToHost));
  double md = 0, mx = 0, md1 = 0;
  for (size_t i = 0; i < xr.size(); i++) {
    md = fmax(md, fabs(xr[i] - xc[i])); mx = fmax(mx, fabs(xr[i]));
  }
  // after one layer only, as a tighter check
  {
    int Ls = 1;
    std::vector<float> a1((size_t)T * H), a2((size_t)T * H);
    CK(cudaMemcpy(x, x0, T * H * 4, cudaMemcpyDeviceToDevice));
    qkv_kernel(0, h0); fake_attn(); resid_kernel(attn, o[0], n2[0], bar + 64); silu_kernel(0);
    resid_kernel(act, dn[0], n1[1], bar + 96);
    CK(cudaStreamSynchronize(st));
    CK(cudaMemcpy(a1.data(), x, T * H * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(x, x0, T * H * 4, cudaMemcpyDeviceToDevice));
    qkv_kernel(0, h0); fake_attn();
    W16Chain* d = dc;
    void* args[] = {&d, &tokens};
    launch_chain(args);
    CK(cudaStreamSynchronize(st));
    CK(cudaGetLastError());
    CK(cudaMemcpy(a2.data(), x, T * H * 4, cudaMemcpyDeviceToHost));
    double m1 = 0;
    for (size_t i = 0; i < a1.size(); i++) { md1 = fmax(md1, fabs(a1[i] - a2[i])); m1 = fmax(m1, fabs(a1[i])); }
    printf("after %d layer: resid max diff %.3e of max %.3e\n", Ls, md1, m1);
  }
  printf("after %d layers: resid max diff %.3e of max %.3e (x[0..1] %f %f / %f %f; token 15: %f / %f)\n", L, md, mx,
         xr[0], xr[1], xc[0], xc[1], xr[15 * H + 3], xc[15 * H + 3]);
  for (int rep = 0; rep < 2; rep++) {
    for (int v = 0; v < 2; v++) {
      cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
      CK(cudaMemcpy(x, x0, T * H * 4, cudaMemcpyDeviceToDevice));
      if (v) chain(); else baseline();
      cudaEventRecord(e0, st);
      for (int i = 0; i < 10; i++) { CK(cudaMemcpyAsync(x, x0, T * H * 4, cudaMemcpyDeviceToDevice, st)); if (v) chain(); else baseline(); }
      cudaEventRecord(e1, st); CK(cudaEventSynchronize(e1));
      float ms; cudaEventElapsedTime(&ms, e0, e1);
      double us = ms * 1e3 / 10;
      printf("%-9s %8.1f us per 48 layers, %.1f a layer (%.0f GB/s over %.2f GB)\n", v ? "chain16" : "baseline", us, us / L,
             bytes / (us * 1e-6) / 1e9, bytes / 1e9);
    }
  }
  return 0;
}
