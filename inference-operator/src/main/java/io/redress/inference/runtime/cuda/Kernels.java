package io.redress.inference.runtime.cuda;

import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

import java.io.IOException;
import java.io.InputStream;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;

/**
 * Typed launchers for the kernels of {@code kernels.fatbin} (module {@code cuda/}). Each method
 * states the kernel's shapes; the grid follows the launch comment in the {@code .cu} file.
 * Launches go to one stream and are asynchronous.
 */
public final class Kernels implements AutoCloseable {

  static final String FATBIN = "/io/redress/cuda/kernels.fatbin";
  private static final CUdeviceptr NULL = new CUdeviceptr();

  private final CUmodule module = new CUmodule();
  private final CUstream stream;
  private final CUfunction embedding;
  private final CUfunction addRmsnorm;
  private final CUfunction qkvRopeCache;
  private final CUfunction attention;
  private final CUfunction siluMul;
  private final CUfunction sample;
  private final CUfunction fillNormal;
  private final CUfunction gemv;

  public Kernels(CUstream stream) {
    this.stream = stream;
    try (InputStream in = Kernels.class.getResourceAsStream(FATBIN)) {
      if (in == null) {
        throw new IllegalStateException("kernels.fatbin missing: build with nvcc installed");
      }
      cuModuleLoadData(module, in.readAllBytes());
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + FATBIN, e);
    }
    embedding = function("embedding_bf16");
    addRmsnorm = function("add_rmsnorm_bf16");
    qkvRopeCache = function("qkv_rope_cache_bf16");
    attention = function("paged_attention_bf16");
    siluMul = function("silu_mul_bf16");
    sample = function("sample_f32");
    fillNormal = function("fill_normal_bf16");
    gemv = function("gemv_bf16");
  }

  private CUfunction function(String name) {
    CUfunction f = new CUfunction();
    cuModuleGetFunction(f, module, name);
    return f;
  }

  private void launch(CUfunction f, int gx, int gy, int block, Pointer... args) {
    cuLaunchKernel(f, gx, gy, 1, block, 1, 1, 0, stream, Pointer.to(args), null);
  }

  private static Pointer p(CUdeviceptr ptr) {
    return Pointer.to(ptr == null ? NULL : ptr);
  }

  private static Pointer i(int v) {
    return Pointer.to(new int[] {v});
  }

  private static Pointer f(float v) {
    return Pointer.to(new float[] {v});
  }

  /** x (tokens, hidden) fp32 = table[ids] (bf16 rows). */
  public void embedding(CUdeviceptr ids, CUdeviceptr table, CUdeviceptr x, int hidden,
      int tokens) {
    launch(embedding, tokens, 1, 256, p(ids), p(table), p(x), i(hidden));
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

  /** Bias + RoPE on the fused fp32 QKV rows; Q to qOut (bf16), K and V to the cache slots. */
  public void qkvRopeCache(CUdeviceptr qkv, CUdeviceptr bias, CUdeviceptr positions,
      CUdeviceptr slots, CUdeviceptr qOut, CUdeviceptr kCache, CUdeviceptr vCache, int heads,
      int kvHeads, int headDim, float theta, int tokens) {
    launch(qkvRopeCache, tokens, heads + 2 * kvHeads, 64, p(qkv), p(bias), p(positions), p(slots), p(qOut),
        p(kCache), p(vCache), i(heads), i(kvHeads), i(headDim), f(theta));
  }

  /** Paged causal attention of each token over its sequence's cached context. */
  public void attention(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr tokenSeq, CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks,
      int blockSize, CUdeviceptr out, int heads, int kvHeads, int headDim, float scale,
      int tokens) {
    if (headDim > 128 || headDim % 8 != 0 || heads / kvHeads > 8) {
      throw new IllegalArgumentException("attention kernel supports head_dim <= 128 (a"
          + " multiple of 8) and up to 8 query heads per KV head");
    }
    // Few tokens (decode): a block per query head keeps the SMs busy; many tokens (prefill):
    // a block per KV head reads each K/V row once for its whole group.
    int perBlock = (long) tokens * kvHeads <= 32 ? 1 : heads / kvHeads;
    // With few blocks, 16 warps per block split each context four times finer.
    int threads = (long) tokens * (heads / perBlock) < 264 ? 512 : 128;
    launch(attention, tokens, heads / perBlock, threads, p(q), p(kCache), p(vCache), p(tokenSeq),
        p(positions), p(blockTables), i(maxBlocks), i(blockSize), p(out), i(heads),
        i(kvHeads), i(headDim), f(scale), i(perBlock));
  }

  /** out (tokens, inter) bf16 = silu(gate) * up from fp32 (tokens, 2 * inter). */
  public void siluMul(CUdeviceptr gateUp, CUdeviceptr out, int inter, int tokens) {
    launch(siluMul, (inter + 1023) / 1024, tokens, 256, p(gateUp), p(out), i(inter));
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

  /** n bf16 values drawn from N(mean, std^2), counter-based on (seed, index). */
  public void fillNormal(CUdeviceptr out, long n, long seed, float mean, float std) {
    int blocks = (int) Math.min(65_535L * 4, (n + 255) / 256);
    launch(fillNormal, Math.max(blocks, 1), 1, 256, p(out), Pointer.to(new long[] {n}),
        Pointer.to(new long[] {seed}), f(mean), f(std));
  }

  @Override
  public void close() {
    cuModuleUnload(module);
  }
}
