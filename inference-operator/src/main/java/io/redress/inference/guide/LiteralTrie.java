package io.redress.inference.guide;

import java.util.ArrayList;
import java.util.List;

/**
 * A byte trie over a finite set of byte strings (enum values, object keys), each ending at a node
 * that carries the string's value (e.g. the property index). Node 0 is the root. Immutable.
 */
final class LiteralTrie {

  private final byte[][] labels; // (nodes) the bytes of each node's children, in insertion order
  private final int[][] children; // (nodes) the child node ids, aligned with labels
  private final int[] value; // (nodes) the value ending here, or -1

  private LiteralTrie(byte[][] labels, int[][] children, int[] value) {
    this.labels = labels;
    this.children = children;
    this.value = value;
  }

  /** A trie of the strings; {@code values[i]} is what the i-th string's end node carries. */
  static LiteralTrie of(List<byte[]> strings, int[] values) {
    List<byte[]> labels = new ArrayList<>();
    List<int[]> children = new ArrayList<>();
    List<Integer> value = new ArrayList<>();
    labels.add(new byte[0]);
    children.add(new int[0]);
    value.add(-1);
    for (int i = 0; i < strings.size(); i++) {
      int node = 0;
      for (byte b : strings.get(i)) {
        int next = find(labels.get(node), children.get(node), b);
        if (next < 0) {
          next = labels.size();
          labels.add(new byte[0]);
          children.add(new int[0]);
          value.add(-1);
          byte[] l = java.util.Arrays.copyOf(labels.get(node), labels.get(node).length + 1);
          l[l.length - 1] = b;
          int[] c = java.util.Arrays.copyOf(children.get(node), l.length);
          c[c.length - 1] = next;
          labels.set(node, l);
          children.set(node, c);
        }
        node = next;
      }
      value.set(node, values[i]);
    }
    return new LiteralTrie(labels.toArray(new byte[0][]), children.toArray(new int[0][]),
        value.stream().mapToInt(Integer::intValue).toArray());
  }

  private static int find(byte[] labels, int[] children, byte b) {
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] == b) {
        return children[i];
      }
    }
    return -1;
  }

  /** The child of a node on a byte (0..255), or -1. */
  int child(int node, int b) {
    return find(labels[node], children[node], (byte) b);
  }

  /** The value of the string ending at the node, or -1. */
  int value(int node) {
    return value[node];
  }

  boolean hasChildren(int node) {
    return labels[node].length > 0;
  }

  boolean isEmpty() {
    return labels[0].length == 0 && value[0] < 0;
  }
}
