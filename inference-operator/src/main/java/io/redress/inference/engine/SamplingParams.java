package io.redress.inference.engine;

import java.util.List;
import java.util.Objects;

/**
 * How to pick each next token and when to stop.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it
 * @param topP nucleus sampling: keep the smallest set of tokens whose probability reaches it
 *     (1 = off)
 * @param topK keep only the k most likely tokens (0 = off)
 * @param seed seed of this request's random stream; null draws one
 * @param maxTokens most tokens to generate
 * @param stop strings that end generation when they appear in the output (not included)
 * @param stopTokenIds token ids that end generation besides the model's EOS ids
 * @param ignoreEos keep generating through EOS (benchmarks, fixtures)
 * @param jsonSchema JSON Schema text the output must satisfy, or null for free text
 */
public record SamplingParams(
    double temperature,
    double topP,
    int topK,
    Long seed,
    int maxTokens,
    List<String> stop,
    List<Integer> stopTokenIds,
    boolean ignoreEos,
    String jsonSchema) {

  public SamplingParams {
    if (!(temperature >= 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
    }
    if (maxTokens <= 0) {
      throw new IllegalArgumentException("max tokens must be positive, got " + maxTokens);
    }
    stop = List.copyOf(Objects.requireNonNull(stop, "stop"));
    stopTokenIds = List.copyOf(Objects.requireNonNull(stopTokenIds, "stopTokenIds"));
  }

  /** Greedy decoding of at most {@code maxTokens} tokens. */
  public static SamplingParams greedy(int maxTokens) {
    return new SamplingParams(0, 1, 0, null, maxTokens, List.of(), List.of(), false, null);
  }

  public boolean isGreedy() {
    return temperature == 0 || topK == 1;
  }

  public SamplingParams withTemperature(double t) {
    return new SamplingParams(t, topP, topK, seed, maxTokens, stop, stopTokenIds, ignoreEos,
        jsonSchema);
  }

  public SamplingParams withTopP(double p) {
    return new SamplingParams(temperature, p, topK, seed, maxTokens, stop, stopTokenIds,
        ignoreEos, jsonSchema);
  }

  public SamplingParams withTopK(int k) {
    return new SamplingParams(temperature, topP, k, seed, maxTokens, stop, stopTokenIds,
        ignoreEos, jsonSchema);
  }

  public SamplingParams withSeed(Long s) {
    return new SamplingParams(temperature, topP, topK, s, maxTokens, stop, stopTokenIds,
        ignoreEos, jsonSchema);
  }

  public SamplingParams withIgnoreEos(boolean ignore) {
    return new SamplingParams(temperature, topP, topK, seed, maxTokens, stop, stopTokenIds,
        ignore, jsonSchema);
  }

  public SamplingParams withStop(List<String> strings) {
    return new SamplingParams(temperature, topP, topK, seed, maxTokens, strings, stopTokenIds,
        ignoreEos, jsonSchema);
  }

  public SamplingParams withStopTokenIds(List<Integer> ids) {
    return new SamplingParams(temperature, topP, topK, seed, maxTokens, stop, ids, ignoreEos,
        jsonSchema);
  }

  public SamplingParams withJsonSchema(String schema) {
    return new SamplingParams(temperature, topP, topK, seed, maxTokens, stop, stopTokenIds,
        ignoreEos, schema);
  }
}
