// A lab for one-token bf16 decode with every layer in one persistent launch (Qwen2.5-0.5B
// shapes, random weights): does a launch that streams the weights continuously and meets at
// grid barriers beat the engine's separate fused kernels, whose 24 layers take about 34 us
// each at batch 1 against 10 us for their 30 MB at copy bandwidth?
//
// One block an SM. Warp CW is a producer: it walks the block's share of every layer's weights
// (QKV rows, O rows, gate/up row pairs, down rows) in the consumers' order and bulk-copies them
// into a ring of NS stages of 32 KB, never waiting for the math, only for a free stage, so
// while the consumers wait at a barrier or run the attention the ring fills with what comes
// next. Warps 0..CW-1 consume, phase by phase, a grid barrier after each (a phase reads what
// the one before wrote everywhere):
//   QKV   RMSNorm(h) (each block for itself) . Wqkv^T + bias -> qkv (fp32, before RoPE)
//   ATT   a warp per (query head, 32 keys): RoPE on q and the new k, scores, softmax, P.V
//         into partials; the head's last split to arrive merges them into attn (bf16); the
//         first query head of a KV group writes the new k and v into the cache
//   O     h += attn . Wo^T (each block owns its rows)
//   GU    RMSNorm(h) . Wgu^T -> act = silu(gate) * up (bf16)
//   DOWN  h += act . Wd^T
// Prints the time of a step (24 layers) and the largest difference of h from a CPU reference
// of the same arithmetic after one step.
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -o bf16_layers_lab tools/bf16_layers_lab.cu
//   ./bf16_layers_lab [context=256] [steps=200]
#include "../cuda/src/main/cuda/kernels.cu"
#include <cooperative_groups.h>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <algorithm>
#include <vector>
#include <cuda_runtime.h>

#define CK(x)                                                                            \
  do {                                                                                   \
    cudaError_t err_ = (x);                                                                 \
    if (err_ != cudaSuccess) {                                                            \
      printf("CUDA error %s at %s:%d\n", cudaGetErrorString(err_), __FILE__, __LINE__);     \
      exit(1);                                                                           \
    }                                                                                    \
  } while (0)

constexpr int H = 896, NH = 14, NKV = 2, HD = 64, INTER = 4864, L = 24;
constexpr int QKVR = (NH + 2 * NKV) * HD;  // 1,152 rows
constexpr int GROUPQ = NH / NKV;
constexpr int MAXCTX = 2048;
constexpr int KEYS = 32;                   // keys a warp of the attention
constexpr int MAXSPLIT = MAXCTX / KEYS;
constexpr int PSTRIDE = HD + 4;  // floats of a split's partial: o, then m and l (16-byte rows)
#ifndef CW
#define CW 8
#endif
#ifndef NS
#define NS 5
#endif
constexpr int STAGE = 32768;
constexpr int THREADS = 32 * (CW + 1);

struct LayerW {
  const bf16 *wqkv, *bqkv, *wo, *wgu, *wd, *n1, *n2;
  bf16 *kc, *vc;  // (MAXCTX, NKV, HD)
};
struct Mk {
  LayerW lw[L];
  float* h;         // (H) residual stream
  float* qkv;       // (QKVR) after bias, before RoPE
  float* part;      // (NH, MAXSPLIT, PSTRIDE) attention partials: o, m, l
  int* head_cnt;    // (NH) splits arrived, reset by the merger
  bf16* attn;       // (H)
  bf16* act;        // (INTER)
  unsigned* bar;
  unsigned long long* tl;  // (blocks, L, 5 phases, 3 marks) %globaltimer, or null
  int pos;
  float eps, theta;
};

enum { P_QKV, P_O, P_GU, P_DOWN };  // the weight phases, in a layer's order

struct Smem {
  alignas(128) unsigned char ring[NS][STAGE];
  alignas(16) bf16 xs[INTER];
  alignas(16) bf16 vt[CW][KEYS][HD];  // a warp's V rows of its attention unit
  float qs[CW][HD];
  float red[CW];
  float dred[2][CW][4];  // the down stages' per-warp sums (by stage parity)
  uint64_t full[NS], empty[NS];
  int last[CW];
};

__device__ __forceinline__ void cons_sync() {
  asm volatile("bar.sync 1, %0;" ::"n"(32 * CW) : "memory");
}

__device__ __forceinline__ void grid_sync(unsigned* bar) {
  cons_sync();
  if (threadIdx.x == 0) grid_arrive_wait(bar);
  cons_sync();
}

// Rows (or gate/up row pairs) of a phase, their bytes, and the rows a stage holds.
__device__ __forceinline__ int ph_rows(int p) {
  return p == P_QKV ? QKVR : p == P_GU ? INTER : H;
}
__device__ __forceinline__ int ph_row_bytes(int p) { return p == P_DOWN ? 2 * INTER : 2 * H; }
__device__ __forceinline__ int ph_per_stage(int p) {
  // rows a warp each (two for QKV and O), as many as fit
  int fit = STAGE / ph_row_bytes(p) / (p == P_GU ? 2 : 1);
  return p == P_DOWN ? fit : min(fit, p == P_GU ? CW : 2 * CW);
}
__device__ __forceinline__ void ph_range(int p, int& r0, int& r1) {
  int n = ph_rows(p);
  r0 = (int)((long long)blockIdx.x * n / gridDim.x);
  r1 = (int)((long long)(blockIdx.x + 1) * n / gridDim.x);
}

__device__ void producer(const Mk& mk, Smem& sm) {
  int lane = threadIdx.x & 31;
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  int si = 0;
  for (int l = 0; l < L; l++) {
    const LayerW& w = mk.lw[l];
    for (int p = P_QKV; p <= P_DOWN; p++) {
      int r0, r1;
      ph_range(p, r0, r1);
      int rb = ph_row_bytes(p), per = ph_per_stage(p);
      const bf16* base = p == P_QKV ? w.wqkv : p == P_O ? w.wo : p == P_GU ? w.wgu : w.wd;
      for (int c = r0; c < r1; c += per, si++) {
        int s = si % NS, n = min(per, r1 - c), copies = p == P_GU ? 2 * n : n;
        if (si >= NS) mbar_wait(&sm.empty[s], ((si / NS) - 1) & 1);
#ifdef LAB_NOLOAD
        continue;
#endif
        if (lane == 0) mbar_expect_tx(&sm.full[s], copies * rb);
        __syncwarp();
        if (lane < copies) {
          // gate rows first, then their up rows (INTER rows further in Wgu)
          int row = p == P_GU ? c + lane % n + (lane / n) * INTER : c + lane;
          bulk_load(sm.ring[s] + lane * rb, reinterpret_cast<const char*>(base) + (size_t)row * rb,
                    rb, &sm.full[s], policy);
        }
      }
    }
  }
}

// A warp's dot products of rows ra (and rb, if not null) of K inputs in shared memory with xs,
// over chunks [c0, c1) of 8 inputs (every lane ends with the sums).
template <int K>
__device__ __forceinline__ void dot2(const bf16* ra, const bf16* rbw, const bf16* xs, float& da,
                                     float& db, int c0 = 0, int c1 = K / 8) {
  int lane = threadIdx.x & 31;
  float a = 0.f, b = 0.f, a2 = 0.f, b2 = 0.f;
#pragma unroll
  for (int it = 0; it < (K / 8 + 31) / 32; it++) {
    int c = c0 + lane + 32 * it;
    if (c < c1) {
      uint4 x = reinterpret_cast<const uint4*>(xs)[c];
      uint4 u = reinterpret_cast<const uint4*>(ra)[c];
      uint4 v = rbw ? reinterpret_cast<const uint4*>(rbw)[c] : make_uint4(0, 0, 0, 0);
      const __nv_bfloat162* x2 = reinterpret_cast<const __nv_bfloat162*>(&x);
      const __nv_bfloat162* u2 = reinterpret_cast<const __nv_bfloat162*>(&u);
      const __nv_bfloat162* v2 = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
      for (int e = 0; e < 4; e++) {
        float2 xf = __bfloat1622float2(x2[e]), uf = __bfloat1622float2(u2[e]),
               vf = __bfloat1622float2(v2[e]);
        a = fmaf(xf.x, uf.x, a);
        a2 = fmaf(xf.y, uf.y, a2);
        b = fmaf(xf.x, vf.x, b);
        b2 = fmaf(xf.y, vf.y, b2);
      }
    }
  }
  a += a2;
  b += b2;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    a += __shfl_xor_sync(0xffffffffu, a, o);
    b += __shfl_xor_sync(0xffffffffu, b, o);
  }
  da = a;
  db = b;
}

// xs = bf16(h * rsqrt(mean(h^2) + eps)) * w, every block for itself.
__device__ void prologue_norm(const Mk& mk, const bf16* nw, Smem& sm) {
  int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  float v[(H + 32 * CW - 1) / (32 * CW)];
  float ss = 0.f;
#pragma unroll
  for (int j = 0; j < (int)(sizeof(v) / sizeof(float)); j++) {
    int i = tid + j * 32 * CW;
    v[j] = i < H ? __ldcg(mk.h + i) : 0.f;
    ss += v[j] * v[j];
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if (lane == 0) sm.red[warp] = ss;
  cons_sync();
  float tot = 0.f;
#pragma unroll
  for (int w = 0; w < CW; w++) tot += sm.red[w];
  float r = rsqrtf(tot / H + mk.eps);
#pragma unroll
  for (int j = 0; j < (int)(sizeof(v) / sizeof(float)); j++) {
    int i = tid + j * 32 * CW;
    if (i < H) sm.xs[i] = to_bf(__bfloat162float(to_bf(v[j] * r)) * __bfloat162float(nw[i]));
  }
  cons_sync();
}

// xs = attn: each query head's splits merged (every block for itself): a thread per four
// dimensions of a head, every split's loads issued before the first is used (one L2 round trip
// up to MERGE_HELD splits).
#ifndef MERGE_HELD
#define MERGE_HELD 16
#endif
__device__ void prologue_merge(const Mk& mk, int nsplit, Smem& sm) {
  for (int i = threadIdx.x; i < NH * HD / 4; i += 32 * CW) {
    int j = i / (HD / 4), dq = i % (HD / 4);
    const float* base = mk.part + (size_t)j * MAXSPLIT * PSTRIDE;
    float bm = -INFINITY, bl = 0.f;
    float4 b = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int t0 = 0; t0 < nsplit; t0 += MERGE_HELD) {
      float2 ml[MERGE_HELD];
      float4 o[MERGE_HELD];
#pragma unroll
      for (int u = 0; u < MERGE_HELD; u++) {
        const float* q = base + (t0 + u) * PSTRIDE;
        bool ok = t0 + u < nsplit;
        ml[u] = ok ? __ldcg(reinterpret_cast<const float2*>(q + HD)) : make_float2(-INFINITY, 0.f);
        o[u] = ok ? __ldcg(reinterpret_cast<const float4*>(q) + dq) : make_float4(0.f, 0.f, 0.f, 0.f);
      }
      float m = bm;
#pragma unroll
      for (int u = 0; u < MERGE_HELD; u++) m = fmaxf(m, ml[u].x);
      float c0 = bm == -INFINITY ? 0.f : __expf(bm - m);
      bl *= c0;
      b.x *= c0; b.y *= c0; b.z *= c0; b.w *= c0;
#pragma unroll
      for (int u = 0; u < MERGE_HELD; u++) {
        float c = ml[u].x == -INFINITY ? 0.f : __expf(ml[u].x - m);
        bl = fmaf(ml[u].y, c, bl);
        b.x = fmaf(o[u].x, c, b.x);
        b.y = fmaf(o[u].y, c, b.y);
        b.z = fmaf(o[u].z, c, b.z);
        b.w = fmaf(o[u].w, c, b.w);
      }
      bm = m;
    }
    reinterpret_cast<uint2*>(sm.xs)[i] = make_uint2(pack_bf16(b.x / bl, b.y / bl),
                                                    pack_bf16(b.z / bl, b.w / bl));
  }
  cons_sync();
}

__device__ void prologue_copy(const bf16* src, int n, Smem& sm) {
  for (int i = threadIdx.x; i < n / 8; i += 32 * CW)
    reinterpret_cast<uint4*>(sm.xs)[i] = __ldcg(reinterpret_cast<const uint4*>(src) + i);
  cons_sync();
}

// The consumers' stages of weight phase p: f(first row, rows, stage) for each.
template <typename F>
__device__ __forceinline__ void consume(Smem& sm, int p, int& si, F f) {
  int lane = threadIdx.x & 31;
  int r0, r1;
  ph_range(p, r0, r1);
  int per = ph_per_stage(p);
  for (int c = r0; c < r1; c += per, si++) {
    int s = si % NS, n = min(per, r1 - c);
#ifndef LAB_NOLOAD
    mbar_wait(&sm.full[s], (si / NS) & 1);
#endif
#ifndef LAB_NOMATH
    f(c, n, sm.ring[s], si);
#endif
    __syncwarp();
    if (lane == 0) mbar_arrive(&sm.empty[s]);
  }
}

__device__ __forceinline__ unsigned pack2(bf16 lo, bf16 hi) {
  return (unsigned)__bfloat16_as_ushort(lo) | ((unsigned)__bfloat16_as_ushort(hi) << 16);
}

__device__ __forceinline__ void rope(float& a, float& b, int d, int pos, float theta) {
  float inv = powf(theta, -2.f * d / HD);
  float sn, cs;
  sincosf(pos * inv, &sn, &cs);
  float x = a, y = b;
  a = x * cs - y * sn;
  b = y * cs + x * sn;
}

// Query head j's keys [KEYS s, KEYS s + KEYS) of layer l: a warp.
__device__ void attention_unit(const Mk& mk, const LayerW& w, int j, int s, int nsplit, Smem& sm) {
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  int ctx = mk.pos + 1, g = j / GROUPQ;
  int key = s * KEYS + lane;
  bool has = key < ctx;
  // V rows of the unit's keys (the new one from qkv below)
  for (int i = lane; i < KEYS * HD / 8; i += 32) {
    int r = i / (HD / 8), ch = i % (HD / 8), kk = s * KEYS + r;
    bool ok = kk < ctx && kk != mk.pos;
    cp_async16(&sm.vt[warp][r][ch * 8], w.vc + ((size_t)(ok ? kk : 0) * NKV + g) * HD + ch * 8,
               ok ? 16 : 0);
  }
  cp_async_commit();
  uint4 kr[HD / 8];
  if (has && key != mk.pos) {
#pragma unroll
    for (int ch = 0; ch < HD / 8; ch++)
      kr[ch] = __ldcg(reinterpret_cast<const uint4*>(w.kc + ((size_t)key * NKV + g) * HD) + ch);
  }
  // q rotated and scaled, into qs
  {
    float a = __ldcg(mk.qkv + j * HD + lane), b = __ldcg(mk.qkv + j * HD + lane + 32);
    rope(a, b, lane, mk.pos, mk.theta);
    float sc = rsqrtf((float)HD);
    sm.qs[warp][lane] = __bfloat162float(to_bf(a)) * sc;
    sm.qs[warp][lane + 32] = __bfloat162float(to_bf(b)) * sc;
  }
  // the new key and value (the last split): from qkv, rotated; the group's first head writes
  // them into the cache
  bool newk = s == nsplit - 1;
  if (newk) {
    const float* kn = mk.qkv + NH * HD + g * HD;
    const float* vn = mk.qkv + (NH + NKV) * HD + g * HD;
    float a = __ldcg(kn + lane), b = __ldcg(kn + lane + 32);
    rope(a, b, lane, mk.pos, mk.theta);
    bf16 ka = to_bf(a), kb = to_bf(b);
    bf16 va = to_bf(__ldcg(vn + lane)), vb = to_bf(__ldcg(vn + lane + 32));
    cp_async_wait_all();
    __syncwarp();
    int r = mk.pos - s * KEYS;
    sm.vt[warp][r][lane] = va;
    sm.vt[warp][r][lane + 32] = vb;
    if (j % GROUPQ == 0) {
      w.kc[((size_t)mk.pos * NKV + g) * HD + lane] = ka;
      w.kc[((size_t)mk.pos * NKV + g) * HD + lane + 32] = kb;
      w.vc[((size_t)mk.pos * NKV + g) * HD + lane] = va;
      w.vc[((size_t)mk.pos * NKV + g) * HD + lane + 32] = vb;
    }
    // the lane that owns the new key gathers it from the warp, two dimensions a shuffle
    unsigned kab = pack2(ka, kb);
#pragma unroll
    for (int ch = 0; ch < HD / 16; ch++) {
      unsigned w4[4], u4[4];
#pragma unroll
      for (int e = 0; e < 4; e++) {
        unsigned x0 = __shfl_sync(0xffffffffu, kab, ch * 8 + 2 * e);
        unsigned x1 = __shfl_sync(0xffffffffu, kab, ch * 8 + 2 * e + 1);
        w4[e] = (x0 & 0xFFFFu) | (x1 << 16);          // dims d, d + 1
        u4[e] = (x0 >> 16) | (x1 & 0xFFFF0000u);      // dims d + 32, d + 33
      }
      if (key == mk.pos) {
        kr[ch] = make_uint4(w4[0], w4[1], w4[2], w4[3]);
        kr[ch + HD / 16] = make_uint4(u4[0], u4[1], u4[2], u4[3]);
      }
    }
  }
  __syncwarp();
  float sc = -INFINITY;
  if (has) {
    float acc = 0.f;
#pragma unroll
    for (int ch = 0; ch < HD / 8; ch++) {
      const __nv_bfloat162* k2 = reinterpret_cast<const __nv_bfloat162*>(&kr[ch]);
#pragma unroll
      for (int e = 0; e < 4; e++) {
        float2 kf = __bfloat1622float2(k2[e]);
        acc = fmaf(sm.qs[warp][ch * 8 + 2 * e], kf.x, acc);
        acc = fmaf(sm.qs[warp][ch * 8 + 2 * e + 1], kf.y, acc);
      }
    }
    sc = acc;
  }
  float m = sc;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  float pexp = has ? __expf(sc - m) : 0.f, lsum = pexp;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) lsum += __shfl_xor_sync(0xffffffffu, lsum, o);
  cp_async_wait_all();
  __syncwarp();
  float o0 = 0.f, o1 = 0.f;
#pragma unroll 8
  for (int k = 0; k < KEYS; k++) {
    float pk = __shfl_sync(0xffffffffu, pexp, k);
    float2 v = __bfloat1622float2(reinterpret_cast<const __nv_bfloat162*>(sm.vt[warp][k])[lane]);
    o0 = fmaf(pk, v.x, o0);
    o1 = fmaf(pk, v.y, o1);
  }
  float* pp = mk.part + ((size_t)j * MAXSPLIT + s) * PSTRIDE;
  __stcg(pp + 2 * lane, o0);
  __stcg(pp + 2 * lane + 1, o1);
  if (lane == 0) {
    __stcg(pp + HD, m);
    __stcg(pp + HD + 1, lsum);
  }
}

__device__ __forceinline__ void mark(const Mk& mk, int l, int ph, int m) {
  if (mk.tl && threadIdx.x == 0) {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    mk.tl[((blockIdx.x * L + l) * 5 + ph) * 3 + m] = t;
  }
}

extern "C" __global__ void __launch_bounds__(THREADS, 1) layers(const __grid_constant__ Mk mk) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  Smem& sm = *reinterpret_cast<Smem*>(smem_raw);
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (threadIdx.x == 0) {
    for (int s = 0; s < NS; s++) {
      mbar_init(&sm.full[s], 1);
      mbar_init(&sm.empty[s], CW);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  if (warp == CW) {
    producer(mk, sm);
    return;
  }
  int si = 0;
  int nsplit = (mk.pos + 1 + KEYS - 1) / KEYS;
  for (int l = 0; l < L; l++) {
    const LayerW& w = mk.lw[l];
    prologue_norm(mk, w.n1, sm);
    mark(mk, l, 0, 0);
    consume(sm, P_QKV, si, [&](int c, int n, const unsigned char* st, int) {
      if (warp >= n) return;
      const bf16* r = reinterpret_cast<const bf16*>(st);
      bool two = warp + CW < n;
      float d0, d1;
      dot2<H>(r + warp * H, two ? r + (warp + CW) * H : nullptr, sm.xs, d0, d1);
      if (lane == 0) __stcg(mk.qkv + c + warp, d0 + __bfloat162float(w.bqkv[c + warp]));
      if (lane == 0 && two) __stcg(mk.qkv + c + warp + CW, d1 + __bfloat162float(w.bqkv[c + warp + CW]));
    });
    mark(mk, l, 0, 1);
    grid_sync(mk.bar);
    mark(mk, l, 0, 2);
    mark(mk, l, 1, 0);
    for (int u = blockIdx.x + warp * gridDim.x; u < NH * nsplit; u += gridDim.x * CW)
      attention_unit(mk, w, u / nsplit, u % nsplit, nsplit, sm);
    mark(mk, l, 1, 1);
    grid_sync(mk.bar);
    mark(mk, l, 1, 2);
    prologue_merge(mk, nsplit, sm);
    mark(mk, l, 2, 0);
    consume(sm, P_O, si, [&](int c, int n, const unsigned char* st, int) {
      if (warp >= n) return;
      const bf16* r = reinterpret_cast<const bf16*>(st);
      bool two = warp + CW < n;
      float d0, d1;
      dot2<H>(r + warp * H, two ? r + (warp + CW) * H : nullptr, sm.xs, d0, d1);
      if (lane == 0) __stcg(mk.h + c + warp, __ldcg(mk.h + c + warp) + d0);
      if (lane == 0 && two) __stcg(mk.h + c + warp + CW, __ldcg(mk.h + c + warp + CW) + d1);
    });
    mark(mk, l, 2, 1);
    grid_sync(mk.bar);
    mark(mk, l, 2, 2);
    prologue_norm(mk, w.n2, sm);
    mark(mk, l, 3, 0);
    consume(sm, P_GU, si, [&](int c, int n, const unsigned char* st, int) {
      if (warp >= n) return;
      const bf16* r = reinterpret_cast<const bf16*>(st);
      float gt, up;
      dot2<H>(r + warp * H, r + (n + warp) * H, sm.xs, gt, up);
      float gb = __bfloat162float(to_bf(gt)), ub = __bfloat162float(to_bf(up));
      if (lane == 0) mk.act[c + warp] = to_bf(gb / (1.f + __expf(-gb)) * ub);
    });
    mark(mk, l, 3, 1);
    grid_sync(mk.bar);
    mark(mk, l, 3, 2);
    prologue_copy(mk.act, INTER, sm);
    mark(mk, l, 4, 0);
    // down rows are long: each warp takes an eighth of every row's inputs, the sums meet in
    // shared memory in warp order
    consume(sm, P_DOWN, si, [&](int c, int n, const unsigned char* st, int sidx) {
      const bf16* r = reinterpret_cast<const bf16*>(st);
      constexpr int CH = INTER / 8 / CW;  // chunks a warp
      float d0, d1, d2, unused;
      dot2<CH * 8>(r, n > 1 ? r + INTER : nullptr, sm.xs, d0, d1, warp * CH, warp * CH + CH);
      if (n > 2) dot2<CH * 8>(r + 2 * INTER, nullptr, sm.xs, d2, unused, warp * CH, warp * CH + CH);
      float (&red)[CW][4] = sm.dred[sidx & 1];
      if (lane == 0) {
        red[warp][0] = d0;
        red[warp][1] = d1;
        red[warp][2] = n > 2 ? d2 : 0.f;
      }
      cons_sync();
      if (warp == 0 && lane < n) {
        float t = 0.f;
#pragma unroll
        for (int q = 0; q < CW; q++) t += red[q][lane];
        __stcg(mk.h + c + lane, __ldcg(mk.h + c + lane) + t);
      }
    });
    mark(mk, l, 4, 1);
    grid_sync(mk.bar);
    mark(mk, l, 4, 2);
  }
}

// ---------------------------------------------------------------------------------------------
__device__ uint32_t hh(size_t i, uint32_t seed) {
  uint32_t h = (uint32_t)(i * 2654435761u) ^ seed;
  h ^= h >> 13; h *= 0x5bd1e995u; h ^= h >> 15; h *= 0x27d4eb2du; h ^= h >> 16;
  return h;
}
__global__ void fill_bf(bf16* p, size_t n, uint32_t seed, float scale, float off) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = __float2bfloat16(off + scale * ((hh(i, seed) & 0xFFFF) / 32768.f - 1.f));
}
__global__ void fill_f(float* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    p[i] = (hh(i, seed) & 0xFFFF) / 32768.f - 1.f;
}

static float bf(bf16 v) { return __bfloat162float(v); }
static float rbf(float v) { return __bfloat162float(__float2bfloat16(v)); }

template <typename T>
static std::vector<T> down_(const T* d, size_t n) {
  std::vector<T> v(n);
  CK(cudaMemcpy(v.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return v;
}

int main(int argc, char** argv) {
  int ctx0 = argc > 1 ? atoi(argv[1]) : 256, steps = argc > 2 ? atoi(argv[2]) : 200;
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  int G = prop.multiProcessorCount;
  Mk mk{};
  size_t nq = (size_t)QKVR * H, no = (size_t)H * H, ng = (size_t)2 * INTER * H, nd = (size_t)H * INTER;
  for (int l = 0; l < L; l++) {
    bf16 *a, *b, *c, *d, *e, *n1, *n2, *kc, *vc;
    CK(cudaMalloc(&a, nq * 2)); CK(cudaMalloc(&b, QKVR * 2)); CK(cudaMalloc(&c, no * 2));
    CK(cudaMalloc(&d, ng * 2)); CK(cudaMalloc(&e, nd * 2)); CK(cudaMalloc(&n1, H * 2));
    CK(cudaMalloc(&n2, H * 2));
    CK(cudaMalloc(&kc, (size_t)MAXCTX * NKV * HD * 2)); CK(cudaMalloc(&vc, (size_t)MAXCTX * NKV * HD * 2));
    uint32_t s = 1000 * l;
    fill_bf<<<512, 256>>>(a, nq, s + 1, 0.05f, 0.f);
    fill_bf<<<512, 256>>>(b, QKVR, s + 2, 0.1f, 0.f);
    fill_bf<<<512, 256>>>(c, no, s + 3, 0.03f, 0.f);
    fill_bf<<<512, 256>>>(d, ng, s + 4, 0.05f, 0.f);
    fill_bf<<<512, 256>>>(e, nd, s + 5, 0.02f, 0.f);
    fill_bf<<<512, 256>>>(n1, H, s + 6, 0.2f, 1.f);
    fill_bf<<<512, 256>>>(n2, H, s + 7, 0.2f, 1.f);
    fill_bf<<<512, 256>>>(kc, (size_t)MAXCTX * NKV * HD, s + 8, 1.f, 0.f);
    fill_bf<<<512, 256>>>(vc, (size_t)MAXCTX * NKV * HD, s + 9, 1.f, 0.f);
    mk.lw[l] = LayerW{a, b, c, d, e, n1, n2, kc, vc};
  }
  CK(cudaMalloc(&mk.h, H * 4)); CK(cudaMalloc(&mk.qkv, QKVR * 4));
  CK(cudaMalloc(&mk.part, (size_t)NH * MAXSPLIT * PSTRIDE * 4));
  CK(cudaMalloc(&mk.head_cnt, NH * 4)); CK(cudaMemset(mk.head_cnt, 0, NH * 4));
  CK(cudaMalloc(&mk.attn, H * 2)); CK(cudaMalloc(&mk.act, INTER * 2));
  CK(cudaMalloc(&mk.bar, 4)); CK(cudaMemset(mk.bar, 0, 4));
  fill_f<<<8, 128>>>(mk.h, H, 77);
  mk.eps = 1e-6f;
  mk.theta = 1e6f;
  mk.pos = ctx0 - 1;
  CK(cudaDeviceSynchronize());
  size_t smem = sizeof(Smem);
  CK(cudaFuncSetAttribute(layers, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  printf("%d blocks of %d threads, %zu bytes of shared memory, %d stages\n", G, THREADS, smem, NS);

  // One step against the CPU reference.
  std::vector<float> h0 = down_(mk.h, H);
  std::vector<std::vector<bf16>> kc0(L), vc0(L);
  for (int l = 0; l < L; l++) {
    kc0[l] = down_(mk.lw[l].kc, (size_t)MAXCTX * NKV * HD);
    vc0[l] = down_(mk.lw[l].vc, (size_t)MAXCTX * NKV * HD);
  }
  void* args[] = {&mk};
  CK(cudaLaunchCooperativeKernel((void*)layers, G, THREADS, args, smem, 0));
  CK(cudaDeviceSynchronize());
  std::vector<float> h1 = down_(mk.h, H);
  {
    std::vector<float> h = h0;
    int pos = mk.pos, ctx = pos + 1;
    for (int l = 0; l < L; l++) {
      const LayerW& w = mk.lw[l];
      auto Wq = down_(w.wqkv, nq), Bq = down_(w.bqkv, QKVR), Wo = down_(w.wo, no),
           Wg = down_(w.wgu, ng), Wd = down_(w.wd, nd), N1 = down_(w.n1, H), N2 = down_(w.n2, H);
      auto norm = [&](const std::vector<bf16>& nw) {
        double ss = 0;
        for (float v : h) ss += (double)v * v;
        float r = 1.f / sqrtf((float)(ss / H) + mk.eps);
        std::vector<float> x(H);
        for (int i = 0; i < H; i++) x[i] = rbf(rbf(h[i] * r) * bf(nw[i]));
        return x;
      };
      auto x = norm(N1);
      std::vector<float> qkv(QKVR);
      for (int r = 0; r < QKVR; r++) {
        double a = 0;
        for (int i = 0; i < H; i++) a += (double)x[i] * bf(Wq[(size_t)r * H + i]);
        qkv[r] = (float)a + bf(Bq[r]);
      }
      auto rot = [&](float* v) {
        for (int d = 0; d < HD / 2; d++) {
          double inv = pow((double)mk.theta, -2.0 * d / HD), an = pos * inv;
          float a = v[d], b = v[d + HD / 2];
          v[d] = (float)(a * cos(an) - b * sin(an));
          v[d + HD / 2] = (float)(b * cos(an) + a * sin(an));
        }
      };
      for (int j = 0; j < NH + NKV; j++) rot(&qkv[j * HD]);
      std::vector<float> attn(H);
      for (int j = 0; j < NH; j++) {
        int g = j / GROUPQ;
        std::vector<double> sc(ctx);
        double mx = -1e30;
        for (int k = 0; k < ctx; k++) {
          double a = 0;
          for (int d = 0; d < HD; d++) {
            float kv = k == pos ? rbf(qkv[(NH + g) * HD + d]) : bf(kc0[l][((size_t)k * NKV + g) * HD + d]);
            a += (double)rbf(qkv[j * HD + d]) / 8.0 * kv;
          }
          sc[k] = a;
          mx = std::max(mx, a);
        }
        double sum = 0;
        for (int k = 0; k < ctx; k++) sum += sc[k] = exp(sc[k] - mx);
        for (int d = 0; d < HD; d++) {
          double o = 0;
          for (int k = 0; k < ctx; k++) {
            float vv = k == pos ? rbf(qkv[(NH + NKV + g) * HD + d]) : bf(vc0[l][((size_t)k * NKV + g) * HD + d]);
            o += sc[k] * vv;
          }
          attn[j * HD + d] = rbf((float)(o / sum));
        }
      }
      for (int r = 0; r < H; r++) {
        double a = 0;
        for (int i = 0; i < H; i++) a += (double)attn[i] * bf(Wo[(size_t)r * H + i]);
        h[r] += (float)a;
      }
      auto x2 = norm(N2);
      std::vector<float> act(INTER);
      for (int r = 0; r < INTER; r++) {
        double g = 0, u = 0;
        for (int i = 0; i < H; i++) {
          g += (double)x2[i] * bf(Wg[(size_t)r * H + i]);
          u += (double)x2[i] * bf(Wg[(size_t)(r + INTER) * H + i]);
        }
        float gb = rbf((float)g), ub = rbf((float)u);
        act[r] = rbf(gb / (1.f + expf(-gb)) * ub);
      }
      for (int r = 0; r < H; r++) {
        double a = 0;
        for (int i = 0; i < INTER; i++) a += (double)act[i] * bf(Wd[(size_t)r * INTER + i]);
        h[r] += (float)a;
      }
    }
    double worst = 0, mag = 0;
    for (int i = 0; i < H; i++) {
      worst = std::max(worst, (double)fabsf(h[i] - h1[i]));
      mag = std::max(mag, (double)fabsf(h[i]));
    }
    printf("one step: max |gpu - cpu| = %.3e, max |h| = %.3e (relative %.2e)\n", worst, mag,
           worst / mag);
  }

  // Timing: steps at contexts ctx0, ctx0 + 1, ... (h renormalized each step to stay finite).
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int rep = 0; rep < 2; rep++) {
    CK(cudaEventRecord(e0));
    for (int st = 0; st < steps; st++) {
      mk.pos = ctx0 - 1 + (st % 64);
      fill_f<<<8, 128>>>(mk.h, H, 77 + st);
      CK(cudaLaunchCooperativeKernel((void*)layers, G, THREADS, args, smem, 0));
    }
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    double bytes = L * 2.0 * (nq + no + ng + nd);
    printf("context %d: %.1f us a step of %d layers (%.2f us a layer; %.0f MB of weights: "
           "%.0f GB/s)\n", ctx0, 1e3 * ms / steps, L, 1e3 * ms / steps / L, bytes / 1e6,
           bytes / (ms / steps * 1e-3) / 1e9);
  }
  // One step's timeline: per phase, us from the previous phase's barrier (medians over blocks
  // and layers 4..19): prologue done, work done (median and slowest block), barrier passed.
  CK(cudaMalloc(&mk.tl, (size_t)G * L * 15 * 8));
  mk.pos = ctx0 - 1;
  CK(cudaLaunchCooperativeKernel((void*)layers, G, THREADS, args, smem, 0));
  CK(cudaDeviceSynchronize());
  std::vector<unsigned long long> tl = down_(mk.tl, (size_t)G * L * 15);
  const char* names[5] = {"QKV", "ATT", "O", "GU", "DOWN"};
  printf("phase: prologue / work median / work slowest / barrier passed, us after the last phase\n");
  for (int ph = 0; ph < 5; ph++) {
    std::vector<double> pro, wm, bar;
    double slow = 0;
    for (int l = 4; l < 20; l++) {
      int pl = ph == 0 ? l - 1 : l, pp = ph == 0 ? 4 : ph - 1;
      std::vector<double> w;
      for (int b = 0; b < G; b++) {
        auto at = [&](int ll, int p, int m) { return (double)tl[((size_t)(b * L + ll) * 5 + p) * 3 + m]; };
        double t0 = at(pl, pp, 2);
        pro.push_back((at(l, ph, 0) - t0) / 1e3);
        w.push_back((at(l, ph, 1) - t0) / 1e3);
        bar.push_back((at(l, ph, 2) - t0) / 1e3);
      }
      std::sort(w.begin(), w.end());
      wm.push_back(w[G / 2]);
      slow += w[G - 1];
    }
    auto med = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
    printf("%-5s %6.2f %6.2f %6.2f %6.2f\n", names[ph], med(pro), med(wm), slow / 16, med(bar));
  }
  return 0;
}
