package io.redress.inference.guide;

import java.util.Arrays;
import java.util.List;

/**
 * A set of token ids as (base bitmask minus {@code clear}) plus {@code set}: a string state's
 * mask is the shared "stays inside" bitmask of its lexer state with a few ids adjusted, so a
 * cached mask costs a few ids of memory and one array copy to emit. Immutable; {@code base} is
 * shared and never written.
 */
final class TokenMask {

  static final int[] NONE = new int[0];

  final int[] base; // (maskWords) or null for the empty set
  final int[] clear; // ids removed from base
  final int[] set; // ids added

  TokenMask(int[] base, int[] clear, int[] set) {
    this.base = base;
    this.clear = clear;
    this.set = set;
  }

  /** Writes the mask into {@code words[offset .. offset + maskWords)}. */
  void fill(int[] words, int offset, int maskWords) {
    fill(java.nio.IntBuffer.wrap(words), offset, maskWords);
  }

  /** {@link #fill(int[], int, int)} into a buffer (a runner's pinned staging memory). */
  void fill(java.nio.IntBuffer words, int offset, int maskWords) {
    if (base != null) {
      words.put(offset, base, 0, maskWords);
    } else {
      for (int i = 0; i < maskWords; i++) {
        words.put(offset + i, 0);
      }
    }
    for (int id : clear) {
      int at = offset + (id >>> 5);
      words.put(at, words.get(at) & ~(1 << (id & 31)));
    }
    for (int id : set) {
      int at = offset + (id >>> 5);
      words.put(at, words.get(at) | 1 << (id & 31));
    }
  }

  /**
   * The union of masks: still (base, clear, set) when at most one part has a base (the others'
   * ids join {@code set}, applied after {@code clear}); else materialized as a fresh bitmask.
   */
  static TokenMask union(List<TokenMask> parts, int maskWords) {
    if (parts.size() == 1) {
      return parts.get(0);
    }
    List<TokenMask> dense = parts.stream().filter(p -> p.base != null).toList();
    if (dense.size() <= 1) {
      int[] ids = parts.stream().flatMapToInt(p -> Arrays.stream(p.set)).distinct().toArray();
      return dense.isEmpty() ? new TokenMask(null, NONE, ids)
          : new TokenMask(dense.get(0).base, dense.get(0).clear, ids);
    }
    int[] words = new int[maskWords];
    int[] tmp = new int[maskWords];
    for (TokenMask p : parts) {
      p.fill(tmp, 0, maskWords);
      for (int i = 0; i < maskWords; i++) {
        words[i] |= tmp[i];
      }
    }
    return new TokenMask(words, NONE, NONE);
  }

  /** This mask with more ids added. */
  TokenMask plus(int[] ids) {
    if (ids.length == 0) {
      return this;
    }
    int[] s = Arrays.copyOf(set, set.length + ids.length);
    System.arraycopy(ids, 0, s, set.length, ids.length);
    return new TokenMask(base, clear, s);
  }

  /** How many ids it holds (for statistics and tests). */
  int count(int maskWords) {
    int[] w = new int[maskWords];
    fill(w, 0, maskWords);
    int c = 0;
    for (int x : w) {
      c += Integer.bitCount(x);
    }
    return c;
  }
}
