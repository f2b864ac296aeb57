package io.redress.inference.engine;

import io.redress.inference.model.ChatMessage;
import java.util.List;
import java.util.Objects;

/**
 * One generation: a prompt (chat messages rendered with the model's chat template, raw text,
 * or token ids) and how to sample.
 *
 * @param requestId caller's id, unique among in-flight requests (used by cancel)
 * @param messages chat messages, or null
 * @param prompt raw prompt text, or null
 * @param promptTokenIds prompt token ids, or null
 * @param params sampling and stop settings
 * @param listener called on the engine thread with each new token, or null
 */
public record GenerationRequest(
    String requestId,
    List<ChatMessage> messages,
    String prompt,
    int[] promptTokenIds,
    SamplingParams params,
    TokenListener listener) {

  public GenerationRequest {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(params, "params");
    int given = (messages != null ? 1 : 0) + (prompt != null ? 1 : 0)
        + (promptTokenIds != null ? 1 : 0);
    if (given != 1) {
      throw new IllegalArgumentException("request " + requestId
          + ": give exactly one of messages, prompt text or prompt token ids");
    }
    messages = messages == null ? null : List.copyOf(messages);
    promptTokenIds = promptTokenIds == null ? null : promptTokenIds.clone();
  }

  public static GenerationRequest ofChat(String id, List<ChatMessage> messages,
      SamplingParams params) {
    return new GenerationRequest(id, messages, null, null, params, null);
  }

  public static GenerationRequest ofText(String id, String prompt, SamplingParams params) {
    return new GenerationRequest(id, null, prompt, null, params, null);
  }

  public static GenerationRequest ofTokens(String id, int[] tokens, SamplingParams params) {
    return new GenerationRequest(id, null, null, tokens, params, null);
  }

  /** The same request with a streaming listener. */
  public GenerationRequest withListener(TokenListener l) {
    return new GenerationRequest(requestId, messages, prompt, promptTokenIds, params, l);
  }

  @Override
  public int[] promptTokenIds() {
    return promptTokenIds == null ? null : promptTokenIds.clone();
  }
}
