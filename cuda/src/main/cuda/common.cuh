// Shared helpers of the Redress kernels: bf16 conversion, warp and block reductions.
// Conventions: activations bf16, accumulation fp32, residual stream fp32.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>
#include <float.h>

typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float to_f(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ bf16 to_bf(float v) { return __float2bfloat16_rn(v); }

// Where key `key` of a sequence sits in a paged cache: block sizes are powers of two
// (EngineConfig checks it), so a shift and a mask rather than a runtime integer division,
// which costs some 20 instructions; the decode attention's staging computed one per 16-byte
// chunk, and with one warp a scheduler those instructions were most of its time.
struct PagedBlocks {
  int shift, mask;
  // (Assigned in the body: nvcc 13's host pass rejects __ffs in a member initializer, which
  // the labs under tools/ compile.)
  __device__ __forceinline__ explicit PagedBlocks(int block_size) {
    shift = __ffs(block_size) - 1;
    mask = block_size - 1;
  }
  // The block-table entry that holds key.
  __device__ __forceinline__ int entry(int key) const { return key >> shift; }
  // The cache slot of key, given its block (the table's entry for it).
  __device__ __forceinline__ int slot(int block, int key) const {
    return (block << shift) | (key & mask);
  }
};

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block; every thread gets the result. `scratch` holds >= 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.f;
  return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

// One thread per block (after a block barrier) arrives at a grid barrier and waits for the
// others; every block of the grid must be resident. As cooperative groups' grid sync: block 0
// adds 0x80000000 - (blocks - 1), the others 1, so a barrier's arrivals sum to 0x80000000: the
// top bit flips when the last block arrives and the count is back where it started (the word,
// zero at first use, resets itself). The add releases the block's stores (ordered before it by
// the block barrier), the polling load acquires the others'. Against a two-word barrier (count,
// then a generation word the last block bumped after resetting the count, polled with
// nanosleep): 1.5-1.7 us from the last block's arrival to the others' release measured in a
// bf16 chain on an H200, two round trips fewer here.
// -DGRID_BARRIER_RELAXED (measurement builds, results not guaranteed): neither release nor
// acquire, what the ordering costs.
#ifdef GRID_BARRIER_RELAXED
#define GRID_ARRIVE "atom.add.relaxed.gpu.u32 %0, [%1], %2;"
#define GRID_POLL "ld.relaxed.gpu.u32 %0, [%1];"
#else
#define GRID_ARRIVE "atom.add.release.gpu.u32 %0, [%1], %2;"
#define GRID_POLL "ld.acquire.gpu.u32 %0, [%1];"
#endif
__device__ __forceinline__ void grid_arrive_wait(unsigned* bar) {
  unsigned inc = blockIdx.x == 0 ? 0x80000000u - (gridDim.x - 1) : 1u, old, now;
  asm volatile(GRID_ARRIVE : "=r"(old) : "l"(bar), "r"(inc) : "memory");
  do {
    asm volatile(GRID_POLL : "=r"(now) : "l"(bar) : "memory");
  } while (((old ^ now) & 0x80000000u) == 0);
}

// A weight chunk, streamed: read once, so kept out of L1 (it would evict the activations).
__device__ __forceinline__ uint4 ld_stream(const uint4* p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}

// d += a . b on the tensor cores: a 16 x 16 (row-major A fragment), b 16 x 8 (column-major B
// fragment), both bf16 (mma_bf16_16816) or both fp16 (mma_f16_16816: w4a16_chain.cu's codes as
// 1024 + q), d 16 x 8 fp32, one warp.
#define MMA_16816(NAME, TYPE)                                                                  \
  __device__ __forceinline__ void NAME(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,     \
                                       uint32_t b1) {                                          \
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." TYPE "." TYPE ".f32 {%0, %1, %2, %3}, " \
                 "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"                               \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                              \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));              \
  }
MMA_16816(mma_bf16_16816, "bf16")
MMA_16816(mma_f16_16816, "f16")

// 16 bytes global -> shared without passing through registers (cached in L2 only); src_bytes
// below 16 fills the rest with zeros (0: nothing is read).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
  unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src),
               "r"(src_bytes)
               : "memory");
}

// The same through L1 (allocating there), for data that other warps of the SM read again soon.
__device__ __forceinline__ void cp_async16_ca(void* dst, const void* src, int src_bytes) {
  unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src),
               "r"(src_bytes)
               : "memory");
}

__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most N of this thread's committed cp.async groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;\n" ::: "memory");
}

// Shared-memory mbarriers (Hopper): the bulk copies' completion, counted in bytes
// (w4a16_chain.cu's ring, the many-token kernels' activations in w4a16_fused.cu).
__device__ __forceinline__ unsigned smem_u32(const void* p) {
  return (unsigned)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void mbar_init(uint64_t* b, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smem_u32(b)), "r"(count));
}

__device__ __forceinline__ void mbar_expect_tx(uint64_t* b, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_u32(b)),
               "r"(bytes)
               : "memory");
}

__device__ __forceinline__ void mbar_arrive(uint64_t* b) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smem_u32(b)) : "memory");
}

// Waits for the completion of the barrier's phase of this parity.
__device__ __forceinline__ void mbar_wait(uint64_t* b, unsigned parity) {
  asm volatile(
      "{\n .reg .pred p;\n WAIT:\n"
      " mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra WAIT;\n}\n" ::"r"(smem_u32(b)),
      "r"(parity)
      : "memory");
}

// Programmatic dependent launch (Hopper and later; Kernels launches every kernel with it where
// GPU and driver allow): a kernel may start while the one before it in the stream still runs,
// filling that kernel's tail and hiding its own launch. Before pdl_wait() a kernel may only
// read its weights (nothing on the GPU writes them during a step) and the step's metadata
// that the host copied before the step's first kernel (positions, sequences, block tables:
// the copy completes before that kernel starts, and every later kernel of the step starts
// after it), in a step of one token a sequence the KV cache's rows of earlier steps (the
// decode attention's old keys, attention_mma.cu), and must not write global memory;
// pdl_wait() returns once the previous kernel has finished and its writes are visible. So
// every kernel calls it in every thread before touching anything else (build-kernels.sh
// fails the build when an entry point has none), which also makes a kernel's completion
// imply its predecessors'. pdl_launch_dependents() lets the next kernel's blocks take SMs as
// this one's free them (without it, when this one's blocks have all exited). Where a kernel
// triggers is PDL_TRIGGER: 2 at entry, 1 after the GEMVs' last weight loads (pdl_tail), 0
// never. On older GPUs, or launched plainly, all of these are no-ops.
#ifndef PDL_TRIGGER
#define PDL_TRIGGER 1
#endif
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// The entry of every kernel (after its weight prefetch, if any).
__device__ __forceinline__ void pdl_enter() {
  pdl_wait();
  if (PDL_TRIGGER == 2) pdl_launch_dependents();
}

// A GEMV's warp has issued its last weight load: the next kernel may start its prologue.
__device__ __forceinline__ void pdl_tail() {
  if (PDL_TRIGGER == 1) pdl_launch_dependents();
}

// %globaltimer: nanoseconds, common to all SMs (the all-reduce's timeouts, the timing builds).
__device__ __forceinline__ unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Diagnostics: compiled with -DKT_TIMING=N, the many-token step's kernels (KT_SCOPE ids: 0 QKV,
// 1 decode attention, 2 O, 3 gate/up, 4 down's split runs) keep, from launch N of id 0 on, each
// id's next KT_SPAN launches' earliest block start and latest block end (thread 0's,
// %globaltimer ns, common to all SMs), and launch KT_SPAN of that window of id 0 prints them as
// "KT id launch start end" lines (tools/kt_timeline.py lays them out): where a batch-16 step's
// time goes inside its CUDA graph, where kernels overlap under programmatic dependent launch
// (kernels timed alone do not show that). Off in every shipped build.
#ifdef KT_TIMING
#ifndef KT_SPAN
#define KT_SPAN 64
#endif
#define KT_IDS 5
__device__ unsigned kt_launch[KT_IDS], kt_done[KT_IDS], kt_base[KT_IDS], kt_open;
__device__ unsigned long long kt_t0[KT_IDS][KT_SPAN], kt_t1[KT_IDS][KT_SPAN];
struct KtScope {
  int id;
  unsigned i = ~0u;  // this launch's place in the window (thread 0)
  __device__ explicit KtScope(int id_) : id(id_) {
    if (threadIdx.x != 0) return;
    unsigned L = *reinterpret_cast<volatile unsigned*>(&kt_launch[id]);
    if (id == 0 && L == KT_TIMING) atomicExch(&kt_open, 1u);
    if (!*reinterpret_cast<volatile unsigned*>(&kt_open)) return;
    atomicCAS(&kt_base[id], 0u, L + 1);  // the window's first launch of this id, plus one
    i = L - (*reinterpret_cast<volatile unsigned*>(&kt_base[id]) - 1);
    if (i < KT_SPAN) atomicMax(&kt_t0[id][i], ~global_ns());  // ~t: the max is the earliest
    if (id == 0 && i == KT_SPAN && blockIdx.x == 0 && blockIdx.y == 0 && blockIdx.z == 0)
      for (int q = 0; q < KT_IDS; q++)
        for (int j = 0; j < KT_SPAN; j++)
          printf("KT %d %d %llu %llu\n", q, j, ~kt_t0[q][j], kt_t1[q][j]);
  }
  __device__ ~KtScope() {
    if (threadIdx.x != 0) return;
    if (i < KT_SPAN) atomicMax(&kt_t1[id][i], global_ns());
    unsigned blocks = gridDim.x * gridDim.y * gridDim.z;
    if (atomicAdd(&kt_done[id], 1u) == blocks - 1) {
      kt_done[id] = 0;
      atomicAdd(&kt_launch[id], 1u);
    }
  }
};
#define KT_SCOPE(ID) KtScope kt_scope_(ID);
#else
#define KT_SCOPE(ID)
#endif
