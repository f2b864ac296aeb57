package io.redress.inference.guide;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The schemas the soundness and completeness tests run over: the product's reply schema,
 * hand-written realistic ones (test resources guide/schemas), and generated ones.
 */
final class SchemaCorpus {

  /** Generated schemas in the corpus (seeds 0..n-1). */
  static final int GENERATED = 180;

  record Entry(String name, String schema) {
    @Override
    public String toString() {
      return name;
    }
  }

  private SchemaCorpus() {}

  static List<Entry> all() {
    List<Entry> out = new ArrayList<>();
    out.add(new Entry("reply", GuideFixtures.replySchema()));
    out.addAll(handWritten());
    for (int seed = 0; seed < GENERATED; seed++) {
      out.add(new Entry("generated-" + seed, new SchemaGenerator(seed).document().toString()));
    }
    return out;
  }

  /**
   * {@link #all()} plus schemas that combine schemas (allOf, keywords beside anyOf/oneOf/$ref;
   * test resources guide/merged), for the soundness tests: {@link InstanceGenerator} does not
   * build instances for those, so the completeness test leaves them out.
   */
  static List<Entry> withMerged() {
    List<Entry> out = all();
    out.addAll(handWritten("/guide/merged"));
    return out;
  }

  static List<Entry> handWritten() {
    return handWritten("/guide/schemas");
  }

  private static List<Entry> handWritten(String folder) {
    List<Entry> out = new ArrayList<>();
    try (var files = Files.list(GuideFixtures.resource(folder))) {
      for (Path p : files.sorted().toList()) {
        out.add(new Entry(p.getFileName().toString(), Files.readString(p)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }
}
