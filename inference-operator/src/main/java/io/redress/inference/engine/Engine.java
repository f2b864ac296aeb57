package io.redress.inference.engine;

import java.util.concurrent.CompletableFuture;

/**
 * The serving engine: continuous batching over a paged, prefix-shared KV cache. Thread-safe;
 * one internal thread owns the model runner.
 *
 * <pre>{@code
 * try (Engine engine = Engine.open(EngineConfig.builder(modelDir).build())) {
 *   GenerationResult r = engine.submit(GenerationRequest.ofText("1", "Hello",
 *       SamplingParams.greedy(64))).join();
 * }
 * }</pre>
 */
public interface Engine extends AutoCloseable {

  /**
   * Loads the model and starts the engine.
   *
   * @throws io.redress.inference.model.ModelLoadException when the model directory is unusable
   */
  static Engine open(EngineConfig config) {
    return LlmEngine.open(config);
  }

  /**
   * Starts an engine over a runner the caller built, e.g. a {@code CudaModelRunner} with random
   * weights for a benchmark. The engine owns the runner from then on and closes it. Requests
   * must carry token ids (there is no tokenizer).
   */
  static Engine open(EngineConfig config, io.redress.inference.runtime.ModelRunner runner) {
    return LlmEngine.open(config, runner, null);
  }

  /**
   * Like {@link #open(EngineConfig, io.redress.inference.runtime.ModelRunner)}, with a
   * tokenizer (text prompts, stop strings, guided decoding); the engine closes it.
   */
  static Engine open(EngineConfig config, io.redress.inference.runtime.ModelRunner runner,
      io.redress.inference.model.Tokenizer tokenizer) {
    return LlmEngine.open(config, runner, tokenizer);
  }

  /**
   * Queues a request. The future completes (never exceptionally for a request-level problem)
   * when it finishes: with {@link FinishReason#ERROR} and a message if it cannot run.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  CompletableFuture<GenerationResult> submit(GenerationRequest request);

  /** Aborts a request if it is still in flight; its KV blocks are freed. */
  boolean cancel(String requestId);

  /** Current counters. */
  EngineStats stats();

  /** Where the model runs, e.g. "cpu (2 threads)" or "cuda:0 (NVIDIA H100 80GB HBM3)". */
  String device();

  /** The tokenizer's vocabulary of the model, or null when the directory has no tokenizer. */
  io.redress.inference.model.Tokenizer tokenizer();

  /** Stops the engine: in-flight requests finish with ABORT, every resource is freed. */
  @Override
  void close();
}
