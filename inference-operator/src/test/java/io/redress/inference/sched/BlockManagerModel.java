package io.redress.inference.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A {@link BlockManager} driven side by side with a plain reference model of it, checking both
 * after every call. The model keys the prefix cache by the whole token prefix (a list), not by a
 * hash, keeps the free list as an insertion-ordered set (head = least recently freed), and
 * remembers which sequence wrote each block's KV, so a cache hit can be checked against the
 * tokens the block was really computed for. Every call appends a line to {@link #trace}, which
 * {@link #run} adds to a failure's message.
 */
final class BlockManagerModel {

  /** One sequence as the model sees it; {@code table} is the real one. */
  static final class Seq {
    final int id;
    final List<Integer> tokens;
    final BlockTable table = new BlockTable();
    final List<Integer> blocks = new ArrayList<>();
    int hashedBlocks; // leading blocks registered or found in the cache
    int computed; // the most tokens passed to markComputed

    Seq(int id, List<Integer> tokens) {
      this.id = id;
      this.tokens = new ArrayList<>(tokens);
    }

    List<Integer> prefix(int numTokens) {
      return List.copyOf(tokens.subList(0, numTokens));
    }

    @Override
    public String toString() {
      return "s" + id;
    }
  }

  final int numBlocks;
  final int blockSize;
  final boolean caching;
  final BlockManager bm;
  final List<Seq> live = new ArrayList<>();
  final List<Seq> history = new ArrayList<>(); // every sequence ever allocated
  final List<List<Integer>> preempted = new ArrayList<>();
  final LinkedHashSet<Integer> free = new LinkedHashSet<>(); // LRU order, head first
  final Map<List<Integer>, Integer> cache = new HashMap<>(); // whole prefix -> block
  final Map<Integer, List<Integer>> keyOf = new HashMap<>(); // registered block -> prefix
  final Seq[] writer; // the sequence that got the block fresh, so wrote its KV
  final int[] writerIndex; // at which position of its table
  final List<String> trace = new ArrayList<>();
  // How often the interesting cases came up, for the properties' coverage checks.
  int hitsServed;
  int refused;
  int evictions;
  int sharedSeen;
  int lastCachedTokens = -1; // what the last successful allocate returned
  private int nextId;

  BlockManagerModel(int numBlocks, int blockSize, boolean caching) {
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.caching = caching;
    this.bm = new BlockManager(numBlocks, blockSize, caching);
    this.writer = new Seq[numBlocks];
    this.writerIndex = new int[numBlocks];
    for (int b = 0; b < numBlocks; b++) {
      free.add(b);
    }
    trace.add("new BlockManager(" + numBlocks + ", " + blockSize + ", " + caching + ")");
  }

  /** Runs {@code body}, adding the trace of calls so far to any assertion failure. */
  void run(Runnable body) {
    try {
      body.run();
    } catch (AssertionError | RuntimeException e) {
      throw new AssertionError(e.getMessage() + "\n-- trace --\n" + String.join("\n", trace), e);
    }
  }

  int blocksFor(int numTokens) {
    return (numTokens + blockSize - 1) / blockSize;
  }

  /** Blocks the cache would serve for these tokens, leading first. */
  List<Integer> expectedHits(List<Integer> tokens) {
    List<Integer> hits = new ArrayList<>();
    int maxCached = (tokens.size() - 1) / blockSize;
    for (int i = 0; caching && i < maxCached; i++) {
      Integer block = cache.get(List.copyOf(tokens.subList(0, (i + 1) * blockSize)));
      if (block == null) {
        break;
      }
      hits.add(block);
    }
    return hits;
  }

  /**
   * Allocates a new sequence; returns it, or null when the blocks do not suffice (after checking
   * that allocate then throws and changes nothing).
   */
  Seq allocate(List<Integer> tokens) {
    int n = tokens.size();
    int[] arr = toArray(tokens);
    List<Integer> hits = expectedHits(tokens);
    int hitsOnFree = (int) hits.stream().filter(free::contains).count();
    boolean expectCan = blocksFor(n) - hits.size() + hitsOnFree <= free.size();
    Seq s = new Seq(nextId++, tokens);
    String call = "allocate " + s + " tokens=" + tokens;
    assertThat(bm.canAllocate(arr, n)).as("canAllocate: " + call).isEqualTo(expectCan);
    if (!expectCan) {
      refused++;
      trace.add(call + " -> cannot");
      expectNoChange(() -> bm.allocate(s.table, arr, n), call);
      assertThat(s.table.size()).as("table after failed " + call).isZero();
      return null;
    }
    int cachedTokens = bm.allocate(s.table, arr, n);
    lastCachedTokens = cachedTokens;
    hitsServed += hits.size();
    trace.add(call + " -> cached=" + cachedTokens + " blocks=" + s.table);
    assertThat(cachedTokens).as("cached tokens of " + call).isEqualTo(hits.size() * blockSize);
    assertThat(cachedTokens % blockSize).as("cached tokens a multiple of blockSize").isZero();
    assertThat(cachedTokens).as("cached tokens of " + call).isLessThan(n);
    if (!caching) {
      assertThat(cachedTokens).as("no caching: cached tokens").isZero();
    }
    for (int i = 0; i < hits.size(); i++) {
      int block = hits.get(i);
      Seq w = writer[block];
      int end = (i + 1) * blockSize;
      assertThat(writerIndex[block]).as("block %d served at position %d", block, i).isEqualTo(i);
      assertThat(w.computed).as("block %d served uncomputed, writer %s", block, w)
          .isGreaterThanOrEqualTo(end);
      assertThat(s.prefix(end)).as("block %d served for another prefix (writer %s)", block, w)
          .isEqualTo(w.prefix(end));
      free.remove(block);
      s.blocks.add(block);
    }
    s.hashedBlocks = hits.size();
    while (s.blocks.size() < blocksFor(n)) {
      s.blocks.add(takeFresh(s));
    }
    live.add(s);
    history.add(s);
    checkTable(s);
    return s;
  }

  /** Grows a live sequence by {@code more} tokens if the blocks suffice; returns whether. */
  boolean append(Seq s, List<Integer> more) {
    int newLen = s.tokens.size() + more.size();
    boolean expectCan = blocksFor(newLen) - s.blocks.size() <= free.size();
    String call = "append " + s + " +" + more + " (len " + newLen + ")";
    assertThat(bm.canAppend(s.table, newLen)).as("canAppend: " + call).isEqualTo(expectCan);
    if (!expectCan) {
      refused++;
      trace.add(call + " -> cannot");
      expectNoChange(() -> bm.append(s.table, newLen), call);
      return false;
    }
    bm.append(s.table, newLen);
    s.tokens.addAll(more);
    while (s.blocks.size() < blocksFor(newLen)) {
      s.blocks.add(takeFresh(s));
    }
    trace.add(call + " -> blocks=" + s.table);
    checkTable(s);
    return true;
  }

  void markComputed(Seq s, int numComputed) {
    bm.markComputed(s.table, toArray(s.tokens), numComputed);
    s.computed = Math.max(s.computed, numComputed);
    List<Integer> registered = new ArrayList<>();
    if (caching) {
      int full = Math.min(numComputed / blockSize, s.blocks.size());
      for (int i = s.hashedBlocks; i < full; i++) {
        List<Integer> key = s.prefix((i + 1) * blockSize);
        int block = s.blocks.get(i);
        if (!cache.containsKey(key) && !keyOf.containsKey(block)) {
          cache.put(key, block);
          keyOf.put(block, key);
          registered.add(block);
        }
        s.hashedBlocks = i + 1;
      }
    }
    trace.add("markComputed " + s + " " + numComputed + " -> registered " + registered);
  }

  /** Frees a live sequence; a preempted one's tokens are kept for {@link #reallocate}. */
  void free(Seq s, boolean preempt) {
    bm.free(s.table);
    trace.add((preempt ? "preempt " : "finish ") + s);
    assertThat(s.table.size()).as("table after free").isZero();
    live.remove(s);
    Set<Integer> stillHeld = held();
    for (int i = s.blocks.size() - 1; i >= 0; i--) {
      int block = s.blocks.get(i);
      if (!stillHeld.contains(block)) {
        assertThat(free.add(block)).as("block %d freed twice", block).isTrue();
      }
    }
    if (preempt) {
      preempted.add(List.copyOf(s.tokens));
    }
  }

  /** Allocates a preempted sequence's whole token list again; null when it does not fit. */
  Seq reallocate(int index) {
    Seq s = allocate(preempted.get(index));
    if (s != null) {
      preempted.remove(index);
    }
    return s;
  }

  void freeAll() {
    while (!live.isEmpty()) {
      free(live.get(live.size() - 1), false);
    }
    checkInvariants();
    assertThat(bm.numFreeBlocks()).as("free blocks once all are freed").isEqualTo(numBlocks);
  }

  /** Properties 1, 2, 4 and 6 of the brief, over the whole state. */
  void checkInvariants() {
    Set<Integer> held = held();
    assertThat(bm.numFreeBlocks()).as("numFreeBlocks").isEqualTo(free.size());
    assertThat(bm.numFreeBlocks() + held.size()).as("free + held").isEqualTo(numBlocks);
    assertThat(bm.numUsedBlocks()).as("numUsedBlocks").isEqualTo(held.size());
    for (int b : held) {
      assertThat(free).as("held block %d on the free list", b).doesNotContain(b);
    }
    Map<Integer, List<Seq>> holders = new HashMap<>();
    Map<Integer, Integer> position = new HashMap<>();
    for (Seq s : live) {
      checkTable(s);
      for (int i = 0; i < s.blocks.size(); i++) {
        int block = s.blocks.get(i);
        holders.computeIfAbsent(block, k -> new ArrayList<>()).add(s);
        Integer first = position.putIfAbsent(block, i);
        assertThat(first == null ? i : first).as("block %d at two positions", block).isEqualTo(i);
      }
    }
    for (int b = 0; b < numBlocks; b++) {
      List<Seq> users = holders.getOrDefault(b, List.of());
      assertThat(bm.refCount(b)).as("refCount(%d), holders %s", b, users).isEqualTo(users.size());
      if (users.size() > 1) {
        sharedSeen++;
        assertThat(caching).as("block %d shared by %s without prefix caching", b, users).isTrue();
        int end = (position.get(b) + 1) * blockSize;
        Seq a = users.get(0);
        for (Seq other : users) {
          assertThat(other.tokens.size()).as("shared block %d not full in %s", b, other)
              .isGreaterThanOrEqualTo(end);
          assertThat(other.prefix(end)).as("block %d shared by %s and %s", b, a, other)
              .isEqualTo(a.prefix(end));
        }
      }
    }
  }

  private void checkTable(Seq s) {
    assertThat(s.table.toArray()).as("table of %s", s).containsExactly(toArray(s.blocks));
    assertThat(new HashSet<>(s.blocks)).as("%s holds a block twice", s).hasSize(s.blocks.size());
    assertThat(s.blocks).as("blocks of %s for %d tokens", s, s.tokens.size())
        .hasSize(blocksFor(s.tokens.size()));
  }

  private int takeFresh(Seq s) {
    int block = free.iterator().next();
    free.remove(block);
    List<Integer> key = keyOf.remove(block);
    if (key != null) {
      evictions++;
      cache.remove(key);
    }
    writer[block] = s;
    writerIndex[block] = s.blocks.size();
    return block;
  }

  private Set<Integer> held() {
    Set<Integer> held = new HashSet<>();
    for (Seq s : live) {
      held.addAll(s.blocks);
    }
    return held;
  }

  /** A failing call must throw IllegalStateException and leave every count as it was. */
  private void expectNoChange(Runnable call, String what) {
    int freeBefore = bm.numFreeBlocks();
    int[] refsBefore = refCounts();
    assertThatThrownBy(call::run).as(what + " should throw")
        .isInstanceOf(IllegalStateException.class);
    assertThat(bm.numFreeBlocks()).as("free blocks after failed " + what).isEqualTo(freeBefore);
    assertThat(refCounts()).as("ref counts after failed " + what).isEqualTo(refsBefore);
  }

  private int[] refCounts() {
    int[] refs = new int[numBlocks];
    Arrays.setAll(refs, bm::refCount);
    return refs;
  }

  static int[] toArray(List<Integer> tokens) {
    return tokens.stream().mapToInt(Integer::intValue).toArray();
  }
}
