// A lab for the one-token GPTQ chain (cuda/src/main/cuda/w4a16_chain.cu): 48 Qwen2.5-14B-shaped
// GPTQ int4 layers (random codes, group 128) at batch 1, run as the separate fused W4 kernels
// (w4a16_fused.cu: QKV, O, gate/up, down a layer) and as the chain (layer 0's QKV, then a chain
// a layer), with a stand-in attention (q copied to the attention output) between, all launched
// back to back with programmatic dependent launch. Prints both times for the 48 layers and the
// largest difference of the residual stream after them (it grows through 48 random layers:
// the chain's correctness test is W4ChainGpuTest). The benchmarks README cites it.
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -o w4_chain_lab tools/w4_chain_lab.cu && ./w4_chain_lab
//
// (on an H100 or H200; the engine's own measure is `bench decode --quantization gptq`.)
#include "../cuda/src/main/cuda/kernels.cu"
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cmath>
#include <cuda_runtime.h>

#include "lab_util.cuh"
#include "lab_layers.cuh"

__global__ void relayout_sz(const __half2* sz, __half2* out, int rows, int groups) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (size_t)rows * groups; i += (size_t)gridDim.x * blockDim.x) {
    int r = i / groups, gi = i % groups;
    out[((size_t)(r / 16) * groups + gi) * 16 + r % 16] = sz[i];
  }
}

static int sms;
static int w4grid(const void* fn, int units, int smem) {
  int occ; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, fn, 256, smem));
  int groups = units / 16; long most = (long)sms * occ;
  long per = (groups + most - 1) / most;
  return (int)((groups + per - 1) / per);
}


int main() {
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const int L = 48, H = LAB_H, NH = LAB_NH, NKV = LAB_NKV, HD = LAB_HD, I = LAB_I, G = LAB_G, GS = LAB_GS;
  const int QR = LAB_QR;
  float eps = 1e-6f, theta = 1e6f;
  int tokens = 1, parts = 0;
  int b1 = 1 << 30, b2 = 1 << 30;
  const int* nullp = nullptr;
  LabLayers m = lab_layers(L, L, false);
  auto &qkv = m.qkv, &o = m.o, &gu = m.gu, &dn = m.dn;
  auto &bias = m.bias, &n1 = m.n1, &n2 = m.n2, &kc = m.kc, &vc = m.vc;
  double bytes = m.bytes;
  float *x, *x0; CK(cudaMalloc(&x, H * 4)); CK(cudaMalloc(&x0, H * 4));
  fill_f<<<16, 256>>>(x0, H, 5);
  bf16 *q, *attn, *act; CK(cudaMalloc(&q, QR * 2)); CK(cudaMalloc(&attn, H * 2)); CK(cudaMalloc(&act, I * 2));
  int *pos, *slot; CK(cudaMalloc(&pos, 4)); CK(cudaMalloc(&slot, 4));
  int p7 = 7, s3 = 3;
  CK(cudaMemcpy(pos, &p7, 4, cudaMemcpyHostToDevice)); CK(cudaMemcpy(slot, &s3, 4, cudaMemcpyHostToDevice));
  // the chain's scratch (Kernels.w4ChainScratchBytes): barrier and epoch words, partners' sums
  size_t scratch = 128 + 4ull * sms * 128 * 16;
  unsigned* bar; CK(cudaMalloc(&bar, scratch)); CK(cudaMemset(bar, 0, scratch));
  CK(cudaDeviceSynchronize());
  cudaStream_t st; CK(cudaStreamCreate(&st));
  int smemN = 2 * H;
  for (const void* f : {(const void*)w4_rmsnorm_qkv_rope_g64, (const void*)w4_rmsnorm_silu_g64})
    CK(cudaFuncSetAttribute(f, cudaFuncAttributeMaxDynamicSharedMemorySize, smemN));
  int gQkv = w4grid((const void*)w4_rmsnorm_qkv_rope_g64, (NH + 2 * NKV) * (HD / 2), smemN);
  int gSilu = w4grid((const void*)w4_rmsnorm_silu_g64, I, smemN);
  int gRes = w4grid((const void*)w4_residual_g64, H / 2, 0);
  printf("grids qkv %d silu %d resid %d\n", gQkv, gSilu, gRes);

  auto qkv_kernel = [&](int l) {
    void* args[] = {&x, &n1[l], &eps, &qkv[l].codes, &qkv[l].sz, &nullp, &parts, (void*)&G, (void*)&GS, &b1, &b2,
                    &bias[l], &pos, &slot, &q, &kc[l], &vc[l], &tokens, (void*)&H, (void*)&NH, (void*)&NKV, (void*)&HD, &theta};
    launch_pdl((const void*)w4_rmsnorm_qkv_rope_g64, gQkv, 256, smemN, args, st);
  };
  auto fake_attn = [&]() {
    int n = H, qs = QR;
    void* args[] = {&q, &attn, &n, &qs, &tokens};
    launch_pdl((const void*)lab_fake_attention, 8, 256, 0, args, st);
  };
  auto resid_kernel = [&](const bf16* a, LabQ& w) {
    // no norm after the residual add (the next kernel's prologue runs it), no scales copy
    const bf16* nw = nullptr;
    bf16* hn = nullptr;
    float* ssn = nullptr;
    unsigned* bn = nullptr;
    const void* szn = nullptr;
    void* args[] = {(void*)&a, &w.codes, &w.sz, (void*)&G, (void*)&GS, &x, &tokens, &w.rows, &w.k,
                    &nw, &eps, &hn, &ssn, &bn, &szn};
    launch_pdl((const void*)w4_residual_g64, gRes, 256, 0, args, st);
  };
  auto silu_kernel = [&](int l) {
    void* args[] = {&x, &n2[l], &eps, &gu[l].codes, &gu[l].sz, &nullp, &parts, (void*)&G, (void*)&GS, &b1, &b2,
                    &act, &tokens, (void*)&H, (void*)&I};
    launch_pdl((const void*)w4_rmsnorm_silu_g64, gSilu, 256, smemN, args, st);
  };
  auto baseline = [&]() {
    for (int l = 0; l < L; l++) {
      qkv_kernel(l);
      fake_attn();
      resid_kernel(attn, o[l]);
      silu_kernel(l);
      resid_kernel(act, dn[l]);
    }
  };
  // chain descriptors
  std::vector<Chain> hc(L);
  for (int l = 0; l < L; l++) {
    hc[l] = lab_chain(m, l, x, attn, act, q, pos, slot, bar, eps, theta);
  }
  Chain* dc; CK(cudaMalloc(&dc, sizeof(Chain) * L));
  CK(cudaMemcpy(dc, hc.data(), sizeof(Chain) * L, cudaMemcpyHostToDevice));
  int gps = CHAIN_SP * 64 / G;
  // Kernels.w4ChainSmem
  int chainSmem = CHAIN_NS * CHAIN_STAGE_CODES + CHAIN_NS * 2 * 16 * gps * 4 + CHAIN_RED * CHAIN_CW * 2 * 4 * 8 * ((tokens + 1) / 2) * 4 + tokens * I * 2;
  CK(cudaFuncSetAttribute((const void*)w4_chain, cudaFuncAttributeMaxDynamicSharedMemorySize, chainSmem));
  int occ; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void*)w4_chain, 32 * (CHAIN_CW + 1), chainSmem));
  printf("chain smem %d, %d blocks/SM\n", chainSmem, occ);
  auto chain = [&]() {
    qkv_kernel(0);
    for (int l = 0; l < L; l++) {
      fake_attn();
      Chain* d = dc + l;
      const int* runs = nullptr;  // equal runs of input pairs
      void* args[] = {&d, &tokens, &runs};
      launch_pdl((const void*)w4_chain, sms, 32 * (CHAIN_CW + 1), chainSmem, args, st);
    }
  };
  // correctness: one step each from the same x
  std::vector<float> xr(H), xc(H);
  CK(cudaMemcpy(x, x0, H * 4, cudaMemcpyDeviceToDevice));
  baseline();
  CK(cudaStreamSynchronize(st));
  CK(cudaMemcpy(xr.data(), x, H * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(x, x0, H * 4, cudaMemcpyDeviceToDevice));
  chain();
  CK(cudaStreamSynchronize(st));
  CK(cudaGetLastError());
  CK(cudaMemcpy(xc.data(), x, H * 4, cudaMemcpyDeviceToHost));
  double md = 0, mx = 0;
  for (int i = 0; i < H; i++) { md = fmax(md, fabs(xr[i] - xc[i])); mx = fmax(mx, fabs(xr[i])); }
  printf("after %d layers: resid max diff %.3e of max %.3e (x[0..3] %f %f / %f %f)\n", L, md, mx, xr[0], xr[1], xc[0], xc[1]);
  // timing
  for (int rep = 0; rep < 2; rep++) {
    for (int v = 0; v < 2; v++) {
      cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
      CK(cudaMemcpy(x, x0, H * 4, cudaMemcpyDeviceToDevice));
      if (v) chain(); else baseline();
      cudaEventRecord(e0, st);
      for (int i = 0; i < 10; i++) { CK(cudaMemcpyAsync(x, x0, H * 4, cudaMemcpyDeviceToDevice, st)); if (v) chain(); else baseline(); }
      cudaEventRecord(e1, st); CK(cudaEventSynchronize(e1));
      float ms; cudaEventElapsedTime(&ms, e0, e1);
      double us = ms * 1e3 / 10;
      printf("%-9s %8.1f us per 48 layers (%.0f GB/s over %.2f GB)\n", v ? "chain" : "baseline", us, bytes / (us * 1e-6) / 1e9, bytes / 1e9);
    }
  }
  return 0;
}
