package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Masks filled on many threads at once (one matcher per thread at a time, shared caches and
 * tables, all cold at the start) equal the masks one thread computes alone.
 */
class ConcurrencyTest {

  @Test
  void concurrentMasksEqualSequentialOnes() throws Exception {
    TokenVocabulary vocab = GuideFixtures.qwen();
    String[] schemas = {GuideFixtures.replySchema(),
        GuideFixtures.text("/guide/schemas/order.json"),
        GuideFixtures.text("/guide/schemas/log_entry.json")};
    // Reference token sequences and their masks, one thread, a private compiled schema each.
    List<int[]> sequences = new ArrayList<>();
    List<List<int[]>> expected = new ArrayList<>();
    Random rnd = new Random(3);
    for (int s = 0; s < 12; s++) {
      GrammarMatcher m = JsonSchemaCompiler.compile(schemas[s % 3]).newMatcher(vocab);
      List<Integer> ids = new ArrayList<>();
      List<int[]> masks = new ArrayList<>();
      for (int step = 0; step < 60; step++) {
        int[] words = new int[vocab.maskWords()];
        m.fillNextTokenBitmask(words, 0);
        masks.add(words);
        int id = Walks.pick(words, rnd);
        if (vocab.isEos(id)) {
          break;
        }
        m.acceptToken(id);
        ids.add(id);
      }
      sequences.add(ids.stream().mapToInt(Integer::intValue).toArray());
      expected.add(masks);
    }
    CompiledSchema[] shared = new CompiledSchema[3];
    for (int i = 0; i < 3; i++) {
      shared[i] = JsonSchemaCompiler.compile(schemas[i]);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int rep = 0; rep < 4; rep++) {
        for (int s = 0; s < sequences.size(); s++) {
          int seq = s;
          results.add(pool.submit(() -> {
            GrammarMatcher m = shared[seq % 3].newMatcher(vocab);
            int[] words = new int[vocab.maskWords()];
            int[] ids = sequences.get(seq);
            for (int i = 0; i <= ids.length && i < expected.get(seq).size(); i++) {
              m.fillNextTokenBitmask(words, 0);
              if (!java.util.Arrays.equals(words, expected.get(seq).get(i))) {
                return false;
              }
              if (i < ids.length) {
                m.acceptToken(ids[i]);
              }
            }
            return true;
          }));
        }
      }
      for (Future<Boolean> f : results) {
        assertThat(f.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
