// What the two chain labs share: Qwen2.5-14B's decoder shapes, and L layers of random GPTQ
// weights in them (group 128): each projection's codes, its {scale, zero} (zero points 4..11,
// or every one 8 with z8) and strip-major scales (w4_chain_scales), and each layer's QKV bias,
// two norm weights and a few rows of KV cache. Include it after lab_util.cuh.
#pragma once
#include <vector>

constexpr int LAB_H = 5120, LAB_NH = 40, LAB_NKV = 8, LAB_HD = 128, LAB_I = 13824, LAB_G = 128;
constexpr int LAB_GS = 7;  // log2(LAB_G)
constexpr int LAB_QR = (LAB_NH + 2 * LAB_NKV) * LAB_HD;  // QKV rows

__global__ void lab_fill_sz(__half2* p, size_t n, uint32_t seed, int z8) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = hh(i, seed);
    p[i] = __floats2half2_rn(0.004f * (0.75f + 0.5f * (h & 0xFFFF) / 65536.f),
                             z8 ? 8.f : (float)(4 + (h >> 29)));
  }
}

// Stand-in for attention between two layers: attn = q's first n values of each token, a kernel
// boundary like the real one.
extern "C" __global__ void lab_fake_attention(const bf16* q, bf16* attn, int n, int q_size,
                                              int tokens) {
  pdl_wait();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n * tokens; i += gridDim.x * blockDim.x)
    attn[i] = q[(size_t)(i / n) * q_size + i % n];
  pdl_launch_dependents();
}

struct LabQ { uint4* codes; __half2* sz; void* szs; int rows, k; };
static LabQ lab_q(int rows, int k, uint32_t seed, bool z8) {
  LabQ q{nullptr, nullptr, nullptr, rows, k};
  size_t cb = (size_t)rows * k / 2, zb = (size_t)rows * (k / LAB_G) * 4;
  CK(cudaMalloc(&q.codes, cb)); CK(cudaMalloc(&q.sz, zb)); CK(cudaMalloc(&q.szs, z8 ? zb / 2 : zb));
  fill_u32<<<1024, 256>>>((uint32_t*)q.codes, cb / 4, seed);
  lab_fill_sz<<<1024, 256>>>(q.sz, zb / 4, seed * 7 + 1, z8);
  w4_chain_scales<<<1024, 256>>>(q.sz, q.szs, rows, k / LAB_G, z8);
  return q;
}

struct LabLayers {
  std::vector<LabQ> qkv, o, gu, dn;
  std::vector<bf16*> bias, n1, n2, kc, vc;  // sets of them (the QKV after the last layer's)
  double bytes = 0;  // the projections' codes and scales a pass over the layers
};
static LabLayers lab_layers(int layers, int sets, bool z8) {
  LabLayers m;
  for (int l = 0; l < layers; l++) {
    m.qkv.push_back(lab_q(LAB_QR, LAB_H, 100 + 4 * l, z8));
    m.o.push_back(lab_q(LAB_H, LAB_H, 101 + 4 * l, z8));
    m.gu.push_back(lab_q(2 * LAB_I, LAB_H, 102 + 4 * l, z8));
    m.dn.push_back(lab_q(LAB_H, LAB_I, 103 + 4 * l, z8));
    m.bytes += ((double)LAB_QR * LAB_H + (double)LAB_H * LAB_H + 2.0 * LAB_I * LAB_H +
                (double)LAB_H * LAB_I) * (0.5 + (z8 ? 2.0 : 4.0) / LAB_G);
  }
  for (int l = 0; l < sets; l++) {
    bf16 *b, *a1, *a2, *k, *v;
    CK(cudaMalloc(&b, LAB_QR * 2)); fill_bf<<<16, 256>>>(b, LAB_QR, 900 + l, 0.5f, 0.f);
    CK(cudaMalloc(&a1, LAB_H * 2)); fill_bf<<<16, 256>>>(a1, LAB_H, 800 + l, 0.2f, 1.f);
    CK(cudaMalloc(&a2, LAB_H * 2)); fill_bf<<<16, 256>>>(a2, LAB_H, 700 + l, 0.2f, 1.f);
    CK(cudaMalloc(&k, 64 * LAB_NKV * LAB_HD * 2)); CK(cudaMalloc(&v, 64 * LAB_NKV * LAB_HD * 2));
    m.bias.push_back(b); m.n1.push_back(a1); m.n2.push_back(a2); m.kc.push_back(k); m.vc.push_back(v);
  }
  return m;
}

// Layer l's chain (w4a16_chain.cu): its O, gate/up and down, then layer l + 1's QKV (none after
// the last layer), over the residual stream resid and the step's buffers.
static Chain lab_chain(const LabLayers& m, int l, float* resid, const bf16* attn, bf16* act,
                       bf16* q, const int* pos, const int* slot, unsigned* bar, float eps,
                       float theta) {
  const int H = LAB_H, I = LAB_I;
  Chain c;
  memset(&c, 0, sizeof(c));
  c.hidden = H; c.group = LAB_G; c.inter = I; c.num_heads = LAB_NH; c.num_kv_heads = LAB_NKV;
  c.head_dim = LAB_HD; c.eps = eps; c.theta = theta; c.resid = resid; c.positions = pos;
  c.slots = slot; c.barrier = bar;
  c.ph[0] = ChainPhase{m.o[l].codes, m.o[l].szs, attn, nullptr, nullptr, nullptr, nullptr, nullptr,
                       nullptr, nullptr, CHAIN_RESID, H, H, H / 2};
  c.ph[1] = ChainPhase{m.gu[l].codes, m.gu[l].szs, nullptr, m.n2[l], act, nullptr, nullptr,
                       nullptr, nullptr, nullptr, CHAIN_SILU, H, 2 * I, I};
  c.ph[2] = ChainPhase{m.dn[l].codes, m.dn[l].szs, act, nullptr, nullptr, nullptr, nullptr, nullptr,
                       nullptr, nullptr, CHAIN_RESID, I, H, H / 2};
  c.phases = 3;
  if (l + 1 < (int)m.qkv.size()) {
    c.ph[3] = ChainPhase{m.qkv[l + 1].codes, m.qkv[l + 1].szs, nullptr, m.n1[l + 1], nullptr,
                         m.bias[l + 1], q, m.kc[l + 1], m.vc[l + 1], nullptr, CHAIN_QKV, H,
                         LAB_QR, (LAB_NH + 2 * LAB_NKV) * (LAB_HD / 2)};
    c.phases = 4;
  }
  return c;
}
