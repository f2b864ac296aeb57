// What the CUDA labs in tools/ share: error checks, random fills from a hash of the index (the
// same numbers on every run and GPU), and launches with programmatic dependent launch. Include it
// after kernels.cu (bf16).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <algorithm>
#include <cuda_runtime.h>

#define CK(x)                                                                            \
  do {                                                                                   \
    cudaError_t e = (x);                                                                 \
    if (e != cudaSuccess) {                                                              \
      printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, __LINE__);     \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

__device__ uint32_t hh(size_t i, uint32_t seed) {
  uint32_t h = (uint32_t)(i * 2654435761u) ^ seed;
  h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15; h *= 0x27d4eb2du; h ^= h >> 16;
  return h;
}
__global__ void fill_u32(uint32_t* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) p[i] = hh(i, seed);
}
// off + scale * a uniform number in [-1, 1)
__global__ void fill_bf(bf16* p, size_t n, uint32_t seed, float scale, float off) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = __float2bfloat16(off + scale * ((hh(i, seed) & 0xFFFF) / 32768.f - 1.f));
}
// uniform numbers in [-1, 1)
__global__ void fill_f(float* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = (hh(i, seed) & 0xFFFF) / 32768.f - 1.f;
}
// A launch as the engine's graphs make them: the next kernel may start as this one triggers
// (programmatic dependent launch).
static void launch_pdl(const void* fn, int grid, int threads, int smem, void** args, cudaStream_t st) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(grid); cfg.blockDim = dim3(threads); cfg.dynamicSmemBytes = smem; cfg.stream = st;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  at[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = at; cfg.numAttrs = 1;
  CK(cudaLaunchKernelExC(&cfg, fn, args));
}

// us a launch of fn(i), i cycling over `copies` sets of weights, after one round untimed.
template <class F>
static double time_launches(F&& fn, int copies, cudaStream_t st) {
  for (int i = 0; i < copies; i++) fn(i);
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  int n = std::max(20, 2 * copies);
  CK(cudaEventRecord(e0, st));
  for (int i = 0; i < n; i++) fn(i);
  CK(cudaEventRecord(e1, st));
  CK(cudaEventSynchronize(e1));
  float ms;
  CK(cudaEventElapsedTime(&ms, e0, e1));
  return ms * 1e3 / n;
}
