package io.redress.inference.runtime;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One forward step: the new tokens of every scheduled sequence, concatenated in the order of
 * {@code seqs}, each sequence's block contiguous.
 *
 * @param tokenIds {@code (numTokens)} new token ids
 * @param seqs per sequence: how many of the tokens are its, where they sit, how to sample
 * @param masks guided-decoding bitmasks, computed on other threads while the model runs: one
 *     row of {@code maskWords} int32 words per sampling sequence, in step order (all ones for
 *     an unguided one), or {@link #STAGED}; null when no sequence of the step is guided
 * @param maskWords words per mask row (ceil(vocab / 32))
 * @param fed how many leading sequences compute the token that the step submitted before this
 *     one sampled for them, still on the device (pipelined decode, {@link
 *     ModelRunner#pipelines}): one token each, that step's sampling rows in order, their
 *     entries of {@code tokenIds} placeholders; 0 when every token is known. Its masks, if any,
 *     are computed once that step's tokens are known: the runner runs its forward pass at once
 *     and samples when they are done
 */
public record Step(int[] tokenIds, List<SeqStep> seqs, CompletableFuture<int[]> masks,
    int maskWords, int fed) {

  /** The masks' value when they were written into the runner's {@link ModelRunner#maskStaging}. */
  public static final int[] STAGED = new int[0];

  /** A step without guided sequences. */
  public Step(int[] tokenIds, List<SeqStep> seqs) {
    this(tokenIds, seqs, null, 0, 0);
  }

  /** A step whose tokens are known on the host. */
  public Step(int[] tokenIds, List<SeqStep> seqs, CompletableFuture<int[]> masks,
      int maskWords) {
    this(tokenIds, seqs, masks, maskWords, 0);
  }

  public Step {
    seqs = List.copyOf(seqs);
    int total = 0;
    for (SeqStep s : seqs) {
      total += s.numNewTokens();
    }
    if (total != tokenIds.length) {
      throw new IllegalArgumentException("step has " + tokenIds.length + " tokens but its"
          + " sequences account for " + total);
    }
    if (fed < 0 || fed > seqs.size() || seqs.subList(0, fed).stream()
        .anyMatch(s -> s.numNewTokens() != 1 || !s.sample())) {
      throw new IllegalArgumentException("a step's " + fed + " fed sequences each decode one"
          + " sampled token");
    }
  }

  /** Sequences that sample a next token in this step. */
  public int numSampling() {
    int n = 0;
    for (SeqStep s : seqs) {
      n += s.sample() ? 1 : 0;
    }
    return n;
  }
}
