package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The masks against the automaton itself, on the real vocabulary, along random walks over the
 * hand-written schemas and part of the generated ones: at every step the cached mask equals the
 * mask computed with no cache (so cache keys never merge states that differ), and for sampled
 * tokens, in the mask and out of it, the bit agrees with what {@code acceptToken} does. The
 * mask written into a direct buffer (a runner's pinned staging memory) equals the array's.
 */
class MaskConsistencyTest {

  private static final int SAMPLES = 100;

  @Test
  void cachedMasksEqualFreshOnesAndAgreeWithAcceptToken() {
    TokenVocabulary vocab = GuideFixtures.qwen();
    List<SchemaCorpus.Entry> schemas = new ArrayList<>(SchemaCorpus.handWritten());
    schemas.add(new SchemaCorpus.Entry("reply", GuideFixtures.replySchema()));
    for (int seed = 0; seed < 20; seed++) {
      schemas.add(new SchemaCorpus.Entry("generated-" + seed,
          new SchemaGenerator(seed).document().toString()));
    }
    int[] cached = new int[vocab.maskWords()];
    int[] fresh = new int[vocab.maskWords()];
    int offset = 3 * vocab.maskWords(); // a later row of a step's masks
    java.nio.IntBuffer staged = java.nio.ByteBuffer.allocateDirect(4 * (offset + vocab.maskWords()))
        .order(java.nio.ByteOrder.nativeOrder()).asIntBuffer();
    int[] stagedRow = new int[vocab.maskWords()];
    int steps = 0;
    int checks = 0;
    for (SchemaCorpus.Entry e : schemas) {
      CompiledSchema compiled = JsonSchemaCompiler.compile(e.schema());
      Random rnd = new Random(e.name().hashCode());
      for (Walks.Policy policy : new Walks.Policy[] {Walks.Policy.CLOSING,
          Walks.Policy.JUMP_FORWARD}) {
        GrammarMatcher m = compiled.newMatcher(vocab);
        for (int step = 0; step < 80 && !m.isTerminated(); step++) {
          if (policy == Walks.Policy.JUMP_FORWARD) {
            m.acceptBytes(m.forcedBytes());
          }
          m.fillNextTokenBitmask(cached, 0);
          m.fillUncached(fresh);
          assertThat(cached).as("%s step %d", e.name(), step).isEqualTo(fresh);
          for (int i = 0; i < vocab.maskWords(); i++) {
            staged.put(offset + i, ~cached[i]); // stale contents the fill must overwrite
          }
          m.fillNextTokenBitmask(staged, offset);
          staged.get(offset, stagedRow);
          assertThat(stagedRow).as("%s step %d, staged", e.name(), step).isEqualTo(cached);
          for (int k = 0; k < SAMPLES; k++) {
            int id = k % 2 == 0 ? rnd.nextInt(vocab.modelVocabSize()) : Walks.pick(cached, rnd);
            boolean inMask = MatcherTest.bit(cached, id);
            assertThat(m.copy().acceptToken(id)).as("%s step %d token %d", e.name(), step, id)
                .isEqualTo(inMask);
            checks++;
          }
          int next = policy == Walks.Policy.CLOSING && rnd.nextBoolean()
              ? closingOrAny(cached, vocab, rnd) : Walks.pick(cached, rnd);
          if (vocab.isEos(next)) {
            break;
          }
          assertThat(m.acceptToken(next)).isTrue();
          steps++;
        }
      }
    }
    System.out.printf("mask consistency: %d schemas, %d steps, %d token checks%n",
        schemas.size(), steps, checks);
  }

  private static int closingOrAny(int[] words, TokenVocabulary vocab, Random rnd) {
    for (int tries = 0; tries < 200; tries++) {
      int id = Walks.pick(words, rnd);
      byte[] b = vocab.bytes(id);
      if (b == null) {
        return id;
      }
      for (byte x : b) {
        if (x == '"' || x == '}' || x == ']') {
          return id;
        }
      }
    }
    return Walks.pick(words, rnd);
  }
}
