package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Soundness: random walks through the masks (the tokens a sampler could pick, on the real Qwen
 * vocabulary) over every corpus schema; every output that reaches EOS must parse and validate
 * with networknt json-schema-validator. Walks pick uniformly among allowed tokens; a second
 * policy favours closing tokens so that schemas with long strings also finish, and a third
 * appends the forced bytes (jump-forward) as the engine would.
 */
class SoundnessTest {

  private static final int MAX_TOKENS = 400;
  /** Schemas of the newer keywords (format, allOf, merges), walked as often as the reply. */
  private static final java.util.Set<String> EXTRA_ROUNDS = java.util.Set.of("formats.json",
      "openapi_style.json", "allof_inheritance.json", "beside_combinators.json",
      "allof_arrays.json");

  @Test
  void everyFinishedOutputValidates() {
    TokenVocabulary vocab = GuideFixtures.qwen();
    List<String> failures = new ArrayList<>();
    int schemas = 0;
    int walks = 0;
    int finished = 0;
    for (SchemaCorpus.Entry e : SchemaCorpus.withMerged()) {
      CompiledSchema compiled = JsonSchemaCompiler.compile(e.schema());
      NetworkntValidator validator = new NetworkntValidator(e.schema());
      Random rnd = new Random(e.name().hashCode());
      int rounds = e.name().equals("reply") || EXTRA_ROUNDS.contains(e.name()) ? 20 : 1;
      schemas++;
      for (int r = 0; r < rounds; r++) {
        for (Walks.Policy policy : Walks.Policy.values()) {
          Walks.Walk w = Walks.walk(compiled.newMatcher(vocab), vocab, rnd, policy, MAX_TOKENS);
          walks++;
          if (!w.finished()) {
            continue;
          }
          finished++;
          var errors = validator.errors(w.bytes());
          if (!errors.isEmpty()) {
            failures.add(e.name() + " (" + policy + "): " + errors + "\n  output: "
                + new String(w.bytes(), StandardCharsets.UTF_8) + "\n  schema: " + e.schema());
          }
        }
      }
    }
    System.out.printf("soundness: %d schemas, %d walks, %d finished, %d invalid%n", schemas,
        walks, finished, failures.size());
    assertThat(failures).isEmpty();
    assertThat(schemas).isGreaterThanOrEqualTo(200);
    assertThat(finished).isGreaterThanOrEqualTo(400);
  }
}
