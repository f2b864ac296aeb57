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
 * @param ahead scheduled while the step before still ran ({@link Scheduler#scheduleAhead}):
 *     each sequence computes the one token that step samples for it, not yet appended
 */
public record ScheduledStep(List<Sequence> seqs, List<Integer> numNewTokens, boolean ahead) {

  public ScheduledStep {
    seqs = List.copyOf(seqs);
    numNewTokens = List.copyOf(numNewTokens);
  }

  public ScheduledStep(List<Sequence> seqs, List<Integer> numNewTokens) {
    this(seqs, numNewTokens, false);
  }

  public boolean isEmpty() {
    return seqs.isEmpty();
  }

  /**
   * Whether sequence {@code i} samples after this step (its last known token is computed).
   * Every sequence of a step scheduled ahead does, whatever has happened to it since.
   */
  public boolean samples(int i) {
    if (ahead) {
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
    if (ahead) {
      // Taken at once, before the step before appends its token: each sequence's next token
      // sits at its current length, and its draw is the next one.
      List<SeqStep> steps = new ArrayList<>(seqs.size());
      for (Sequence s : seqs) {
        steps.add(new SeqStep(1, s.length(), s.blockTable().toArray(), true, s.params(),
            s.seed(), s.numGenerated() + 1));
      }
      return new Step(new int[seqs.size()], steps, masks, maskWords, true);
    }
    int[] tokens = new int[totalTokens()];
    List<SeqStep> steps = new ArrayList<>(seqs.size());
    int at = 0;
    for (int i = 0; i < seqs.size(); i++) {
      Sequence s = seqs.get(i);
      int n = numNewTokens.get(i);
      System.arraycopy(s.tokens(), s.numComputed, tokens, at, n);
      at += n;
      steps.add(new SeqStep(n, s.numComputed, s.blockTable().toArray(), samples(i), s.params(),
          s.seed(), s.numGenerated()));
    }
    return new Step(tokens, steps, masks, maskWords);
  }
}
