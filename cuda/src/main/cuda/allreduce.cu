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
  pdl_enter();
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

// ---- One-token steps: partials pushed by their producer, summed in the next GEMV's prologue.
// A decode step's all-reduce as a separate kernel cost about 7 us on two H200s (a kernel
// boundary, a flag round trip, a remote read), 96 times per 14B token. Here the projection that
// makes a partial (gemv_push_bf16) stores it straight into a slot in every rank's memory, and
// the kernel that needs the sum (a normed fused GEMV, *_tp_bf16) signals its peers at its start
// (its own producer has finished: stream order), waits for theirs while its weights stream into
// L2, and adds the local slots into the residual row it norms. Block 0 writes x + sum to a
// second residual buffer (the other blocks still read the first). Flags hold
// epoch * 1024 + k + 1 for all-reduce k of the step whose epoch the host writes into the step's
// metadata, so they only grow. Slots alternate by the parity of k: a rank overwrites parity p
// only after passing all-reduce k + 1's wait, which every peer signals after finishing its read
// of k.

// Where a producer's partial goes: slot [parity][this rank] in each rank's memory.
struct TpPush {
  float* dst[TP_MAX_RANKS];
  int ranks;
};

// What a consumer sums and how it synchronises (ranks == 0: not tensor parallel).
struct TpSum {
  const float* src[TP_MAX_RANKS];  // this rank's slots [parity][q], q = 0..ranks-1
  float* x_out;                      // x + sum, written by block 0 (may be null)
  unsigned long long* peer_flag[TP_MAX_RANKS];  // rank q's flag slot for this rank
  const unsigned long long* my_flag;            // this rank's flag slots, one per peer
  const long long* epoch;                       // the step's epoch (metadata)
  int k, rank, ranks;
};

__device__ __forceinline__ void st_release_sys64(unsigned long long* p, unsigned long long v) {
  asm volatile("st.release.sys.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}
__device__ __forceinline__ unsigned long long ld_acquire_sys64(const unsigned long long* p) {
  unsigned long long v;
  asm volatile("ld.acquire.sys.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
  return v;
}

__device__ __forceinline__ unsigned long long tp_flag(const TpSum& tp) {
  return (unsigned long long)(*tp.epoch) * 1024ull + tp.k + 1;
}

// Block 0 tells every peer that this rank's partial of all-reduce k is in place.
__device__ __forceinline__ void tp_signal_peers(const TpSum& tp) {
  int q = threadIdx.x;
  if (blockIdx.x == 0 && q < tp.ranks && q != tp.rank)
    st_release_sys64(tp.peer_flag[q], tp_flag(tp));
}

// Every block waits until each peer's partial of all-reduce k is in place.
__device__ __forceinline__ void tp_wait_peers(const TpSum& tp) {
  int q = threadIdx.x;
  if (q < tp.ranks && q != tp.rank) {
    unsigned long long flag = tp_flag(tp);
    unsigned long long start = 0;
    while (ld_acquire_sys64(tp.my_flag + q) < flag) {
      unsigned long long now = global_ns();
      if (start == 0) start = now;
      else if (now - start > TP_TIMEOUT_NS) __trap();
    }
  }
  __syncthreads();
}

// x[i] + (slot 0 + slot 1 + ...) of row t, float4 i: the sum in rank order, as
// allreduce_add_rmsnorm_bf16 adds it.
__device__ __forceinline__ float4 tp_row_sum4(const TpSum& tp, float4 x, int t, int hidden,
                                              int i) {
  float4 s = make_float4(0.f, 0.f, 0.f, 0.f);
  for (int q = 0; q < tp.ranks; q++) {
    float4 v = __ldcg(reinterpret_cast<const float4*>(tp.src[q] + (size_t)t * hidden) + i);
    s.x += v.x;
    s.y += v.y;
    s.z += v.z;
    s.w += v.w;
  }
  return make_float4(x.x + s.x, x.y + s.y, x.z + s.z, x.w + s.w);
}

// Launch: 1 block of 32 threads. A rank with no kernel after its last partial (it does not
// sample) signals that partial's peers with this.
extern "C" __global__ void tp_signal(TpSum tp) {
  pdl_enter();
  tp_signal_peers(tp);
}

// Launch: grid (min(ceil(ranks * part_cols / 4 / 256), 64), rows), block 256. The LM head split
// over the ranks by vocabulary: logits (rows, ranks * part_cols) = each rank's part (rows,
// part_cols) side by side, tp.src[q] rank q's part (read over NVLink), once every peer has
// signalled all-reduce tp.k (its part is written). part_cols % 4 == 0.
extern "C" __global__ void tp_gather_logits(float* __restrict__ logits, TpSum tp, int part_cols) {
  pdl_enter();
  tp_wait_peers(tp);
  int n4 = part_cols >> 2, total = tp.ranks * n4, r = blockIdx.y;
  float4* out = reinterpret_cast<float4*>(logits + (size_t)r * part_cols * tp.ranks);
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += gridDim.x * blockDim.x) {
    int q = i / n4;
    out[i] = __ldcg(reinterpret_cast<const float4*>(tp.src[q] + (size_t)r * part_cols) + i - q * n4);
  }
}
