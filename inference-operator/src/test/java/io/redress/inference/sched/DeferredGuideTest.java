package io.redress.inference.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.guide.CompiledSchema;
import io.redress.inference.guide.GrammarCache;
import io.redress.inference.guide.GrammarMatcher;
import io.redress.inference.guide.TokenVocabulary;
import io.redress.inference.model.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Matchers advanced beside the next step (large batches: {@link Sequence#advanceMatcher} on the
 * engine's mask workers) give every sequence the tokens and finish reason that advancing them
 * on the engine thread right after sampling gives. The "model" picks among the tokens the real
 * reply schema allows over Qwen's real vocabulary, by a rule that depends only on the sequence
 * and its position, so the two schedulers see the same choices wherever their matchers agree.
 */
class DeferredGuideTest {

  private static final int VOCAB = 151_936;
  private static final Set<Integer> EOS = Set.of(151_643, 151_645);
  private static TokenVocabulary vocabulary;
  private static boolean[] closing; // tokens holding a closing quote, bracket or brace
  private static CompiledSchema schema;

  @BeforeAll
  static void load() throws IOException, URISyntaxException {
    Path dir = Path.of(DeferredGuideTest.class.getResource("/qwen-tokenizer").toURI());
    Tokenizer tokenizer = Tokenizer.load(dir);
    vocabulary = TokenVocabulary.of(tokenizer, VOCAB, EOS);
    closing = new boolean[VOCAB];
    for (int id = 0; id < tokenizer.vocabSize(); id++) {
      closing[id] = !EOS.contains(id) && closes(tokenizer.tokenBytes(id));
    }
    try (InputStream in = DeferredGuideTest.class.getResourceAsStream("/guide/reply.schema.json")) {
      schema = new GrammarCache(4).get(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }

  /** What a run gave each request, and how many sequences finished without a token. */
  private record Run(Map<String, List<Integer>> tokens, Map<String, FinishReason> reasons,
      int endedWithoutToken, int steps) {}

  private static Run run(boolean deferred) {
    Scheduler s = new Scheduler(new BlockManager(4096, 16, true), 8, 512, 4096, true, EOS);
    if (deferred) {
      s.limitJumpForward(0); // every batch counts as large
    }
    List<Sequence> seqs = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      SamplingParams p = SamplingParams.greedy(i == 3 ? 7 : 400); // one cut by maxTokens
      Sequence seq = new Sequence("r" + i, new int[] {100 + i, 200, 300 + i}, p, i, 0);
      seq.guide(schema.newMatcher(vocabulary));
      seqs.add(seq);
      s.add(seq);
    }
    int[] words = new int[vocabulary.maskWords()];
    int ended = 0;
    int steps = 0;
    while (s.hasWork()) {
      ScheduledStep step = s.schedule(0);
      List<Integer> sampled = new ArrayList<>();
      for (int i = 0; i < step.seqs().size(); i++) {
        if (step.samples(i)) {
          Sequence seq = step.seqs().get(i);
          seq.advanceMatcher(); // what the engine's mask worker does before filling the mask
          seq.matcher().fillNextTokenBitmask(words, 0);
          sampled.add(pick(words, seq));
        }
      }
      Scheduler.Outcome out = s.postprocess(step,
          sampled.stream().mapToInt(Integer::intValue).toArray(), 0);
      ended += out.endedWithoutToken().size();
      steps++;
      assertThat(steps).as("runaway loop").isLessThan(20_000);
    }
    Map<String, List<Integer>> tokens = new HashMap<>();
    Map<String, FinishReason> reasons = new HashMap<>();
    for (Sequence seq : seqs) {
      tokens.put(seq.requestId(), seq.generated());
      reasons.put(seq.requestId(), seq.finishReason());
    }
    return new Run(tokens, reasons, ended, steps);
  }

  /**
   * An allowed token chosen from the sequence's seed and position: half the time one holding a
   * closing quote or brace (so documents end), else any.
   */
  private static int pick(int[] words, Sequence seq) {
    Random rnd = new Random(seq.seed() * 100_003 + seq.numGenerated());
    List<Integer> allowed = new ArrayList<>();
    List<Integer> closers = new ArrayList<>();
    for (int id = 0; id < VOCAB; id++) {
      if ((words[id >> 5] >>> (id & 31) & 1) != 0) {
        allowed.add(id);
        if (closing[id]) {
          closers.add(id);
        }
      }
    }
    assertThat(allowed).as("mask of %s", seq.requestId()).isNotEmpty();
    List<Integer> from = !closers.isEmpty() && rnd.nextBoolean() ? closers : allowed;
    return from.get(rnd.nextInt(from.size()));
  }

  private static boolean closes(byte[] b) {
    for (byte x : b) {
      if (x == '"' || x == '}' || x == ']') {
        return true;
      }
    }
    return false;
  }

  @Test
  void deferredMatchersGiveTheSameOutputs() {
    Run now = run(false);
    Run later = run(true);
    assertThat(later.tokens()).isEqualTo(now.tokens());
    assertThat(later.reasons()).isEqualTo(now.reasons());
    assertThat(now.reasons()).containsValue(FinishReason.STOP).containsValue(FinishReason.LENGTH);
    // Documents that end without EOS finish one step later, without the token of that step.
    assertThat(now.endedWithoutToken()).isZero();
    assertThat(later.endedWithoutToken()).isPositive();
    assertThat(later.steps()).isGreaterThan(now.steps());
  }
}
