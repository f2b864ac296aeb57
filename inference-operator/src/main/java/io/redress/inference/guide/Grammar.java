package io.redress.inference.guide;

import java.util.List;

/**
 * A compiled schema as a graph of value nodes referenced by id (cycles come from recursive
 * {@code $ref}s and from "any value"). Immutable once built by {@link GrammarBuilder}; shared by
 * every matcher of the schema.
 */
final class Grammar {

  final List<Node> nodes;
  final int root;

  Grammar(List<Node> nodes, int root) {
    this.nodes = List.copyOf(nodes);
    this.root = root;
  }

  Node node(int id) {
    return nodes.get(id);
  }

  /** One kind of value, with the schema location it came from (for messages). */
  abstract static sealed class Node
      permits ObjectNode, ArrayNode, StringNode, NumberNode, LiteralNode, UnionNode {
    final String pointer;

    Node(String pointer) {
      this.pointer = pointer;
    }
  }

  /**
   * An object: declared properties in schema order, then (where allowed) extra ones. Per
   * position {@code idx} (the last declared property written, -1 before any, n once extras
   * began; arrays are indexed by idx + 1): which keys may come next ({@code keyTries}, the bytes
   * {@code "name":} carrying the property index), whether '}' may, whether an extra key may.
   * Extra members come in kinds (one per set of matching patternProperties): kind c has names
   * {@code extraKeys[c]} (disjoint languages, never a declared name) and values
   * {@code extras[c]}.
   */
  static final class ObjectNode extends Node {
    final String[] names;
    final int[] values; // (n) value node of each declared property
    final boolean[] required;
    final int[] extras; // value node of each kind of extra member; empty when none is allowed
    final int[] extraKeys; // StringNode of each kind's names
    final LiteralTrie[] keyTries; // (n + 2)
    final boolean[] closeAllowed; // (n + 2)
    final boolean[] extrasAllowed; // (n + 2)
    final boolean[] moreKeys; // (n + 2)
    final int minProperties; // 0: no count kept; else '}' needs that many members

    ObjectNode(String pointer, String[] names, int[] values, boolean[] required, int[] extras,
        int[] extraKeys, LiteralTrie[] keyTries, boolean[] closeAllowed, boolean[] extrasAllowed,
        boolean[] moreKeys, int minProperties) {
      super(pointer);
      this.names = names;
      this.values = values;
      this.required = required;
      this.extras = extras;
      this.extraKeys = extraKeys;
      this.keyTries = keyTries;
      this.closeAllowed = closeAllowed;
      this.extrasAllowed = extrasAllowed;
      this.moreKeys = moreKeys;
      this.minProperties = minProperties;
    }

    int size() {
      return names.length;
    }
  }

  /** An array: {@code prefix} item nodes, then {@code items} (-1: none), min..max items. */
  static final class ArrayNode extends Node {
    final int[] prefix;
    final int items;
    final int min;
    final int max; // Integer.MAX_VALUE: unbounded; never more than prefix.length without items

    ArrayNode(String pointer, int[] prefix, int items, int min, int max) {
      super(pointer);
      this.prefix = prefix;
      this.items = items;
      this.min = min;
      this.max = max;
    }

    int itemAt(int index) {
      return index < prefix.length ? prefix[index] : items;
    }
  }

  /**
   * A string of min..max code points, matching {@code dfa} when there is one; or, with {@code
   * extraKey}, the name of an extra property (never one already used in its object).
   */
  static final class StringNode extends Node {
    final int min;
    final int max; // Integer.MAX_VALUE: unbounded
    final CodePointDfa dfa; // null: any string
    final LengthReach reach; // null: no length limit to check against the dfa
    final boolean extraKey;
    /**
     * Every string within the lengths can still be completed to a match, so the pattern only
     * decides at the closing quote (extra keys: any name but finitely many shorter ones). Masks
     * then come from the shared plain-string tables, with the closing tokens checked.
     */
    final boolean decidedAtClose;

    StringNode(String pointer, int min, int max, CodePointDfa dfa, LengthReach reach) {
      this(pointer, min, max, dfa, reach, false, false);
    }

    StringNode(String pointer, int min, int max, CodePointDfa dfa, LengthReach reach,
        boolean extraKey, boolean decidedAtClose) {
      super(pointer);
      this.min = min;
      this.max = max;
      this.dfa = dfa;
      this.reach = reach;
      this.extraKey = extraKey;
      this.decidedAtClose = decidedAtClose;
    }
  }

  /** A number: the bytes {@code dfa} accepts (see {@link NumberLanguage}). */
  static final class NumberNode extends Node {
    final CodePointDfa dfa;

    NumberNode(String pointer, CodePointDfa dfa) {
      super(pointer);
      this.dfa = dfa;
    }
  }

  /** One of a finite set of values, each as its compact JSON bytes. */
  static final class LiteralNode extends Node {
    final LiteralTrie trie;

    LiteralNode(String pointer, LiteralTrie trie) {
      super(pointer);
      this.trie = trie;
    }
  }

  /** Any of the alternatives (anyOf, oneOf, a type list, an alias for a $ref). */
  static final class UnionNode extends Node {
    int[] alternatives; // set once, while building

    UnionNode(String pointer, int[] alternatives) {
      super(pointer);
      this.alternatives = alternatives;
    }
  }
}
