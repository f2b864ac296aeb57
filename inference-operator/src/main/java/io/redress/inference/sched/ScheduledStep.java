package io.redress.inference.sched;

import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import java.util.ArrayList;
import java.util.List;

/**
 * What one step computes: for each scheduled sequence, how many of its uncomputed tokens.
 *
 * @param seqs scheduled sequences, decodes first
 * @param numNewTokens tokens each computes in this step
 * @param fed how many leading sequences were scheduled ahead ({@link Scheduler#scheduleAhead})
 *     of the token the step before samples for them, not yet appended when scheduled: each
 *     computes that one token; 0 for a step scheduled with every token known
 */
public record ScheduledStep(List<Sequence> seqs, List<Integer> numNewTokens, int fed) {

  public ScheduledStep {
    seqs = List.copyOf(seqs);
    numNewTokens = List.copyOf(numNewTokens);
  }

  public ScheduledStep(List<Sequence> seqs, List<Integer> numNewTokens) {
    this(seqs, numNewTokens, 0);
  }

  public boolean isEmpty() {
    return seqs.isEmpty();
  }

  /**
   * Whether sequence {@code i} samples after this step (its last known token is computed).
   * A fed one always does, whatever has happened to it since.
   */
  public boolean samples(int i) {
    if (i < fed) {
      return true;
    }
    Sequence s = seqs.get(i);
    return s.numComputed + numNewTokens.get(i) == s.length();
  }

  public int totalTokens() {
    return numNewTokens.stream().mapToInt(Integer::intValue).sum();
  }

  /** The runner's view of this step, without guided masks. */
  public Step toStep() {
    return toStep(null, 0);
  }

  /** The runner's view of this step, with the guided masks being computed elsewhere. */
  public Step toStep(java.util.concurrent.CompletableFuture<int[]> masks, int maskWords) {
    int[] tokens = new int[totalTokens()];
    List<SeqStep> steps = new ArrayList<>(seqs.size());
    int at = 0;
    for (int i = 0; i < seqs.size(); i++) {
      Sequence s = seqs.get(i);
      int n = numNewTokens.get(i);
      if (i < fed) {
        // Taken at once, before the step before appends its token: the sequence's next token
        // sits at its current length (the runner supplies it), and its draw is the next one.
        steps.add(new SeqStep(1, s.length(), s.blockTable().toArray(), true, s.params(),
            s.seed(), s.numGenerated() + 1));
      } else {
        System.arraycopy(s.tokens(), s.numComputed, tokens, at, n);
        steps.add(new SeqStep(n, s.numComputed, s.blockTable().toArray(), samples(i),
            s.params(), s.seed(), s.numGenerated()));
      }
      at += n;
    }
    return new Step(tokens, steps, masks, maskWords, fed);
  }
}
