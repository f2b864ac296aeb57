// Sampling on the GPU: guided-decoding bitmask, then greedy or temperature / top-k / top-p.
// Only the sampled ids go back to the host. The uniform draw of each row comes from the host
// (counter-based on (seed, token index), as the CPU sampler draws it).
#include "common.cuh"

#define SAMPLE_THREADS 1024

__device__ __forceinline__ int ordered(float f) {
  int b = __float_as_int(f);
  return b >= 0 ? b : b ^ 0x7fffffff;
}

__device__ __forceinline__ bool allowed(const int* mask, int words, int row, int i) {
  return !mask || ((mask[(size_t)row * words + (i >> 5)] >> (i & 31)) & 1);
}

// Calls f(v, i) for each allowed id i of the row (v = lg[i]); a thread visits its ids in
// ascending order. Where rows are 16-byte aligned (vocab % 4 == 0, as for Qwen) the logits
// come as float4s, four loads in flight per thread: the passes over a 152k-id row are bound by
// load latency, not bandwidth (one at a time, a one-token argmax took 38 us on the H100).
template <class F>
__device__ __forceinline__ void for_allowed(const float* __restrict__ lg, const int* mask,
                                            int words, int row, int vocab, F&& f) {
  auto visit4 = [&](float4 v, int i) {
    unsigned bits = mask ? (unsigned)mask[(size_t)row * words + (i >> 5)] >> (i & 31) : 0xfu;
    if (bits & 1u) f(v.x, i);
    if (bits & 2u) f(v.y, i + 1);
    if (bits & 4u) f(v.z, i + 2);
    if (bits & 8u) f(v.w, i + 3);
  };
  if ((vocab & 3) == 0) {
    const float4* l4 = reinterpret_cast<const float4*>(lg);
    int n4 = vocab >> 2, j = threadIdx.x, step = blockDim.x;
    for (; j + 3 * step < n4; j += 4 * step) {
      float4 v[4];
#pragma unroll
      for (int u = 0; u < 4; u++) v[u] = l4[j + u * step];
#pragma unroll
      for (int u = 0; u < 4; u++) visit4(v[u], 4 * (j + u * step));
    }
    for (; j < n4; j += step) visit4(l4[j], 4 * j);
  } else {
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
      if (allowed(mask, words, row, i)) f(lg[i], i);
  }
}

// Count of allowed values with ordered(v) >= x, over the whole block.
__device__ float count_at_least(const float* lg, const int* mask, int words, int row, int vocab,
                                int x, float* scratch) {
  float c = 0.f;
  for_allowed(lg, mask, words, row, vocab, [&](float v, int) {
    if (ordered(v) >= x) c += 1.f;
  });
  return block_sum(c, scratch);
}

__device__ float mass_at_least(const float* lg, const int* mask, int words, int row, int vocab,
                               int x, float mx, float inv_t, float* scratch) {
  float s = 0.f;
  for_allowed(lg, mask, words, row, vocab, [&](float v, int) {
    if (ordered(v) >= x) s += __expf((v - mx) * inv_t);
  });
  return block_sum(s, scratch);
}

// Launch: grid (rows), block SAMPLE_THREADS.
// logits: (rows, vocab) fp32. mask: (rows, words) int32 bitmask or null. temperature[r] == 0
// or top_k[r] == 1 means greedy (lowest id on ties); top_k[r] == 0 and top_p[r] >= 1 disable
// those filters. out[r]: the sampled id.
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS)
sample_f32(const float* __restrict__ logits, int vocab, const int* __restrict__ mask, int words,
           const float* __restrict__ temperature, const int* __restrict__ top_k,
           const float* __restrict__ top_p, const float* __restrict__ uniforms,
           int* __restrict__ out) {
  __shared__ float scratch[32];
  __shared__ float best_v[SAMPLE_THREADS / 32];
  __shared__ int best_i[SAMPLE_THREADS / 32];
  __shared__ float partial[SAMPLE_THREADS];
  __shared__ int chosen;
  pdl_enter();
  int row = blockIdx.x;
  const float* lg = logits + (size_t)row * vocab;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  // Argmax over allowed ids, lowest id on ties.
  float bv = -INFINITY;
  int bi = 0x7fffffff;
  for_allowed(lg, mask, words, row, vocab, [&](float v, int i) {
    if (v > bv || (v == bv && i < bi)) { bv = v; bi = i; }
  });
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
  }
  if (lane == 0) { best_v[warp] = bv; best_i[warp] = bi; }
  __syncthreads();
  if (warp == 0) {
    bv = lane < SAMPLE_THREADS / 32 ? best_v[lane] : -INFINITY;
    bi = lane < SAMPLE_THREADS / 32 ? best_i[lane] : 0x7fffffff;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      int oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
    }
    if (lane == 0) { best_v[0] = bv; best_i[0] = bi == 0x7fffffff ? 0 : bi; }
  }
  __syncthreads();
  float mx = best_v[0];
  int argmax = best_i[0];
  float temp = temperature[row];
  int k = top_k[row];
  float p = top_p[row];
  if (temp <= 0.f || k == 1 || mx == -INFINITY) {
    if (threadIdx.x == 0) out[row] = argmax;
    return;
  }
  float inv_t = 1.f / temp;

  // Threshold of the top-k set: the largest x with count(v >= x) >= k (binary search on the
  // order-preserving integer image of the floats).
  int lo = ordered(-FLT_MAX), hi = ordered(mx);
  if (k > 0 && k < vocab) {
    while (lo < hi) {
      int mid = (int)(((long long)lo + hi + 1) >> 1);
      if (count_at_least(lg, mask, words, row, vocab, mid, scratch) >= (float)k) lo = mid;
      else hi = mid - 1;
    }
  } else {
    lo = ordered(-FLT_MAX);
  }
  int thr = lo;
  if (p < 1.f) {
    // The largest x >= thr whose set still holds top-p of the top-k mass.
    float total = mass_at_least(lg, mask, words, row, vocab, thr, mx, inv_t, scratch);
    int a = thr, b = ordered(mx);
    while (a < b) {
      int mid = (int)(((long long)a + b + 1) >> 1);
      if (mass_at_least(lg, mask, words, row, vocab, mid, mx, inv_t, scratch) >= p * total) a = mid;
      else b = mid - 1;
    }
    thr = a;
  }

  // Draw: prefix sums of candidate masses over contiguous chunks, in id order.
  int chunk = (vocab + blockDim.x - 1) / blockDim.x;
  int begin = threadIdx.x * chunk, end = min(vocab, begin + chunk);
  float local = 0.f;
  for (int i = begin; i < end; i++)
    if (allowed(mask, words, row, i) && ordered(lg[i]) >= thr) local += __expf((lg[i] - mx) * inv_t);
  partial[threadIdx.x] = local;
  if (threadIdx.x == 0) chosen = argmax;
  __syncthreads();
  if (threadIdx.x == 0) {
    float run = 0.f;
    for (int i = 0; i < blockDim.x; i++) { float v = partial[i]; partial[i] = run; run += v; }
    scratch[0] = run;
  }
  __syncthreads();
  float target = uniforms[row] * scratch[0];
  float before = partial[threadIdx.x];
  if (local > 0.f && target >= before && target < before + local) {
    float acc = before;
    for (int i = begin; i < end; i++) {
      if (allowed(mask, words, row, i) && ordered(lg[i]) >= thr) {
        acc += __expf((lg[i] - mx) * inv_t);
        if (target < acc) { chosen = i; break; }
      }
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) out[row] = chosen;
}
