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
    launch(addRmsnorm, numRows, 1, 256, p(x), p(delta), p(rows), p(w), p(out), i(hidden),
        f(eps));
  }

  /** Bias + RoPE on the fused fp32 QKV rows; Q to qOut (bf16), K and V to the cache slots. */
  public void qkvRopeCache(CUdeviceptr qkv, CUdeviceptr bias, CUdeviceptr positions,
      CUdeviceptr slots, CUdeviceptr qOut, CUdeviceptr kCache, CUdeviceptr vCache, int heads,
      int kvHeads, int headDim, float theta, int tokens) {
    launch(qkvRopeCache, tokens, 1, 128, p(qkv), p(bias), p(positions), p(slots), p(qOut),
        p(kCache), p(vCache), i(heads), i(kvHeads), i(headDim), f(theta));
  }

  /** Paged causal attention of each token over its sequence's cached context. */
  public void attention(CUdeviceptr q, CUdeviceptr kCache, CUdeviceptr vCache,
      CUdeviceptr tokenSeq, CUdeviceptr positions, CUdeviceptr blockTables, int maxBlocks,
      int blockSize, CUdeviceptr out, int heads, int kvHeads, int headDim, float scale,
      int tokens) {
    if (headDim > 128 || heads / kvHeads > 8) {
      throw new IllegalArgumentException("attention kernel supports head_dim <= 128 and up to"
          + " 8 query heads per KV head");
    }
    launch(attention, tokens, kvHeads, 128, p(q), p(kCache), p(vCache), p(tokenSeq),
        p(positions), p(blockTables), i(maxBlocks), i(blockSize), p(out), i(heads),
        i(kvHeads), i(headDim), f(scale));
  }

  /** out (tokens, inter) bf16 = silu(gate) * up from fp32 (tokens, 2 * inter). */
  public void siluMul(CUdeviceptr gateUp, CUdeviceptr out, int inter, int tokens) {
    launch(siluMul, tokens, 1, 256, p(gateUp), p(out), i(inter));
  }

  /** One sampled id per row of fp32 logits; mask may be null. */
  public void sample(CUdeviceptr logits, int vocab, CUdeviceptr mask, int words,
      CUdeviceptr temperature, CUdeviceptr topK, CUdeviceptr topP, CUdeviceptr uniforms,
      CUdeviceptr out, int rows) {
    launch(sample, rows, 1, 1024, p(logits), i(vocab), p(mask), i(words), p(temperature),
        p(topK), p(topP), p(uniforms), p(out));
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
