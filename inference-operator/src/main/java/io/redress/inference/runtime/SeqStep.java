package io.redress.inference.runtime;

import io.redress.inference.engine.SamplingParams;

/**
 * One sequence's share of a {@link Step}.
 *
 * @param numNewTokens tokens computed in this step (a prefill chunk, or 1 when decoding)
 * @param startPos position of the first of them (tokens already in the KV cache)
 * @param blockTable physical KV block of each block-sized span of positions
 * @param sample whether to sample after the last new token (false for a non-final chunk)
 * @param params sampling settings (used when sampling)
 * @param seed the sequence's random seed
 * @param sampleIndex how many tokens the sequence has generated so far (the draw's counter)
 */
public record SeqStep(int numNewTokens, int startPos, int[] blockTable, boolean sample,
    SamplingParams params, long seed, int sampleIndex) {

  public SeqStep {
    if (numNewTokens <= 0 || startPos < 0) {
      throw new IllegalArgumentException("bad step: " + numNewTokens + " tokens at " + startPos);
    }
  }

  /** Tokens in the cache after this step. */
  public int contextLen() {
    return startPos + numNewTokens;
  }
}
