package io.redress.inference.runtime.cpu;

import io.redress.inference.engine.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits, with HF's order of warpers: temperature, then
 * top-k, then top-p, then a draw from the renormalised distribution. Greedy breaks ties toward
 * the lowest id, as {@code torch.argmax} does.
 */
public final class Sampler {

  private final SamplingParams params;
  private final SplittableRandom random;

  /** A sampler with its own random stream (seeded from {@code params.seed()} when given). */
  public Sampler(SamplingParams params) {
    this.params = params;
    this.random = params.seed() != null ? new SplittableRandom(params.seed())
        : new SplittableRandom();
  }

  /** The next token from {@code logits[offset, offset + vocab)}. */
  public int sample(float[] logits, int offset, int vocab) {
    if (params.isGreedy()) {
      return argmax(logits, offset, vocab);
    }
    // Candidates sorted by logit, highest first; ties by lower id (stable).
    Integer[] order = new Integer[vocab];
    for (int i = 0; i < vocab; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Float.compare(logits[offset + b], logits[offset + a]));
    int keep = params.topK() > 0 ? Math.min(params.topK(), vocab) : vocab;
    double max = logits[offset + order[0]];
    double[] probs = new double[keep];
    double sum = 0;
    for (int i = 0; i < keep; i++) {
      probs[i] = Math.exp((logits[offset + order[i]] - max) / params.temperature());
      sum += probs[i];
    }
    if (params.topP() < 1) {
      // Keep the smallest prefix whose mass reaches top-p (always at least one token).
      double cumulative = 0;
      int cut = keep;
      for (int i = 0; i < keep; i++) {
        cumulative += probs[i] / sum;
        if (cumulative >= params.topP()) {
          cut = i + 1;
          break;
        }
      }
      keep = cut;
      sum = 0;
      for (int i = 0; i < keep; i++) {
        sum += probs[i];
      }
    }
    double u = random.nextDouble() * sum;
    for (int i = 0; i < keep; i++) {
      u -= probs[i];
      if (u < 0) {
        return order[i];
      }
    }
    return order[keep - 1];
  }

  /** Index of the largest logit, lowest index on ties. */
  public static int argmax(float[] logits, int offset, int vocab) {
    int best = 0;
    float bestValue = logits[offset];
    for (int i = 1; i < vocab; i++) {
      if (logits[offset + i] > bestValue) {
        bestValue = logits[offset + i];
        best = i;
      }
    }
    return best;
  }
}
