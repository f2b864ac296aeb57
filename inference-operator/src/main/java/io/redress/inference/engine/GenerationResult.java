package io.redress.inference.engine;

import java.util.List;

/**
 * What a request produced.
 *
 * @param requestId the request's id
 * @param text the generated text (without a stop token or stop string); empty without a tokenizer
 * @param tokenIds the generated ids (a final stop token id included)
 * @param finishReason why it ended
 * @param message for {@link FinishReason#ERROR}: what went wrong and what to do; else null
 * @param promptTokens prompt length in tokens
 * @param cachedTokens prompt tokens whose KV came from the prefix cache (block-aligned)
 * @param completionTokens generated tokens
 * @param queueNanos from submit to first scheduled
 * @param firstTokenNanos from submit to the first generated token (TTFT)
 * @param totalNanos from submit to finish
 */
public record GenerationResult(
    String requestId,
    String text,
    List<Integer> tokenIds,
    FinishReason finishReason,
    String message,
    int promptTokens,
    int cachedTokens,
    int completionTokens,
    long queueNanos,
    long firstTokenNanos,
    long totalNanos) {

  public GenerationResult {
    tokenIds = List.copyOf(tokenIds);
  }

  /** A request that ended without running. */
  public static GenerationResult failed(String requestId, FinishReason reason, String message,
      int promptTokens, long totalNanos) {
    return new GenerationResult(requestId, "", List.of(), reason, message, promptTokens, 0, 0,
        totalNanos, 0, totalNanos);
  }

  /** Mean time per generated token after the first, or 0. */
  public long perTokenNanos() {
    return completionTokens > 1 ? (totalNanos - firstTokenNanos) / (completionTokens - 1) : 0;
  }
}
