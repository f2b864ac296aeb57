package io.redress.inference.engine;

/**
 * A snapshot of the engine's counters.
 *
 * @param running sequences being generated
 * @param waiting sequences waiting for admission (new or preempted)
 * @param kvBlocksUsed KV blocks held by live sequences
 * @param kvBlocksTotal KV blocks in the pool
 * @param promptTokens prompt tokens seen since open
 * @param prefixHitTokens prompt tokens served from the prefix cache since open
 * @param generatedTokens tokens generated since open
 * @param preemptions sequences preempted (blocks freed, recomputed later) since open
 * @param steps forward steps run since open
 * @param tokensPerSecond generated tokens per second over the recent window
 * @param guidedMaskNanos time spent computing guided-decoding masks (on worker threads)
 * @param jumpForwardTokens tokens appended without sampling because the schema forced them
 * @param runnerNanos engine-thread time inside the runner's steps (the GPU's forward pass and
 *     sampling, and any wait for guided masks)
 * @param hostNanos engine-thread time of steps outside the runner: scheduling, handing out
 *     the guided masks' work, and taking in the sampled tokens (grammar matchers, stop
 *     checks, listeners), during which the GPU waits
 */
public record EngineStats(
    int running,
    int waiting,
    int kvBlocksUsed,
    int kvBlocksTotal,
    long promptTokens,
    long prefixHitTokens,
    long generatedTokens,
    long preemptions,
    long steps,
    double tokensPerSecond,
    long guidedMaskNanos,
    long jumpForwardTokens,
    long runnerNanos,
    long hostNanos) {

  /** Share of prompt tokens served from the prefix cache. */
  public double prefixHitRate() {
    return promptTokens == 0 ? 0 : (double) prefixHitTokens / promptTokens;
  }
}
