package io.redress.inference.engine;

import io.redress.inference.runtime.KvCacheDtype;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * How to open an {@link Engine}. Start from {@link #builder(Path)}; every setting has a
 * default that suits one GPU (or the CPU) serving many short chats.
 *
 * @param modelDir HF model directory
 * @param device where to run
 * @param gpu the GPU's ordinal when it runs on one (one engine per GPU: data parallel); the
 *     first of its GPUs under tensor parallelism
 * @param tensorParallelSize GPUs one model is split over (heads and MLP units; the CUDA runner
 *     only): {@code gpu .. gpu + tensorParallelSize - 1}
 * @param blockSize tokens per KV block
 * @param numBlocks KV blocks in the pool; 0 sizes the pool from {@code kvCacheFraction}
 * @param kvCacheFraction share of free memory (GPU memory, or the CPU runner's heap) for KV
 * @param kvCacheDtype how the KV cache stores K and V (FP8: the CUDA runner only)
 * @param maxNumSeqs most sequences in one step
 * @param maxNumBatchedTokens most new tokens in one step (prefill chunks + decodes)
 * @param maxModelLen longest sequence (prompt + output); 0 means the model's maximum
 * @param enablePrefixCaching reuse KV blocks of identical prefixes
 * @param enableChunkedPrefill split long prompts over steps, next to running decodes
 * @param pipelineDecode schedule each decode step while the one before runs, where the runner
 *     can take it ({@code ModelRunner.pipelines}): the GPU then never waits for the host
 * @param batchWindow how long an idle engine waits after a first request for others to join
 *     its first step
 */
public record EngineConfig(
    Path modelDir,
    Device device,
    int gpu,
    int tensorParallelSize,
    int blockSize,
    int numBlocks,
    double kvCacheFraction,
    KvCacheDtype kvCacheDtype,
    int maxNumSeqs,
    int maxNumBatchedTokens,
    int maxModelLen,
    boolean enablePrefixCaching,
    boolean enableChunkedPrefill,
    boolean pipelineDecode,
    Duration batchWindow) {

  /** Where the model runs. */
  public enum Device {
    CPU, CUDA, AUTO;

    /** Parses "cpu", "cuda" or "auto" (any case). */
    public static Device parse(String s) {
      try {
        return valueOf(s.toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown device '" + s + "': use cpu, cuda or auto");
      }
    }
  }

  public EngineConfig {
    Objects.requireNonNull(modelDir, "modelDir");
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(batchWindow, "batchWindow");
    Objects.requireNonNull(kvCacheDtype, "kvCacheDtype");
    if (gpu < 0) {
      throw new IllegalArgumentException("GPU ordinal must be >= 0, got " + gpu);
    }
    if (tensorParallelSize < 1) {
      throw new IllegalArgumentException("tensor parallel size must be at least 1, got "
          + tensorParallelSize);
    }
    if (tensorParallelSize > 1 && device == Device.CPU) {
      throw new IllegalArgumentException("tensor parallelism splits a model over GPUs; the CPU"
          + " runner runs it whole: use --device cuda, or --tensor-parallel-size 1");
    }
    if (kvCacheDtype == KvCacheDtype.FP8 && device == Device.CPU) {
      throw new IllegalArgumentException("an FP8 KV cache needs the CUDA runner (the CPU runner"
          + " keeps K and V in fp32): use --device cuda or auto, or --kv-cache-dtype auto");
    }
    if (blockSize <= 0 || (blockSize & (blockSize - 1)) != 0 || blockSize > 256) {
      throw new IllegalArgumentException("block size must be a power of two in [1, 256], got "
          + blockSize);
    }
    if (numBlocks < 0) {
      throw new IllegalArgumentException("number of KV blocks must be >= 0 (0 = size"
          + " automatically), got " + numBlocks);
    }
    if (!(kvCacheFraction > 0 && kvCacheFraction <= 1)) {
      throw new IllegalArgumentException("kvCacheFraction must be in (0, 1], got "
          + kvCacheFraction);
    }
    if (maxNumSeqs <= 0 || maxNumBatchedTokens <= 0 || maxModelLen < 0) {
      throw new IllegalArgumentException("maxNumSeqs and maxNumBatchedTokens must be positive,"
          + " maxModelLen >= 0");
    }
    if (!enableChunkedPrefill && maxModelLen > 0 && maxNumBatchedTokens < maxModelLen) {
      throw new IllegalArgumentException("without chunked prefill, maxNumBatchedTokens ("
          + maxNumBatchedTokens + ") must be at least maxModelLen (" + maxModelLen + ")");
    }
  }

  public static Builder builder(Path modelDir) {
    return new Builder(modelDir);
  }

  /** A builder starting from this config. */
  public Builder toBuilder() {
    Builder b = new Builder(modelDir);
    b.device = device;
    b.gpu = gpu;
    b.tensorParallelSize = tensorParallelSize;
    b.blockSize = blockSize;
    b.numBlocks = numBlocks;
    b.kvCacheFraction = kvCacheFraction;
    b.kvCacheDtype = kvCacheDtype;
    b.maxNumSeqs = maxNumSeqs;
    b.maxNumBatchedTokens = maxNumBatchedTokens;
    b.maxModelLen = maxModelLen;
    b.enablePrefixCaching = enablePrefixCaching;
    b.enableChunkedPrefill = enableChunkedPrefill;
    b.pipelineDecode = pipelineDecode;
    b.batchWindow = batchWindow;
    return b;
  }

  /** Builds an {@link EngineConfig}; unset fields keep their defaults. */
  public static final class Builder {
    private final Path modelDir;
    private Device device = Device.AUTO;
    private int gpu;
    private int tensorParallelSize = 1;
    private int blockSize = 16;
    private int numBlocks = 0;
    private double kvCacheFraction = 0.9;
    private KvCacheDtype kvCacheDtype = KvCacheDtype.AUTO;
    private int maxNumSeqs = 256;
    private int maxNumBatchedTokens = 8192;
    private int maxModelLen = 0;
    private boolean enablePrefixCaching = true;
    private boolean enableChunkedPrefill = true;
    private boolean pipelineDecode = true;
    private Duration batchWindow = Duration.ofMillis(2);

    private Builder(Path modelDir) {
      this.modelDir = modelDir;
    }

    public Builder device(Device d) {
      device = d;
      return this;
    }

    /** The GPU's ordinal (default 0): engines on different GPUs run side by side. */
    public Builder gpu(int ordinal) {
      gpu = ordinal;
      return this;
    }

    /** GPUs to split the model over (default 1), from {@link #gpu(int)} on. */
    public Builder tensorParallelSize(int n) {
      tensorParallelSize = n;
      return this;
    }

    public Builder blockSize(int n) {
      blockSize = n;
      return this;
    }

    public Builder numBlocks(int n) {
      numBlocks = n;
      return this;
    }

    public Builder kvCacheFraction(double f) {
      kvCacheFraction = f;
      return this;
    }

    public Builder kvCacheDtype(KvCacheDtype t) {
      kvCacheDtype = t;
      return this;
    }

    public Builder maxNumSeqs(int n) {
      maxNumSeqs = n;
      return this;
    }

    public Builder maxNumBatchedTokens(int n) {
      maxNumBatchedTokens = n;
      return this;
    }

    public Builder maxModelLen(int n) {
      maxModelLen = n;
      return this;
    }

    public Builder enablePrefixCaching(boolean on) {
      enablePrefixCaching = on;
      return this;
    }

    public Builder enableChunkedPrefill(boolean on) {
      enableChunkedPrefill = on;
      return this;
    }

    /** Pipelined decode (default on); off, each step waits for the one before. */
    public Builder pipelineDecode(boolean on) {
      pipelineDecode = on;
      return this;
    }

    public Builder batchWindow(Duration d) {
      batchWindow = d;
      return this;
    }

    public EngineConfig build() {
      return new EngineConfig(modelDir, device, gpu, tensorParallelSize, blockSize, numBlocks, kvCacheFraction,
          kvCacheDtype, maxNumSeqs, maxNumBatchedTokens, maxModelLen, enablePrefixCaching,
          enableChunkedPrefill, pipelineDecode, batchWindow);
    }
  }
}
