package io.redress.inference.runtime.cpu;

import io.redress.inference.engine.SamplingParams;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Generates for one sequence at a time on the {@link CpuModel}: the whole prompt as one
 * prefill step, then one decode step per token. This is the plain reference path that batched
 * engines are checked against.
 */
public final class CpuGenerator {

  /** Why generation ended. */
  public enum Finish { STOP, LENGTH }

  /**
   * @param tokenIds generated ids (including the stop token when one ended it)
   * @param finish why it ended
   */
  public record Output(List<Integer> tokenIds, Finish finish) {}

  private final CpuModel model;

  public CpuGenerator(CpuModel model) {
    this.model = model;
  }

  /**
   * Generates up to {@code params.maxTokens()} tokens after {@code prompt}, ending early on the
   * model's EOS ids (unless ignored), on {@code params.stopTokenIds()}, or at the model's
   * maximum length.
   *
   * @param onToken called with each new id as it is produced
   */
  public Output generate(int[] prompt, SamplingParams params, IntConsumer onToken) {
    if (prompt.length == 0) {
      throw new IllegalArgumentException("empty prompt: give at least one token");
    }
    int maxLen = model.config().maxPositions();
    if (prompt.length >= maxLen) {
      throw new IllegalArgumentException("prompt of " + prompt.length + " tokens does not fit"
          + " the model's " + maxLen + " positions; shorten it");
    }
    Set<Integer> stopIds = new HashSet<>(params.stopTokenIds());
    if (!params.ignoreEos()) {
      stopIds.addAll(model.config().eosTokenIds());
    }
    int budget = Math.min(params.maxTokens(), maxLen - prompt.length);
    int[] slots = new int[prompt.length + budget];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = i;
    }
    KvCache cache = model.newCache(slots.length);
    long seed = params.seed() != null ? params.seed() : new java.util.SplittableRandom().nextLong();
    int vocab = model.config().vocabSize();

    List<Integer> out = new ArrayList<>();
    float[] logits = model.forward(prompt, List.of(new SeqSpan(0, prompt.length, 0, slots)),
        cache, false);
    while (true) {
      int next = Sampler.sample(logits, 0, vocab, params, seed, out.size());
      out.add(next);
      onToken.accept(next);
      if (stopIds.contains(next)) {
        return new Output(List.copyOf(out), Finish.STOP);
      }
      if (out.size() >= budget) {
        return new Output(List.copyOf(out), Finish.LENGTH);
      }
      int pos = prompt.length + out.size() - 1;
      logits = model.forward(new int[] {next}, List.of(new SeqSpan(0, 1, pos, slots)), cache,
          false);
    }
  }

  /** Teacher-forced logits of every position of {@code tokens}: {@code (n, vocab)}. */
  public float[] logitsOfAllPositions(int[] tokens) {
    int[] slots = new int[tokens.length];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = i;
    }
    return model.forward(tokens, List.of(new SeqSpan(0, tokens.length, 0, slots)),
        model.newCache(tokens.length), true);
  }
}
