package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuCtxGetDevice;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuFuncGetAttribute;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleGetGlobal;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import jcuda.Pointer;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;

/**
 * Typed launchers for the kernels of {@code kernels.fatbin} (module {@code cuda/}). Each method
 * states the kernel's shapes; the grid follows the launch comment in the {@code .cu} file.
 * Launches go to one stream and are asynchronous.
 */
public final class Kernels implements AutoCloseable {

  static final String FATBIN = "/io/redress/cuda/kernels.fatbin";

  private final CUmodule module = new CUmodule();
  private final CUstream stream;
  private final PdlLauncher pdl; // null: plain launches
  private final CUfunction embedding;
  private final CUfunction addRmsnorm;
  private final CUfunction allreduceAddRmsnorm;
  private final CUfunction qkvRopeCache;
  private final CUfunction qkvRopeCacheFp8;
  private final CUfunction attention;
  private final CUfunction attentionGqa;
  private final CUfunction attentionMma64;
  private final CUfunction attentionMma128;
  private final CUfunction attentionMma64Fp8;
  private final CUfunction attentionMma128Fp8;
  /**
   * The tensor-core decode attention's entries (attention_mma.cu), by twin ({@link DecodeMma}
   * ordinal), cache (bf16, FP8) and head dim (64, 128); null where none exists (deep over FP8).
   */
  private final DecodeEntry[][][] decodeEntries =
      new DecodeEntry[DecodeMma.values().length][2][2];
  private final CUfunction attentionGqaFp8;
  /** {@code redress.cuda.gqaAttention=false}: many-token steps keep the one-block kernel. */
  private final boolean gqaAttention =
      !"false".equals(System.getProperty("redress.cuda.gqaAttention"));
  private final CUfunction attentionFp8;
  private final CUfunction siluMul;
  private final CUfunction siluMulBf16In;
  private final CUfunction sample;
  private final CUfunction fillNormal;
  private final CUfunction gemv;
  private final CUfunction gemvPick;
  private final CUfunction attentionSplit;
  private final CUfunction attentionGqaSplit;
  private final CUfunction attentionGqaSplitFp8;
  private final CUfunction gemvQkvRope;
  private final CUfunction gemvSilu;
  private final CUfunction gemvNormed;
  private final CUfunction gemvResidual;
  private final CUfunction gemvQkvRopeTp;
  private final CUfunction gemvSiluTp;
  private final CUfunction gemvNormedTp;
  private final CUfunction gemvPush;
  private final CUfunction tpSignal;
  private final CUfunction tpGatherLogits;
  private final W4Variant w4Mma1x1;
  private final W4Variant w4Mma2x1;
  private final W4Variant w4Mma2x2;
  private final W4Variant w4Mma4x1;
  private final CUfunction[] w4Gemm = new CUfunction[6]; // 2, 4, 8 n-tiles; then their _g64
  private final CUfunction[] w4QkvRope; // [g64 ? 1 : 0], as for the two below
  private final CUfunction[] w4Silu;
  private final CUfunction[] w4Residual;
  private final CUfunction[] w4QkvRopeMany; // the many-token twins of the three above
  private final CUfunction[] w4SiluMany;
  private final CUfunction[] w4ResidualMany;
  /** w4ResidualMany's twins that share a narrow launch's pairs out (W4MSplit), same order. */
  private final CUfunction[] w4ResidualManySplit;
  /**
   * The _szs and _z8 twins of the four many-token families above whose activations arrive by
   * tensor copies (W4MTma in w4a16_fused.cu): [z8 ? 1 : 0].
   */
  private final CUfunction[] w4QkvRopeManyTma;
  private final CUfunction[] w4SiluManyTma;
  private final CUfunction[] w4ResidualManyTma;
  private final CUfunction[] w4ResidualManySplitTma;
  private final CUfunction[] w4Rows;
  private final CUfunction[] w4RowsMany;
  private final CUfunction[] w4QkvRopeT8; // and of the normed two, for up to 8 tokens
  private final CUfunction[] w4SiluT8;
  private final CUfunction fillRandomU32;
  private final CUfunction fillScaleZeroW4;
  private final CUfunction gatherCols;
  private final CUfunction dequantW4;
  private final CUfunction w4ggPermute;
  // w4a16_wgmma.cu: a warpgroup a block, then two; groups of 128 or more, 64, 32; then the
  // same over the strip-major scales without zero points (_z8), groups of 128 or more and 64
  private final CUfunction[] w4gg = new CUfunction[6];
  private final CUfunction[] w4ggZ8 = new CUfunction[4];
  private final CUfunction w4wsStageX;
  private final CUfunction[] w4ws = new CUfunction[4];
  private final CUfunction[] w4ws64 = new CUfunction[4];
  private final TensorMaps tensorMaps = TensorMaps.available() ? new TensorMaps() : null;
  private final CUfunction dequantW4Packed;
  /**
   * w4_chain's twins (w4ChainFor): groups of 128 or 64, scales with zero points or without
   * (_z8), steps of one token (_one) or more.
   */
  private final CUfunction[] w4Chains = new CUfunction[8];
  private final CUfunction w4ZerosNot8;
  private final CUfunction layers64;
  private final CUfunction layers128;
  private final int layersSmem64;
  private final int layersSmem128;
  private final CUfunction w4ChainScales;
  /**
   * w4_chain's consumer warps, input pairs a stage, ring stages and warp-sum buffers
   * (w4_chain_geometry).
   */
  private final int chainWarps;
  private final int chainPairs;
  private final int chainStages;
  private final int chainRed;
  /** w4_chain's static shared memory, which shares the opt-in with its dynamic. */
  private final int chainStatic;
  /**
   * Dynamic shared memory of the many-token W4 kernels (w4m_smem, W4M_SMEM in w4a16_fused.cu):
   * each warp's two stages of activations, copied by cp.async.
   */
  private final int w4mSmem;
  /** The _tma twins' (w4m_tma_smem): each warp's two boxes of activations, 1,024-aligned. */
  private final int w4mTmaSmem;
  private final int sms;
  private final int maxSmemOptin;
  private final int ccMajor;
  private final Map<Occupancy, Integer> resident = new HashMap<>();
  private final Map<CUfunction, Integer> smemAllowed = new HashMap<>();

  public Kernels(CUstream stream) {
    this.stream = stream;
    cuModuleLoadData(module, fatbin());
    embedding = function("embedding_bf16");
    addRmsnorm = function("add_rmsnorm_bf16");
    allreduceAddRmsnorm = function("allreduce_add_rmsnorm_bf16");
    qkvRopeCache = function("qkv_rope_cache_bf16");
    qkvRopeCacheFp8 = function("qkv_rope_cache_fp8");
    attention = function("paged_attention_bf16");
    attentionGqa = function("paged_attention_gqa_bf16");
    attentionMma64 = function("paged_attention_mma_hd64_bf16");
    attentionMma128 = function("paged_attention_mma_hd128_bf16");
    // Above 48 KB of dynamic shared memory needs the opt-in, set here (outside any capture).
    allowSmem(attentionMma64, mmaSmem(64, 8));
    allowSmem(attentionMma128, mmaSmem(128, 8));
    attentionMma64Fp8 = function("paged_attention_mma_hd64_fp8");
    attentionMma128Fp8 = function("paged_attention_mma_hd128_fp8");
    allowSmem(attentionMma64Fp8, mmaSmemFp8(64, 8));
    allowSmem(attentionMma128Fp8, mmaSmemFp8(128, 8));
    // dmma_stages: each twin's tile stages, in DecodeMma's order.
    int[] stages = deviceInts("dmma_stages", DecodeMma.values().length);
    for (DecodeMma twin : DecodeMma.values()) {
      for (int fp8 = 0; fp8 < 2; fp8++) {
        for (int hd = 0; hd < 2; hd++) {
          if (fp8 == 1 && twin == DecodeMma.DEEP) {
            continue; // no deep twin over FP8
          }
          int headDim = 64 << hd;
          CUfunction f = function("paged_attention_decode_mma_hd" + headDim + twin.infix
              + (fp8 == 1 ? "_fp8" : "_bf16"));
          int smem = decodeMmaSmem(headDim, fp8 == 1, stages[twin.ordinal()], twin.warps);
          allowSmem(f, smem);
          decodeEntries[twin.ordinal()][fp8][hd] = new DecodeEntry(f, smem);
        }
      }
    }
    attentionGqaFp8 = function("paged_attention_gqa_fp8");
    attentionFp8 = function("paged_attention_fp8");
    siluMul = function("silu_mul_bf16");
    siluMulBf16In = function("silu_mul_bf16in");
    sample = function("sample_f32");
    fillNormal = function("fill_normal_bf16");
    gemv = function("gemv_bf16");
    gemvPick = function("gemv_pick_bf16");
    attentionSplit = function("paged_attention_split_bf16");
    attentionGqaSplit = function("paged_attention_gqa_split_bf16");
    attentionGqaSplitFp8 = function("paged_attention_gqa_split_fp8");
    gemvQkvRope = function("gemv_rmsnorm_qkv_rope_bf16");
    gemvSilu = function("gemv_rmsnorm_silu_bf16");
    gemvNormed = function("gemv_rmsnorm_bf16");
    gemvResidual = function("gemv_residual_bf16");
    gemvQkvRopeTp = function("gemv_rmsnorm_qkv_rope_tp_bf16");
    gemvSiluTp = function("gemv_rmsnorm_silu_tp_bf16");
    gemvNormedTp = function("gemv_rmsnorm_tp_bf16");
    gemvPush = function("gemv_push_bf16");
    tpSignal = function("tp_signal");
    tpGatherLogits = function("tp_gather_logits");
    // As instantiated at the end of w4a16.cu: n-tiles, strips, pairs per stage, activations
    // with the weights, cp.async ring depth (0: the register pipeline).
    w4Mma1x1 = new W4Variant(function("w4a16_mma_1x1"), 1, 1, 4, false, 0);
    w4Mma2x1 = new W4Variant(function("w4a16_mma_2x1"), 2, 1, 1, true, 4);
    w4Mma2x2 = new W4Variant(function("w4a16_mma_2x2"), 2, 2, 1, true, 4);
    w4Mma4x1 = new W4Variant(function("w4a16_mma_4x1"), 4, 1, 1, true, 4);
    for (int i = 0; i < 6; i++) {
      int tiles = 2 << (i % 3);
      w4Gemm[i] = function("w4a16_gemm_nt" + tiles + (i < 3 ? "" : "_g64"));
      allowSmem(w4Gemm[i], w4gSmem(tiles));
    }
    w4QkvRope = new CUfunction[] {function("w4_rmsnorm_qkv_rope"),
        function("w4_rmsnorm_qkv_rope_g64")};
    w4Silu = new CUfunction[] {function("w4_rmsnorm_silu"), function("w4_rmsnorm_silu_g64")};
    w4Residual = new CUfunction[] {function("w4_residual"), function("w4_residual_g64")};
    // The many-token families: group 32, groups of 64 and more, and the _szs and _z8 twins
    // reading the strip-major scales, with zero points or without (w4PickMany).
    w4QkvRopeMany = new CUfunction[] {function("w4_qkv_rope_many"),
        function("w4_qkv_rope_many_g64"), function("w4_qkv_rope_many_szs"),
        function("w4_qkv_rope_many_z8")};
    w4SiluMany = new CUfunction[] {function("w4_silu_many"), function("w4_silu_many_g64"),
        function("w4_silu_many_szs"), function("w4_silu_many_z8")};
    w4ResidualManySplit = new CUfunction[] {function("w4_residual_many_split"),
        function("w4_residual_many_g64_split"), function("w4_residual_many_szs_split"),
        function("w4_residual_many_z8_split")};
    w4ResidualMany = new CUfunction[] {function("w4_residual_many"),
        function("w4_residual_many_g64"), function("w4_residual_many_szs"),
        function("w4_residual_many_z8")};
    w4Rows = new CUfunction[] {function("w4_rows"), function("w4_rows_g64")};
    w4RowsMany = new CUfunction[] {function("w4_rows_many"), function("w4_rows_many_g64")};
    w4mSmem = deviceInts("w4m_smem", 1)[0];
    w4QkvRopeManyTma = new CUfunction[] {function("w4_qkv_rope_many_szs_tma"),
        function("w4_qkv_rope_many_z8_tma")};
    w4SiluManyTma = new CUfunction[] {function("w4_silu_many_szs_tma"),
        function("w4_silu_many_z8_tma")};
    w4ResidualManyTma = new CUfunction[] {function("w4_residual_many_szs_tma"),
        function("w4_residual_many_z8_tma")};
    w4ResidualManySplitTma = new CUfunction[] {function("w4_residual_many_szs_split_tma"),
        function("w4_residual_many_z8_split_tma")};
    w4mTmaSmem = deviceInts("w4m_tma_smem", 1)[0];
    // w4a16 runs them outside the fused path too: their shared memory allowed up front.
    for (CUfunction f : w4RowsMany) {
      allowSmem(f, w4mSmem);
    }
    w4QkvRopeT8 = new CUfunction[] {function("w4_qkv_rope_t8"), function("w4_qkv_rope_t8_g64")};
    w4SiluT8 = new CUfunction[] {function("w4_silu_t8"), function("w4_silu_t8_g64")};
    fillRandomU32 = function("fill_random_u32");
    fillScaleZeroW4 = function("fill_scale_zero_w4");
    gatherCols = function("gather_cols_bf16");
    dequantW4 = function("dequant_w4_bf16");
    w4ggPermute = function("w4gg_permute");
    for (int i = 0; i < w4gg.length; i++) {
      w4gg[i] = function("w4gg_w" + (i / 3 + 1) + "_g" + (128 >> (i % 3)));
      allowSmem(w4gg[i], w4ggSmem(i / 3 + 1));
    }
    for (int i = 0; i < w4ggZ8.length; i++) {
      w4ggZ8[i] = function("w4gg_w" + (i / 2 + 1) + "_g" + (128 >> (i % 2)) + "_z8");
      allowSmem(w4ggZ8[i], w4ggSmem(i / 2 + 1));
    }
    w4wsStageX = function("w4ws_stage_x");
    for (int i = 0; i < w4ws.length; i++) { // {g128, g64} x {with zero points, _z8}
      w4ws[i] = function("w4ws_n128_g" + (128 >> (i % 2)) + (i >= 2 ? "_z8" : ""));
      w4ws64[i] = function("w4ws_n64_g" + (128 >> (i % 2)) + (i >= 2 ? "_z8" : ""));
    }
    dequantW4Packed = function("dequant_w4_packed_bf16");
    for (int t = 0; t < w4Chains.length; t++) {
      w4Chains[t] = function("w4_chain" + ((t & 1) != 0 ? "_g64" : "")
          + ((t & 2) != 0 ? "_z8" : "") + ((t & 4) != 0 ? "_one" : ""));
    }
    w4ChainScales = function("w4_chain_scales");
    w4ZerosNot8 = function("w4_zeros_not8");
    CUdevice device = new CUdevice();
    cuCtxGetDevice(device);
    sms = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    maxSmemOptin = attribute(device,
        CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    ccMajor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    pdl = PdlLauncher.create(CudaDevice.address(stream), ccMajor);
    if (ccMajor == 9) { // elsewhere they are empty, and sm_80 allows a block 163 KB, not 165
      for (CUfunction f : w4ws) {
        allowSmem(f, W4WS_SMEM);
      }
      for (CUfunction f : w4ws64) {
        allowSmem(f, W4WS64_SMEM);
      }
    }
    int[] chain = deviceInts("w4_chain_geometry", 4);
    chainWarps = chain[0];
    layers64 = function("layers_hd64_bf16");
    layers128 = function("layers_hd128_bf16");
    layersSmem64 = deviceInts("layers_hd64_bf16_smem", 1)[0];
    layersSmem128 = deviceInts("layers_hd128_bf16_smem", 1)[0];
    chainPairs = chain[1];
    chainStages = chain[2];
    chainRed = chain[3];
    chainStatic = staticSmem(w4Chains[0]);
  }

  /** n ints of the module's __device__ array {@code name}. */
  private int[] deviceInts(String name, int n) {
    CUdeviceptr at = new CUdeviceptr();
    cuModuleGetGlobal(at, new long[1], module, name);
    int[] out = new int[n];
    cuMemcpyDtoH(Pointer.to(out), at, 4L * n);
    return out;
  }

  /** Whether there are kernels to load: packaged, or named by {@code -Dredress.cuda.fatbin}. */
  static boolean built() {
    String file = System.getProperty("redress.cuda.fatbin");
    return file != null ? java.nio.file.Files.isRegularFile(java.nio.file.Path.of(file))
        : Kernels.class.getResource(FATBIN) != null;
  }

  /**
   * The packaged kernels, or the fatbin file named by {@code -Dredress.cuda.fatbin} (to time a
   * kernel variant built with other flags against the packaged one, in one process each).
   */
  private static byte[] fatbin() {
    String file = System.getProperty("redress.cuda.fatbin");
    try {
      if (file != null) {
        return java.nio.file.Files.readAllBytes(java.nio.file.Path.of(file));
      }
      try (InputStream in = Kernels.class.getResourceAsStream(FATBIN)) {
        if (in == null) {
          throw new IllegalStateException("kernels.fatbin missing: build with nvcc installed");
        }
        return in.readAllBytes();
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + (file != null ? file : FATBIN), e);
    }
  }

  private static int attribute(CUdevice device, int attribute) {
    int[] v = new int[1];
    cuDeviceGetAttribute(v, attribute, device);
    return v[0];
  }

  private CUfunction function(String name) {
    CUfunction f = new CUfunction();
    cuModuleGetFunction(f, module, name);
    return f;
  }

  private void launch(CUfunction f, int gx, int gy, int block, long[]... args) {
    launch(f, gx, gy, 1, block, 0, args);
  }

  /**
   * Launches f on this stream, with programmatic dependent launch where the GPU allows
   * ({@link PdlLauncher}). args: one array of 64-bit words per kernel parameter (p, i, f).
   */
  private void launch(CUfunction f, int gx, int gy, int gz, int block, int smem,
      long[]... args) {
    if (pdl != null) {
      pdl.launch(CudaDevice.address(f), gx, gy, gz, block, smem, args);
      return;
    }
    Pointer[] params = new Pointer[args.length];
    for (int a = 0; a < args.length; a++) {
      params[a] = Pointer.to(args[a]);
    }
    cuLaunchKernel(f, gx, gy, gz, block, 1, 1, smem, stream, Pointer.to(params), null);
  }

  /** Whether launches use programmatic dependent launch. */
  boolean pdl() {
    return pdl != null;
  }

  // Kernel parameters as 64-bit little-endian words: a 4-byte scalar reads the low half.
  private static long[] p(CUdeviceptr ptr) {
    return new long[] {ptr == null ? 0L : CudaDevice.address(ptr)};
  }

  private static long[] i(int v) {
    return new long[] {v & 0xffffffffL};
  }

  private static long[] f(float v) {
    return new long[] {Float.floatToRawIntBits(v) & 0xffffffffL};
  }

  /**
   * x (tokens, hidden) fp32 = table[ids] (bf16 rows); a negative id -1 - r stands for
   * sampled[r], the id the step before sampled in row r (a pipelined step's fed token).
   */
  public void embedding(CUdeviceptr ids, CUdeviceptr sampled, CUdeviceptr table, CUdeviceptr x,
      int hidden, int tokens) {
    launch(embedding, tokens, 1, 256, p(ids), p(sampled), p(table), p(x), i(hidden));
  }

  /**
   * For each output row r (source row rows[r], or r when rows is null): x[src] += delta[src]
   * when delta is given, then out[r] = bf16(rmsnorm(x[src]) * w).
   */
  public void addRmsnorm(CUdeviceptr x, CUdeviceptr delta, CUdeviceptr rows, CUdeviceptr w,
      CUdeviceptr out, int hidden, float eps, int numRows) {
    launch(addRmsnorm, numRows, 1, 1024, p(x), p(delta), p(rows), p(w), p(out), i(hidden),
        f(eps));
  }

  /**
   * Tensor parallelism (allreduce.cu): for each output row r (source row rows[r], or r when rows
   * is null), x[src] += the sum of every rank's partial row in rank order (x[src] = the sum
   * without {@code accumulate}), then, when w is given, out[r] = bf16(rmsnorm(x[src]) * w). {@code parts} and {@code signals} hold the
   * ranks' device addresses ({@link PeerAllReduce#MAX_RANKS} entries); every rank must launch
   * it with the same numRows. hidden % 4 == 0.
   */
  void allreduceAddRmsnorm(CUdeviceptr x, long[] parts, long[] signals, CUdeviceptr counters,
      int rank, int ranks, boolean accumulate, CUdeviceptr rows, CUdeviceptr w, CUdeviceptr out,
      int hidden, float eps, int numRows) {
    // One block per SM at most: a block waits for its peers, so all must be resident.
    int grid = Math.min(numRows, Math.min(sms, PeerAllReduce.MAX_BLOCKS));
    launch(allreduceAddRmsnorm, grid, 1, 1024, p(x), parts, signals,
        p(counters), i(rank), i(ranks), i(accumulate ? 1 : 0), p(rows), p(w), p(out), i(hidden),
        f(eps), i(numRows));
  }

  /** Bias + RoPE on the fused fp32 QKV rows; Q to qOut (bf16), K and V to the cache slots. */
  public void qkvRopeCache(CUdeviceptr qkv, CUdeviceptr bias, CUdeviceptr positions,
      CUdeviceptr slots, CUdeviceptr qOut, CUdeviceptr kCache, CUdeviceptr vCache, int heads,
      int kvHeads, int headDim, float theta, int tokens) {
    launch(qkvRopeCache, tokens, heads + 2 * kvHeads, 64, p(qkv), p(bias), p(positions), p(slots), p(qOut),
        p(kCache), p(vCache), i(heads), i(kvHeads), i(headDim), f(theta));
  }

  /**
   * {@link #qkvRopeCache} into an FP8 cache: K and V rows e4m3 in kCache/vCache (slots,
   * kvHeads * headDim) bytes, one fp16 scale per row and KV head in kScale/vScale (slots,
   * kvHeads). headDim <= 128.
   */
  public void qkvRopeCacheFp8(CUdeviceptr qkv, CUdeviceptr bias, CUdeviceptr positions,
      CUdeviceptr slots, CUdeviceptr qOut, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, int heads, int kvHeads, int headDim, float theta,
      int tokens) {
    if (headDim > 128 || headDim % 2 != 0) {
      throw new IllegalArgumentException("the FP8 cache writer supports even head_dim <= 128");
    }
    launch(qkvRopeCacheFp8, tokens, heads + 2 * kvHeads, 64, p(qkv), p(bias), p(positions),
        p(slots), p(qOut), p(kCache), p(vCache), p(kScale), p(vScale), i(heads), i(kvHeads),
        i(headDim), f(theta));
  }

  /** Paged causal attention of each token over its sequence's cached context. */
  public void attention(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr tokenSeq, CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks,
      int blockSize, CUdeviceptr out, int heads, int kvHeads, int headDim, float scale,
      int tokens) {
    attention(attention, q, kCache, vCache, null, null, tokenSeq, positions, blockTables,
        maxBlocks, blockSize, out, heads, kvHeads, headDim, scale, tokens);
  }

  /** Whether {@link #attentionMma} takes these heads (attention_mma.cu). */
  public static boolean mmaFits(int heads, int kvHeads, int headDim) {
    return (headDim == 64 || headDim == 128) && heads % kvHeads == 0
        && heads / kvHeads <= 8;
  }

  /** What both tensor-core attention kernels take ({@link #mmaFits}), or a clear error. */
  private static void checkMma(int heads, int kvHeads, int headDim) {
    if (!mmaFits(heads, kvHeads, headDim)) {
      throw new IllegalArgumentException("the tensor-core attention takes head_dim 64 or 128"
          + " and at most 8 query heads per KV head, not " + headDim + " and " + heads + "/"
          + kvHeads);
    }
  }

  /**
   * {@link #attention} on the tensor cores, for steps of prompt chunks: a block per 16
   * consecutive tokens and KV head shares each staged tile of 64 keys between them
   * (attention_mma.cu). Agrees with {@link #attention} to bf16 rounding ({@link #mmaFits}).
   */
  public void attentionMma(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr tokenSeq, CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks,
      int blockSize, CUdeviceptr out, int heads, int kvHeads, int headDim, float scale,
      int tokens) {
    attentionMma(q, kCache, vCache, null, null, tokenSeq, positions, blockTables, maxBlocks,
        blockSize, out, heads, kvHeads, headDim, scale, tokens);
  }

  /**
   * {@link #attentionMma}; kScale/vScale non-null: over an FP8 cache ({@link #qkvRopeCacheFp8}'s
   * layout), each staged tile converted once, times its scales, to bf16 (the decode kernels'
   * values), so the same inputs and output as {@link #attentionFp8}, to bf16 rounding.
   */
  public void attentionMma(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, int tokens) {
    checkMma(heads, kvHeads, headDim);
    int group = heads / kvHeads;
    long[][] tail = {p(tokenSeq), p(positions), p(blockTables), i(maxBlocks), i(blockSize),
        p(out), i(tokens), i(heads), i(kvHeads), f(scale)};
    if (kScale == null) {
      launch(headDim == 64 ? attentionMma64 : attentionMma128, (tokens + 15) / 16, kvHeads, 1,
          32 * group, mmaSmem(headDim, group),
          concat(new long[][] {p(q), p(kCache), p(vCache)}, tail));
    } else {
      launch(headDim == 64 ? attentionMma64Fp8 : attentionMma128Fp8, (tokens + 15) / 16,
          kvHeads, 1, 32 * group, mmaSmemFp8(headDim, group),
          concat(new long[][] {p(q), p(kCache), p(vCache), p(kScale), p(vScale)}, tail));
    }
  }

  /**
   * Dynamic shared memory of the tensor-core attention (PmmaSmem, attention_mma.cu): two
   * stages of 64 K and 64 V rows padded by 8 values, 16 sequences and positions, then each of
   * the {@code group} warps' 16 Q rows, padded alike.
   */
  private static int mmaSmem(int headDim, int group) {
    return (2 * 2 * 64 + group * 16) * (headDim + 8) * 2 + 2 * 16 * 4;
  }

  /**
   * Dynamic shared memory of its FP8 twin (PmmaSmemFp8): one bf16 K and V tile, two stages of
   * 64 K and 64 V rows as stored (a byte a value) with their scales' words and halves, the
   * sequences and positions, then the Q rows as above.
   */
  private static int mmaSmemFp8(int headDim, int group) {
    return (2 * 64 + group * 16) * (headDim + 8) * 2 + 2 * 2 * 64 * headDim + 2 * 2 * 64 * 4
        + 2 * 64 * 4 + 2 * 16 * 4;
  }

  /**
   * Decode attention on the tensor cores (attention_mma.cu, paged_attention_decode_mma_*): a
   * block per (token, KV head, split) whose MMA rows are the KV head's query heads, so each
   * K/V row is read once for the group and multiplied by tensor-core fragments rather than one
   * FMA per score and output dim. {@code split}: each context cut as {@link #attentionSplit}
   * cuts it, with the same scratch (counters: the first tokens * kvHeads); else a block per
   * (token, KV head) takes its whole context and the scratch may be null. kScale/vScale
   * non-null: an FP8 cache ({@link #qkvRopeCacheFp8}'s layout). Same inputs and output as
   * {@link #attention} / {@link #attentionFp8}, to bf16 rounding ({@link #mmaFits}).
   */
  public void attentionDecodeMma(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, CUdeviceptr partO, CUdeviceptr partMl,
      CUdeviceptr counters, int tokens, boolean split) {
    attentionDecodeMma(q, kCache, vCache, kScale, vScale, tokenSeq, positions, blockTables,
        maxBlocks, blockSize, out, heads, kvHeads, headDim, scale, partO, partMl, counters,
        tokens, split, false, false);
  }

  /**
   * {@link #attentionDecodeMma}; {@code earlyNext}: the next kernel may launch as this one
   * starts (before a {@link #w4Chain}, whose blocks then load their first weights meanwhile);
   * {@code oldKeys}: every key before each token's own was written before the step (one token
   * a sequence), so the first tile's rows of them are staged before the wait for the kernel
   * before.
   */
  public void attentionDecodeMma(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, CUdeviceptr partO, CUdeviceptr partMl,
      CUdeviceptr counters, int tokens, boolean split, boolean earlyNext, boolean oldKeys) {
    // Split contexts (a block per 128 keys or more), or one block an SM or fewer: a twin whose
    // shared memory then costs little occupancy, with twice the warps (wide) or deeper stages
    // (DMMA_WIDE_WARPS and DMMA_DEEP_STAGES in attention_mma.cu say what each gained).
    boolean oneWave = !split && (long) tokens * kvHeads <= sms;
    attentionDecodeMma(q, kCache, vCache, kScale, vScale, tokenSeq, positions, blockTables,
        maxBlocks, blockSize, out, heads, kvHeads, headDim, scale, partO, partMl, counters,
        tokens, split, earlyNext, oldKeys, DECODE_WIDE && (split || oneWave) ? DecodeMma.WIDE
            : oneWave && DECODE_DEEP ? DecodeMma.DEEP : DecodeMma.PLAIN);
  }

  /**
   * The tensor-core decode attention's twins (attention_mma.cu's entries): their names' infix
   * and warps (DMMA_WARPS, DMMA_WIDE_WARPS); declared in dmma_stages's order.
   */
  enum DecodeMma {
    PLAIN("", 4), DEEP("_deep", 4), WIDE("_wide", 8);

    final String infix;
    final int warps;

    DecodeMma(String infix, int warps) {
      this.infix = infix;
      this.warps = warps;
    }
  }

  /** A decode attention entry: its function and dynamic shared memory. */
  private record DecodeEntry(CUfunction f, int smem) {}

  /** Fewest keys per split of the split-K attention kernels (SPLIT_MIN_KEYS, attention.cu). */
  private static final int SPLIT_MIN_KEYS = 128;
  /**
   * Fewest keys per split of the wide decode attention ({@code redress.cuda.wideSplitKeys}).
   * One H100, 7B heads at 16 tokens and 256 keys: 9.4 us with 512, 14.1 with 128; 14B GPTQ
   * batch 1 (before the chain) 226 tokens/s with 512, 221-222 with 128.
   */
  private static final int WIDE_SPLIT_KEYS =
      Integer.getInteger("redress.cuda.wideSplitKeys", 512);

  /** {@code redress.cuda.decodeDeep=false}: no deep twin (comparisons). */
  private static final boolean DECODE_DEEP =
      !"false".equals(System.getProperty("redress.cuda.decodeDeep"));
  /** {@code redress.cuda.decodeWide=false}: the deep twin where the wide one would run. */
  private static final boolean DECODE_WIDE =
      !"false".equals(System.getProperty("redress.cuda.decodeWide"));

  /** {@link #attentionDecodeMma} with its twin chosen (FP8 caches: plain or wide). */
  void attentionDecodeMma(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, CUdeviceptr partO, CUdeviceptr partMl,
      CUdeviceptr counters, int tokens, boolean split, boolean earlyNext, boolean oldKeys,
      DecodeMma twin) {
    checkMma(heads, kvHeads, headDim);
    boolean fp8 = kScale != null;
    DecodeMma kind = fp8 && twin == DecodeMma.DEEP ? DecodeMma.PLAIN : twin;
    DecodeEntry e = decodeEntries[kind.ordinal()][fp8 ? 1 : 0][headDim == 64 ? 0 : 1];
    long[][] caches = fp8 ? new long[][] {p(q), p(kCache), p(vCache), p(kScale), p(vScale)}
        : new long[][] {p(q), p(kCache), p(vCache)};
    // The wide twin splits only longer contexts: at a few hundred keys a split's merge costs
    // more than its share of the tiles saves.
    int splitKeys = kind == DecodeMma.WIDE ? WIDE_SPLIT_KEYS : SPLIT_MIN_KEYS;
    launch(e.f(), tokens, kvHeads, split ? ATTENTION_SPLITS : 1, 32 * kind.warps, e.smem(),
        concat(caches, new long[][] {p(tokenSeq), p(positions), p(blockTables), i(maxBlocks),
            i(blockSize), p(out), i(heads), i(kvHeads), f(scale), p(partO), p(partMl),
            p(counters), i(splitKeys), i((earlyNext ? 1 : 0) | (oldKeys ? 2 : 0))}));
  }

  /**
   * Whether {@link #attentionDecodeMma} should split the contexts of {@code tokens} tokens:
   * only while a block per (token, KV head) would leave more than half the SMs idle. Splits of
   * 128 keys cost a merge each: on an H100, 14B heads at 16 tokens (128 blocks) took 19.5 us
   * whole against 26.7 split at 512 keys, 7B heads (64 blocks) 18.8 against 17.3, and 69.5
   * against 47.9 at 2,048 keys ({@code bench gemm --attention}).
   */
  public boolean decodeMmaSplit(int tokens, int kvHeads) {
    return 2L * tokens * kvHeads < sms;
  }

  /**
   * Dynamic shared memory of the tensor-core decode attention (DmmaSmem, attention_mma.cu):
   * bf16 tiles of 16 keys a warp, K and V rows padded by 8 values ({@code stages} of them; over
   * FP8 one, converted from as many stages of the rows as stored, which follow), the warps'
   * merge reusing them, then one int.
   */
  private static int decodeMmaSmem(int headDim, boolean fp8, int stages, int warps) {
    int keys = 16 * warps;
    // the tiles, their rows' K and V scales (FP8), the last split's flag
    int tiles = (fp8 ? 1 : stages) * 2 * keys * (headDim + 8) * 2 + 8 * keys + 16;
    // FP8: the stages of rows as stored, each padded by 16 bytes (the K fragments' banks)
    return fp8 ? tiles + stages * 2 * keys * (headDim + 16) : tiles;
  }

  /** {@link #attention} over an FP8 cache ({@link #qkvRopeCacheFp8}'s layout). */
  public void attentionFp8(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, int tokens) {
    attention(attentionFp8, q, kCache, vCache, kScale, vScale, tokenSeq, positions,
        blockTables, maxBlocks, blockSize, out, heads, kvHeads, headDim, scale, tokens);
  }

  private void attention(CUfunction f, CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, int tokens) {
    checkAttention(headDim, heads, kvHeads);
    // Few tokens (decode): a block per query head keeps the SMs busy; many tokens (prefill):
    // a block per KV head reads each K/V row once for its whole group.
    int perBlock = (long) tokens * kvHeads <= 32 ? 1 : heads / kvHeads;
    // With few blocks, 16 warps per block split each context four times finer.
    int threads = (long) tokens * (heads / perBlock) < 264 ? 512 : 128;
    long[][] common = {p(tokenSeq), p(positions), p(blockTables), i(maxBlocks), i(blockSize),
        p(out), i(heads), i(kvHeads), i(headDim), f(scale), i(perBlock)};
    long[][] head = kScale == null ? new long[][] {p(q), p(kCache), p(vCache)}
        : new long[][] {p(q), p(kCache), p(vCache), p(kScale), p(vScale)};
    if (perBlock > 1 && gqaAttention && gqaFits(headDim, kScale != null)) {
      // Many tokens: a block per (token, KV head) with K rows in registers and V rows staged
      // in shared memory (attention.cu, paged_attention_gqa_*).
      long[][] tail = {p(tokenSeq), p(positions), p(blockTables), i(maxBlocks), i(blockSize),
          p(out), i(heads), i(kvHeads), i(headDim), f(scale)};
      long[][] gqaArgs = java.util.Arrays.copyOf(head, head.length + tail.length);
      System.arraycopy(tail, 0, gqaArgs, head.length, tail.length);
      launch(f == attention ? attentionGqa : attentionGqaFp8, tokens, kvHeads, 128, gqaArgs);
      return;
    }
    long[][] args = java.util.Arrays.copyOf(head, head.length + common.length);
    System.arraycopy(common, 0, args, head.length, common.length);
    launch(f, tokens, heads / perBlock, threads, args);
  }

  /**
   * What the attention kernels take: head_dim <= 128, a multiple of 8, at most 8 query heads
   * per KV head.
   */
  static void checkAttention(int headDim, int heads, int kvHeads) {
    if (headDim > 128 || headDim % 8 != 0 || heads / kvHeads > 8) {
      throw new IllegalArgumentException("the attention kernels take head_dim <= 128, a"
          + " multiple of 8, and up to 8 query heads per KV head; this model has head_dim "
          + headDim + " and " + heads / kvHeads + " query heads per KV head");
    }
  }

  /**
   * Whether the GQA kernels (a block per KV head) take this head size: over an FP8 cache they
   * stage V rows 16 bytes at a time, so rows must be whole 16-byte chunks.
   */
  public static boolean gqaFits(int headDim, boolean fp8) {
    return !fp8 || headDim % 16 == 0;
  }

  /** Largest grid y (and z) dimension: kernels with a row per y index stride past it. */
  static final int MAX_GRID_Y = 65_535;

  /** out (tokens, inter) bf16 = silu(gate) * up from fp32 (tokens, 2 * inter). */
  public void siluMul(CUdeviceptr gateUp, CUdeviceptr out, int inter, int tokens) {
    launch(siluMul, (inter + 1023) / 1024, Math.min(tokens, MAX_GRID_Y), 256, p(gateUp), p(out),
        i(inter), i(tokens));
  }

  /** {@link #siluMul} over a bf16 gateUp (tokens, 2 * inter). */
  public void siluMulBf16In(CUdeviceptr gateUp, CUdeviceptr out, int inter, int tokens) {
    launch(siluMulBf16In, (inter + 1023) / 1024, Math.min(tokens, MAX_GRID_Y), 256, p(gateUp),
        p(out), i(inter), i(tokens));
  }

  /** One sampled id per row of fp32 logits; mask may be null. */
  public void sample(CUdeviceptr logits, int vocab, CUdeviceptr mask, int words,
      CUdeviceptr temperature, CUdeviceptr topK, CUdeviceptr topP, CUdeviceptr uniforms,
      CUdeviceptr out, int rows) {
    launch(sample, rows, 1, 1024, p(logits), i(vocab), p(mask), i(words), p(temperature),
        p(topK), p(topP), p(uniforms), p(out));
  }

  /** Most tokens {@link #gemv} takes. */
  public static final int GEMV_MAX_TOKENS = 8;

  /**
   * Most tokens for which {@link #gemv} beats cuBLAS on the H100 (measured: at 8 tokens it
   * re-reads the activations too often; tensor cores are the way there).
   */
  public static final int GEMV_BEST_TOKENS = 2;

  /**
   * Decode-sized {@code y (tokens, rows) fp32 = x (tokens, k) bf16 . w^T}, w (rows, k) bf16;
   * tokens <= 8 and k % 8 == 0.
   */
  public void gemv(CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, int tokens, int rows, int k) {
    if (tokens > GEMV_MAX_TOKENS || k % 8 != 0) {
      throw new IllegalArgumentException("gemv takes <= 8 tokens and k % 8 == 0");
    }
    launch(gemv, (rows + 7) / 8, 1, 256, p(x), p(w), p(y), i(tokens), i(rows), i(k));
  }

  /** Bytes of {@link #gemvPick}'s scratch: a key a token and a count (gemv.cu). */
  public static final long GEMV_PICK_SCRATCH_BYTES = 8L * GEMV_MAX_TOKENS + 8;

  /**
   * {@link #gemv}, and each token's greedy pick over the rows (the larger value, the lower row
   * on ties: {@link #sample}'s greedy order) into {@code picked} (tokens ints). {@code scratch}:
   * {@link #GEMV_PICK_SCRATCH_BYTES}, zero at first use; each launch leaves it zero.
   */
  public void gemvPick(CUdeviceptr x, CUdeviceptr w, CUdeviceptr y, int tokens, int rows, int k,
      CUdeviceptr scratch, CUdeviceptr picked) {
    if (tokens > GEMV_MAX_TOKENS || k % 8 != 0) {
      throw new IllegalArgumentException("gemv takes <= 8 tokens and k % 8 == 0");
    }
    launch(gemvPick, (rows + 7) / 8, 1, 256, p(x), p(w), p(y), i(tokens), i(rows), i(k),
        p(scratch), p(picked));
  }

  /** Most tokens {@link #w4a16} takes (in slices of {@link #W4_SLICE_TOKENS}). */
  public static final int W4_MAX_TOKENS = 64;
  /** Most tokens of one w4a16 launch (four n-tiles of 8). */
  static final int W4_SLICE_TOKENS = 32;

  /**
   * GPTQ int4 projection for up to 64 tokens on tensor cores: {@code y (tokens, rows) fp32 =
   * x . (scale * (q - zero))^T}, weights in w4a16.cu's layout ({@link CudaWeights.Q4}),
   * unpacked in registers. x is {@code (parts, tokens, k)} bf16 with part p at
   * {@code x + p * xPartStride} elements (0 when the layer is not permuted: x as the model has
   * it); rows from {@code bound1} use part 1, from {@code bound2} part 2. rows % 16 == 0,
   * k % 64 == 0, group % 32 == 0.
   */
  public void w4a16(CUdeviceptr x, long xPartStride, CUdeviceptr codes, CUdeviceptr scaleZero,
      CUdeviceptr y, int tokens, int rows, int k, int group, int bound1, int bound2) {
    checkW4a16(tokens, rows, k, group);
    if (!W4_GEMM || xPartStride != 0 || rows % 32 != 0) {
      w4a16Mma(x, xPartStride, codes, scaleZero, y, tokens, rows, k, group, bound1, bound2);
      return;
    }
    // The fused kernels' GEMV with a plain output (faster than w4a16_mma at every shape up to
    // 16 tokens: 14B gate/up at 16 tokens 43 against 58 us, H100), the GEMM tiling above 16 on
    // layers whose row blocks fill the SMs, and 16-token slices of the fused kernel on narrow
    // ones (the GEMM's 40 to 56 blocks of 8 strips, or 160 to 224 of 2, ran slower than
    // w4a16_mma there: down at 64 tokens 186 and 175 against 127 us; the slices take 106).
    // All three add the same per-warp sums in the same order: a token's bits do not depend on
    // the batch.
    if (tokens >= W4_GEMM_MIN_TOKENS && w4gBlocks(rows) >= sms) {
      w4a16Gemm(x, codes, scaleZero, y, tokens, rows, k, group);
      return;
    }
    for (int t0 = 0; t0 < tokens; t0 += W4M_MAX_TOKENS) {
      int n = Math.min(W4M_MAX_TOKENS, tokens - t0);
      w4Rows(x.withByteOffset(2L * t0 * k), codes, scaleZero, y.withByteOffset(4L * t0 * rows),
          n, rows, k, group);
    }
  }

  /** What {@link #w4a16} and {@link #w4a16Gemm} take, or a clear error. */
  private static void checkW4a16(int tokens, int rows, int k, int group) {
    if (tokens < 1 || tokens > W4_MAX_TOKENS || rows % 16 != 0 || k % 64 != 0
        || group % 32 != 0) {
      throw new IllegalArgumentException("w4a16 takes 1 to " + W4_MAX_TOKENS + " tokens, rows"
          + " a multiple of 16, k of 64 and group of 32 (" + tokens + ", " + rows + ", " + k
          + ", " + group + ")");
    }
  }

  /**
   * {@code y (tokens, rows) fp32 = a . w^T} by the fused kernels' GEMV (w4a16_fused.cu's
   * w4_rows: {@link #w4Residual}'s kernel storing instead of adding), 1 to
   * {@link #W4M_MAX_TOKENS} tokens; rows % 32 == 0, k % 64 == 0, not act-order.
   */
  public void w4Rows(CUdeviceptr a, CUdeviceptr codes, CUdeviceptr scaleZero, CUdeviceptr y,
      int tokens, int rows, int k, int group) {
    if (rows % 32 != 0) {
      throw new IllegalArgumentException("w4Rows takes rows % 32 == 0, not " + rows);
    }
    launchW4Rows(false, a, codes, scaleZero, group, y, tokens, rows, k, null, null, false);
  }

  /**
   * The residual-form fused W4 GEMV over rows / 2 units: {@code out += a . w^T} ({@code add},
   * w4_residual*) or {@code out = a . w^T} (w4_rows*); one n-tile up to {@link #oneTileTokens}
   * tokens (the plain rows: 8), two above.
   * Adding many tokens, over {@code stripScales} where given (the _z8 twin where they hold
   * scales only, {@code z8}).
   */
  private void launchW4Rows(boolean add, CUdeviceptr a, CUdeviceptr codes, CUdeviceptr scaleZero,
      int group, CUdeviceptr out, int tokens, int rows, int k, ResidNorm norm,
      CUdeviceptr stripScales, boolean z8) {
    checkW4Many(tokens, k);
    // the residual kernels switch where the QKV and SiLU ones do (oneTileTokens)
    boolean many = tokens > (add ? oneTileTokens(stripScales != null) : 8);
    CUfunction[] family = add ? (many ? w4ResidualMany : w4Residual)
        : many ? w4RowsMany : w4Rows;
    int twin = add && many && stripScales != null ? (z8 ? 3 : 2) : w4Twin(group);
    CUfunction f = family[twin];
    long[][] args = {p(a), p(codes), p(scaleZero), i(group), i(groupShift(group)), p(out),
        i(tokens), i(rows), i(k), p(norm == null ? null : norm.w()),
        f(norm == null ? 0f : norm.eps()), p(norm == null ? null : norm.h()),
        p(norm == null ? null : norm.groupSums()), p(norm == null ? null : norm.barrier()),
        p(stripScales)};
    if (many) {
      // Only the residual (fused decode) kernels split: the plain rows keep whole groups, the
      // bits of w4a16_gemm.cu's tiling for wider steps.
      long[] xmap = add && stripScales != null ? w4ManyXMap(a, tokens, k) : null;
      if (xmap != null) {
        launchW4Many(w4ResidualManyTma[twin - 2], w4ResidualManySplitTma[twin - 2], xmap,
            rows / 2, k, args);
        return;
      }
      launchW4Many(f, add ? w4ResidualManySplit[twin] : null, rows / 2, k, args);
    } else {
      launchW4Fused(f, rows / 2, 0, args);
    }
  }

  /**
   * {@link #w4a16} by w4a16.cu's kernels (one or two strips a block, the activations loaded per
   * strip): what act-order layers and rows not in whole 32-row pairs of strips take.
   */
  public void w4a16Mma(CUdeviceptr x, long xPartStride, CUdeviceptr codes,
      CUdeviceptr scaleZero, CUdeviceptr y, int tokens, int rows, int k, int group, int bound1,
      int bound2) {
    if (tokens > W4_SLICE_TOKENS) {
      // In slices of 32 tokens: two 32-token launches beat one kernel holding 64 tokens of sums
      // (14B gate/up: 2 x 131 against 428 us, H100). Each token's sums are the same either way.
      for (int t0 = 0; t0 < tokens; t0 += W4_SLICE_TOKENS) {
        w4a16Mma(x.withByteOffset(2L * t0 * k), xPartStride, codes, scaleZero,
            y.withByteOffset(4L * t0 * rows), Math.min(W4_SLICE_TOKENS, tokens - t0), rows, k,
            group, bound1, bound2);
      }
      return;
    }
    int tiles = (tokens + 7) / 8;
    int strips = rows / 16;
    // n-tiles x strips per warp: two strips share each activation load from 9 tokens on.
    W4Variant v = tiles <= 1 ? w4Mma1x1 : tiles <= 2 ? (strips % 2 == 0 ? w4Mma2x2 : w4Mma2x1)
        : w4Mma4x1;
    int warps = w4Warps(strips, k, group);
    int stage = w4StageGroups(k, group, warps);
    int smem = warps * v.smemPerWarp(stage);
    residentBlocks(v.f(), 32 * warps, smem); // allows more than 48 KB where a shape needs it
    launch(v.f(), strips / v.strips(), 1, 1, 32 * warps, smem, p(x),
        new long[] {xPartStride}, p(codes), p(scaleZero), p(y), i(tokens), i(rows),
        i(k), i(group), i(groupShift(group)), i(stage), i(bound1), i(bound2));
  }

  /**
   * {@link #w4a16} as a GEMM (w4a16_gemm.cu): a block per 8 strips stages every token's
   * activations once for all of them; the same bits as {@link #w4Rows} (its warps' k ranges
   * summed apart and added in their order); not for act-order layers (x as the model has it).
   */
  public void w4a16Gemm(CUdeviceptr x, CUdeviceptr codes, CUdeviceptr scaleZero,
      CUdeviceptr y, int tokens, int rows, int k, int group) {
    checkW4a16(tokens, rows, k, group);
    int i = (tokens <= 16 ? 0 : tokens <= 32 ? 1 : 2) + (group % 64 == 0 ? 3 : 0);
    launch(w4Gemm[i], w4gBlocks(rows), 1, 1, 32 * W4G_WARPS, w4gSmem(2 << (i % 3)), p(x),
        p(codes), p(scaleZero), p(y), i(tokens), i(rows), i(k), i(group), i(groupShift(group)),
        i(W4F_THREADS / 32));
  }

  /** Blocks of a {@link #w4a16Gemm} over {@code rows} rows: 8 strips each. */
  private static int w4gBlocks(int rows) {
    return (rows / 16 + W4G_WARPS - 1) / W4G_WARPS;
  }

  /** Strips (warps) of a w4a16_gemm block (W4G_WARPS). */
  private static final int W4G_WARPS = 8;

  /**
   * Dynamic shared memory of w4a16_gemm_nt{tiles}: W4G_STAGES (3) of W4gStage (activations of
   * 8 tiles tokens, each warp's codes of 2 pairs).
   */
  private static int w4gSmem(int tiles) {
    return 3 * (8 * tiles * (2 * 64 + 32) * 2 + W4G_WARPS * 2 * 32 * 16);
  }

  /**
   * Steps of at least this many tokens take {@link #w4a16Gemm} on wide layers ({@code
   * redress.cuda.w4GemmMinTokens}); {@code redress.cuda.w4Gemm=false}: {@link #w4a16} runs
   * {@link #w4a16Mma} alone, as before either (measurement).
   */
  static final int W4_GEMM_MIN_TOKENS = Integer.getInteger("redress.cuda.w4GemmMinTokens", 17);
  private static final boolean W4_GEMM =
      !"false".equals(System.getProperty("redress.cuda.w4Gemm"));

  /** A w4a16_mma_NTxS instantiation and the shape of its shared memory (w4a16.cu). */
  private record W4Variant(CUfunction f, int tiles, int strips, int pairsPerStage,
      boolean activationsInRing, int stages) {
    /**
     * Bytes of one warp: its cp.async ring (none for the register pipeline), its partial sums,
     * its staged scales and zeros.
     */
    int smemPerWarp(int stageGroups) {
      int items = pairsPerStage * (strips + (activationsInRing ? 2 * tiles : 0));
      return stages * items * 32 * 16 + strips * tiles * 512 + 128 * strips * stageGroups;
    }
  }

  /** Groups the k / 64 input pairs of one of {@code warps} warps can span (w4a16.cu). */
  private static int w4StageGroups(int k, int group, int warps) {
    int pairs = k / 64;
    int perWarp = (pairs + warps - 1) / warps;
    return (perWarp * 64 + group - 1) / group + 1;
  }

  /**
   * Warps per block of {@link #w4a16}: they split a strip's k / 64 input pairs. As many as keep
   * every 16-row strip's block resident in one wave (a second, partial wave would cost as much
   * as the first on these few-microsecond kernels), at most 8 and at least 2 pairs each. It
   * depends only on the layer's shape, never on the token count, so each token's sums run in
   * the same order at any batch size.
   */
  private int w4Warps(int strips, int k, int group) {
    int pairs = k / 64;
    int warps = Math.max(1, Math.min(8, pairs / 2));
    while (warps > 1 && (long) sms * residentBlocks(w4Mma1x1.f(), 32 * warps,
        warps * w4Mma1x1.smemPerWarp(w4StageGroups(k, group, warps))) < strips) {
      warps--;
    }
    return warps;
  }

  /** {@code n} random 32-bit words (random GPTQ codes for benchmarks), counter-based. */
  public void fillRandomU32(CUdeviceptr out, long n, long seed) {
    int blocks = (int) Math.min(65_535L * 4, (n + 255) / 256);
    launch(fillRandomU32, Math.max(blocks, 1), 1, 256, p(out), new long[] {n},
        new long[] {seed});
  }

  /** {@code n} random GPTQ {scale, zero} half2 pairs: scale around {@code scale}, zero 8. */
  public void fillScaleZeroW4(CUdeviceptr out, long n, long seed, float scale) {
    int blocks = (int) Math.min(65_535L * 4, (n + 255) / 256);
    launch(fillScaleZeroW4, Math.max(blocks, 1), 1, 256, p(out), new long[] {n},
        new long[] {seed}, f(scale));
  }

  /**
   * {@code out (parts, tokens, k) bf16: out[p][t][j] = x[t][perm[p * k + j]]}, x (tokens, k):
   * activations in an act-order layer's permuted input order, one copy per part.
   */
  public void gatherCols(CUdeviceptr x, CUdeviceptr perm, CUdeviceptr out, int tokens, int k,
      int parts) {
    launch(gatherCols, (k + 255) / 256, tokens, parts, 256, 0, p(x), p(perm), p(out), i(k));
  }

  /**
   * Most tokens {@link #w4Wgmma} takes ({@code redress.cuda.w4WgmmaMaxTokens}); larger steps
   * dequantize for cuBLAS, whose bf16 GEMM outruns it there (one H200, a 14B layer's four
   * projections: 128 tokens 274 against 372 us, 192 330 against 404, 256 456 against 408;
   * docs/benchmarks).
   */
  public static final int W4GG_MAX_TOKENS =
      Integer.getInteger("redress.cuda.w4WgmmaMaxTokens", 192);
  private static final boolean W4GG = !"false".equals(System.getProperty("redress.cuda.w4Wgmma"));

  /** Dynamic shared memory of a w4gg kernel of {@code wgs} warpgroups (w4a16_wgmma.cu). */
  private static int w4ggSmem(int wgs) {
    int stage = 64 * 128 * 2 + 5120 * wgs; // W4GG_STAGE(64, wgs)
    return (wgs == 1 ? 4 : 3) * stage + 1024;
  }

  /**
   * Whether {@link #w4Wgmma} can run a layer that is not act-order (the caller checks that):
   * sm_90's warpgroup MMAs ({@code redress.cuda.w4Wgmma=false}: never), rows a multiple of 64,
   * inputs of 128, and a group of a power of two from 32 inputs, or all of them.
   */
  public boolean w4WgmmaFits(int rows, int k, int group) {
    return W4GG && ccMajor == 9 && rows % 64 == 0 && k % 128 == 0 && k % group == 0
        && (group == k || (group >= 32 && Integer.bitCount(group) == 1));
  }

  /**
   * {@code y (tokens, rows) fp32 = x (tokens, k) bf16 . W^T} for a GPTQ layer of more tokens
   * than {@link #w4a16} takes, on warpgroup MMAs (w4a16_wgmma.cu): w4gg_permute writes x's
   * inputs into {@code xp} (tokens x k bf16) in the MMA's column order, then the GEMM reads the
   * int4 codes once and unpacks them in registers. Where the launch would give every SM at most
   * two blocks of one warpgroup (narrow layers, fewer tokens), a warpgroup a block; else two
   * sharing each staged activation tile. Layers must be {@link #w4WgmmaFits}. {@code scalesZ8}:
   * where every zero point is 8, the layer's strip-major scales without them ({@link
   * #w4ChainScales} with z8; groups of 64 and of powers of two above), which the _z8 kernels
   * read instead of {@code scaleZero} (fewer copies and no zero points to convert: one H200, 14B
   * at 128 tokens gate/up 92.1 against 106.0 us, down 77.5 against 81.2); else null.
   */
  public void w4Wgmma(CUdeviceptr x, CUdeviceptr xp, CUdeviceptr codes, CUdeviceptr scaleZero,
      CUdeviceptr scalesZ8, CUdeviceptr y, int tokens, int rows, int k, int group) {
    if (tokens < 1 || !w4WgmmaFits(rows, k, group)) {
      throw new IllegalArgumentException("w4Wgmma takes sm_90, rows a multiple of 64, k of 128"
          + " and a power-of-two group of 32 or more (or k): " + rows + " x " + k + ", group "
          + group + ", " + tokens + " tokens");
    }
    int tiles = (tokens + 63) / 64;
    w4Wgmma(x, xp, codes, scaleZero, scalesZ8, y, tokens, rows, k, group,
        rows % 128 != 0 || (long) tiles * (rows / 64) <= 2L * sms ? 1 : 2);
  }

  /** {@link #w4Wgmma} with {@code wgs} warpgroups a block (2: rows a multiple of 128). */
  void w4Wgmma(CUdeviceptr x, CUdeviceptr xp, CUdeviceptr codes, CUdeviceptr scaleZero,
      CUdeviceptr scalesZ8, CUdeviceptr y, int tokens, int rows, int k, int group, int wgs) {
    if (wgs < 1 || wgs > 2 || rows % (64 * wgs) != 0) {
      throw new IllegalArgumentException("w4Wgmma: " + wgs + " warpgroups over " + rows + " rows");
    }
    long chunks = (long) tokens * k / 32;
    launch(w4ggPermute, (int) Math.min((chunks + 255) / 256, 8L * sms), 1, 256, p(x), p(xp),
        new long[] {chunks});
    // log2 of the group, 30 where one group spans k (the group index is then always 0)
    int gsh = Integer.bitCount(group) == 1 ? Integer.numberOfTrailingZeros(group) : 30;
    int kind = group >= 128 ? 0 : group == 64 ? 1 : 2;
    boolean z8 = scalesZ8 != null && stripScaleGroup(group);
    launch(z8 ? w4ggZ8[2 * (wgs - 1) + kind] : w4gg[3 * (wgs - 1) + kind], (tokens + 63) / 64,
        rows / (64 * wgs), 1, 128 * wgs, w4ggSmem(wgs), p(xp), p(codes),
        p(z8 ? scalesZ8 : scaleZero), p(y), i(tokens), i(rows), i(k), i(gsh));
  }

  /**
   * Most tokens {@link #w4Ws} takes: two token tiles of 128. Past them cuBLAS's bf16 GEMM over
   * dequantized weights is faster (one H200, a 14B layer at 512 tokens 561 against 572 us).
   */
  public static final int W4WS_MAX_TOKENS = 256;
  private static final boolean W4WS = !"false".equals(System.getProperty("redress.cuda.w4Ws"));
  /** W4WS_SMEM(128, 4, GK, Z8) of w4a16_wgmma_ws.cu: the same for every group and scale form. */
  private static final int W4WS_SMEM = 4 * 41984 + 16 * 4 + 1024;
  /** W4WS_SMEM(64, 4, GK, Z8): the 64-token tiles'. */
  private static final int W4WS64_SMEM = 4 * 25600 + 16 * 4 + 1024;
  /** 64-token tiles for 129 to 192 tokens; {@code redress.cuda.w4Ws64=false}: never. */
  private static final boolean W4WS64 = !"false".equals(System.getProperty("redress.cuda.w4Ws64"));

  /**
   * Whether {@link #w4Ws} runs a step of {@code tokens}: more than {@link #w4a16} takes and at
   * most {@link #W4WS_MAX_TOKENS}. Without its 64-token tiles ({@code redress.cuda.w4Ws64=false})
   * only where the last 128-token tile is more than half full: 129 to 192 tokens then take
   * {@link #w4Wgmma}'s 64-token tiles (one H200, a 14B layer at 192 tokens 296 against 336 us
   * for two 128-token tiles; 269 with the 64-token tiles here).
   */
  public static boolean w4WsTakes(int tokens) {
    return tokens > W4_MAX_TOKENS && tokens <= W4WS_MAX_TOKENS
        && (W4WS64 || (tokens - 1) % 128 >= 64);
  }

  /**
   * Whether {@link #w4Ws} can run a layer that is not act-order and has the runner's strip-major
   * scales (the caller checks both): sm_90 and libcuda's tensor-map encoder ({@code
   * redress.cuda.w4Ws=false}: never), rows a multiple of 128, inputs of 128, groups of 64 or 128.
   */
  public boolean w4WsFits(int rows, int k, int group) {
    return W4WS && ccMajor == 9 && tensorMaps != null && rows % 128 == 0 && k % 128 == 0
        && (group == 64 || group == 128);
  }

  /**
   * {@code y (tokens, rows) fp32 = x (tokens, k) bf16 . W^T} for a GPTQ layer on warpgroup MMAs,
   * warp-specialized (w4a16_wgmma_ws.cu): w4ws_stage_x writes x into {@code xs} (tokens rounded
   * up to the tile, x k bf16) as the stages' shared-memory images; then a block of 128 rows and
   * 128 (or 64) tokens has one thread copy each stage (the activations by a bulk copy; the codes
   * and the strip-major scales {@code szs} of {@link #w4ChainScales}, {@code z8} as made, by
   * tensor maps, {@link TensorMaps}) and two warpgroups unpack and multiply.
   * Tiles: 128 tokens, but 64 for 129 to 192 tokens (three tiles of 64 rather than two of 128,
   * the second half empty), unless only the 128-token tiles fit on the SMs in one wave (14B's
   * QKV: 112 against 168 blocks on 132 SMs). One H200, a 14B layer at 192 tokens: 269 us
   * against 296 for {@link #w4Wgmma}'s and 336 for 128-token tiles alone.
   * Where a launch gives at most half the SMs a block, k is split in two, the halves added onto
   * y (zeroed by the staging; two adds onto zero: the same bits either way, so runs repeat; but a
   * token's bits then depend on the step's token count and the GPU's SM count, as they already do
   * between this kernel, {@link #w4a16}'s and cuBLAS's ranges). One H200, 14B at 128
   * tokens: a layer's four projections 187 against {@link #w4Wgmma}'s 253 us. Layers must be
   * {@link #w4WsFits}.
   */
  public void w4Ws(CUdeviceptr x, CUdeviceptr xs, CUdeviceptr codes, CUdeviceptr szs, boolean z8,
      CUdeviceptr y, int tokens, int rows, int k, int group) {
    int tiles128 = (tokens + 127) / 128 * (rows / 128);
    int tiles64 = (tokens + 63) / 64 * (rows / 128);
    int bn = W4WS64 && (tokens - 1) % 128 < 64 && tokens > 128
        && !(tiles128 <= sms && tiles64 > sms) ? 64 : 128;
    int blocks = bn == 64 ? tiles64 : tiles128;
    w4Ws(x, xs, codes, szs, z8, y, tokens, rows, k, group, bn, 2L * blocks <= sms ? 2 : 1);
  }

  /** {@link #w4Ws} with token tiles of {@code bn} (64 or 128) and k in {@code splits} (1, 2). */
  void w4Ws(CUdeviceptr x, CUdeviceptr xs, CUdeviceptr codes, CUdeviceptr szs, boolean z8,
      CUdeviceptr y, int tokens, int rows, int k, int group, int bn, int splits) {
    if (tokens < 1 || tokens > W4WS_MAX_TOKENS || !w4WsFits(rows, k, group) || splits < 1
        || splits > 2 || (bn != 64 && bn != 128)) {
      throw new IllegalArgumentException("w4Ws takes sm_90, 1 to " + W4WS_MAX_TOKENS
          + " tokens, rows a multiple of 128, k of 128, a group of 64 or 128, tiles of 64 or 128"
          + " tokens and 1 or 2 splits: " + rows + " x " + k + ", group " + group + ", " + tokens
          + " tokens, tiles of " + bn + ", " + splits + " splits");
    }
    int tiles = (tokens + bn - 1) / bn;
    long n = (long) tiles * bn * k / 32;
    launch(w4wsStageX, (int) Math.min((n + 255) / 256, 8L * sms), 1, 1, 256, 0, p(x), p(xs),
        p(y), i(tokens), i(k), i(bn), i(rows), i(splits > 1 ? 1 : 0));
    // a stage's 1,024 bytes of codes of the tile's 8 strips (each 8 k bytes), and their scales:
    // 8 (group 128) or 16 (64) 4-byte entries without zero points, twice as many with
    int scaleBox = (group == 64 ? 16 : 8) * (z8 ? 1 : 2);
    long[] cmap = tensorMaps.uint32Rows(CudaDevice.address(codes), 2L * k, rows / 16, 256, 8);
    long[] smap = tensorMaps.uint32Rows(CudaDevice.address(szs), (long) k / group * 8 * (z8 ? 1 : 2),
        rows / 16, scaleBox, 8);
    int form = (z8 ? 2 : 0) + (group == 64 ? 1 : 0);
    launch(bn == 64 ? w4ws64[form] : w4ws[form], tiles, rows / 128, splits, 384,
        bn == 64 ? W4WS64_SMEM : W4WS_SMEM, p(xs), cmap, smap, p(y), i(tokens), i(rows), i(k));
  }

  /**
   * A GPTQ layer dequantized to {@code w (rows, k)} bf16 in nn.Linear layout and the
   * checkpoint's input order (invPerm null: not permuted), for prefill through cuBLAS.
   */
  public void dequantW4(CUdeviceptr codes, CUdeviceptr scaleZero, CUdeviceptr invPerm,
      CUdeviceptr w, int rows, int k, int group, int bound1, int bound2) {
    if (rows % 16 != 0 || k % 64 != 0 || group % 32 != 0) {
      throw new IllegalArgumentException("dequantW4 takes rows a multiple of 16, k of 64 and"
          + " group of 32");
    }
    if (invPerm == null) { // in the packed order: the codes read once, in order
      long warps = (long) rows / 16 * (k / 64);
      launch(dequantW4Packed, (int) Math.min((warps + 7) / 8, 64L * sms), 1, 256, p(codes),
          p(scaleZero), p(w), i(rows), i(k), i(group));
      return;
    }
    launch(dequantW4, (k / 8 + 127) / 128, rows, 128, p(codes), p(scaleZero), p(invPerm), p(w),
        i(rows), i(k), i(group), i(bound1), i(bound2));
  }

  /** Most tokens the fused decode kernels take (FUSED_MAX_TOKENS in gemv_fused.cu). */
  public static final int FUSED_MAX_TOKENS = 4;

  /** Most blocks one context splits into in {@link #attentionSplit} (SPLIT_MAX, attention.cu). */
  public static final int ATTENTION_SPLITS = 16;

  /**
   * Warps per SM the normed GEMVs stop at: with 8 weight loads of 16 bytes in flight per lane
   * that is 64 KB per SM, well past what HBM needs, and each further block would repeat the
   * norm prologue.
   */
  private static final int NORMED_WARPS_PER_SM = 16;

  /** Whether the fused decode kernels take {@code tokens} tokens of a model this wide. */
  public boolean fusedFits(int tokens, int hidden) {
    // Dynamic shared memory holds the normed activations; 1 KB stays for static scratch.
    return tokens <= FUSED_MAX_TOKENS && hidden % 8 == 0
        && 2L * tokens * hidden <= maxSmemOptin - 1024;
  }

  /**
   * Settles, outside any graph capture, what the fused GEMVs' launches need for up to
   * {@code maxTokens} tokens of width {@code hidden}: the shared-memory opt-in above 48 KB and
   * the blocks that fit per SM.
   */
  public void prepareFused(int hidden, int maxTokens) {
    for (int threads = 32; threads <= 256; threads += 32) {
      for (CUfunction f : new CUfunction[] {gemvQkvRope, gemvSilu, gemvNormed}) {
        residentBlocks(f, threads, 2 * FUSED_MAX_TOKENS * hidden); // oneUnitWarps
      }
    }
    for (int t = 1; t <= maxTokens; t++) {
      for (int threads = 32; threads <= 256; threads += 32) {
        for (CUfunction f : new CUfunction[] {gemvQkvRope, gemvSilu, gemvNormed, gemvQkvRopeTp,
            gemvSiluTp, gemvNormedTp}) {
          residentBlocks(f, threads, 2 * t * hidden);
        }
        residentBlocks(gemvResidual, threads, 0);
        residentBlocks(gemvPush, threads, 0);
      }
      for (CUfunction f : new CUfunction[] {gemvQkvRopeTp, gemvSiluTp, gemvNormedTp}) {
        residentBlocks(f, 512, 2 * t * hidden);
      }
    }
  }

  private record Occupancy(CUfunction f, int threads, int smem) {}

  /** Raises f's dynamic shared-memory opt-in to at least {@code bytes}. */
  private void allowSmem(CUfunction f, int bytes) {
    if (smemAllowed.getOrDefault(f, 0) < bytes) {
      cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
          bytes);
      smemAllowed.put(f, bytes);
    }
  }

  /** A kernel's static shared memory, which counts against the same limits as its dynamic. */
  private static int staticSmem(CUfunction f) {
    int[] bytes = new int[1];
    cuFuncGetAttribute(bytes, CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f);
    return bytes[0];
  }

  private int residentBlocks(CUfunction f, int threads, int smem) {
    return resident.computeIfAbsent(new Occupancy(f, threads, smem), k -> {
      // Past 48 KB of static and dynamic shared memory together a kernel must opt in.
      if (smem + staticSmem(f) > 48 * 1024) {
        allowSmem(f, smem);
      }
      int[] blocks = new int[1];
      cuOccupancyMaxActiveBlocksPerMultiprocessor(blocks, f, threads, smem);
      if (blocks[0] < 1) {
        throw new IllegalStateException("a fused GEMV block of " + threads + " threads and "
            + smem + " bytes of shared memory does not fit on an SM");
      }
      return blocks[0];
    });
  }

  /**
   * Launches a fused GEMV over {@code units} warp units (pairs of rows) as one wave, as many
   * blocks as fit at once (the warps stride over the units), fewer for the normed kernels.
   * Blocks of 4 warps spread the work evenly over the SMs; the normed kernels take 8 where that
   * still fills every SM, halving the prologues, and their tensor-parallel twins always 16 (one
   * block an SM): their prologue also waits for the peers and reads the peers' partials
   * (gemv_fused.cu). Models split over GPUs are large enough to fill the SMs even so. Where a
   * normed layer has a few more units than that wave has warps, smaller blocks, more of them,
   * give every warp one unit ({@link #oneUnitWarps}).
   */
  private void launchFused(CUfunction f, int units, int tokens, int hidden, boolean normed,
      long[]... args) {
    int smem = normed ? 2 * tokens * hidden : 0;
    boolean tp = f == gemvQkvRopeTp || f == gemvSiluTp || f == gemvNormedTp;
    int warps = tp ? 16 : normed && (units + 7) / 8 >= sms ? 8 : 4;
    int perSm = residentBlocks(f, 32 * warps, smem);
    if (normed) {
      perSm = Math.max(1, Math.min(perSm, NORMED_WARPS_PER_SM / warps));
    }
    if (normed && !tp && ONE_UNIT_WAVES && units > (long) sms * perSm * warps) {
      int w = oneUnitWarps(f, units, 2 * FUSED_MAX_TOKENS * hidden);
      if (w > 0) {
        warps = w;
        perSm = residentBlocks(f, 32 * w, smem);
      }
    }
    int blocks = (int) Math.min((units + warps - 1) / warps, (long) sms * perSm);
    launch(f, blocks, 1, 1, 32 * warps, smem, args);
  }

  /**
   * {@code redress.cuda.oneUnitWaves=false}: normed GEMVs keep their 16 warps an SM even where
   * some warps then take two units (comparisons).
   */
  private static final boolean ONE_UNIT_WAVES =
      !"false".equals(System.getProperty("redress.cuda.oneUnitWaves"));

  /**
   * The most warps a block (at most 8) with which a normed GEMV gives every warp one unit in
   * one wave, or 0 if none does. Where a layer has a little more units than 16 warps an SM
   * (Qwen2.5-7B's QKV: 2,304 for 2,112 warps) some warps took two units, one after the other,
   * and the kernel twice the time of one (23 us where 33 MB need 11). Blocks then differ in
   * size, so a different prologue reduction order: decided from the shape and the largest
   * token count's shared memory, never from the step, so a token's result stays independent of
   * the batch.
   */
  private int oneUnitWarps(CUfunction f, int units, int maxSmem) {
    for (int w = 8; w >= 1; w--) {
      if ((long) sms * residentBlocks(f, 32 * w, maxSmem) * w >= units) {
        return w;
      }
    }
    return 0;
  }

  private void checkFused(int tokens, int k) {
    if (tokens < 1 || tokens > FUSED_MAX_TOKENS || k % 8 != 0) {
      throw new IllegalArgumentException("fused GEMVs take 1 to " + FUSED_MAX_TOKENS
          + " tokens and k % 8 == 0");
    }
  }

  /**
   * Decode QKV in one launch: with h = RMSNorm(x) (x (tokens, hidden) fp32, weight normW), the
   * rows h . wQkv^T + bias get RoPE at their positions; Q goes to qOut (tokens, q) bf16, K and
   * V to the cache slots (none for a negative slot). The results of {@link #addRmsnorm},
   * {@link #gemv} and {@link #qkvRopeCache} in turn, to bf16 rounding (the norm sums in
   * another order).
   */
  public void rmsnormQkvRope(CUdeviceptr x, CUdeviceptr normW, float eps, CUdeviceptr w,
      CUdeviceptr bias, CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr qOut,
      CUdeviceptr kCache, CUdeviceptr vCache, int tokens, int hidden, int heads, int kvHeads,
      int headDim, float theta) {
    rmsnormQkvRope(x, normW, eps, w, bias, positions, slots, qOut, kCache, vCache, tokens,
        hidden, heads, kvHeads, headDim, theta, null);
  }

  /**
   * {@link #rmsnormQkvRope}; with {@code tpSum} (a {@link PeerAllReduce#sum} struct) x first
   * gets the tensor-parallel ranks' partials added (allreduce.cu's TpSum).
   */
  void rmsnormQkvRope(CUdeviceptr x, CUdeviceptr normW, float eps, CUdeviceptr w,
      CUdeviceptr bias, CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr qOut,
      CUdeviceptr kCache, CUdeviceptr vCache, int tokens, int hidden, int heads, int kvHeads,
      int headDim, float theta, long[] tpSum) {
    checkFused(tokens, hidden);
    long[][] args = {p(x), p(normW), f(eps), p(w), p(bias), p(positions), p(slots), p(qOut),
        p(kCache), p(vCache), i(tokens), i(hidden), i(heads), i(kvHeads), i(headDim), f(theta)};
    launchFused(tpSum == null ? gemvQkvRope : gemvQkvRopeTp,
        (heads + 2 * kvHeads) * (headDim / 2), tokens, hidden, true, withTp(args, tpSum));
  }

  /** {@code args}, then the TP struct when there is one. */
  private static long[][] withTp(long[][] args, long[] tp) {
    return tp == null ? args : concat(args, new long[][] {tp});
  }

  /**
   * Decode gate/up in one launch: act (tokens, inter) bf16 = silu(gate) * up of RMSNorm(x) .
   * wGateUp^T, wGateUp (2 inter, hidden). The results of {@link #addRmsnorm}, {@link #gemv}
   * and {@link #siluMul} in turn, to bf16 rounding (the norm sums in another order).
   */
  public void rmsnormGateUpSilu(CUdeviceptr x, CUdeviceptr normW, float eps, CUdeviceptr w,
      CUdeviceptr act, int tokens, int hidden, int inter) {
    rmsnormGateUpSilu(x, normW, eps, w, act, tokens, hidden, inter, null);
  }

  /** {@link #rmsnormGateUpSilu}, summing the ranks' partials into x first with a TpSum. */
  void rmsnormGateUpSilu(CUdeviceptr x, CUdeviceptr normW, float eps, CUdeviceptr w,
      CUdeviceptr act, int tokens, int hidden, int inter, long[] tpSum) {
    checkFused(tokens, hidden);
    launchFused(tpSum == null ? gemvSilu : gemvSiluTp, inter, tokens, hidden, true,
        withTp(new long[][] {p(x), p(normW), f(eps), p(w), p(act), i(tokens), i(hidden),
            i(inter)}, tpSum));
  }

  /**
   * {@link #rmsnormGemv} of rows 0 .. tokens - 1, summing the tensor-parallel ranks' partials
   * into x first (TpSum).
   */
  void rmsnormGemvTp(CUdeviceptr x, CUdeviceptr normW, float eps, CUdeviceptr w, CUdeviceptr y,
      int tokens, int rows, int hidden, long[] tpSum) {
    checkFused(tokens, hidden);
    launchFused(gemvNormedTp, (rows + 1) / 2, tokens, hidden, true, p(x), p(normW),
        f(eps), p(w), p(y), i(tokens), i(rows), i(hidden), tpSum);
  }

  /**
   * Tensor parallelism: a (tokens, k) bf16 . w^T, this rank's partial (tokens, rows) fp32,
   * stored into its slot in every rank's memory ({@link PeerAllReduce#push}).
   */
  void gemvPush(CUdeviceptr a, CUdeviceptr w, long[] push, int tokens, int rows, int k) {
    checkFused(tokens, k);
    launchFused(gemvPush, (rows + 1) / 2, tokens, 0, false, p(a), p(w), push, i(tokens),
        i(rows), i(k));
  }

  /** Tensor parallelism: tells the peers this rank's partial is in place (TpSum). */
  void tpSignal(long[] tpSum) {
    launch(tpSignal, 1, 1, 32, tpSum);
  }

  /**
   * Tensor parallelism: logits (rows, ranks * partCols) = the ranks' LM-head parts side by side
   * ({@link PeerAllReduce#gather}), once every peer has signalled its part.
   */
  void tpGatherLogits(CUdeviceptr logits, long[] tpSum, int partCols, int rows) {
    int blocks = (int) Math.min(64, ((long) tpSum[2 * PeerAllReduce.MAX_RANKS + 4] * partCols
        / 4 + 255) / 256);
    launch(tpGatherLogits, Math.max(1, blocks), rows, 256, p(logits), tpSum,
        i(partCols));
  }

  /**
   * y (tokens, rows) fp32 = RMSNorm(x[srcRows[t]]) . w^T (srcRows null: row t), w (rows,
   * hidden): the final norm and LM head of the sampling rows in one launch.
   */
  public void rmsnormGemv(CUdeviceptr x, CUdeviceptr srcRows, CUdeviceptr normW, float eps,
      CUdeviceptr w, CUdeviceptr y, int tokens, int rows, int hidden) {
    checkFused(tokens, hidden);
    launchFused(gemvNormed, (rows + 1) / 2, tokens, hidden, true, p(x), p(srcRows),
        p(normW), f(eps), p(w), p(y), i(tokens), i(rows), i(hidden));
  }

  /**
   * resid (tokens, rows) fp32 += a (tokens, k) bf16 . w^T, w (rows, k): a decode projection
   * adding straight into the residual stream.
   */
  public void gemvResidual(CUdeviceptr a, CUdeviceptr w, CUdeviceptr resid, int tokens,
      int rows, int k) {
    checkFused(tokens, k);
    launchFused(gemvResidual, (rows + 1) / 2, tokens, 0, false, p(a), p(w), p(resid),
        i(tokens), i(rows), i(k));
  }

  /** Threads of a block of the fused W4A16 kernels (W4F_WARPS in w4a16_fused.cu). */
  private static final int W4F_THREADS = 256;

  /**
   * Whether the fused W4A16 decode kernels take these layers (w4a16_fused.cu): the QKV rows
   * pair up by RoPE halves of 16 rows (head_dim % 32 == 0), gate and up by strips (inter %
   * 16 == 0), the O and down projections by neighbouring strips (hidden % 32 == 0), and the
   * normed activations, one copy per act-order part besides, fit in shared memory.
   */
  public boolean w4FusedFits(int tokens, int hidden, int headDim, int inter, int maxParts) {
    return tokens <= FUSED_MAX_TOKENS && headDim % 32 == 0 && inter % 16 == 0
        && hidden % 64 == 0
        && w4Smem(tokens, hidden, maxParts) <= maxSmemOptin - 10_240; // static: 8.5 KB
  }

  /**
   * Lets the fused W4A16 kernels take all the shared memory a block may (the normed
   * activations grow with the width and the act-order parts), outside any graph capture.
   */
  public void prepareW4Fused() {
    w4SplitScratch();
    for (CUfunction[] family : new CUfunction[][] {w4QkvRope, w4Silu, w4Residual,
        w4QkvRopeMany, w4SiluMany, w4ResidualMany, w4ResidualManySplit, w4QkvRopeT8,
        w4SiluT8, w4QkvRopeManyTma, w4SiluManyTma, w4ResidualManyTma, w4ResidualManySplitTma}) {
      for (CUfunction f : family) {
        allowSmem(f, maxSmemOptin - staticSmem(f)); // static and dynamic share the opt-in
      }
    }
  }

  /** Dynamic shared memory of a normed W4 kernel: the normed activations, act-order copies. */
  private static int w4Smem(int tokens, int hidden, int parts) {
    return 2 * (1 + parts) * tokens * hidden;
  }


  /** The kernel of a family for this layer's group size (the _g64 ones need whole pairs). */
  private static CUfunction w4Pick(CUfunction[] family, CudaWeights.Q4 w) {
    return w4Pick(family, w.group());
  }

  private static CUfunction w4Pick(CUfunction[] family, int group) {
    return family[w4Twin(group)];
  }

  /** The index of w4Pick's twin: 1, the _g64 one, where a group spans whole pairs. */
  private static int w4Twin(int group) {
    return group % 64 == 0 ? 1 : 0;
  }

  /**
   * A many-token family's kernel for this layer: its _szs twin where the layer carries
   * strip-major scales for a power-of-two group of 64 inputs or more (not act-order).
   */
  private static CUfunction w4PickMany(CUfunction[] family, CudaWeights.Q4 w) {
    return stripScales(w) == null ? w4Pick(family, w) : family[w.stripZ8() ? 3 : 2];
  }

  /** The strip-major scales the _szs kernels can read for {@code w}, or null. */
  private static CUdeviceptr stripScales(CudaWeights.Q4 w) {
    boolean fits = w.stripScales() != null && w.perm() == null && stripScaleGroup(w.group());
    return fits ? w.stripScales().ptr() : null;
  }

  /** Whether the _szs kernels take groups of this size: a power of two from 64 inputs. */
  static boolean stripScaleGroup(int group) {
    return group % 64 == 0 && groupShift(group) >= 0;
  }

  private static int groupShift(int group) {
    return Integer.bitCount(group) == 1 ? Integer.numberOfTrailingZeros(group) : -1;
  }

  /** The act-order parts the normed W4 kernels permute their activations for (0: none). */
  private static int permutedParts(CudaWeights.Q4 w) {
    return w.perm() == null ? 0 : w.parts();
  }

  /** The weight arguments the normed W4 kernels share (W4F_WEIGHTS). */
  private static long[][] w4Weights(CudaWeights.Q4 w) {
    return new long[][] {p(w.codes().ptr()), p(w.scaleZero().ptr()),
        p(w.perm() == null ? null : w.perm().ptr()), i(permutedParts(w)),
        i(w.group()), i(groupShift(w.group())), i(w.bound1()), i(w.bound2())};
  }

  /**
   * Launches a fused W4A16 kernel over {@code units / 16} unit groups: as many blocks as fit
   * at once, fewer where that spreads the groups evenly (every block takes the same number,
   * so none finishes a group late while the others idle).
   */
  private void launchW4Fused(CUfunction f, int units, int smem, long[]... args) {
    int groups = units / 16;
    long most = (long) sms * residentBlocks(f, W4F_THREADS, smem);
    long perBlock = (groups + most - 1) / most;
    launch(f, (int) ((groups + perBlock - 1) / perBlock), 1, 1, W4F_THREADS, smem, args);
  }

  /**
   * Launches a many-token W4A16 kernel: a block on every slot, some taking a group more than
   * others. Against the even spread of {@link #launchW4Fused}, 14B GPTQ batch 16 read 2,317 and
   * 2,346 output tokens/s against 2,286-2,295 and 2,321-2,325 (one H100, two calls): more warps
   * streaming in the first rounds outweigh the shorter last one. Given {@code split}, the
   * kernel's twin that shares a narrow launch's {@code k / 64} input pairs a group out among
   * its blocks in equal runs (the residual kernels), such a launch of long groups takes it
   * instead ({@link #w4SplitBlocks}).
   */
  private void launchW4Many(CUfunction f, CUfunction split, int units, int k,
      long[]... args) {
    launchW4Many(f, split, null, units, k, args);
  }

  /**
   * {@link #launchW4Many} of a _tma twin ({@link #w4ManyXMap}) where {@code xmap} is given: the
   * activations' tensor map as its last parameter, its own shared memory.
   */
  private void launchW4Many(CUfunction f, CUfunction split, long[] xmap, int units, int k,
      long[]... args) {
    int groups = units / 16;
    int smem = xmap == null ? w4mSmem : w4mTmaSmem;
    long[][] last = xmap == null ? new long[0][] : new long[][] {xmap};
    // Split runs over two blocks an SM (every twin's launch bounds hold two), not over what
    // this twin's registers allow: the runs, and so the bits, are then the same for every twin.
    int blocks = split == null ? 0
        : w4SplitBlocks(groups, k / 64, Math.min(sms * residentBlocks(split, W4F_THREADS,
            smem), 2 * sms));
    if (blocks > 0) {
      launch(split, blocks, 1, 1, W4F_THREADS, smem, concat(args, new long[][] {
          p(w4SplitScratch()), p(w4SplitScratch().withByteOffset(w4SplitPartBytes())),
          i(blocks)}, last));
      return;
    }
    int most = sms * residentBlocks(f, W4F_THREADS, smem);
    launch(f, Math.min(groups, most), 1, 1, W4F_THREADS, smem, concat(args, last));
  }

  /**
   * The _tma twins of the many-token kernels with strip-major scales (W4MTma in w4a16_fused.cu):
   * each warp's stage of the live tokens' activations arrives by one tensor copy instead of four
   * cp.async a lane. {@code redress.cuda.w4ManyTma=false}: never (the cp.async twins).
   */
  private static final boolean W4M_TMA =
      !"false".equals(System.getProperty("redress.cuda.w4ManyTma"));

  /**
   * The tensor map of a many-token launch's activations {@code x (tokens, k)} for its _tma twin,
   * or null where the GPU or driver has none (the cp.async twin runs).
   */
  private long[] w4ManyXMap(CUdeviceptr x, int tokens, int k) {
    // (callers ask only for layers with strip-major scales, never act-order: one part of x)
    if (!W4M_TMA || ccMajor != 9 || tensorMaps == null) {
      return null;
    }
    return tensorMaps.activationPairs(CudaDevice.address(x), tokens, k);
  }

  /**
   * Whether the many-token kernels share a narrow launch's input pairs out in equal runs
   * (W4MSplit in w4a16_fused.cu; {@code redress.cuda.w4Split=false}: a whole unit group a
   * block, as before).
   */
  static final boolean W4_SPLIT = !"false".equals(System.getProperty("redress.cuda.w4Split"));
  /** Fewest input pairs a block's run takes (two a warp): narrower launches use fewer blocks. */
  static final int W4_SPLIT_MIN_PAIRS = 16;
  /**
   * Fewest input pairs a group needs for its launch to be split, where the launch has fewer
   * groups than block slots (wider ones are never split). One H200, 16 tokens, 14B: down (160
   * groups of 216 pairs) 21.1 us split against 25.9 whole; QKV and O (80 pairs a group) gain
   * nothing or lose (14.5 against 13.0 us in a first version), and gate/up (864 groups) split
   * read 39.2 against 39.3. {@code redress.cuda.w4SplitMinGroupPairs} overrides it.
   */
  static final int W4_SPLIT_MIN_GROUP_PAIRS =
      Integer.getInteger("redress.cuda.w4SplitMinGroupPairs", 128);
  private int w4SplitMinGroupPairs = W4_SPLIT_MIN_GROUP_PAIRS;

  /** Tests: split narrow residual launches from {@code pairs} a group (0: every one). */
  void w4SplitMinGroupPairs(int pairs) {
    w4SplitMinGroupPairs = pairs;
  }

  /**
   * Most groups of a split launch: the parts' tags hold the group's index in 11 bits
   * (W4M_TAG_GROUP_BITS in w4a16_fused.cu).
   */
  static final int W4_SPLIT_MAX_GROUPS = 1 << 11;
  /** Most groups a block of a split launch completes (W4M_MAX_DONE in w4a16_fused.cu). */
  static final int W4_SPLIT_MAX_DONE = 64;
  /**
   * Most blocks a split launch takes, and so most groups (a split launch has fewer than its
   * blocks): the scratch's part slots (one a block) and generation words (one a group).
   */
  private int w4SplitMaxBlocks() {
    return 8 * sms;
  }

  /**
   * Blocks a split many-token launch shares its {@code groups x pairs} input pairs among, at
   * most {@code slots} (every block resident) with runs of at least
   * {@link #W4_SPLIT_MIN_PAIRS}; 0 for whole groups (switched off, as many groups as slots or
   * more, groups shorter than {@link #W4_SPLIT_MIN_GROUP_PAIRS}, or beyond the kernel's record
   * of completed groups, its tags' {@link #W4_SPLIT_MAX_GROUPS} or its 32-bit indices). Decided
   * from the shape and the GPU alone, never the token count, so a token's sums do not depend on
   * the batch.
   */
  int w4SplitBlocks(int groups, int pairs, int slots) {
    long n = (long) groups * pairs;
    int blocks = (int) Math.min(Math.min(slots, w4SplitMaxBlocks()), n / W4_SPLIT_MIN_PAIRS);
    if (!W4_SPLIT || groups >= slots || groups > W4_SPLIT_MAX_GROUPS
        || pairs < w4SplitMinGroupPairs || blocks < 2
        || n * blocks >= Integer.MAX_VALUE
        || n / blocks / pairs + 2 > W4_SPLIT_MAX_DONE) {
      return 0;
    }
    return blocks;
  }

  /** The split launches' scratch: part slots, then the groups' generations (zeroed once). */
  private CUdeviceptr w4SplitScratch;
  /** Bytes of the part slots: a block's {tag, sum} words, two for each of 256 threads. */
  private long w4SplitPartBytes() {
    return 2L * w4SplitMaxBlocks() * 2 * 128 * 8;
  }

  /**
   * The split scratch, allocated on first use ({@link #prepareW4Fused} does it before any graph
   * capture); launches on this stream take turns with it.
   */
  private CUdeviceptr w4SplitScratch() {
    if (w4SplitScratch == null) {
      CUdeviceptr d = new CUdeviceptr();
      long bytes = w4SplitPartBytes() + 4L * w4SplitMaxBlocks();
      cuMemAlloc(d, bytes);
      cuMemsetD32(d, 0, bytes / 4);
      w4SplitScratch = d;
    }
    return w4SplitScratch;
  }

  private static long[][] concat(long[][]... parts) {
    return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream)
        .toArray(long[][]::new);
  }

  /**
   * {@link #rmsnormQkvRope} with GPTQ int4 weights {@code w} (w4a16.cu's layout, act-order
   * parts permuted inside the kernel): to bf16 rounding the result of {@link #addRmsnorm},
   * {@link #w4a16} and {@link #qkvRopeCache} in turn.
   */
  public void w4RmsnormQkvRope(CUdeviceptr x, CUdeviceptr normW, float eps, CudaWeights.Q4 w,
      CUdeviceptr bias, CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr qOut,
      CUdeviceptr kCache, CUdeviceptr vCache, int tokens, int hidden, int heads, int kvHeads,
      int headDim, float theta) {
    checkFused(tokens, hidden);
    launchW4Fused(w4Pick(w4QkvRope, w), (heads + 2 * kvHeads) * (headDim / 2),
        w4Smem(tokens, hidden, permutedParts(w)), concat(new long[][] {p(x), p(normW), f(eps)},
            w4Weights(w), new long[][] {p(bias), p(positions), p(slots), p(qOut), p(kCache),
                p(vCache), i(tokens), i(hidden), i(heads), i(kvHeads), i(headDim), f(theta)}));
  }

  /**
   * {@link #rmsnormGateUpSilu} with GPTQ int4 weights {@code w} (gate rows, then up rows): to
   * bf16 rounding {@link #addRmsnorm}, {@link #w4a16} and {@link #siluMul} in turn.
   */
  public void w4RmsnormGateUpSilu(CUdeviceptr x, CUdeviceptr normW, float eps,
      CudaWeights.Q4 w, CUdeviceptr act, int tokens, int hidden, int inter) {
    checkFused(tokens, hidden);
    launchW4Fused(w4Pick(w4Silu, w), inter, w4Smem(tokens, hidden, permutedParts(w)),
        concat(new long[][] {p(x), p(normW), f(eps)}, w4Weights(w),
            new long[][] {p(act), i(tokens), i(hidden), i(inter)}));
  }

  /**
   * {@code resid (tokens, rows) fp32 += a . w^T} with GPTQ int4 weights {@code w} of one part,
   * for 1 to {@link #W4M_MAX_TOKENS} tokens; an act-order layer's {@code a} must already be in
   * its permuted order ({@link #gatherCols}). Up to {@link #oneTileTokens} tokens take the
   * one-n-tile kernel.
   */
  public void w4Residual(CUdeviceptr a, CudaWeights.Q4 w, CUdeviceptr resid, int tokens) {
    w4Residual(a, w, resid, tokens, null);
  }

  /**
   * The next RMSNorm run by a residual W4 kernel once its rows are added (w4_resid_norm): h
   * (tokens, rows) bf16 = RMSNorm(resid) * w, so the QKV or gate/up kernel after it needs no
   * norm kernel. {@code groupSums} holds {@link #W4M_MAX_TOKENS} * rows / 32 floats of
   * scratch; {@code barrier} a grid barrier word, zero at first use (it resets itself), used by
   * one launch at a time.
   */
  public record ResidNorm(CUdeviceptr w, float eps, CUdeviceptr h, CUdeviceptr groupSums,
      CUdeviceptr barrier) {}

  /**
   * {@link #w4Residual}, then, where {@code norm} is given, {@code norm.h = RMSNorm(resid) *
   * norm.w} (to bf16 rounding {@link #addRmsnorm}'s; each token's sums in an order fixed by the
   * shape, so the same bits alone as batched).
   */
  public void w4Residual(CUdeviceptr a, CudaWeights.Q4 w, CUdeviceptr resid, int tokens,
      ResidNorm norm) {
    if (w.rows() % 32 != 0 || w.parts() != 1) {
      throw new IllegalArgumentException("w4Residual takes one part of rows % 32 == 0");
    }
    launchW4Rows(true, a, w.codes().ptr(), w.scaleZero().ptr(), w.group(), resid, tokens,
        w.rows(), w.k(), norm, stripScales(w), w.stripZ8());
  }

  /**
   * Most tokens the fused W4 kernels take in one MMA n-tile (the _t8 QKV and SiLU kernels, the
   * one-n-tile residual kernel) for a layer that reads the strip-major scales
   * ({@code stripScales}); more take the two-tile many-token kernels. 2 there: since those stage
   * their activations (by tensor copies on Hopper) and skip an empty second tile, they are the
   * faster from 3 tokens on (one H200, 14B GPTQ decode tokens/s a sequence: batch 3 231.5
   * against 213.8, batch 4 230.6 against 213.7, batch 8 222.8 against 202.7 before the tile
   * skip; 7B batch 4 409.3 against 389.7; by cp.async too, batch 4 228.2). Other layers
   * (act-order, groups of 32 or of no power of two) keep one tile up to 8, unmeasured since.
   * Steps of 1 or 2 tokens mostly take the chain. {@code redress.cuda.w4OneTileTokens} sets it
   * for every layer, up to 8 (0: every step the two-tile kernels).
   */
  static int oneTileTokens(boolean stripScales) {
    return ONE_TILE_TOKENS != null ? Math.min(8, ONE_TILE_TOKENS) : stripScales ? 2 : 8;
  }

  private static final Integer ONE_TILE_TOKENS =
      Integer.getInteger("redress.cuda.w4OneTileTokens");

  /** {@link #oneTileTokens} of a layer's fused kernels. */
  static int oneTileTokens(CudaWeights.Q4 w) {
    return oneTileTokens(stripScales(w) != null);
  }

  /** Most tokens the many-token W4 kernels take (W4M_MAX_TOKENS in w4a16_fused.cu). */
  public static final int W4M_MAX_TOKENS = 16;

  private static void checkW4Many(int tokens, int k) {
    if (tokens < 1 || tokens > W4M_MAX_TOKENS || k % 64 != 0) {
      throw new IllegalArgumentException("the fused W4 kernels take 1 to " + W4M_MAX_TOKENS
          + " tokens and k % 64 == 0");
    }
  }

  /**
   * {@link #w4RmsnormQkvRope} for several tokens whose activations are normed already: {@code h
   * (parts, tokens, hidden)} bf16, one copy per act-order part in its permuted order (part
   * stride {@code partStride} elements; one copy and stride 0 when not act-order). To bf16
   * rounding {@link #w4a16} then {@link #qkvRopeCache}.
   */
  public void w4QkvRope(CUdeviceptr h, long partStride, CudaWeights.Q4 w, CUdeviceptr bias,
      CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr qOut, CUdeviceptr kCache,
      CUdeviceptr vCache, int tokens, int hidden, int heads, int kvHeads, int headDim,
      float theta) {
    checkW4Many(tokens, hidden);
    int units = (heads + 2 * kvHeads) * (headDim / 2);
    long[][] args = concat(new long[][] {p(h), new long[] {partStride}}, w4ManyWeights(w),
        new long[][] {p(bias), p(positions), p(slots), p(qOut), p(kCache), p(vCache),
            i(tokens), i(hidden), i(heads), i(kvHeads), i(headDim), f(theta)});
    if (tokens > oneTileTokens(w)) {
      launchW4ManyNormed(w4QkvRopeMany, w4QkvRopeManyTma, w, h, tokens, units, hidden, args);
    } else {
      launchW4Fused(w4Pick(w4QkvRopeT8, w), units, 0, args);
    }
  }

  /**
   * {@link #w4RmsnormGateUpSilu} for several tokens whose activations are normed already
   * ({@code h} as in {@link #w4QkvRope}): to bf16 rounding {@link #w4a16} then {@link #siluMul}.
   */
  public void w4GateUpSilu(CUdeviceptr h, long partStride, CudaWeights.Q4 w, CUdeviceptr act,
      int tokens, int hidden, int inter) {
    checkW4Many(tokens, hidden);
    long[][] args = concat(new long[][] {p(h), new long[] {partStride}}, w4ManyWeights(w),
        new long[][] {p(act), i(tokens), i(hidden), i(inter)});
    if (tokens > oneTileTokens(w)) {
      launchW4ManyNormed(w4SiluMany, w4SiluManyTma, w, h, tokens, inter, hidden, args);
    } else {
      launchW4Fused(w4Pick(w4SiluT8, w), inter, 0, args);
    }
  }

  /**
   * A many-token QKV or gate/up launch of layer {@code w} over its normed activations {@code h}:
   * the {@code tma} twin ([z8 ? 1 : 0]) with h's map where {@link #w4ManyXMap} gives one for a
   * layer with strip-major scales, else {@code family}'s twin ({@link #w4PickMany}).
   */
  private void launchW4ManyNormed(CUfunction[] family, CUfunction[] tma, CudaWeights.Q4 w,
      CUdeviceptr h, int tokens, int units, int k, long[][] args) {
    long[] xmap = stripScales(w) == null ? null : w4ManyXMap(h, tokens, k);
    launchW4Many(xmap == null ? w4PickMany(family, w) : tma[w.stripZ8() ? 1 : 0], null, xmap,
        units, k, args);
  }

  /** The weight arguments the many-token W4 kernels share (W4M_WEIGHTS). */
  private static long[][] w4ManyWeights(CudaWeights.Q4 w) {
    return new long[][] {p(w.codes().ptr()), p(w.scaleZero().ptr()), i(w.group()),
        i(groupShift(w.group())), i(w.bound1()), i(w.bound2()), p(stripScales(w))};
  }

  // ---- layers_bf16.cu: every layer of a one-token bf16 step in one launch.

  /** Consumer threads (LW_CW warps, plus the producer), stage bytes, staged input row. */
  private static final int LAYERS_THREADS = 32 * (8 + 1);
  private static final int LAYERS_STAGE = 29_184;
  private static final int LAYERS_XS = 9_216;
  /** Most rows of x a block owns (LW_OWN). */
  private static final int LAYERS_OWN = 64;
  /** Most runs of keys a head's attention takes (LW_MAX_SPLITS): partials' rows per head. */
  public static final int LAYERS_RUNS = 16;
  /** Pointers of an LwLayer, and the most layers LwArgs holds (LW_MAX_LAYERS). */
  public static final int LAYER_WORDS = 9;
  public static final int LAYERS_MAX = 64;

  /**
   * Whether layers_bf16 takes a model of these shapes on this GPU: Hopper, head_dim 64 or 128,
   * queries as wide as the hidden size, rows that fit its ring stages and input buffer, and at
   * most {@link #LAYERS_MAX} layers.
   */
  public boolean layersFit(int hidden, int inter, int qSize, int headDim, int numLayers) {
    int smem = headDim == 64 ? layersSmem64 : layersSmem128;
    return ccMajor >= 9 && (headDim == 64 || headDim == 128) && qSize == hidden
        && hidden % 8 == 0 && inter % 8 == 0 && Math.max(hidden, inter) <= LAYERS_XS
        && 2 * Math.max(hidden, inter) <= LAYERS_STAGE && smem <= maxSmemOptin
        && (hidden + sms - 1) / sms <= LAYERS_OWN && numLayers <= LAYERS_MAX
        && 32 + 2 * sms <= LAYERS_BEST_WORDS;
  }

  /**
   * The arguments of {@link #layers}, built once a runner: x (hidden) fp32 is the residual
   * stream out; layerWords holds {@link #LAYER_WORDS} device addresses a layer (QKV weight and
   * bias, O, gate/up and down weights, the two norms, K and V cache); qkv (q + 2 kv floats),
   * part ({@code heads * LAYERS_RUNS * (headDim + 4)} floats) and act (inter bf16) are scratch;
   * barrier a zeroed word the launches share; ids, positions, slots and blockTables the step's
   * metadata (token 0's), whose embedding row (embed) is layer 0's input, its id where
   * negative in fed as {@link #embedding} reads it. With the head
   * ({@link #layersWithHead}) the launch then runs the final norm and the LM head into logits
   * (vocab fp32) and writes their greedy id (the sampler's pick at temperature 0) to sampled;
   * best is {@link #LAYERS_BEST_WORDS} zeroed words for that.
   */
  public static long[] layersArgs(long[] layerWords, CUdeviceptr x, CUdeviceptr qkv,
      CUdeviceptr part, CUdeviceptr act, CUdeviceptr barrier, CUdeviceptr ids, CUdeviceptr fed,
      CUdeviceptr positions, CUdeviceptr slots, CUdeviceptr blockTables, CUdeviceptr embed,
      CUdeviceptr finalNorm, CUdeviceptr lmHead, CUdeviceptr logits, CUdeviceptr sampled,
      CUdeviceptr best, float eps, float theta, int numLayers, int hidden, int inter,
      int heads, int kvHeads, int blockSize, int vocab) {
    // LwArgs by value, as 64-bit words: 16 pointers, two floats, eight ints, then the layers.
    long[] head = {addr(x), addr(qkv), addr(part), addr(act), addr(barrier), addr(positions),
        addr(slots), addr(blockTables), addr(ids), addr(fed), addr(embed), addr(finalNorm),
        addr(lmHead), addr(logits), addr(sampled), addr(best),
        pair(Float.floatToRawIntBits(eps), Float.floatToRawIntBits(theta)),
        pair(numLayers, hidden), pair(inter, heads), pair(kvHeads, blockSize), pair(vocab, 0)};
    long[] a = java.util.Arrays.copyOf(head, head.length + LAYERS_MAX * LAYER_WORDS);
    System.arraycopy(layerWords, 0, a, head.length, layerWords.length);
    return a;
  }

  /** Words of {@link #layersArgs}' best: a count, then each block's (logit, id) from word 32. */
  public static final int LAYERS_BEST_WORDS = 32 + 2 * 1024;

  /** A copy of {@link #layersArgs}' args with the final norm, LM head and greedy pick on. */
  public static long[] layersWithHead(long[] args) {
    long[] a = args.clone();
    a[LAYERS_HEAD_WORD] = (a[LAYERS_HEAD_WORD] & 0xffffffffL) | (1L << 32);
    return a;
  }

  /** The word of LwArgs holding vocab and head. */
  private static final int LAYERS_HEAD_WORD = 20;

  /**
   * Runs every decoder layer of a one-token step (token 0 of the step's metadata) with the
   * arguments {@link #layersArgs} built, passed by value. One block per SM, every block
   * resident.
   */
  public void layers(long[] args, int headDim) {
    CUfunction f = headDim == 64 ? layers64 : layers128;
    int smem = headDim == 64 ? layersSmem64 : layersSmem128;
    allowSmem(f, smem);
    launch(f, sms, 1, 1, LAYERS_THREADS, smem, args);
  }

  private static long addr(CUdeviceptr p) {
    return CudaDevice.address(p);
  }

  private static long pair(int lo, int hi) {
    return (lo & 0xffffffffL) | ((long) hi << 32);
  }

  // ---- w4a16_chain.cu: a GPTQ layer's projections after its attention in one launch.

  /** Bytes of a Chain (w4a16_chain.cu asserts them, and the offsets below). */
  public static final int CHAIN_BYTES = 456;
  /** Phases a Chain holds (CHAIN_PHASES in w4a16_chain.cu); they open it. */
  public static final int CHAIN_PHASES = 4;
  /** Bytes of a ChainPhase. */
  public static final int CHAIN_PHASE_BYTES = 96;
  /** Phase kinds: O or down projection into the residual stream. */
  public static final int CHAIN_RESID = 0;
  /** Phase kinds: RMSNorm, gate/up, SiLU-and-mul. */
  public static final int CHAIN_SILU = 1;
  /** Phase kinds: RMSNorm, QKV, bias, RoPE, cache write. */
  public static final int CHAIN_QKV = 2;
  /**
   * Phase kinds: RMSNorm and a projection into fp32 rows (the QKV before an FP8 cache, whose
   * writer runs after the chain).
   */
  public static final int CHAIN_ROWS = 3;
  /** Most tokens w4_chain takes (one MMA n-tile). */
  public static final int CHAIN_MAX_TOKENS = 8;
  /**
   * Most tokens a runner sends through the chain ({@code redress.cuda.chainMaxTokens}), where
   * their activations fit beside the ring in shared memory ({@link #w4ChainTokens}).
   */
  static final int CHAIN_TOKENS = Math.max(1,
      Math.min(CHAIN_MAX_TOKENS, Integer.getInteger("redress.cuda.chainMaxTokens", 2)));

  /**
   * Dynamic shared memory of w4_chain: ring, scales (8 entries a strip's group, of 8 bytes, or
   * 4 where {@code z8}: scales without zero points), warp sums, activations (fp16).
   */
  int w4ChainSmem(int group, int maxK, int tokens, boolean z8) {
    int groupsPerStage = chainPairs * 64 / group;
    return chainStages * 2 * chainPairs * 512 + chainStages * 2 * groupsPerStage * (z8 ? 32 : 64)
        + chainRed * chainWarps * 2 * 4 * 8 * ((tokens + 1) / 2) * 4 + 2 * tokens * maxK;
  }

  /**
   * Whether w4_chain can run layers of this group size and widest input (w4a16_chain.cu's
   * requirements): Hopper's bulk copies, groups of 64 or 128 inputs (a kernel each), and the
   * ring beside the activations in one SM's shared memory. The callers check the shapes the
   * fused W4 kernels need (w4FusedFits) and that no layer is act-order.
   */
  public boolean w4ChainFits(int group, int maxK) {
    return ccMajor >= 9 && (group == 64 || group == 128) && (chainPairs * 64) % group == 0
        && maxK % 64 == 0
        && w4ChainSmemFits(group, maxK, 1, false);
  }

  /** Whether w4_chain's shared memory for {@code tokens} tokens fits one SM's block. */
  private boolean w4ChainSmemFits(int group, int maxK, int tokens, boolean z8) {
    return w4ChainSmem(group, maxK, tokens, z8) <= maxSmemOptin - chainStatic;
  }

  /**
   * The most tokens (up to {@link #CHAIN_TOKENS}) whose activations fit beside w4_chain's
   * ring for layers of this group size and widest input; at least 1 where
   * {@link #w4ChainFits}.
   */
  public int w4ChainTokens(int group, int maxK, boolean z8) {
    int t = 1;
    while (t < CHAIN_TOKENS && w4ChainSmemFits(group, maxK, t + 1, z8)) {
      t++;
    }
    return t;
  }

  /**
   * Bytes of a w4_chain launch's scratch (the Chain's barrier pointer; zero at first use): the
   * grid barrier and epoch words, then from byte 128 a 16-byte slot for each epilogue thread of
   * each block and phase, where a group's partner leaves its sums (w4a16_chain.cu's
   * chain_part).
   */
  public long w4ChainScratchBytes() {
    return 128 + (long) CHAIN_PHASES * sms * 128 * 16;
  }

  /** Lets w4_chain take {@code smem} bytes of dynamic shared memory (outside any capture). */
  public void prepareW4Chain(int group, boolean z8, int smem) {
    allowSmem(w4ChainFor(group, z8, true), smem);
    allowSmem(w4ChainFor(group, z8, false), smem);
  }

  /**
   * szs = the strip-major copy of {@code w}'s scales and zero points that w4_chain reads
   * ({@code rows / 2 * groups} entries of 8 bytes; w4a16_chain.cu), or with {@code z8} of its
   * scales only (entries of 4 bytes), for a layer whose zero points are all 8
   * ({@link #w4ZerosAllEight}).
   */
  public void w4ChainScales(CudaWeights.Q4 w, CUdeviceptr szs, boolean z8) {
    int groups = w.k() / w.group();
    launch(w4ChainScales, Math.min(4096, (w.rows() / 2 * groups + 255) / 256), 1, 256,
        p(w.scaleZero().ptr()), p(szs), i(w.rows()), i(groups), i(z8 ? 1 : 0));
  }

  /** Bytes of {@link #w4ChainScales}' copy of {@code w}. */
  public static long w4ChainScaleBytes(CudaWeights.Q4 w, boolean z8) {
    return (z8 ? 2L : 4L) * w.rows() * (w.k() / w.group());
  }

  /**
   * Whether every zero point of every layer in {@code ws} is 8 (GPTQ's symmetric quantization,
   * as in Qwen's own GPTQ-Int4 checkpoints), so their strip-major scales can go without them.
   * {@code flag}: one word of scratch, which every layer's check marks. Synchronizes once (load
   * time only).
   */
  public boolean w4ZerosAllEight(Iterable<CudaWeights.Q4> ws, DeviceBuffer flag) {
    cuMemsetD32Async(flag.ptr(), 0, 1, stream);
    for (CudaWeights.Q4 w : ws) {
      long n = (long) w.rows() * (w.k() / w.group());
      launch(w4ZerosNot8, (int) Math.min(1024, (n + 255) / 256), 1, 256,
          p(w.scaleZero().ptr()), new long[] {n}, p(flag.ptr()));
    }
    int[] other = new int[1];
    cuMemcpyDtoHAsync(Pointer.to(other), flag.ptr(), 4, stream);
    cuStreamSynchronize(stream);
    return other[0] == 0;
  }

  /**
   * Runs the phases of {@code chain} (a Chain in device memory) for {@code tokens} tokens: one
   * block per SM, every block resident at once (the phases meet at grid barriers).
   */
  public void w4Chain(CUdeviceptr chain, int group, boolean z8, int tokens, int smem,
      CUdeviceptr runs) {
    if (tokens < 1 || tokens > CHAIN_MAX_TOKENS) {
      throw new IllegalArgumentException("w4_chain takes 1 to " + CHAIN_MAX_TOKENS + " tokens");
    }
    launch(w4ChainFor(group, z8, tokens == 1), sms, 1, 1, 32 * (chainWarps + 1), smem, p(chain),
        i(tokens), p(runs));
  }

  // A block's cost in a chain phase (chainRuns), in us as fitted on a 14B GPTQ batch-1 timeline
  // (one H100, 528 blocks' phases over two runs of two launches): per input pair, per stage, per
  // group part.
  // {@code redress.cuda.chainRunCosts=pair,stage,part} replaces them (measurements).
  private static final double[] RUN_COSTS = runCosts(
      System.getProperty("redress.cuda.chainRunCosts", "0.022,0.32,0.80"));
  private static final double RUN_PAIR = RUN_COSTS[0];
  private static final double RUN_STAGE = RUN_COSTS[1];
  private static final double RUN_PART = RUN_COSTS[2];

  private static double[] runCosts(String spec) {
    String[] parts = spec.split(",");
    if (parts.length != 3) {
      throw new IllegalArgumentException("redress.cuda.chainRunCosts takes three numbers"
          + " (us a pair, a stage, a group part), not " + spec);
    }
    double[] out = new double[3];
    for (int i = 0; i < 3; i++) {
      out[i] = Double.parseDouble(parts[i].trim());
    }
    return out;
  }

  /**
   * The runs {@code {u0, u1}} of w4_chain's blocks in each phase, {@code CHAIN_PHASES * (sms +
   * 1)} ints (phase p's cut before block b at {@code p * (sms + 1) + b}), for phases of
   * {@code pairs[p]} input pairs and {@code groups[p]} unit groups, in units of a scale group
   * ({@code 1 << gsh} pairs): cut where the blocks' modelled costs (pairs, stages of up to
   * the ring's pairs counted from each group part's start, group parts) come out equal, the
   * smallest largest cost (a binary search on it, each block's run as long as it allows; the
   * last blocks may be left idle). Where a block would lie inside one group (three parts), the
   * phase has fewer groups than blocks, or the cuts would not lower the largest cost, the
   * phase keeps w4a16_chain.cu's equal runs. The same shapes and grid give the same cuts, so
   * the sums still do not depend on the batch or the run.
   */
  int[] w4ChainRuns(int[] pairs, int[] groups, int gsh, int freeLast) {
    return chainRuns(pairs, groups, gsh, sms, chainPairs, freeLast);
  }

  static int[] chainRuns(int[] pairs, int[] groups, int gsh, int nb, int stagePairs) {
    return chainRuns(pairs, groups, gsh, nb, stagePairs, 0);
  }

  /**
   * {@code freeLast}: the last phase (the next layer's QKV) cut among all but the last
   * {@code freeLast} blocks, which leave the launch as the phase starts, so that the attention
   * after it, launched early, has that many SMs to start on while the phase runs (where the
   * others still take a group each; else every block takes a run).
   */
  static int[] chainRuns(int[] pairs, int[] groups, int gsh, int nb, int stagePairs,
      int freeLast) {
    int[] out = new int[CHAIN_PHASES * (nb + 1)];
    for (int p = 0; p < CHAIN_PHASES && p < pairs.length; p++) {
      long q = pairs[p] >> gsh;
      long n = groups[p] * q;
      // the blocks that take runs: all, or all but the freed where some are left and each
      // still takes at least a group (so that a group keeps at most two parts)
      int np = groups[p] >= nb && p == CHAIN_PHASES - 1 && freeLast > 0 && freeLast < nb
          && n / (nb - freeLast) >= q ? nb - freeLast : nb;
      long[] cuts = groups[p] >= nb ? balancedRuns(pairs[p], gsh, n, np, stagePairs) : null;
      for (int b = 0; b <= nb; b++) {
        int c = Math.min(b, np);
        out[p * (nb + 1) + b] = (int) (cuts != null ? cuts[c] : c * n / np);
      }
    }
    return out;
  }

  /** The cost-balanced cuts of one phase (chainRuns), or null where they do not fit. */
  private static long[] balancedRuns(int pairs, int gsh, long n, int nb, int stagePairs) {
    double lo = 0;
    double hi = runCost(pairs, gsh, stagePairs, 0, n);
    long[] best = null;
    for (int it = 0; it < 50; it++) {
      double t = (lo + hi) / 2;
      long[] cuts = new long[nb + 1];
      long u = 0;
      for (int b = 0; b < nb && u < n; b++) {
        long a = u;
        long z = n;
        while (a < z) { // the longest run from u within cost t
          long m = (a + z + 1) / 2;
          if (runCost(pairs, gsh, stagePairs, u, m) <= t) {
            a = m;
          } else {
            z = m - 1;
          }
        }
        u = a;
        java.util.Arrays.fill(cuts, b + 1, nb + 1, u);
      }
      if (u >= n) {
        hi = t;
        best = cuts;
      } else {
        lo = t;
      }
    }
    // every run but the last ones (idle, past the phase's end) is at least a group part long,
    // and none lies inside one group: a cut group's partner is the next block; and the cuts
    // beat the equal runs' largest cost, else those stay
    long q = pairs >> gsh;
    double equalMax = 0;
    for (int b = 0; best != null && b < nb; b++) {
      long u0 = best[b];
      long u1 = best[b + 1];
      boolean idle = u0 == n && u1 == n;
      if (!idle && (u1 <= u0 || u0 % q != 0 && u1 % q != 0 && u0 / q == (u1 - 1) / q)) {
        return null;
      }
      equalMax = Math.max(equalMax,
          runCost(pairs, gsh, stagePairs, b * n / nb, (b + 1) * n / nb));
    }
    return best != null && hi < equalMax - 1e-9 ? best : null;
  }

  /** RUN_* costs of the run of units [u0, u1): its pairs, stages and group parts. */
  static double runCost(int pairs, int gsh, int stagePairs, long u0, long u1) {
    long up = 1L << gsh;
    long q = pairs >> gsh;
    double c = RUN_PAIR * (u1 - u0) * up;
    for (long j = u0 / q; j * q < u1; j++) {
      long pa = (Math.max(u0, j * q) - j * q) * up;
      long pe = (Math.min(u1, (j + 1) * q) - j * q) * up;
      c += RUN_STAGE * ((pe - pa + stagePairs - 1) / stagePairs) + RUN_PART;
    }
    return c;
  }

  /**
   * w4_chain's twin for a group size (the shift it takes its scales by is compiled in), scales
   * with zero points or without ({@code z8}: all 8), and steps of one token ({@code one}: the
   * _one twin scales token 0's sums only) or more.
   */
  private CUfunction w4ChainFor(int group, boolean z8, boolean one) {
    if (group != 64 && group != 128) {
      throw new IllegalArgumentException("w4_chain takes groups of 64 or 128");
    }
    return w4Chains[(group == 64 ? 1 : 0) + (z8 ? 2 : 0) + (one ? 4 : 0)];
  }

  /** Floats of {@code partO} that {@link #attentionSplit} needs for {@code tokens} tokens. */
  public static long attentionSplitFloats(int tokens, int heads, int headDim) {
    return (long) tokens * heads * ATTENTION_SPLITS * headDim;
  }

  /**
   * Decode attention split over the context (flash-decoding), for few tokens: the same inputs
   * and output as {@link #attention}, plus scratch: partO ({@link #attentionSplitFloats}
   * floats), partMl (tokens * heads * ATTENTION_SPLITS * 2 floats) and counters (tokens *
   * heads ints, zero when first used; each launch leaves them zero).
   */
  public void attentionSplit(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr tokenSeq, CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks,
      int blockSize, CUdeviceptr out, int heads, int kvHeads, int headDim, float scale,
      CUdeviceptr partO, CUdeviceptr partMl, CUdeviceptr counters, int tokens) {
    attentionSplit(q, kCache, vCache, tokenSeq, positions, blockTables, maxBlocks, blockSize,
        out, heads, kvHeads, headDim, scale, partO, partMl, counters, tokens, false);
  }

  /**
   * {@link #attentionSplit}; {@code earlyNext}: the next kernel may launch as this one starts
   * (before a {@link #w4Chain}, whose blocks then load their first weights meanwhile).
   */
  public void attentionSplit(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr tokenSeq, CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks,
      int blockSize, CUdeviceptr out, int heads, int kvHeads, int headDim, float scale,
      CUdeviceptr partO, CUdeviceptr partMl, CUdeviceptr counters, int tokens,
      boolean earlyNext) {
    if (headDim > 128 || headDim % 8 != 0) {
      throw new IllegalArgumentException("attention kernel supports head_dim <= 128 (a"
          + " multiple of 8)");
    }
    launch(attentionSplit, tokens, heads, ATTENTION_SPLITS, 128, 0, p(q), p(kCache),
        p(vCache), p(tokenSeq), p(positions), p(blockTables), i(maxBlocks), i(blockSize),
        p(out), i(heads), i(kvHeads), i(headDim), f(scale), p(partO), p(partMl),
        p(counters), i(earlyNext ? 1 : 0));
  }

  /**
   * {@link #attentionSplit} with a block per (token, KV head, split) serving the KV head's
   * whole query-head group, so the context is read once per KV head, not once per query head;
   * the same scratch (counters: the first tokens * kvHeads). kScale/vScale non-null: an FP8
   * cache ({@link #qkvRopeCacheFp8}'s layout).
   */
  public void attentionGqaSplit(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr kScale, CUdeviceptr vScale, CUdeviceptr tokenSeq, CUdeviceptr positions,
      CUdeviceptr blockTables, int maxBlocks, int blockSize, CUdeviceptr out, int heads,
      int kvHeads, int headDim, float scale, CUdeviceptr partO, CUdeviceptr partMl,
      CUdeviceptr counters, int tokens) {
    checkAttention(headDim, heads, kvHeads);
    if (!gqaFits(headDim, kScale != null)) {
      throw new IllegalArgumentException("the GQA split kernel over an FP8 cache takes"
          + " head_dim % 16 == 0, not " + headDim);
    }
    long[][] caches = kScale == null ? new long[][] {p(q), p(kCache), p(vCache)}
        : new long[][] {p(q), p(kCache), p(vCache), p(kScale), p(vScale)};
    launch(kScale == null ? attentionGqaSplit : attentionGqaSplitFp8, tokens, kvHeads,
        ATTENTION_SPLITS, 128, 0, concat(caches, new long[][] {p(tokenSeq), p(positions),
            p(blockTables), i(maxBlocks), i(blockSize), p(out), i(heads), i(kvHeads),
            i(headDim), f(scale), p(partO), p(partMl), p(counters)}));
  }

  /** n bf16 values drawn from N(mean, std^2), counter-based on (seed, index). */
  public void fillNormal(CUdeviceptr out, long n, long seed, float mean, float std) {
    int blocks = (int) Math.min(65_535L * 4, (n + 255) / 256);
    launch(fillNormal, Math.max(blocks, 1), 1, 256, p(out), new long[] {n},
        new long[] {seed}, f(mean), f(std));
  }

  @Override
  public void close() {
    if (w4SplitScratch != null) {
      cuMemFree(w4SplitScratch);
      w4SplitScratch = null;
    }
    cuModuleUnload(module);
  }
}
