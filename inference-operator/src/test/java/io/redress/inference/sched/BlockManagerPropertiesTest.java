package io.redress.inference.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.sched.BlockManagerModel.Seq;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Properties of {@link BlockManager} over random action sequences, checked against
 * {@link BlockManagerModel}. Tokens come from a three-letter alphabet and new prompts copy a
 * random-length prefix of an earlier one, so prefixes overlap often; pools of 4 to 32 blocks
 * run out often. A failure prints the shrunk scenario and the trace of calls it made.
 */
class BlockManagerPropertiesTest {

  static final int ALPHABET = 3;

  /** What to do next; indices are taken modulo the live (or preempted) sequences, if any. */
  sealed interface Action permits Allocate, Append, MarkComputed, Free, Reallocate {}

  /**
   * A new prompt: the first {@code prefixLen * blockSize / 16} tokens of an earlier sequence,
   * then at most {@code 2 * blockSize + 1} tokens of {@code suffix}.
   */
  record Allocate(int source, int prefixLen, List<Integer> suffix) implements Action {}

  /** Appends at most {@code blockSize + 1} tokens of {@code tokens}. */
  record Append(int seq, List<Integer> tokens) implements Action {}

  /** Marks the first {@code min(upTo * blockSize / 16, length)} tokens computed. */
  record MarkComputed(int seq, int upTo) implements Action {}

  record Free(int seq, boolean preempt) implements Action {}

  /** Allocates a preempted sequence's whole token list again. */
  record Reallocate(int preempted) implements Action {}

  record Scenario(int numBlocks, int blockSize, List<Action> actions) {}

  // ---- the action-sequence properties --------------------------------------------------------

  /**
   * With prefix caching: no leak or double free, ref counts equal live holders, cache hits give
   * the modelled blocks and cached-token counts, blocks are shared only by identical prefixes,
   * can* agrees with the call, free blocks are reused least recently freed first and evicted
   * ones are not served again (properties 1 to 5 and 7). All is checked after every action.
   * Edge cases are off: jqwik's list edge cases made half the tries near-empty.
   */
  @Property(tries = 3000, edgeCases = EdgeCasesMode.NONE)
  void stateMatchesModelWithPrefixCaching(@ForAll("scenarios") Scenario scenario) {
    BlockManagerModel m = play(scenario, true);
    // The generators must keep reaching the interesting cases.
    cover("a cache hit", m.hitsServed > 0, 30);
    cover("a refused allocate or append", m.refused > 0, 30);
    cover("an evicted cached block", m.evictions > 0, 15);
    cover("a block shared by live sequences", m.sharedSeen > 0, 20);
  }

  /** Without prefix caching nothing is ever cached or shared (property 6), and 1, 2, 5 hold. */
  @Property(tries = 1000, edgeCases = EdgeCasesMode.NONE)
  void nothingIsSharedWithoutPrefixCaching(@ForAll("scenarios") Scenario scenario) {
    play(scenario, false);
  }

  private static BlockManagerModel play(Scenario scenario, boolean caching) {
    BlockManagerModel m =
        new BlockManagerModel(scenario.numBlocks(), scenario.blockSize(), caching);
    m.run(() -> {
      for (Action action : scenario.actions()) {
        apply(m, action);
        m.checkInvariants();
      }
      m.freeAll();
    });
    return m;
  }

  private static void cover(String label, boolean happened, double minPercent) {
    Statistics.label(label).collect(happened);
    Statistics.label(label).coverage(c -> c.check(true).percentage(p -> p >= minPercent));
  }

  private static void apply(BlockManagerModel m, Action action) {
    int bs = m.blockSize;
    if (action instanceof Allocate a) {
      List<Integer> tokens = new ArrayList<>();
      if (!m.history.isEmpty()) {
        List<Integer> source = m.history.get(a.source() % m.history.size()).tokens;
        tokens.addAll(source.subList(0, Math.min(a.prefixLen() * bs / 16, source.size())));
      }
      tokens.addAll(a.suffix().subList(0, Math.min(a.suffix().size(), 2 * bs + 1)));
      if (tokens.isEmpty()) {
        tokens.add(0);
      }
      m.allocate(tokens);
    } else if (action instanceof Append a && !m.live.isEmpty()) {
      List<Integer> more = a.tokens().subList(0, Math.min(a.tokens().size(), bs + 1));
      m.append(m.live.get(a.seq() % m.live.size()), more);
    } else if (action instanceof MarkComputed a && !m.live.isEmpty()) {
      Seq s = m.live.get(a.seq() % m.live.size());
      m.markComputed(s, Math.min(a.upTo() * bs / 16, s.tokens.size()));
    } else if (action instanceof Free a && !m.live.isEmpty()) {
      m.free(m.live.get(a.seq() % m.live.size()), a.preempt());
    } else if (action instanceof Reallocate a && !m.preempted.isEmpty()) {
      m.reallocate(a.preempted() % m.preempted.size());
    }
  }

  @Provide
  Arbitrary<Scenario> scenarios() {
    return Combinators.combine(
            Arbitraries.integers().between(4, 32),
            blockSizes(),
            action().list().ofMaxSize(60).withSizeDistribution(RandomDistribution.uniform()))
        .as(Scenario::new);
  }

  /**
   * Lengths are drawn for the largest block size (16) and scaled down at {@link #apply}, so one
   * arbitrary serves every block size and shrinks toward short prompts.
   */
  private static Arbitrary<Action> action() {
    Arbitrary<Integer> index = Arbitraries.integers().between(0, 15);
    Arbitrary<Integer> token = Arbitraries.integers().between(0, ALPHABET - 1);
    Arbitrary<Action> allocate = Combinators.combine(
            index, Arbitraries.integers().between(0, 64), token.list().ofMaxSize(33))
        .as(Allocate::new);
    Arbitrary<Action> append = Combinators.combine(index, token.list().ofMinSize(1).ofMaxSize(17))
        .as(Append::new);
    Arbitrary<Action> markComputed =
        Combinators.combine(index, Arbitraries.integers().between(0, 96)).as(MarkComputed::new);
    Arbitrary<Action> free = Combinators.combine(index, Arbitraries.of(false, true))
        .as(Free::new);
    Arbitrary<Action> reallocate = index.map(Reallocate::new);
    return Arbitraries.frequencyOf(
        Tuple.of(5, allocate),
        Tuple.of(4, append),
        Tuple.of(5, markComputed),
        Tuple.of(3, free),
        Tuple.of(2, reallocate));
  }

  // ---- focused properties ----------------------------------------------------------------------

  /**
   * Property 3 on its own: a prompt whose first {@code shared} tokens are an earlier prompt's,
   * of which the first {@code computed} are computed, gets the earlier one's physical blocks for
   * the full blocks inside both, and exactly those: the cached-token count is blockSize times
   * their number, always less than its length. The earlier sequence may still be live or already
   * freed (the pool is big enough that nothing is evicted).
   */
  @Property(tries = 1000)
  void cachedLookupReturnsSamePhysicalBlocks(
      @ForAll("blockSizes") int blockSize,
      @ForAll @IntRange(min = 1, max = 4) int firstBlocks,
      @ForAll @IntRange(min = 0, max = 15) int firstExtra,
      @ForAll @IntRange(min = 0, max = 100) int computedPercent,
      @ForAll @IntRange(min = 0, max = 100) int sharedPercent,
      @ForAll @IntRange(min = 0, max = 40) int suffixLen,
      @ForAll boolean freeFirst,
      @ForAll long seed) {
    Random random = new Random(seed);
    int firstLen = firstBlocks * blockSize + firstExtra % blockSize;
    List<Integer> first = randomTokens(random, firstLen);
    int computed = firstLen * computedPercent / 100;
    int shared = firstLen * sharedPercent / 100;
    List<Integer> second = new ArrayList<>(first.subList(0, shared));
    if (shared < firstLen) {
      second.add(first.get(shared) + 1); // diverge right after the shared prefix
    }
    second.addAll(randomTokens(random, suffixLen % (2 * blockSize + 1)));
    if (second.isEmpty()) {
      second.add(0);
    }
    BlockManagerModel m = new BlockManagerModel(32, blockSize, true);
    m.run(() -> {
      Seq a = m.allocate(first);
      m.markComputed(a, computed);
      if (freeFirst) {
        m.free(a, false);
      }
      Seq b = m.allocate(second);
      int k = Math.min(Math.min(shared, computed) / blockSize, (second.size() - 1) / blockSize);
      assertThat(m.lastCachedTokens).as("cached tokens")
          .isEqualTo(k * blockSize)
          .isLessThan(second.size());
      for (int i = 0; i < b.table.size(); i++) {
        boolean sameBlock = i < a.blocks.size() && b.table.get(i) == a.blocks.get(i);
        assertThat(sameBlock).as("block %d shared", i).isEqualTo(i < k);
      }
      m.checkInvariants();
      m.freeAll();
    });
  }

  /**
   * Property 7 on its own: sequences of one full computed block each, with distinct tokens, are
   * freed in a random order; fresh allocations then take the never-used blocks, then the freed
   * ones in the order they were freed; a block so reused is no longer served by a lookup, and
   * one not yet reused still is.
   */
  @Property(tries = 1000)
  void evictionTakesLeastRecentlyFreedFirst(
      @ForAll("blockSizes") int blockSize,
      @ForAll @IntRange(min = 4, max = 32) int numBlocks,
      @ForAll @IntRange(min = 1, max = 32) int cachedSeqs,
      @ForAll @IntRange(min = 0, max = 32) int freshAllocations,
      @ForAll @IntRange(min = 0, max = 31) int probe,
      @ForAll long seed) {
    int n = Math.min(cachedSeqs, numBlocks - 1); // keep one block for the probe's last block
    int fresh = Math.min(freshAllocations, numBlocks - 2); // the probe may need two
    BlockManager bm = new BlockManager(numBlocks, blockSize, true);
    List<BlockTable> tables = new ArrayList<>();
    List<int[]> prompts = new ArrayList<>();
    for (int j = 0; j < n; j++) {
      int[] tokens = new int[blockSize];
      Arrays.fill(tokens, 1000 + j);
      BlockTable t = new BlockTable();
      assertThat(bm.allocate(t, tokens, blockSize)).isZero();
      bm.markComputed(t, tokens, blockSize);
      tables.add(t);
      prompts.add(tokens);
    }
    List<Integer> order = new ArrayList<>(IntStream.range(0, n).boxed().toList());
    Collections.shuffle(order, new Random(seed));
    List<Integer> expected = new ArrayList<>(IntStream.range(n, numBlocks).boxed().toList());
    int[] blockOf = new int[n];
    for (int j : order) {
      blockOf[j] = tables.get(j).get(0);
      expected.add(blockOf[j]);
      bm.free(tables.get(j));
    }
    List<Integer> taken = new ArrayList<>();
    for (int j = 0; j < fresh; j++) {
      BlockTable t = new BlockTable();
      assertThat(bm.allocate(t, new int[] {2000 + j}, 1)).isZero();
      taken.add(t.get(0));
    }
    assertThat(taken).as("fresh blocks in free order").isEqualTo(expected.subList(0, fresh));
    if (n > 0) {
      int j = probe % n;
      int[] tokens = Arrays.copyOf(prompts.get(j), blockSize + 1);
      BlockTable t = new BlockTable();
      boolean evicted = taken.contains(blockOf[j]);
      assertThat(bm.allocate(t, tokens, blockSize + 1))
          .as("probe of prompt %d, block %d evicted=%s", j, blockOf[j], evicted)
          .isEqualTo(evicted ? 0 : blockSize);
      assertThat(t.get(0) == blockOf[j]).as("probe served the cached block").isEqualTo(!evicted);
    }
  }

  @Provide
  Arbitrary<Integer> blockSizes() {
    return Arbitraries.of(1, 2, 4, 16);
  }

  private static List<Integer> randomTokens(Random random, int n) {
    List<Integer> tokens = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      tokens.add(random.nextInt(ALPHABET));
    }
    return tokens;
  }
}
