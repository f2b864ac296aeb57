package io.redress.job.score;

import java.util.EnumMap;
import java.util.Map;
import java.util.function.Function;

/**
 * Cosine similarity between a drafted reply and the human reference, with the embedding model
 * of the conversation's language (bge-small zh or en). Models load on first use and are shared
 * by every subtask of the JVM (one ONNX session each, ~100 MB), kept until the JVM exits.
 */
public final class Scorer {

  private static final Map<BgeEmbedder.Model, Embedder> SHARED =
      new EnumMap<>(BgeEmbedder.Model.class);

  private final Function<BgeEmbedder.Model, Embedder> embedders;

  /** A scorer over the JVM's shared bge models. */
  public static Scorer shared() {
    return new Scorer(Scorer::sharedEmbedder);
  }

  /** A scorer over given embedders (tests). */
  public Scorer(Function<BgeEmbedder.Model, Embedder> embedders) {
    this.embedders = embedders;
  }

  private static Embedder sharedEmbedder(BgeEmbedder.Model m) {
    synchronized (SHARED) {
      return SHARED.computeIfAbsent(m, BgeEmbedder::load);
    }
  }

  /** Cosine of {@code reply} and {@code reference} for a language ("zh" or "en"). */
  public double cosine(String language, String reply, String reference) {
    Embedder e = embedders.apply("zh".equals(language) ? BgeEmbedder.Model.ZH
        : BgeEmbedder.Model.EN);
    float[][] v = e.embedPair(reply, reference);
    return Embedder.cosine(v[0], v[1]);
  }
}
