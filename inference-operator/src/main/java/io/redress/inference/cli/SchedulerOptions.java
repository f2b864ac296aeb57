package io.redress.inference.cli;

import io.redress.inference.engine.EngineConfig;
import picocli.CommandLine.Option;

/**
 * The scheduler's and KV pool's options, shared by {@code generate} and the benchmarks
 * ({@code @Mixin}), checked here so that a bad value is named by its flag.
 */
public final class SchedulerOptions {

  @Option(names = "--block-size", defaultValue = "16", paramLabel = "N",
      description = "Tokens per KV block, a power of two up to 256 (default: ${DEFAULT-VALUE}).")
  int blockSize;

  @Option(names = "--num-blocks", defaultValue = "0", paramLabel = "N",
      description = "KV blocks in the pool; 0 sizes it from free memory (default:"
          + " ${DEFAULT-VALUE}).")
  int numBlocks;

  @Option(names = "--max-num-seqs", defaultValue = "256", paramLabel = "N",
      description = "Most sequences in one step (default: ${DEFAULT-VALUE}).")
  int maxNumSeqs;

  @Option(names = "--max-batched-tokens", defaultValue = "8192", paramLabel = "N",
      description = "Most new tokens in one step, prefill chunks included (default:"
          + " ${DEFAULT-VALUE}).")
  int maxBatchedTokens;

  /** Throws an IllegalArgumentException naming the first flag whose value is out of range. */
  public void validate() {
    if (blockSize <= 0 || blockSize > 256 || (blockSize & (blockSize - 1)) != 0) {
      throw new IllegalArgumentException("--block-size must be a power of two in [1, 256], got "
          + blockSize);
    }
    if (numBlocks < 0) {
      throw new IllegalArgumentException("--num-blocks must be >= 0 (0 = size from free"
          + " memory), got " + numBlocks);
    }
    if (maxNumSeqs <= 0) {
      throw new IllegalArgumentException("--max-num-seqs must be positive, got " + maxNumSeqs);
    }
    if (maxBatchedTokens <= 0) {
      throw new IllegalArgumentException("--max-batched-tokens must be positive, got "
          + maxBatchedTokens);
    }
  }

  /** Checks these options ({@link #validate}) and sets them on {@code builder}. */
  public EngineConfig.Builder applyTo(EngineConfig.Builder builder) {
    validate();
    return builder.blockSize(blockSize).numBlocks(numBlocks).maxNumSeqs(maxNumSeqs)
        .maxNumBatchedTokens(maxBatchedTokens);
  }
}
