package io.redress.job.score;

/** Text to a unit-length vector, so a dot product is the cosine similarity. */
public interface Embedder extends AutoCloseable {

  /** The embedding of {@code text}, L2-normalised. */
  float[] embed(String text);

  /** Both embeddings; implementations may compute them in one batch. */
  default float[][] embedPair(String a, String b) {
    return new float[][] {embed(a), embed(b)};
  }

  @Override
  void close();

  /** Cosine similarity of two unit vectors. */
  static double cosine(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("vectors of " + a.length + " and " + b.length);
    }
    double dot = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
    }
    return Math.max(-1, Math.min(1, dot));
  }
}
