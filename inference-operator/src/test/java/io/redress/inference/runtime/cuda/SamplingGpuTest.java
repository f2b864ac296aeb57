package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.runtime.cpu.Sampler;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The GPU sampler (sampling.cu) against host references, at the Qwen vocabulary (float4 path)
 * and at an odd one (scalar path), with and without a guided-decoding mask. Greedy must give
 * the host's argmax over the allowed ids, lowest id on ties. A draw must give the id where the
 * candidates' mass, summed in id order, first exceeds uniform x total, the candidates being the
 * allowed ids at or above the top-k threshold and then the smallest top set holding top-p of
 * that mass: the host computes both sets by sorting, the GPU by bisection.
 */
@Tag("gpu")
class SamplingGpuTest extends KernelGpuTest {

  private static final int ROWS = 8;
  /**
   * Relative distance from a boundary within which a draw is not checked: the GPU sums up to
   * 152k masses in float (fast exp), the host in double.
   */
  private static final double TOLERANCE = 1e-5;

  /** Per row: temperature, top-k, top-p (row 0 greedy, then the filters alone and together). */
  private static final float[] TEMPERATURE = {0f, 1f, 0.7f, 1.3f, 0.8f, 1f, 0.5f, 1f};
  private static final int[] TOP_K = {0, 0, 40, 0, 50, 1, 0, 200};
  private static final float[] TOP_P = {1f, 1f, 1f, 0.9f, 0.8f, 1f, 0.5f, 0.95f};

  @ParameterizedTest
  @ValueSource(ints = {152064, 1001})
  void greedyIsTheArgmaxOfTheAllowedIds(int vocab) {
    Random rnd = new Random(vocab);
    float[] logits = randomLogits(rnd, vocab);
    // Ties: row r's maximum appears twice, the earlier copy must win.
    for (int r = 0; r < ROWS; r++) {
      int a = rnd.nextInt(vocab / 2);
      int b = a + 1 + rnd.nextInt(vocab / 2 - 1);
      logits[r * vocab + a] = 40f;
      logits[r * vocab + b] = 40f;
    }
    int[] mask = randomMask(rnd, vocab);
    for (boolean masked : new boolean[] {false, true}) {
      int[] got = sample(logits, vocab, masked ? mask : null, new float[ROWS], new int[ROWS],
          ones(), new float[ROWS]);
      for (int r = 0; r < ROWS; r++) {
        assertThat(got[r]).as("row %d masked %s", r, masked)
            .isEqualTo(argmax(logits, r, vocab, masked ? mask : null));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {152064, 1001})
  void drawsFollowTheFilteredDistributionInIdOrder(int vocab) {
    Random rnd = new Random(7 * vocab);
    float[] logits = randomLogits(rnd, vocab);
    int[] mask = randomMask(rnd, vocab);
    int checked = 0;
    for (int draw = 0; draw < 4; draw++) {
      float[] uniforms = new float[ROWS];
      for (int r = 0; r < ROWS; r++) {
        uniforms[r] = (float) Sampler.uniform(draw, r);
      }
      for (boolean masked : new boolean[] {false, true}) {
        int[] m = masked ? mask : null;
        int[] got = sample(logits, vocab, m, TEMPERATURE, TOP_K, TOP_P, uniforms);
        for (int r = 0; r < ROWS; r++) {
          Integer want = expectedDraw(logits, r, vocab, m, uniforms[r]);
          if (want != null) {
            assertThat(got[r]).as("row %d draw %d masked %s", r, draw, masked).isEqualTo(want);
            checked++;
          }
        }
      }
    }
    assertThat(checked).isGreaterThan(4 * 2 * ROWS * 3 / 4);
  }

  private int[] sample(float[] logits, int vocab, int[] mask, float[] temperature, int[] topK,
      float[] topP, float[] uniforms) {
    DeviceBuffer out = alloc(4L * ROWS);
    DeviceBuffer maskBuf = mask == null ? null : ints(mask);
    kernels.sample(floats(logits).ptr(), vocab, maskBuf == null ? null : maskBuf.ptr(),
        words(vocab), floats(temperature).ptr(), ints(topK).ptr(), floats(topP).ptr(),
        floats(uniforms).ptr(), out.ptr(), ROWS);
    return downloadInts(out, ROWS);
  }

  private static float[] randomLogits(Random rnd, int vocab) {
    float[] logits = new float[ROWS * vocab];
    for (int i = 0; i < logits.length; i++) {
      logits[i] = (float) (3 * rnd.nextGaussian());
    }
    return logits;
  }

  /** About half the ids allowed per row, with at least the ids 0 .. 31. */
  private static int[] randomMask(Random rnd, int vocab) {
    int words = words(vocab);
    int[] mask = new int[ROWS * words];
    for (int r = 0; r < ROWS; r++) {
      mask[r * words] = -1;
      for (int w = 1; w < words; w++) {
        mask[r * words + w] = rnd.nextInt();
      }
    }
    return mask;
  }

  private static int words(int vocab) {
    return (vocab + 31) / 32;
  }

  private static float[] ones() {
    float[] p = new float[ROWS];
    Arrays.fill(p, 1f);
    return p;
  }

  private static boolean allowed(int[] mask, int row, int vocab, int i) {
    return mask == null || (mask[row * words(vocab) + (i >> 5)] >>> (i & 31) & 1) != 0;
  }

  private static int argmax(float[] logits, int row, int vocab, int[] mask) {
    int best = -1;
    for (int i = 0; i < vocab; i++) {
      if (allowed(mask, row, vocab, i)
          && (best < 0 || logits[row * vocab + i] > logits[row * vocab + best])) {
        best = i;
      }
    }
    return best;
  }

  /**
   * The id row r must draw with uniform u, or null where u x total lies within rounding of a
   * boundary between two candidates (the GPU sums in float, the host in double).
   */
  private static Integer expectedDraw(float[] logits, int r, int vocab, int[] mask, float u) {
    if (TEMPERATURE[r] <= 0 || TOP_K[r] == 1) {
      return argmax(logits, r, vocab, mask);
    }
    // Allowed ids by descending logit (random floats: no ties).
    Integer[] ids = java.util.stream.IntStream.range(0, vocab)
        .filter(i -> allowed(mask, r, vocab, i)).boxed().toArray(Integer[]::new);
    Arrays.sort(ids, (a, b) -> Float.compare(logits[r * vocab + b], logits[r * vocab + a]));
    int keep = TOP_K[r] > 0 ? Math.min(TOP_K[r], ids.length) : ids.length;
    float max = logits[r * vocab + ids[0]];
    double[] mass = new double[keep];
    double total = 0;
    for (int i = 0; i < keep; i++) {
      mass[i] = Math.exp((logits[r * vocab + ids[i]] - max) / TEMPERATURE[r]);
      total += mass[i];
    }
    if (TOP_P[r] < 1) {
      double run = 0;
      int cut = keep;
      for (int i = 0; i < keep; i++) {
        run += mass[i];
        if (Math.abs(run - TOP_P[r] * total) < TOLERANCE * total) {
          return null; // the cut itself is within rounding
        }
        if (run >= TOP_P[r] * total) {
          cut = i + 1;
          break;
        }
      }
      keep = cut;
    }
    boolean[] candidate = new boolean[vocab];
    double sum = 0;
    for (int i = 0; i < keep; i++) {
      candidate[ids[i]] = true;
      sum += mass[i];
    }
    double target = u * sum;
    double run = 0;
    for (int i = 0; i < vocab; i++) {
      if (candidate[i]) {
        double m = Math.exp((logits[r * vocab + i] - max) / TEMPERATURE[r]);
        if (Math.abs(run - target) < TOLERANCE * sum
            || Math.abs(run + m - target) < TOLERANCE * sum) {
          return null;
        }
        run += m;
        if (target < run) {
          return i;
        }
      }
    }
    return null;
  }
}
