package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Soundness and completeness over many more generated schemas than the regular suite, for
 * changes to the compiler or the masks: off by default (minutes), on with
 * {@code -Dguide.stress=N} (N schemas, seeds 10000 onwards), e.g.
 * {@code mvn -pl inference-operator test -Dtest=StressTest -Dguide.stress=800}.
 */
@EnabledIfSystemProperty(named = "guide.stress", matches = "\\d+")
class StressTest {

  @Test
  void manyGeneratedSchemas() throws Exception {
    TokenVocabulary vocab = GuideFixtures.qwen();
    var tokenizer = GuideFixtures.qwenTokenizer();
    Map<ByteBuffer, Integer> ids = Walks.tokenIds(vocab);
    int count = Integer.getInteger("guide.stress");
    List<String> failures = new ArrayList<>();
    int finished = 0;
    int accepted = 0;
    int[] words = new int[vocab.maskWords()];
    for (int seed = 10_000; seed < 10_000 + count; seed++) {
      String schema = new SchemaGenerator(seed).document().toString();
      CompiledSchema compiled = JsonSchemaCompiler.compile(schema);
      NetworkntValidator validator = new NetworkntValidator(schema);
      Random rnd = new Random(seed);
      for (Walks.Policy p : Walks.Policy.values()) {
        Walks.Walk w = Walks.walk(compiled.newMatcher(vocab), vocab, rnd, p, 300);
        if (w.finished()) {
          finished++;
          if (!validator.errors(w.bytes()).isEmpty()) {
            failures.add("invalid " + seed + ": " + validator.errors(w.bytes()) + "\n  "
                + new String(w.bytes(), StandardCharsets.UTF_8) + "\n  " + schema);
          }
        }
      }
      InstanceGenerator gen = new InstanceGenerator(NetworkntValidator.JSON.readTree(schema),
          seed);
      int valid = 0;
      for (int a = 0; a < 60 && valid < 5; a++) {
        byte[] instance = gen.next();
        if (instance == null || !validator.errors(instance).isEmpty()) {
          continue;
        }
        valid++;
        for (int k = 0; k < 2; k++) {
          int[] tokens = k == 0 ? tokenizer.encode(new String(instance, StandardCharsets.UTF_8))
              : Walks.randomTokens(instance, ids, vocab.maxTokenBytes(), rnd);
          String problem = CompletenessTest.accept(compiled.newMatcher(vocab), vocab, tokens,
              words, instance);
          if (problem == null) {
            accepted++;
          } else {
            failures.add("refused " + seed + ": " + problem + "\n  "
                + new String(instance, StandardCharsets.UTF_8) + "\n  " + schema);
          }
        }
      }
    }
    System.out.printf("stress: %d schemas, %d finished walks, %d tokenizations accepted, %d"
        + " failures%n", count, finished, accepted, failures.size());
    assertThat(failures).isEmpty();
  }
}
