package io.redress.inference.sched;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Owns the KV cache's block ids: which are free, who holds each (reference counts), and which
 * full blocks hold which token prefix (the prefix cache). No device code: the runner only sees
 * the block tables this produces.
 *
 * <p>A full block is keyed by a hash chained over (parent block's key, its token ids), so a
 * key identifies the whole prefix up to the block's end, not just its own tokens. The hash is
 * SHA-256 (128 bits kept): prompts come from outside, and with a fast non-cryptographic hash
 * a crafted prompt could collide with another prefix's key and be served that prefix's KV
 * (vLLM's CVE-2025-25183 was this). Only blocks
 * whose KV has been computed are registered. A block whose last holder leaves goes to the tail
 * of the free list but keeps its key: a later sequence with the same prefix takes it back
 * without recomputation, until the block is reused for something else (LRU eviction: new
 * blocks come from the head of the free list). A block's own token ids are also stored and
 * compared on lookup.
 */
public final class BlockManager {

  /** The key of a full block: 128 bits of SHA-256 over (parent key, token ids). */
  record Key(long hi, long lo) {}

  static final Key ROOT = new Key(0, 0);

  private final int numBlocks;
  private final int blockSize;
  private final boolean prefixCaching;
  private final int[] refCount;
  private final Key[] blockKey;
  private final int[][] blockTokens; // the token ids a registered block holds, else null
  private final Map<Key, Integer> cached = new HashMap<>();
  private final MessageDigest sha256;
  private final ByteBuffer hashInput;
  // Free blocks as a doubly linked list in LRU order (head = least recently freed).
  private final int[] prev;
  private final int[] next;
  private final boolean[] isFree;
  private int head = -1;
  private int tail = -1;
  private int numFree;

  public BlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
    if (numBlocks <= 0 || blockSize <= 0) {
      throw new IllegalArgumentException("numBlocks and blockSize must be positive");
    }
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.prefixCaching = prefixCaching;
    this.refCount = new int[numBlocks];
    this.blockKey = new Key[numBlocks];
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
    this.hashInput = ByteBuffer.allocate(16 + 4 * blockSize);
    this.blockTokens = new int[numBlocks][];
    this.prev = new int[numBlocks];
    this.next = new int[numBlocks];
    this.isFree = new boolean[numBlocks];
    for (int b = 0; b < numBlocks; b++) {
      pushFree(b);
    }
  }

  public int numBlocks() {
    return numBlocks;
  }

  public int blockSize() {
    return blockSize;
  }

  /** Blocks no sequence holds (some may still serve as cached prefixes). */
  public int numFreeBlocks() {
    return numFree;
  }

  /** Blocks held by at least one sequence. */
  public int numUsedBlocks() {
    return numBlocks - numFree;
  }

  /** Holders of a block (for tests and assertions). */
  public int refCount(int block) {
    return refCount[block];
  }

  /** Blocks needed to hold {@code numTokens} tokens. */
  public int blocksFor(int numTokens) {
    return (numTokens + blockSize - 1) / blockSize;
  }

  /**
   * Whether {@link #allocate} can hold {@code numTokens} tokens for a sequence with no blocks,
   * counting the cached prefix blocks it would reuse.
   */
  public boolean canAllocate(int[] tokens, int numTokens) {
    return fits(cachedPrefix(tokens, numTokens), numTokens);
  }

  /** The cached blocks a new sequence would reuse, and the key of the last of them. */
  private record Prefix(int[] blocks, Key lastKey) {}

  /** Looks up the longest cached prefix of full blocks (never the block of the last token). */
  private Prefix cachedPrefix(int[] tokens, int numTokens) {
    int max = prefixCaching ? maxCachedBlocks(numTokens) : 0;
    int[] blocks = new int[max];
    int hits = 0;
    Key key = ROOT;
    for (; hits < max; hits++) {
      Key next = chain(key, tokens, hits * blockSize);
      Integer block = lookup(next, tokens, hits * blockSize);
      if (block == null) {
        break;
      }
      blocks[hits] = block;
      key = next;
    }
    return new Prefix(Arrays.copyOf(blocks, hits), key);
  }

  /** Whether the blocks a new sequence takes from the free list (fresh ones, and cached ones
   *  lying there) are available. */
  private boolean fits(Prefix prefix, int numTokens) {
    int onFreeList = 0;
    for (int block : prefix.blocks()) {
      onFreeList += isFree[block] ? 1 : 0;
    }
    return blocksFor(numTokens) - prefix.blocks().length + onFreeList <= numFree;
  }

  /**
   * Gives a sequence with no blocks the blocks for tokens {@code [0, numTokens)}: the longest
   * cached prefix of full blocks is shared, the rest are fresh.
   *
   * @return how many leading tokens are cached (a multiple of the block size); their KV need
   *     not be computed. Never all of {@code numTokens}: the last token is always computed, as
   *     its logits are needed
   * @throws IllegalStateException when the blocks do not suffice (check {@link #canAllocate})
   */
  public int allocate(BlockTable table, int[] tokens, int numTokens) {
    if (table.size() != 0) {
      throw new IllegalStateException("sequence already holds blocks " + table);
    }
    Prefix prefix = cachedPrefix(tokens, numTokens);
    if (!fits(prefix, numTokens)) {
      throw new IllegalStateException("not enough free KV blocks for " + numTokens + " tokens");
    }
    for (int block : prefix.blocks()) {
      take(block);
      table.add(block);
    }
    table.hashedBlocks = prefix.blocks().length;
    table.lastHash = prefix.lastKey();
    while (table.size() < blocksFor(numTokens)) {
      table.add(takeFresh());
    }
    return prefix.blocks().length * blockSize;
  }

  /**
   * Full blocks that may come from the cache: the last token must be computed to get its
   * logits, so a prompt that is entirely cached still recomputes its last block.
   */
  private int maxCachedBlocks(int numTokens) {
    return (numTokens - 1) / blockSize;
  }

  /** Whether a sequence can grow to {@code newLen} tokens (at most one new block per step). */
  public boolean canAppend(BlockTable table, int newLen) {
    return blocksFor(newLen) - table.size() <= numFree;
  }

  /** Adds the blocks a sequence needs to hold {@code newLen} tokens. */
  public void append(BlockTable table, int newLen) {
    if (!canAppend(table, newLen)) {
      throw new IllegalStateException("not enough free KV blocks to grow to " + newLen);
    }
    while (table.size() < blocksFor(newLen)) {
      table.add(takeFresh());
    }
  }

  /**
   * Registers the sequence's full blocks holding tokens {@code [0, numComputed)} in the prefix
   * cache. The scheduler calls it when it schedules a step, for the blocks that step fills:
   * their K/V is written before any attention of the step reads it, so sequences admitted
   * later in the same step may already share them.
   */
  public void markComputed(BlockTable table, int[] tokens, int numComputed) {
    if (!prefixCaching) {
      return;
    }
    int full = Math.min(numComputed / blockSize, table.size());
    for (int i = table.hashedBlocks; i < full; i++) {
      Key h = chain(table.lastHash, tokens, i * blockSize);
      int block = table.get(i);
      if (!cached.containsKey(h) && blockTokens[block] == null) {
        cached.put(h, block);
        blockKey[block] = h;
        blockTokens[block] = Arrays.copyOfRange(tokens, i * blockSize, (i + 1) * blockSize);
      }
      // Another sequence computed the same prefix first: keep its block as the cached one;
      // ours stays private and is freed normally.
      table.lastHash = h;
      table.hashedBlocks = i + 1;
    }
  }

  /**
   * Forgets every cached prefix (after a failed step, whose registered blocks may never have
   * been written). Blocks in use stay allocated; they just cannot be shared any more.
   */
  public void resetPrefixCache() {
    cached.clear();
    Arrays.fill(blockTokens, null);
  }

  /** Releases every block of a sequence (finished, aborted or preempted). */
  public void free(BlockTable table) {
    // Reverse order: the tail of a sequence is least likely to be shared, so it is evicted first.
    for (int i = table.size() - 1; i >= 0; i--) {
      int block = table.get(i);
      if (refCount[block] <= 0) {
        throw new IllegalStateException("double free of block " + block);
      }
      if (--refCount[block] == 0) {
        pushFree(block);
      }
    }
    table.clear();
  }

  // ---- internals -------------------------------------------------------------------------

  private Integer lookup(Key hash, int[] tokens, int from) {
    Integer block = cached.get(hash);
    if (block == null) {
      return null;
    }
    int[] held = blockTokens[block];
    for (int j = 0; j < blockSize; j++) {
      if (held[j] != tokens[from + j]) {
        return null; // hash collision
      }
    }
    return block;
  }

  private Key chain(Key parent, int[] tokens, int from) {
    hashInput.clear();
    hashInput.putLong(parent.hi()).putLong(parent.lo());
    for (int j = 0; j < blockSize; j++) {
      hashInput.putInt(tokens[from + j]);
    }
    byte[] digest = sha256.digest(hashInput.array());
    ByteBuffer d = ByteBuffer.wrap(digest);
    return new Key(d.getLong(), d.getLong());
  }

  private void take(int block) {
    if (isFree[block]) {
      unlinkFree(block);
    }
    refCount[block]++;
  }

  private int takeFresh() {
    if (head < 0) {
      throw new IllegalStateException("out of KV blocks");
    }
    int block = head;
    unlinkFree(block);
    if (blockTokens[block] != null) { // evict its cached prefix
      cached.remove(blockKey[block]);
      blockTokens[block] = null;
    }
    refCount[block] = 1;
    return block;
  }

  private void pushFree(int block) {
    isFree[block] = true;
    prev[block] = tail;
    next[block] = -1;
    if (tail >= 0) {
      next[tail] = block;
    } else {
      head = block;
    }
    tail = block;
    numFree++;
  }

  private void unlinkFree(int block) {
    isFree[block] = false;
    if (prev[block] >= 0) {
      next[prev[block]] = next[block];
    } else {
      head = next[block];
    }
    if (next[block] >= 0) {
      prev[next[block]] = prev[block];
    } else {
      tail = prev[block];
    }
    numFree--;
  }
}
