package io.redress.inference.guide;

import java.util.Arrays;

/**
 * The vocabulary's byte strings as a trie laid out in preorder: node i has the byte on its
 * incoming edge, its depth, the index just past its subtree, and the token ending there. A mask
 * walk visits nodes in order with one automaton state per depth and jumps over the whole
 * subtree of a byte the automaton refuses, so shared prefixes are stepped once. Immutable.
 */
final class VocabTrie {

  final byte[] label; // (nodes)
  final short[] depth; // (nodes) 1 for children of the root
  final int[] end; // (nodes) first index after the subtree
  final int[] token; // (nodes) a token id whose bytes end here, or -1
  final int[][] moreTokens; // (nodes) further ids with the same bytes, or null (rare)
  final int maxDepth;

  private VocabTrie(byte[] label, short[] depth, int[] end, int[] token, int[][] moreTokens,
      int maxDepth) {
    this.label = label;
    this.depth = depth;
    this.end = end;
    this.token = token;
    this.moreTokens = moreTokens;
    this.maxDepth = maxDepth;
  }

  int size() {
    return label.length;
  }

  /** @param bytes (ids) each token's bytes, or null for ids that must never be allowed */
  static VocabTrie build(byte[][] bytes) {
    int[] order = java.util.stream.IntStream.range(0, bytes.length)
        .filter(i -> bytes[i] != null && bytes[i].length > 0).toArray();
    sort(order, new int[order.length], 0, order.length, 0, bytes);
    int total = 0;
    byte[] prev = new byte[0];
    int maxDepth = 0;
    for (int id : order) {
      total += bytes[id].length - lcp(prev, bytes[id]);
      prev = bytes[id];
      maxDepth = Math.max(maxDepth, prev.length);
    }
    byte[] label = new byte[total];
    short[] depth = new short[total];
    int[] token = new int[total];
    Arrays.fill(token, -1);
    int[][] more = new int[total][];
    int[] path = new int[maxDepth + 1]; // node index at each depth of the current path
    int n = 0;
    prev = new byte[0];
    for (int id : order) {
      byte[] b = bytes[id];
      int common = lcp(prev, b);
      for (int k = common; k < b.length; k++) {
        label[n] = b[k];
        depth[n] = (short) (k + 1);
        path[k + 1] = n;
        n++;
      }
      int at = path[b.length];
      if (token[at] < 0) {
        token[at] = id;
      } else {
        int[] m = more[at] == null ? new int[0] : more[at];
        m = Arrays.copyOf(m, m.length + 1);
        m[m.length - 1] = id;
        more[at] = m;
      }
      prev = b;
    }
    int[] end = new int[total];
    int[] open = new int[maxDepth + 1];
    int top = 0;
    for (int i = 0; i < total; i++) {
      while (top > 0 && depth[open[top - 1]] >= depth[i]) {
        end[open[--top]] = i;
      }
      open[top++] = i;
    }
    while (top > 0) {
      end[open[--top]] = total;
    }
    return new VocabTrie(label, depth, end, token, more, maxDepth);
  }

  /**
   * Sorts ids[lo, hi) by their byte strings (unsigned, shorter first on a shared prefix), all of
   * which agree on their first {@code depth} bytes: most-significant-byte radix sort.
   */
  private static void sort(int[] ids, int[] tmp, int lo, int hi, int depth, byte[][] bytes) {
    if (hi - lo < 32) {
      for (int i = lo + 1; i < hi; i++) {
        int x = ids[i];
        int j = i - 1;
        while (j >= lo && Arrays.compareUnsigned(bytes[ids[j]], depth, bytes[ids[j]].length,
            bytes[x], depth, bytes[x].length) > 0) {
          ids[j + 1] = ids[j];
          j--;
        }
        ids[j + 1] = x;
      }
      return;
    }
    int[] start = new int[258]; // bucket 0: strings that end here; 1 + b: next byte b
    for (int i = lo; i < hi; i++) {
      byte[] b = bytes[ids[i]];
      start[(depth < b.length ? (b[depth] & 0xFF) + 1 : 0) + 1]++;
    }
    for (int k = 1; k < start.length; k++) {
      start[k] += start[k - 1];
    }
    int[] next = start.clone();
    for (int i = lo; i < hi; i++) {
      byte[] b = bytes[ids[i]];
      tmp[lo + next[depth < b.length ? (b[depth] & 0xFF) + 1 : 0]++] = ids[i];
    }
    System.arraycopy(tmp, lo, ids, lo, hi - lo);
    for (int k = 1; k < 257; k++) {
      if (start[k + 1] - start[k] > 1) {
        sort(ids, tmp, lo + start[k], lo + start[k + 1], depth + 1, bytes);
      }
    }
  }

  private static int lcp(byte[] a, byte[] b) {
    int m = Arrays.mismatch(a, b);
    return m < 0 ? a.length : m;
  }
}
