package io.redress.inference.guide;

import io.redress.inference.guide.Grammar.StringNode;
import java.util.Arrays;

/**
 * Every token sorted by what it does from one string-lexer state, the part of a mask that does
 * not depend on the stack (xgrammar's adaptive cache, for strings): it stays inside the string
 * ({@code inside}, with the code points it starts), closes it ({@code close*}: the rest of the
 * token after the quote must then be checked against what follows the string), or is refused.
 * Computed once per state by a trie walk that needs no allocation.
 */
final class StringTokenClasses {

  /** A string with no limits, for the per-vocabulary tables of plain strings. */
  private static final StringNode UNLIMITED =
      new StringNode("(plain string)", 0, Integer.MAX_VALUE, null, null);

  final int[] inside; // (maskWords) bitmask of the tokens that stay inside
  final int[] longIds; // plain strings: inside ids starting > SMALL_LIMIT code points, by count
  final int[] longN; // their counts
  private final int maxInsideN;
  final int[] closeIds; // ids closing the string, by the bytes after the quote
  final int[] closeN; // code points each starts before the quote
  final int[] closeRest; // index of the first byte after the quote
  /**
   * For strings without a pattern: {@code upTo[k]} is the bitmask of inside tokens starting at
   * most k code points (k up to {@link #SMALL_LIMIT}), for the last characters before a
   * maxLength; null for pattern strings (their counts are applied while classifying).
   */
  private final int[][] upTo;

  /** Up to this many code points left, a string's inside tokens come from a shared bitmask. */
  static final int SMALL_LIMIT = 16;

  private StringTokenClasses(int[] inside, int[] longIds, int[] longN, int maxInsideN,
      int[] closeIds, int[] closeN, int[] closeRest, int[][] upTo) {
    this.inside = inside;
    this.longIds = longIds;
    this.longN = longN;
    this.maxInsideN = maxInsideN;
    this.closeIds = closeIds;
    this.closeN = closeN;
    this.closeRest = closeRest;
    this.upTo = upTo;
  }

  /** The inside tokens starting at most k code points, k at most {@link #SMALL_LIMIT}. */
  int[] insideUpToMask(int k) {
    return upTo[k];
  }

  /** The largest number of code points an inside token starts (0 when none). */
  int maxInsideN() {
    return maxInsideN;
  }

  /** The inside ids starting more than n code points, n > {@link #SMALL_LIMIT}. */
  int[] insideLongerThan(int n) {
    int lo = 0;
    int hi = longN.length;
    while (lo < hi) {
      int m = (lo + hi) >>> 1;
      if (longN[m] <= n) {
        lo = m + 1;
      } else {
        hi = m;
      }
    }
    return Arrays.copyOfRange(longIds, lo, longIds.length);
  }

  /** For a string without pattern, from a {@link StringLexer#plainState}, lengths ignored. */
  static StringTokenClasses plain(TokenVocabulary vocab, int plainState) {
    return classify(vocab, UNLIMITED, StringLexer.fromPlainState(plainState), 0, true);
  }

  /** From an exact lexer state and count of a (pattern) string. */
  static StringTokenClasses of(TokenVocabulary vocab, StringNode node, long lex, int count) {
    return classify(vocab, node, lex, count, false);
  }

  private static StringTokenClasses classify(TokenVocabulary vocab, StringNode node, long lex,
      int count, boolean plain) {
    VocabTrie t = vocab.trie();
    long[] lexAt = new long[t.maxDepth + 1];
    int[] nAt = new int[t.maxDepth + 1];
    lexAt[0] = lex;
    IntList inIds = new IntList();
    IntList inN = new IntList();
    IntList clIds = new IntList();
    IntList clN = new IntList();
    IntList clRest = new IntList();
    int[] mask = new int[vocab.maskWords()];
    for (int i = 0; i < t.size(); ) {
      int d = t.depth[i];
      long r = StringLexer.step(node, lexAt[d - 1], count + nAt[d - 1], t.label[i] & 0xFF);
      if (r == StringLexer.REJECT) {
        i = t.end[i];
        continue;
      }
      if (r == StringLexer.CLOSED) {
        for (int j = i; j < t.end[i]; j++) {
          if (t.token[j] >= 0) {
            clIds.add(t.token[j]);
            clN.add(nAt[d - 1]);
            clRest.add(d);
            if (t.moreTokens[j] != null) {
              for (int id : t.moreTokens[j]) {
                clIds.add(id);
                clN.add(nAt[d - 1]);
                clRest.add(d);
              }
            }
          }
        }
        i = t.end[i];
        continue;
      }
      lexAt[d] = r & ~StringLexer.START;
      nAt[d] = nAt[d - 1] + ((r & StringLexer.START) != 0 ? 1 : 0);
      if (t.token[i] >= 0) {
        inIds.add(t.token[i]);
        inN.add(nAt[d]);
        mask[t.token[i] >>> 5] |= 1 << (t.token[i] & 31);
        if (t.moreTokens[i] != null) {
          for (int id : t.moreTokens[i]) {
            inIds.add(id);
            inN.add(nAt[d]);
            mask[id >>> 5] |= 1 << (id & 31);
          }
        }
      }
      i++;
    }
    int[] byRest = sortedBy(clIds.size(), (a, b) -> {
      byte[] x = vocab.bytes(clIds.get(a));
      byte[] y = vocab.bytes(clIds.get(b));
      return Arrays.compareUnsigned(x, clRest.get(a), x.length, y, clRest.get(b), y.length);
    });
    int maxN = 0;
    for (int i = 0; i < inN.size(); i++) {
      maxN = Math.max(maxN, inN.get(i));
    }
    if (!plain) { // counts were applied while walking: only the bitmask is needed
      return new StringTokenClasses(mask, TokenMask.NONE, TokenMask.NONE, maxN,
          clIds.permuted(byRest), clN.permuted(byRest), clRest.permuted(byRest), null);
    }
    int[] byN = countingOrder(inN);
    int[] ids = inIds.permuted(byN);
    int[] ns = inN.permuted(byN);
    int[][] upTo = new int[SMALL_LIMIT + 1][];
    int[] small = new int[vocab.maskWords()];
    int i = 0;
    for (int k = 0; k <= SMALL_LIMIT; k++) {
      for (; i < ids.length && ns[i] <= k; i++) {
        small[ids[i] >>> 5] |= 1 << (ids[i] & 31);
      }
      upTo[k] = small.clone();
    }
    return new StringTokenClasses(mask, Arrays.copyOfRange(ids, i, ids.length),
        Arrays.copyOfRange(ns, i, ns.length), maxN, clIds.permuted(byRest),
        clN.permuted(byRest), clRest.permuted(byRest), upTo);
  }

  /** The indices of small non-negative values in ascending order of value (stable). */
  private static int[] countingOrder(IntList values) {
    int max = 0;
    for (int i = 0; i < values.size(); i++) {
      max = Math.max(max, values.get(i));
    }
    int[] start = new int[max + 2];
    for (int i = 0; i < values.size(); i++) {
      start[values.get(i) + 1]++;
    }
    for (int v = 1; v < start.length; v++) {
      start[v] += start[v - 1];
    }
    int[] order = new int[values.size()];
    for (int i = 0; i < values.size(); i++) {
      order[start[values.get(i)]++] = i;
    }
    return order;
  }

  private static int[] sortedBy(int n, java.util.Comparator<Integer> order) {
    Integer[] idx = new Integer[n];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, order);
    return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
  }

  /** A growable int array. */
  static final class IntList {
    private int[] a = new int[16];
    private int n;

    void add(int v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, n * 2);
      }
      a[n++] = v;
    }

    int get(int i) {
      return a[i];
    }

    int size() {
      return n;
    }

    int[] permuted(int[] order) {
      int[] out = new int[order.length];
      for (int i = 0; i < order.length; i++) {
        out[i] = a[order[i]];
      }
      return out;
    }
  }
}
