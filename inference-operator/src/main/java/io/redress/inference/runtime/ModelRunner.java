package io.redress.inference.runtime;

import io.redress.inference.model.ModelConfig;

/**
 * Runs the model over one scheduled step. Implementations own the weights and the paged KV
 * cache ({@link #numBlocks()} blocks of {@link #blockSize()} tokens) and run on one thread, the
 * engine's loop. The CPU runner is the reference; the CUDA runner must match it.
 */
public interface ModelRunner extends AutoCloseable {

  ModelConfig config();

  /** Blocks in the KV cache. */
  int numBlocks();

  /** Tokens per KV block. */
  int blockSize();

  /**
   * Writes the KV of every new token through its sequence's block table, and samples the next
   * token of each sequence whose {@link SeqStep#sample()} is set.
   *
   * @return the sampled ids, one per sampling sequence, in the step's order
   */
  int[] step(Step step);

  /**
   * Whether this runner takes steps in two halves ({@link #submit}, then {@link #collect}),
   * with a second step submitted before the first is collected, including {@link Step#fed} ones
   * whose tokens the step before sampled on the device. The engine then schedules the next
   * decode step while the GPU runs the current one, so the host's work between steps
   * (results, scheduling, metadata, the launch) no longer leaves the GPU idle.
   */
  default boolean pipelines() {
    return false;
  }

  /**
   * Enqueues a step and returns without waiting for it; at most two are outstanding, and a
   * {@link Step#fed} one must follow a submitted step. Only where {@link #pipelines}.
   */
  default void submit(Step step) {
    throw new UnsupportedOperationException("this runner does not pipeline steps");
  }

  /** Waits for the oldest submitted step and returns its sampled ids, as {@link #step} does. */
  default int[] collect() {
    throw new UnsupportedOperationException("this runner does not pipeline steps");
  }

  /** Forgets the submitted steps after a failure, once the device is done with them. */
  default void abandon() {}

  /**
   * The {@link #submit} contract a pipelining runner checks: at most two steps outstanding,
   * and a step's {@link Step#fed} sequences as many as the last submitted step samples.
   *
   * @param outstanding steps submitted and not collected
   * @param lastSampled rows the last submitted step samples (ignored when none is outstanding)
   */
  static void checkSubmit(Step step, int outstanding, int lastSampled) {
    if (outstanding >= 2) {
      throw new IllegalStateException("two steps are already submitted; collect one first");
    }
    if (step.fed() > 0 && (outstanding == 0 || lastSampled != step.fed())) {
      throw new IllegalArgumentException("a step of " + step.fed() + " fed sequences must"
          + " follow a submitted step that samples as many");
    }
  }

  /** Frees the weights and the KV cache. */
  @Override
  void close();

  /**
   * Whether steps where every sequence decodes exactly one token are much cheaper than mixed
   * steps (the CUDA runner replays a captured graph for them). The scheduler then keeps
   * jump-forward, which mixes multi-token chunks into decode steps, to small batches.
   */
  default boolean prefersUniformDecodeSteps() {
    return false;
  }

  /**
   * Memory of at least {@code ints} int32 words the engine may write the next step's guided
   * masks into, in {@link Step#masks()}'s row layout, completing that future with
   * {@link Step#STAGED}; or null (the default) for masks in an int[]. The CUDA runner hands out
   * its pinned upload buffer, so the mask workers write there in parallel instead of the
   * engine thread copying 1.2 MB (batch 64) after them. Valid until the next step returns.
   */
  default java.nio.IntBuffer maskStaging(int ints) {
    return null;
  }

  /**
   * Does now, once, what the first steps would otherwise pay for while serving: the CUDA runner
   * captures the graphs of its pure decode steps, one per batch-size bucket, instead of when
   * each bucket's first step arrives. The engine calls it before its first step.
   */
  default void warmUp() {}

  /** Short description for logs, e.g. "cpu" or "cuda:0 (NVIDIA H100)". */
  String device();
}
