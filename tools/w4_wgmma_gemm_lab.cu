// A lab for w4a16_wgmma.cu, the GPTQ projections of many tokens on warpgroup MMAs: for the four
// 14B decoder projections and several token counts, the time of what the engine ran before
// (dequant_w4_packed_bf16 into a bf16 scratch, then cuBLAS's bf16 GEMM, fp32 out) against
// w4gg_permute + each w4gg_* variant, over enough copies of the weights that none stays in L2,
// and the largest difference of their outputs (the same bf16 weights, the sums in another
// order), once over symmetric and once over random zero points; then the same for
// w4a16_wgmma_ws.cu's warp-specialized form (w4ws_stage_x + w4ws_*, k in one and in two runs;
// its tensor maps encoded through the runtime's driver entry point, as TensorMaps.java does).
//
//   nvcc -O3 -std=c++17 -gencode arch=compute_90a,code=sm_90a -DW4GG_VARIANTS -o w4_wgmma_gemm_lab \
//       tools/w4_wgmma_gemm_lab.cu -ldl && ./w4_wgmma_gemm_lab [tokens,... [variant shape [splits]]]
// cuBLAS is opened at run time (libcublas.so.13), as the engine does through JNA.
#include "../cuda/src/main/cuda/kernels.cu"
#include <cmath>
#include <cstring>
#include <cuda.h>
#include <dlfcn.h>
#include <vector>

#include "lab_util.cuh"

// {scale, zero}: scale 0.004 * [0.75, 1.25), zero 8 or (asym) 0 .. 15.
__global__ void fill_sz(__half2* p, size_t n, uint32_t seed, int asym) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
       i += (size_t)gridDim.x * blockDim.x) {
    uint32_t h = hh(i, seed);
    p[i] = __floats2half2_rn(0.004f * (0.75f + 0.5f * (h & 0xFFFF) / 65536.f),
                             asym ? (float)(h >> 28) : 8.f);
  }
}

typedef int (*CublasCreate)(void**);
typedef int (*CublasGemmEx)(void*, int, int, int, int, int, const void*, const void*, int, int,
                            const void*, int, int, const void*, void*, int, int, int, int);
typedef int (*CublasSetStream)(void*, cudaStream_t);
static void* blas;
static CublasGemmEx gemm_ex;

// A 2D tensor map over `rows` rows of `elems` 4-byte elements, box `box` x 8 (w4a16_wgmma_ws.cu).
typedef CUresult (*EncodeTiled)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
static CUtensorMap map2d(void* base, uint64_t elems, uint64_t rows, uint32_t box) {
  static EncodeTiled encode;
  if (!encode) {
    cudaDriverEntryPointQueryResult q;
    CK(cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", (void**)&encode, cudaEnableDefault, &q));
  }
  CUtensorMap m;
  cuuint64_t dims[2] = {elems, rows}, strides[1] = {elems * 4};
  cuuint32_t boxes[2] = {box, 8}, es[2] = {1, 1};
  CUresult r = encode(&m, CU_TENSOR_MAP_DATA_TYPE_UINT32, 2, base, dims, strides, boxes, es,
                      CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                      CU_TENSOR_MAP_L2_PROMOTION_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) { printf("cuTensorMapEncodeTiled: %d\n", (int)r); exit(1); }
  return m;
}

// cmap: the codes by strips; mz8 / mzz: the strip-major scales without / with zero points.
struct W { uint4* codes; __half2* sz; unsigned* szs; uint2* szz; CUtensorMap cmap, mz8, mzz; };
static W make_w(int rows, int k, int group, uint32_t seed, int asym) {
  W w{};
  size_t cb = (size_t)rows * k / 2, zb = (size_t)rows * (k / group) * 4;
  CK(cudaMalloc(&w.codes, cb));
  CK(cudaMalloc(&w.sz, zb));
  CK(cudaMalloc(&w.szs, zb / 2));
  CK(cudaMalloc(&w.szz, zb));
  fill_u32<<<1024, 256>>>((uint32_t*)w.codes, cb / 4, seed);
  fill_sz<<<1024, 256>>>(w.sz, zb / 4, seed * 7 + 1, asym);
  w4_chain_scales<<<1024, 256>>>(w.sz, w.szs, rows, k / group, 1);  // scales only (z8)
  w4_chain_scales<<<1024, 256>>>(w.sz, w.szz, rows, k / group, 0);  // with zero points
  int groups = k / group, sb = group >= 128 ? 8 : 16;  // W4WS_SZB / 4 without zero points
  w.cmap = map2d(w.codes, (uint64_t)2 * k, rows / 16, 256);
  w.mz8 = map2d(w.szs, (uint64_t)8 * groups, rows / 16, sb);
  w.mzz = map2d(w.szz, (uint64_t)16 * groups, rows / 16, 2 * sb);
  return w;
}
static void free_w(W& w) {
  CK(cudaFree(w.codes));
  CK(cudaFree(w.sz));
  CK(cudaFree(w.szs));
  CK(cudaFree(w.szz));
}

typedef void (*GgFn)(const bf16*, const uint4*, const void*, float*, int, int, int, int);
struct Variant { const char* name; GgFn f; int bn, ns, wgs; };

static double max_diff(const float* a, const float* b, size_t n, double* ref_max) {
  std::vector<float> ha(n), hb(n);
  CK(cudaMemcpy(ha.data(), a, n * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(hb.data(), b, n * 4, cudaMemcpyDeviceToHost));
  double m = 0, r = 0;
  for (size_t i = 0; i < n; i++) {
    m = std::max(m, (double)std::fabs(ha[i] - hb[i]));
    r = std::max(r, (double)std::fabs(ha[i]));
    if (!std::isfinite(hb[i])) m = INFINITY;
  }
  *ref_max = r;
  return m;
}

// w4a16_wgmma_ws.cu: a variant, and one run of it (the activations staged, then the GEMM).
typedef void (*WsFn)(const uint4*, const CUtensorMap, const CUtensorMap, float*, int, int, int);
struct WsVariant { const char* name; WsFn f; int bn, ns, gk, z8; };
static void run_ws(const WsVariant& v, int splits, const bf16* x, bf16* xs, const W& w, float* y,
                   int T, int rows, int k, cudaStream_t st) {
  w4ws_stage_x<<<1024, 256, 0, st>>>((const uint4*)x, (uint4*)xs, (float4*)y, T, k, v.bn, rows,
                                     splits > 1);
  v.f<<<dim3((T + v.bn - 1) / v.bn, rows / 128, splits), W4WS_THREADS,
        W4WS_SMEM(v.bn, v.ns, v.gk, v.z8), st>>>((const uint4*)xs, w.cmap, v.z8 ? w.mz8 : w.mzz, y,
                                                 T, rows, k);
}

int main(int argc, char** argv) {
  std::vector<int> toks = {65, 128, 256, 512};
  if (argc > 1) {
    toks.clear();
    for (char* p = strtok(argv[1], ","); p; p = strtok(nullptr, ",")) toks.push_back(atoi(p));
  }
  blas = dlopen("libcublas.so.13", RTLD_NOW);
  if (!blas) { printf("no cuBLAS: %s\n", dlerror()); return 1; }
  void* handle;
  ((CublasCreate)dlsym(blas, "cublasCreate_v2"))(&handle);
  gemm_ex = (CublasGemmEx)dlsym(blas, "cublasGemmEx");
  cudaStream_t st;
  CK(cudaStreamCreate(&st));
  ((CublasSetStream)dlsym(blas, "cublasSetStream_v2"))(handle, st);
  int sms;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  Variant vars[] = {{"n64 w1", w4gg_w1_g128, 64, 4, 1}, {"n64 w2", w4gg_w2_g128, 64, 3, 2},
                    {"n32 w1", w4gg_n32_w1, 32, 4, 1}, {"n32 w2", w4gg_n32_w2, 32, 4, 2},
                    {"n128 w2", w4gg_n128_w2, 128, 3, 2}};
  for (auto& v : vars) {
    int smem = (v.ns * W4GG_STAGE(v.bn, v.wgs) + 1024), occ;
    CK(cudaFuncSetAttribute((const void*)v.f, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void*)v.f, 128 * v.wgs, smem));
    cudaFuncAttributes fa;
    CK(cudaFuncGetAttributes(&fa, (const void*)v.f));
    printf("variant %-8s smem %6d, %d blocks/SM, %d registers, %zu local bytes\n", v.name, smem,
           occ, fa.numRegs, fa.localSizeBytes);
  }
  WsVariant wsv[] = {{"ws n128 z8", w4ws_n128_g128_z8, 128, 4, 8, 1},
                     {"ws n128", w4ws_n128_g128, 128, 4, 8, 0},
                     {"ws n128 g64", w4ws_n128_g64, 128, 4, 4, 0},
                     {"ws n128 g64 z8", w4ws_n128_g64_z8, 128, 4, 4, 1},
                     {"ws n64 z8", w4ws_n64_g128_z8, 64, 4, 8, 1}};
  for (auto& v : wsv) {
    int smem = W4WS_SMEM(v.bn, v.ns, v.gk, v.z8), occ;
    CK(cudaFuncSetAttribute((const void*)v.f, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, (const void*)v.f, W4WS_THREADS, smem));
    cudaFuncAttributes fa;
    CK(cudaFuncGetAttributes(&fa, (const void*)v.f));
    printf("variant %-14s smem %6d, %d blocks/SM, %d registers, %zu local bytes\n", v.name, smem,
           occ, fa.numRegs, fa.localSizeBytes);
  }
  struct Shape { const char* name; int rows, k; };
  Shape shapes[] = {{"qkv", 7168, 5120}, {"o", 5120, 5120}, {"gate/up", 27648, 5120},
                    {"down", 5120, 13824}};
  const int G = 128, TMAX = 2048;  // groups of 128 (gsh 7)
  bf16 *x, *xp, *wd;
  float *y0, *y1;
  CK(cudaMalloc(&x, (size_t)TMAX * 13824 * 2));
  CK(cudaMalloc(&xp, (size_t)TMAX * 13824 * 2));
  CK(cudaMalloc(&wd, (size_t)27648 * 5120 * 2));
  CK(cudaMalloc(&y0, (size_t)TMAX * 27648 * 4));
  CK(cudaMalloc(&y1, (size_t)TMAX * 27648 * 4));
  fill_bf<<<1024, 256>>>(x, (size_t)TMAX * 13824, 11, 1.f, 0.f);
  const float one = 1.f, zero = 0.f;
  if (argc > 3) {  // one launch of variant argv[2] over shape argv[3] (for a profiler)
    for (auto& v : wsv)  // [argv[4]: its k splits]
      for (auto& s : shapes)
        if (!strcmp(v.name, argv[2]) && !strcmp(s.name, argv[3])) {
          W w = make_w(s.rows, s.k, G, 5, 0);
          for (int i = 0; i < 2; i++)
            run_ws(v, argc > 4 ? atoi(argv[4]) : 1, x, xp, w, y1, toks[0], s.rows, s.k, 0);
        }
    for (auto& v : vars)
      for (auto& s : shapes)
        if (!strcmp(v.name, argv[2]) && !strcmp(s.name, argv[3])) {
          W w = make_w(s.rows, s.k, G, 5, 0);
          for (int i = 0; i < 2; i++)
            v.f<<<dim3((toks[0] + v.bn - 1) / v.bn, s.rows / (64 * v.wgs)), 128 * v.wgs,
                  (v.ns * W4GG_STAGE(v.bn, v.wgs) + 1024)>>>(xp, w.codes, w.sz, y1, toks[0], s.rows, s.k, 7);
        }
    CK(cudaDeviceSynchronize());
    return 0;
  }
  // Correctness against the cuBLAS path, over symmetric and random zero points, groups of 128,
  // 64, 32 and all of k (gsh 30), with a partial token tile.
  struct Gk { int group, gsh; GgFn w1, w2; };
  Gk gks[] = {{128, 7, w4gg_w1_g128, w4gg_w2_g128}, {64, 6, w4gg_w1_g64, w4gg_w2_g64},
              {32, 5, w4gg_w1_g32, w4gg_w2_g32}, {5120, 30, w4gg_w1_g128, w4gg_w2_g128}};
  for (GgFn f : {w4gg_w1_g64, w4gg_w1_g32, w4gg_w2_g64, w4gg_w2_g32, w4gg_w1_g128_z8,
                 w4gg_w1_g64_z8, w4gg_w2_g128_z8, w4gg_w2_g64_z8})
    CK(cudaFuncSetAttribute((const void*)f, cudaFuncAttributeMaxDynamicSharedMemorySize, 227 * 1024));
  for (int asym = 0; asym < 2; asym++)
    for (auto& gk : gks) {
      W w = make_w(5120, 5120, gk.group, 99, asym);
      int T = 200;
      dequant_w4_packed_bf16<<<1024, 256>>>(w.codes, w.sz, wd, 5120, 5120, gk.group);
      gemm_ex(handle, 1, 0, 5120, T, 5120, &one, wd, 14, 5120, x, 14, 5120, &zero, y0, 0, 5120, 68, -1);
      w4gg_permute<<<1024, 256>>>((const uint4*)x, (uint4*)xp, (long long)T * 5120 / 32);
      for (int wgs = 1; wgs <= 2; wgs++) {
        CK(cudaMemset(y1, 0xff, (size_t)T * 5120 * 4));
        (wgs == 1 ? gk.w1 : gk.w2)<<<dim3((T + 63) / 64, 5120 / (64 * wgs)), 128 * wgs,
                                     (wgs == 1 ? 4 : 3) * W4GG_STAGE(64, wgs) + 1024>>>(
            xp, w.codes, w.sz, y1, T, 5120, 5120, gk.gsh);
        CK(cudaDeviceSynchronize());
        double rm, md = max_diff(y0, y1, (size_t)T * 5120, &rm);
        printf("check %s zero points, group %d, %d tokens, w%d: max |diff| %.3g (max |y| %.3g)\n",
               asym ? "random" : "8", gk.group, T, wgs, md, rm);
      }
      for (int wgs = 1; !asym && gk.group <= 128 && gk.group >= 64 && wgs <= 2; wgs++) {
        GgFn f = gk.group == 128 ? (wgs == 1 ? w4gg_w1_g128_z8 : w4gg_w2_g128_z8)
                                 : (wgs == 1 ? w4gg_w1_g64_z8 : w4gg_w2_g64_z8);
        CK(cudaMemset(y1, 0xff, (size_t)T * 5120 * 4));
        f<<<dim3((T + 63) / 64, 5120 / (64 * wgs)), 128 * wgs,
            (wgs == 1 ? 4 : 3) * W4GG_STAGE(64, wgs) + 1024>>>(xp, w.codes, w.szs, y1, T, 5120,
                                                              5120, gk.gsh);
        CK(cudaDeviceSynchronize());
        double rm, md = max_diff(y0, y1, (size_t)T * 5120, &rm);
        printf("check z8 scales, group %d, w%d: max |diff| %.3g (max |y| %.3g)\n", gk.group, wgs,
               md, rm);
      }
      for (auto& v : wsv) {  // the warp-specialized GEMM, its group's and zero points' variants
        if (v.gk * 16 != gk.group || (asym && v.z8)) continue;
        for (int splits = 1; splits <= 2; splits++) {
          CK(cudaMemset(y1, 0xff, (size_t)T * 5120 * 4));
          run_ws(v, splits, x, xp, w, y1, T, 5120, 5120, 0);
          CK(cudaDeviceSynchronize());
          double rm, md = max_diff(y0, y1, (size_t)T * 5120, &rm);
          printf("check %s zero points, group %d, %s, %d splits: max |diff| %.3g (max |y| %.3g)\n",
                 asym ? "random" : "8", gk.group, v.name, splits, md, rm);
        }
      }
      free_w(w);
    }
  for (int T : toks) {
    printf("\n%d tokens (us a launch; TFLOP/s)\n", T);
    for (auto& s : shapes) {
      double bytes = (double)s.rows * s.k * (0.5 + 4.0 / G);
      int copies = (int)std::max(2.0, std::ceil(400e6 / bytes));
      std::vector<W> ws;
      for (int i = 0; i < copies; i++) ws.push_back(make_w(s.rows, s.k, G, 1000 + 17 * i + s.rows, 0));
      double flop = 2.0 * T * s.rows * s.k;
      double tb = time_launches([&](int i) {
        W& w = ws[i % copies];
        dequant_w4_packed_bf16<<<(int)std::min((long long)s.rows / 16 * (s.k / 64) / 8 + 1,
                                               64LL * sms), 256, 0, st>>>(w.codes, w.sz, wd,
                                                                         s.rows, s.k, G);
        gemm_ex(handle, 1, 0, s.rows, T, s.k, &one, wd, 14, s.k, x, 14, s.k, &zero, y0, 0,
                s.rows, 68, -1);
      }, copies, st);
      double tp = time_launches([&](int) {
        w4gg_permute<<<1024, 256, 0, st>>>((const uint4*)x, (uint4*)xp, (long long)T * s.k / 32);
      }, 1, st);
      printf("%-8s dequant + cuBLAS %7.1f (%5.0f)  permute %5.1f", s.name, tb, flop / tb * 1e-6, tp);
      for (auto& v : vars) {
        double tv = time_launches([&](int i) {
          W& w = ws[i % copies];
          v.f<<<dim3((T + v.bn - 1) / v.bn, s.rows / (64 * v.wgs)), 128 * v.wgs,
                (v.ns * W4GG_STAGE(v.bn, v.wgs) + 1024), st>>>(xp, w.codes, w.sz, y1, T, s.rows, s.k, 7);
        }, copies, st);
        printf("  %s %7.1f (%5.0f)", v.name, tv, flop / tv * 1e-6);
      }
      for (int wgs = 1; wgs <= 2; wgs++) {  // the strip-major scales without zero points
        GgFn f = wgs == 1 ? w4gg_w1_g128_z8 : w4gg_w2_g128_z8;
        double tv = time_launches([&](int i) {
          W& w = ws[i % copies];
          f<<<dim3((T + 63) / 64, s.rows / (64 * wgs)), 128 * wgs,
              (wgs == 1 ? 4 : 3) * W4GG_STAGE(64, wgs) + 1024, st>>>(xp, w.codes, w.szs, y1, T,
                                                                     s.rows, s.k, 7);
        }, copies, st);
        printf("  w%d z8 %7.1f", wgs, tv);
      }
      double ts = time_launches([&](int) {
        w4ws_stage_x<<<1024, 256, 0, st>>>((const uint4*)x, (uint4*)xp, (float4*)y1, T, s.k, 128,
                                           s.rows, 0);
      }, 1, st);
      double ts64 = time_launches([&](int) {
        w4ws_stage_x<<<1024, 256, 0, st>>>((const uint4*)x, (uint4*)xp, (float4*)y1, T, s.k, 64,
                                           s.rows, 0);
      }, 1, st);
      printf("\n%-8s stage_x %5.1f (n64 %5.1f)", "", ts, ts64);
      for (auto& v : wsv) {
        if (v.gk != 8) continue;
        for (int splits = 1; splits <= 2; splits++) {
          double tv = time_launches([&](int i) {
            run_ws(v, splits, x, xp, ws[i % copies], y1, T, s.rows, s.k, st);
          }, copies, st);
          printf("  %s/%d %7.1f (%5.0f)", v.name, splits, tv, flop / tv * 1e-6);
        }
      }
      printf("\n");
      for (auto& w : ws) free_w(w);
    }
  }
  CK(cudaDeviceSynchronize());
  return 0;
}
