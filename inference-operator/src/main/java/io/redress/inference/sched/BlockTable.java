package io.redress.inference.sched;

import java.util.Arrays;

/**
 * The KV blocks of one sequence, in position order: position {@code p} lives in block
 * {@code blocks[p / blockSize]} at offset {@code p % blockSize}. Also remembers how many leading
 * blocks are registered in the prefix cache and the chained hash of the last one.
 */
public final class BlockTable {

  private int[] blocks = new int[4];
  private int size;
  int hashedBlocks;
  BlockManager.Key lastHash = BlockManager.ROOT;

  /** Number of blocks. */
  public int size() {
    return size;
  }

  /** The physical block at index {@code i}. */
  public int get(int i) {
    if (i >= size) {
      throw new IndexOutOfBoundsException(i);
    }
    return blocks[i];
  }

  /** A copy of the block ids. */
  public int[] toArray() {
    return Arrays.copyOf(blocks, size);
  }

  void add(int block) {
    if (size == blocks.length) {
      blocks = Arrays.copyOf(blocks, size * 2);
    }
    blocks[size++] = block;
  }

  void clear() {
    size = 0;
    hashedBlocks = 0;
    lastHash = BlockManager.ROOT;
  }

  @Override
  public String toString() {
    return Arrays.toString(toArray());
  }
}
