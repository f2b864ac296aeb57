// Random weights made on the GPU (benchmarks at real model shapes need no weight files).
#include "common.cuh"
#include <cuda_fp16.h>

__device__ __forceinline__ unsigned long long splitmix64(unsigned long long z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Launch: any grid, block 256 (grid-stride).  out[i] = bf16(mean + std * N(0,1)), counter-based
// on (seed, i), so the result does not depend on the launch shape.
extern "C" __global__ void fill_normal_bf16(bf16* __restrict__ out, long long n,
                                            unsigned long long seed, float mean, float std) {
  pdl_enter();
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    unsigned long long h = splitmix64(seed ^ (0xD1B54A32D192ED03ull * (unsigned long long)(i + 1)));
    float u1 = ((h >> 40) + 1) * (1.0f / 16777217.0f);  // (0, 1]
    float u2 = ((h >> 16) & 0xFFFFFF) * (1.0f / 16777216.0f);
    float z = sqrtf(-2.f * logf(u1)) * cospif(2.f * u2);
    out[i] = to_bf(mean + std * z);
  }
}

// Launch: any grid, block 256 (grid-stride). out[i] = 32 random bits, counter-based on
// (seed, i): random GPTQ int4 codes (any packing order of random nibbles is random).
extern "C" __global__ void fill_random_u32(uint32_t* __restrict__ out, long long n,
                                           unsigned long long seed) {
  pdl_enter();
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    out[i] = (uint32_t)(splitmix64(seed ^ (0xD1B54A32D192ED03ull * (unsigned long long)(i + 1))) >> 16);
  }
}

// Launch: any grid, block 256 (grid-stride). out[i] = half2 {scale, zero} of a random GPTQ
// group: scale uniform in [0.75, 1.25) x `scale`, zero 8 (the middle of the 4-bit range).
extern "C" __global__ void fill_scale_zero_w4(__half2* __restrict__ out, long long n,
                                              unsigned long long seed, float scale) {
  pdl_enter();
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x) {
    unsigned long long h = splitmix64(seed ^ (0xD1B54A32D192ED03ull * (unsigned long long)(i + 1)));
    float u = ((h >> 40) & 0xFFFFFF) * (1.0f / 16777216.0f);
    out[i] = __floats2half2_rn(scale * (0.75f + 0.5f * u), 8.f);
  }
}
