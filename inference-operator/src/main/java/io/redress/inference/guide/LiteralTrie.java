package io.redress.inference.guide;

import java.util.Arrays;
import java.util.List;

/**
 * A byte trie over a finite set of byte strings (enum values, object keys), each ending at a node
 * that carries the string's value (e.g. the property index). Node 0 is the root; children are a
 * first-child / next-sibling list (literal sets are small). Immutable once built.
 */
final class LiteralTrie {

  private final byte[] label; // (nodes) the byte on the edge into the node
  private final int[] firstChild; // (nodes) or -1
  private final int[] nextSibling; // (nodes) or -1
  private final int[] value; // (nodes) the value of the string ending here, or -1

  private LiteralTrie(byte[] label, int[] firstChild, int[] nextSibling, int[] value) {
    this.label = label;
    this.firstChild = firstChild;
    this.nextSibling = nextSibling;
    this.value = value;
  }

  /** A trie of the strings; {@code values[i]} is what the i-th string's end node carries. */
  static LiteralTrie of(List<byte[]> strings, int[] values) {
    int capacity = 1;
    for (byte[] s : strings) {
      capacity += s.length;
    }
    byte[] label = new byte[capacity];
    int[] first = new int[capacity];
    int[] next = new int[capacity];
    int[] value = new int[capacity];
    Arrays.fill(first, -1);
    Arrays.fill(next, -1);
    Arrays.fill(value, -1);
    int n = 1;
    for (int i = 0; i < strings.size(); i++) {
      int node = 0;
      for (byte b : strings.get(i)) {
        int c = first[node];
        while (c >= 0 && label[c] != b) {
          c = next[c];
        }
        if (c < 0) {
          c = n++;
          label[c] = b;
          next[c] = first[node];
          first[node] = c;
        }
        node = c;
      }
      value[node] = values[i];
    }
    return new LiteralTrie(Arrays.copyOf(label, n), Arrays.copyOf(first, n),
        Arrays.copyOf(next, n), Arrays.copyOf(value, n));
  }

  /** The child of a node on a byte (0..255), or -1. */
  int child(int node, int b) {
    byte x = (byte) b;
    for (int c = firstChild[node]; c >= 0; c = nextSibling[c]) {
      if (label[c] == x) {
        return c;
      }
    }
    return -1;
  }

  /** The value of the string ending at the node, or -1. */
  int value(int node) {
    return value[node];
  }

  boolean hasChildren(int node) {
    return firstChild[node] >= 0;
  }
}
