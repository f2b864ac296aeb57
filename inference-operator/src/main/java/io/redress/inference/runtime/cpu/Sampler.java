package io.redress.inference.runtime.cpu;

import io.redress.inference.engine.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits, with HF's order of warpers: temperature, then
 * top-k, then top-p, then a draw from the renormalised distribution. Greedy breaks ties toward
 * the lowest id, as {@code torch.argmax} does.
 *
 * <p>Randomness is counter-based: the draw for a sequence's {@code index}-th generated token
 * depends only on (seed, index). So a seeded request gives the same tokens however it is
 * batched, chunked or preempted, and the GPU sampler can reproduce the stream.
 */
public final class Sampler {

  private Sampler() {}

  /** The uniform draw in [0, 1) for token {@code index} of a sequence seeded with {@code seed}. */
  public static double uniform(long seed, int index) {
    return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (index + 1L))).nextDouble();
  }

  /** The next token from {@code logits[offset, offset + vocab)}. */
  public static int sample(float[] logits, int offset, int vocab, SamplingParams params,
      long seed, int index) {
    if (params.isGreedy()) {
      return argmax(logits, offset, vocab);
    }
    double u = uniform(seed, index);
    double invT = 1.0 / params.temperature();
    float max = logits[offset + argmax(logits, offset, vocab)];
    if (params.topK() == 0 && params.topP() >= 1) {
      // Plain temperature sampling: no ordering needed.
      double sum = 0;
      for (int i = 0; i < vocab; i++) {
        sum += Math.exp((logits[offset + i] - max) * invT);
      }
      double target = u * sum;
      for (int i = 0; i < vocab; i++) {
        target -= Math.exp((logits[offset + i] - max) * invT);
        if (target < 0) {
          return i;
        }
      }
      return argmax(logits, offset, vocab);
    }
    int[] order = sortedCandidates(logits, offset, vocab, params.topK());
    int keep = order.length;
    double[] probs = new double[keep];
    double sum = 0;
    for (int i = 0; i < keep; i++) {
      probs[i] = Math.exp((logits[offset + order[i]] - max) * invT);
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
    double target = u * sum;
    for (int i = 0; i < keep; i++) {
      target -= probs[i];
      if (target < 0) {
        return order[i];
      }
    }
    return order[keep - 1];
  }

  /**
   * Token ids by descending logit (ties: lower id first), only the first {@code k} when
   * {@code k > 0}. Sorts packed (logit, id) longs: primitive, no boxing.
   */
  static int[] sortedCandidates(float[] logits, int offset, int vocab, int k) {
    long[] keys = new long[vocab];
    for (int i = 0; i < vocab; i++) {
      // Order-preserving int image of the float, negated for descending order.
      int bits = Float.floatToIntBits(logits[offset + i]);
      int ordered = bits >= 0 ? bits : bits ^ 0x7fffffff;
      keys[i] = ((long) -(long) ordered << 32) | i;
    }
    Arrays.sort(keys);
    int n = k > 0 ? Math.min(k, vocab) : vocab;
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = (int) keys[i];
    }
    return order;
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
