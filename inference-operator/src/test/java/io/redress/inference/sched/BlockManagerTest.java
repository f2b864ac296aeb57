package io.redress.inference.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Worked examples of {@link BlockManager}; the general claims are in the properties test. */
class BlockManagerTest {

  private static int[] tokens(int... ids) {
    return ids;
  }

  /** {@code n} tokens {@code from, from + 1, ...}. */
  private static int[] run(int from, int n) {
    return IntStream.range(from, from + n).toArray();
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void rejectsNonPositiveSizes() {
    assertThatThrownBy(() -> new BlockManager(0, 16, true))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new BlockManager(8, 0, true))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void freshPromptGetsBlocksInIdOrderAndNothingCached() {
    BlockManager bm = new BlockManager(8, 4, true);
    BlockTable t = new BlockTable();

    assertThat(bm.allocate(t, run(0, 9), 9)).isZero();

    assertThat(t.toArray()).containsExactly(0, 1, 2);
    assertThat(bm.blocksFor(9)).isEqualTo(3);
    assertThat(bm.numFreeBlocks()).isEqualTo(5);
    assertThat(bm.numUsedBlocks()).isEqualTo(3);
    assertThat(bm.refCount(0)).isEqualTo(1);
  }

  @Test
  void computedPrefixIsSharedByALaterPrompt() {
    BlockManager bm = new BlockManager(8, 4, true);
    int[] a = run(0, 10);
    BlockTable ta = new BlockTable();
    bm.allocate(ta, a, 10);
    bm.markComputed(ta, a, 10); // registers the two full blocks

    int[] b = concat(run(0, 8), tokens(99, 98));
    BlockTable tb = new BlockTable();
    assertThat(bm.allocate(tb, b, 10)).isEqualTo(8);

    assertThat(tb.get(0)).isEqualTo(ta.get(0));
    assertThat(tb.get(1)).isEqualTo(ta.get(1));
    assertThat(tb.get(2)).isNotEqualTo(ta.get(2));
    assertThat(bm.refCount(ta.get(0))).isEqualTo(2);
    assertThat(bm.numFreeBlocks()).isEqualTo(8 - 4);
  }

  @Test
  void blocksAreNotServedBeforeTheyAreComputed() {
    BlockManager bm = new BlockManager(8, 4, true);
    int[] a = run(0, 9);
    BlockTable ta = new BlockTable();
    bm.allocate(ta, a, 9);
    bm.markComputed(ta, a, 7); // only the first block is full and computed

    BlockTable tb = new BlockTable();
    assertThat(bm.allocate(tb, a, 9)).isEqualTo(4);
    assertThat(tb.get(1)).isNotEqualTo(ta.get(1));
  }

  @Test
  void aFullyCachedPromptStillRecomputesItsLastBlock() {
    BlockManager bm = new BlockManager(8, 4, true);
    int[] a = run(0, 8);
    BlockTable ta = new BlockTable();
    bm.allocate(ta, a, 8);
    bm.markComputed(ta, a, 8);

    BlockTable tb = new BlockTable();
    assertThat(bm.allocate(tb, a, 8)).isEqualTo(4); // not 8: the last token's logits are needed
    assertThat(tb.get(0)).isEqualTo(ta.get(0));
    assertThat(tb.get(1)).isNotEqualTo(ta.get(1));
  }

  @Test
  void aFreedPrefixIsServedUntilItsBlockIsReused() {
    BlockManager bm = new BlockManager(4, 4, true);
    int[] a = run(0, 5);
    BlockTable ta = new BlockTable();
    bm.allocate(ta, a, 5); // blocks 0, 1
    bm.markComputed(ta, a, 5); // registers block 0
    bm.free(ta); // free list: 2, 3, 1, 0

    BlockTable again = new BlockTable();
    assertThat(bm.allocate(again, a, 5)).isEqualTo(4);
    assertThat(again.get(0)).isZero();
    bm.free(again); // free list: 3, 1, 2, 0

    BlockTable other = new BlockTable();
    bm.allocate(other, run(50, 8), 8); // takes 3, 1
    assertThat(other.toArray()).containsExactly(3, 1);
    BlockTable stillCached = new BlockTable();
    assertThat(bm.allocate(stillCached, a, 5)).isEqualTo(4); // block 0, then 2
    assertThat(stillCached.toArray()).containsExactly(0, 2);
    bm.free(other);
    bm.free(stillCached); // free list: 1, 3, 2, 0 (each sequence's tail first)

    BlockTable evict = new BlockTable();
    bm.allocate(evict, run(50, 16), 16); // takes every block, so block 0's prefix is evicted
    assertThat(evict.toArray()).containsExactly(1, 3, 2, 0);
    bm.free(evict);

    BlockTable late = new BlockTable();
    assertThat(bm.allocate(late, a, 5)).isZero();
  }

  @Test
  void freedBlocksAreReusedLeastRecentlyFreedFirst() {
    BlockManager bm = new BlockManager(6, 1, true);
    BlockTable x = new BlockTable();
    BlockTable y = new BlockTable();
    bm.allocate(x, tokens(1, 2), 2); // 0, 1
    bm.allocate(y, tokens(3, 4), 2); // 2, 3
    bm.free(y); // a sequence's tail goes first: 3, 2
    bm.free(x); // then 1, 0

    BlockTable z = new BlockTable();
    bm.allocate(z, run(10, 6), 6);

    assertThat(z.toArray()).containsExactly(4, 5, 3, 2, 1, 0);
  }

  @Test
  void aLiveSharedPrefixNeedsNoFreeBlockButAFreeCachedOneDoes() {
    BlockManager bm = new BlockManager(3, 4, true);
    int[] a = run(0, 5);
    BlockTable ta = new BlockTable();
    bm.allocate(ta, a, 5);
    bm.markComputed(ta, a, 5);
    // One free block left; the shared first block is held, so only the last block is new.
    int[] b = concat(run(0, 4), tokens(77));
    assertThat(bm.canAllocate(b, 5)).isTrue();
    // Two blocks of a 3-block pool are held; a prompt of three blocks does not fit.
    assertThat(bm.canAllocate(concat(run(0, 4), run(70, 5)), 9)).isFalse();

    bm.free(ta);
    // All three free now; the cached block is on the free list, so it counts against them.
    int[] c = concat(run(0, 4), run(70, 5));
    assertThat(bm.canAllocate(c, 9)).isTrue();
    BlockTable tc = new BlockTable();
    assertThat(bm.allocate(tc, c, 9)).isEqualTo(4);
    assertThat(bm.numFreeBlocks()).isZero();
  }

  @Test
  void aFailedAllocateOrAppendThrowsAndChangesNothing() {
    BlockManager bm = new BlockManager(2, 4, true);
    BlockTable t = new BlockTable();
    assertThat(bm.canAllocate(run(0, 9), 9)).isFalse();
    assertThatThrownBy(() -> bm.allocate(t, run(0, 9), 9))
        .isInstanceOf(IllegalStateException.class);
    assertThat(t.size()).isZero();
    assertThat(bm.numFreeBlocks()).isEqualTo(2);

    bm.allocate(t, run(0, 8), 8);
    assertThat(bm.canAppend(t, 8)).isTrue();
    assertThat(bm.canAppend(t, 9)).isFalse();
    assertThatThrownBy(() -> bm.append(t, 9)).isInstanceOf(IllegalStateException.class);
    assertThat(t.toArray()).containsExactly(0, 1);
    assertThat(bm.numFreeBlocks()).isZero();
  }

  @Test
  void allocateIntoATableThatHoldsBlocksThrows() {
    BlockManager bm = new BlockManager(4, 4, true);
    BlockTable t = new BlockTable();
    bm.allocate(t, run(0, 3), 3);
    assertThatThrownBy(() -> bm.allocate(t, run(0, 3), 3))
        .isInstanceOf(IllegalStateException.class);
    assertThat(bm.numFreeBlocks()).isEqualTo(3);
  }

  @Test
  void whenTwoSequencesComputeTheSamePrefixTheFirstBlockStaysCached() {
    BlockManager bm = new BlockManager(8, 2, true);
    int[] p = tokens(5, 6, 7);
    BlockTable a = new BlockTable();
    BlockTable b = new BlockTable();
    bm.allocate(a, p, 3); // 0, 1
    bm.allocate(b, p, 3); // 2, 3: nothing was computed yet
    bm.markComputed(a, p, 3);
    bm.markComputed(b, p, 3); // block 2 stays private

    BlockTable c = new BlockTable();
    assertThat(bm.allocate(c, p, 3)).isEqualTo(2);
    assertThat(c.get(0)).isEqualTo(a.get(0));
    assertThat(bm.refCount(b.get(0))).isEqualTo(1);
  }

  @Test
  void withoutPrefixCachingNothingIsShared() {
    BlockManager bm = new BlockManager(8, 2, false);
    int[] p = run(0, 5);
    BlockTable a = new BlockTable();
    bm.allocate(a, p, 5);
    bm.markComputed(a, p, 5);

    BlockTable b = new BlockTable();
    assertThat(bm.allocate(b, p, 5)).isZero();
    assertThat(b.toArray()).doesNotContain(a.toArray());
  }

  /**
   * The class promises that "a hash collision can never serve another prefix's KV", but lookup
   * compares only the found block's own tokens, not its parent. Q1 and R1 below are different
   * 16-token blocks (valid Qwen token ids) with the same chained hash; the chain step is an
   * invertible 64-bit mix, so such pairs are found in seconds (Pollard rho on the state after
   * the first four tokens). R's second block is registered under chain(hash(R1), R2), which is
   * also chain(hash(Q1), R2), so a prompt Q1 + R2 is served R's second block, whose KV was
   * computed after R1, not Q1.
   */
  @Test
  void aHashCollisionNeverServesAnotherPrefixsKv() {
    int[] tail = run(1000, 12); // any 12 tokens, the same in both
    int[] q1 = concat(tokens(35582, 54315, 36105, 22636), tail);
    int[] r1 = concat(tokens(53913, 27275, 37126, 4793), tail);
    int[] r2 = run(2000, 16);
    BlockManager bm = new BlockManager(16, 16, true);

    int[] a = concat(q1, tokens(7)); // someone caches Q1
    BlockTable ta = new BlockTable();
    bm.allocate(ta, a, a.length);
    bm.markComputed(ta, a, a.length);

    int[] r = concat(concat(r1, r2), tokens(7)); // R1 + R2: its first block collides with Q1's
    BlockTable tr = new BlockTable();
    assertThat(bm.allocate(tr, r, r.length)).as("R1 is not served Q1's block").isZero();
    bm.markComputed(tr, r, r.length);

    int[] v = concat(concat(q1, r2), tokens(7)); // Q1 + R2
    BlockTable tv = new BlockTable();
    int cached = bm.allocate(tv, v, v.length);

    assertThat(tv.get(0)).isEqualTo(ta.get(0)); // Q1 is rightly shared
    assertThat(tv.get(1)).as("Q1 + R2 served the KV of R1 + R2").isNotEqualTo(tr.get(1));
    assertThat(cached).isEqualTo(16);
  }
}
