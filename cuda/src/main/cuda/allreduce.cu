// Tensor parallelism: the ranks' partial projections summed into the residual stream and
// normed, in one launch (PeerAllReduce.java). The ranks are GPUs of one process with peer
// access enabled, so each reads the others' partials straight from their memory over NVLink
// ("one-shot"): an all-reduce of a decode step is one flag exchange and one remote read, with
// no copies and no NCCL call, and it can be captured into a CUDA graph like any kernel.
//
// Synchronisation. Before reading, block b of every rank meets block b of every other rank:
// thread p (a peer) bumps its own counter, stores the new value into the peer's signal slot
// [b][rank] (release, system scope), and spins until its own slot [b][p] holds at least that
// value (acquire). The partials were written by the kernels before this one in stream order,
// so once a peer has arrived its partial is complete. Each layer alternates two partial
// buffers (attention output, MLP output), so a rank's GEMM never overwrites a buffer a peer
// may still be reading: to write buffer A again it must have passed the next barrier (on B),
// which its peers reach only after finishing their read of A. A runner finishes every rank's
// step before the next starts, so no read crosses a step.
//
// The sum runs in rank order from rank 0 on every rank, so all ranks hold bit-identical
// residual streams. A peer that never arrives (a crashed rank) ends the wait after
// TP_TIMEOUT_NS with a trap, an error on the host, instead of a hang.
#include "common.cuh"

#define TP_MAX_RANKS 8      // PeerAllReduce.MAX_RANKS
#define TP_MAX_BLOCKS 1024  // PeerAllReduce.MAX_BLOCKS: grid <= this and <= SMs (co-resident)
#define TP_TIMEOUT_NS 30000000000ull

struct TpPointers {
  float* p[TP_MAX_RANKS];  // each rank's partial buffer (this rank's own among them)
};
struct TpSignals {
  unsigned* p[TP_MAX_RANKS];  // each rank's signal slots, (TP_MAX_BLOCKS, TP_MAX_RANKS)
};

__device__ __forceinline__ void st_release_sys(unsigned* p, unsigned v) {
  asm volatile("st.release.sys.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ unsigned ld_acquire_sys(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Block b of this rank meets block b of every peer. counters: this rank's, (TP_MAX_BLOCKS,
// TP_MAX_RANKS), one per block and peer so no thread shares one.
__device__ __forceinline__ void tp_barrier(const TpSignals& sig, unsigned* counters, int rank,
                                           int ranks) {
  int p = threadIdx.x;
  if (p < ranks && p != rank) {
    unsigned* ctr = counters + blockIdx.x * TP_MAX_RANKS + p;
    unsigned flag = *ctr + 1;
    *ctr = flag;
    st_release_sys(sig.p[p] + blockIdx.x * TP_MAX_RANKS + rank, flag);
    const unsigned* mine = sig.p[rank] + blockIdx.x * TP_MAX_RANKS + p;
    unsigned long long start = 0;
    // Wrap-safe: a peer's flag is never more than one barrier ahead.
    while ((int)(ld_acquire_sys(mine) - flag) < 0) {
      unsigned long long now = global_ns();
      if (start == 0) start = now;
      else if (now - start > TP_TIMEOUT_NS) __trap();
    }
  }
  __syncthreads();
}

// Launch: grid min(rows, SMs, TP_MAX_BLOCKS) (every block resident: blocks wait on their
// peers), block 1024 threads. x: (tokens, hidden) fp32 residual stream on this rank. For each
// output row r (source row src = rows ? rows[r] : r): x[src] += parts[0][src] + parts[1][src]
// + ... (rank order), or x[src] = that sum without accumulate (a plain all-reduce); then, when
// w != null, out[r] = bf16(w * x[src] * inv_rms) as add_rmsnorm_bf16 computes it. Requires
// hidden % 4 == 0.

#define TP_U 4  // float4 loads per thread and rank issued together (remote latency)
extern "C" __global__ void __launch_bounds__(1024)
allreduce_add_rmsnorm_bf16(float* __restrict__ x, TpPointers parts, TpSignals sig,
                           unsigned* __restrict__ counters, int rank, int ranks, int accumulate,
                           const int* __restrict__ rows, const bf16* __restrict__ w,
                           bf16* __restrict__ out, int hidden, float eps, int num_rows) {
  __shared__ float scratch[32];
  tp_barrier(sig, counters, rank, ranks);
  int n4 = hidden >> 2;
  for (int r = blockIdx.x; r < num_rows; r += gridDim.x) {
    int src = rows ? rows[r] : r;
    size_t row4 = (size_t)src * n4;
    float4* xr = reinterpret_cast<float4*>(x) + row4;
    float ss = 0.f;
    for (int base = threadIdx.x; base < n4; base += TP_U * blockDim.x) {
      float4 s[TP_U];
#pragma unroll
      for (int u = 0; u < TP_U; u++) s[u] = make_float4(0.f, 0.f, 0.f, 0.f);
      for (int k = 0; k < ranks; k++) {
        // Bypass L1: another GPU wrote these.
        const float4* pk = reinterpret_cast<const float4*>(parts.p[k]) + row4;
        float4 v[TP_U];
#pragma unroll
        for (int u = 0; u < TP_U; u++) {
          int i = base + u * blockDim.x;
          v[u] = i < n4 ? __ldcg(pk + i) : make_float4(0.f, 0.f, 0.f, 0.f);
        }
#pragma unroll
        for (int u = 0; u < TP_U; u++) {
          s[u].x += v[u].x;
          s[u].y += v[u].y;
          s[u].z += v[u].z;
          s[u].w += v[u].w;
        }
      }
#pragma unroll
      for (int u = 0; u < TP_U; u++) {
        int i = base + u * blockDim.x;
        if (i < n4) {
          float4 a = accumulate ? xr[i] : make_float4(0.f, 0.f, 0.f, 0.f);
          a.x += s[u].x;
          a.y += s[u].y;
          a.z += s[u].z;
          a.w += s[u].w;
          xr[i] = a;
          ss = sum_sq(sum_sq(sum_sq(sum_sq(ss, a.x), a.y), a.z), a.w);
        }
      }
    }
    if (w == nullptr) continue;
    float inv = inv_rms(block_sum(ss, scratch), hidden, eps);
    const float* xs = x + (size_t)src * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x)
      out[(size_t)r * hidden + i] = rms_scale(xs[i], inv, w[i]);
  }
}
