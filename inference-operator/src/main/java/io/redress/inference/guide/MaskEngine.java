package io.redress.inference.guide;

import io.redress.inference.guide.Grammar.StringNode;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Token masks for one schema over one vocabulary, shared by all matchers of that pair and safe
 * to use from many threads. A state's mask is the union over its stacks of:
 *
 * <ul>
 *   <li>a stack inside a string: the tokens that stay inside it, from a table that depends only
 *       on the lexer state (per vocabulary for strings without a pattern, with the length limits
 *       applied as a cut by code-point count), plus the tokens that close the string and whose
 *       remaining bytes the rest of the stack accepts (cached per lexer state and rest);
 *   <li>any other stack: a walk of the vocabulary trie that steps the automaton and skips every
 *       subtree it refuses (few tokens survive the first byte at structural positions).
 * </ul>
 *
 * Whole masks are cached by {@link StateKey}, so repeated states cost one array copy.
 */
final class MaskEngine {

  /** Cached masks per schema and vocabulary (most are a few ids over a shared table). */
  static final int MASK_CACHE_ENTRIES = Integer.getInteger("redress.guide.maskCacheEntries", 4096);
  static final int CLOSE_CACHE_ENTRIES = 4096;
  static final int PATTERN_CACHE_ENTRIES = 256;

  /** A state's mask and facts about it, computed once per {@link StateKey}. */
  static final class Entry {
    final TokenMask mask;
    final boolean complete;
    volatile byte[] forced; // null until asked
    volatile Boolean terminated;

    Entry(TokenMask mask, boolean complete) {
      this.mask = mask;
      this.complete = complete;
    }
  }

  private record CloseKey(Object classes, StateKey rest) {}

  private record PatternKey(StateKey lexer) {}

  final Automaton automaton;
  final TokenVocabulary vocab;
  private final int maskWords;
  private final int maxTokenBytes;
  private final LruCache<StateKey, Entry> masks = new LruCache<>(MASK_CACHE_ENTRIES);
  private final LruCache<CloseKey, int[]> closes = new LruCache<>(CLOSE_CACHE_ENTRIES);
  private final LruCache<PatternKey, StringTokenClasses> patterns =
      new LruCache<>(PATTERN_CACHE_ENTRIES);

  MaskEngine(Automaton automaton, TokenVocabulary vocab) {
    this.automaton = automaton;
    this.vocab = vocab;
    this.maskWords = vocab.maskWords();
    this.maxTokenBytes = vocab.maxTokenBytes();
  }

  int maskWords() {
    return maskWords;
  }

  Entry entry(Stack[] state) {
    return masks.get(StateKey.of(automaton, state, maxTokenBytes), k -> compute(state, true));
  }

  /** The mask computed from scratch, no cache of this engine consulted (tests compare). */
  TokenMask uncachedMask(Stack[] state) {
    return compute(state, false).mask;
  }

  int cachedMasks() {
    return masks.size();
  }

  private Entry compute(Stack[] state, boolean cached) {
    List<TokenMask> parts = new ArrayList<>(state.length);
    for (Stack s : state) {
      parts.add(s.top.kind == Frame.STR ? stringMask(s, cached) : walk(s));
    }
    TokenMask mask = TokenMask.union(parts, maskWords);
    boolean complete = automaton.canEnd(state);
    if (complete) {
      mask = mask.plus(vocab.eosIdsShared());
    }
    return new Entry(mask, complete);
  }

  /** Tokens accepted from one stack, by walking the vocabulary trie. */
  private TokenMask walk(Stack stack) {
    VocabTrie t = vocab.trie();
    Stack[][] states = new Stack[t.maxDepth + 1][];
    states[0] = new Stack[] {stack};
    IntBuffer ids = new IntBuffer();
    for (int i = 0; i < t.size(); ) {
      int d = t.depth[i];
      Stack[] next = automaton.step(states[d - 1], t.label[i] & 0xFF);
      if (next.length == 0) {
        i = t.end[i];
        continue;
      }
      states[d] = next;
      if (t.token[i] >= 0) {
        ids.add(t.token[i]);
        if (t.moreTokens[i] != null) {
          for (int id : t.moreTokens[i]) {
            ids.add(id);
          }
        }
      }
      i++;
    }
    return new TokenMask(null, TokenMask.NONE, ids.toArray());
  }

  /** Tokens accepted from a stack whose top is a string. */
  private TokenMask stringMask(Stack s, boolean cached) {
    Frame f = s.top;
    StringNode node = automaton.str(f);
    Stack after = automaton.childDone(s.rest);
    // A pattern state from which any string matches: free, as if there were no pattern.
    boolean universal = node.dfa != null && StringLexer.sub(f.lex) != StringLexer.OPEN
        && node.dfa.isUniversal(StringLexer.dfaState(f.lex));
    if (node.dfa != null && !universal && !node.decidedAtClose) {
      StringTokenClasses c = !cached ? StringTokenClasses.of(vocab, node, f.lex, f.a)
          : patterns.get(new PatternKey(StateKey.of(automaton, new Stack(f, null),
              maxTokenBytes)), k -> StringTokenClasses.of(vocab, node, f.lex, f.a));
      int[] pass = cached ? closing(c, after) : restAccepted(c, after);
      IntBuffer ids = new IntBuffer();
      for (int i : pass) {
        if (!node.extraKey || exact(s, c, i)) {
          ids.add(c.closeIds[i]);
        }
      }
      return new TokenMask(c.inside, TokenMask.NONE, ids.toArray());
    }
    // No pattern, or a pattern that allows anything from here or only decides at the closing
    // quote: the shared plain tables (classifying the vocabulary per pattern state costs ms).
    boolean checkClose = node.dfa != null && !universal;
    StringTokenClasses c = vocab.plainString(StringLexer.plainState(f.lex));
    long left = node.max == Integer.MAX_VALUE ? Long.MAX_VALUE : (long) node.max - f.a;
    int needed = node.min - f.a;
    int[] base = c.inside;
    int[] clear = TokenMask.NONE;
    if (left <= StringTokenClasses.SMALL_LIMIT) {
      base = c.insideUpToMask((int) left); // the last few characters before maxLength
    } else if (left < c.maxInsideN()) {
      clear = c.insideLongerThan((int) left); // the few long tokens that no longer fit
    }
    IntBuffer ids = new IntBuffer();
    for (int i : cached ? closing(c, after) : restAccepted(c, after)) {
      if (c.closeN[i] >= needed && c.closeN[i] <= left
          && (!checkClose || closesInLanguage(node, f, vocab.bytes(c.closeIds[i]), c.closeRest[i]))
          && (!node.extraKey || exact(s, c, i))) {
        ids.add(c.closeIds[i]);
      }
    }
    return new TokenMask(base, clear, ids.toArray());
  }

  /** Whether the token's bytes up to its closing quote end the string inside the pattern. */
  private static boolean closesInLanguage(StringNode node, Frame f, byte[] b, int rest) {
    long lex = f.lex;
    int count = f.a;
    for (int k = 0; k < rest; k++) {
      long r = StringLexer.step(node, lex, count, b[k] & 0xFF);
      if (r == StringLexer.CLOSED) {
        return k == rest - 1;
      }
      if (r == StringLexer.REJECT) {
        return false;
      }
      count += (r & StringLexer.START) != 0 ? 1 : 0;
      lex = r & ~StringLexer.START;
    }
    return false;
  }

  /**
   * For a token closing an extra key, which the shared checks judged without the key's text:
   * step it through the real stack when the text matters, i.e. when the object has used keys
   * already or the token's rest may write another key.
   */
  private boolean exact(Stack s, StringTokenClasses c, int i) {
    byte[] b = vocab.bytes(c.closeIds[i]);
    boolean anotherKey = false;
    for (int k = c.closeRest[i]; k < b.length && !anotherKey; k++) {
      anotherKey = b[k] == '"';
    }
    if (!anotherKey && s.rest.top.aux == null) {
      return true;
    }
    return automaton.steps(new Stack[] {s}, b, 0, b.length).length > 0;
  }

  /** Indices of the closing tokens whose bytes after the quote {@code after} accepts. */
  private int[] closing(StringTokenClasses c, Stack after) {
    return closes.get(new CloseKey(c, StateKey.of(automaton, after, maxTokenBytes)),
        k -> restAccepted(c, after));
  }

  private int[] restAccepted(StringTokenClasses c, Stack after) {
    Stack[][] states = new Stack[maxTokenBytes + 2][];
    states[0] = new Stack[] {after};
    IntBuffer pass = new IntBuffer();
    byte[] prev = null;
    int prevFrom = 0;
    int valid = 0; // states[0..valid] hold the previous token's path
    int failAt = -1; // the previous token died stepping its byte at this depth
    for (int k = 0; k < c.closeIds.length; k++) {
      byte[] b = vocab.bytes(c.closeIds[k]);
      int from = c.closeRest[k];
      int len = b.length - from;
      int common = 0;
      if (prev != null) {
        int m = Arrays.mismatch(prev, prevFrom, prev.length, b, from, b.length);
        common = m < 0 ? len : m;
      }
      if (failAt >= 0 && common > failAt) {
        continue; // shares the refused prefix
      }
      int d = Math.min(common, valid);
      boolean ok = true;
      for (; d < len; d++) {
        Stack[] next = automaton.step(states[d], b[from + d] & 0xFF);
        if (next.length == 0) {
          ok = false;
          break;
        }
        states[d + 1] = next;
      }
      if (ok) {
        pass.add(k);
        failAt = -1;
        valid = len;
      } else {
        failAt = d;
        valid = d;
      }
      prev = b;
      prevFrom = from;
    }
    return pass.toArray();
  }

  /**
   * The bytes every continuation of this state starts with (the jump-forward), cut back to a
   * whole UTF-8 character; empty when the document may end here or two bytes are possible.
   */
  byte[] forced(Stack[] state) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (!automaton.canEnd(state) && out.size() < 1 << 16) {
      Stack[] only = null;
      int onlyByte = -1;
      for (int b = 0; b < 256; b++) {
        Stack[] next = automaton.step(state, b);
        if (next.length > 0) {
          if (only != null) {
            only = null;
            onlyByte = -2;
            break;
          }
          only = next;
          onlyByte = b;
        }
      }
      if (only == null) {
        break;
      }
      out.write(onlyByte);
      state = only;
    }
    return trimPartialCharacter(out.toByteArray());
  }

  /** Drops a trailing incomplete UTF-8 sequence, so the bytes can be tokenized as text. */
  static byte[] trimPartialCharacter(byte[] bytes) {
    int n = bytes.length;
    int i = n - 1;
    while (i >= 0 && i > n - 4 && (bytes[i] & 0xC0) == 0x80) {
      i--;
    }
    if (i >= 0 && (bytes[i] & 0xFF) >= 0xC0) {
      int lead = bytes[i] & 0xFF;
      int len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      if (n - i < len) {
        return Arrays.copyOf(bytes, i);
      }
    }
    return bytes;
  }

  /** Whether no byte may follow (the document is complete and closed). */
  boolean noByteFollows(Stack[] state) {
    for (int b = 0; b < 256; b++) {
      if (automaton.step(state, b).length > 0) {
        return false;
      }
    }
    return true;
  }
}
