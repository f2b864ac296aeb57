package io.redress.inference.guide;

import io.redress.inference.guide.Grammar.ArrayNode;
import io.redress.inference.guide.Grammar.LiteralNode;
import io.redress.inference.guide.Grammar.Node;
import io.redress.inference.guide.Grammar.NumberNode;
import io.redress.inference.guide.Grammar.ObjectNode;
import io.redress.inference.guide.Grammar.StringNode;
import io.redress.inference.guide.Grammar.UnionNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The byte-level pushdown automaton of a {@link Grammar}. A matcher state is a set of stacks
 * (several while anyOf branches or optional properties are still open); {@link #step} moves
 * every stack over one byte. Values close eagerly where their last byte says so ('"', '}',
 * ']', a literal's end) and on the next byte where only it can (numbers, literals that prefix
 * others). Every state it produces can be completed to a valid document: nodes are productive
 * and each lexer refuses bytes that lead nowhere. Stateless and thread-safe.
 */
final class Automaton {

  static final int O_START = 0;
  static final int O_FIRST = 1;
  static final int O_KEY = 2;
  static final int O_XKEY = 3;
  static final int O_COLON = 4;
  static final int O_VALUE = 5;
  static final int O_AFTER = 6;
  static final int O_COMMA = 7;

  static final int A_START = 0;
  static final int A_FIRST = 1;
  static final int A_VALUE = 2;
  static final int A_AFTER = 3;
  static final int A_COMMA = 4;

  /** A state with more stacks than this is refused (runaway nested anyOf). */
  static final int MAX_STACKS = 4096;

  static final Stack[] DEAD = new Stack[0];

  final Grammar grammar;

  Automaton(Grammar grammar) {
    this.grammar = grammar;
  }

  Stack[] initial() {
    List<Stack> out = new ArrayList<>();
    push(grammar.root, new Stack(new Frame(Frame.DOC, -1, 0, 0, 0), null), out);
    return dedup(out);
  }

  /** Every stack stepped over byte b (0..255); {@link #DEAD} when none survives. */
  Stack[] step(Stack[] state, int b) {
    List<Stack> out = new ArrayList<>(state.length + 1);
    for (Stack s : state) {
      step(s, b, out);
    }
    if (out.isEmpty()) {
      return DEAD;
    }
    return dedup(out);
  }

  /** The state after all of {@code bytes}, or {@link #DEAD}. */
  Stack[] steps(Stack[] state, byte[] bytes, int from, int to) {
    for (int i = from; i < to && state.length > 0; i++) {
      state = step(state, bytes[i] & 0xFF);
    }
    return state;
  }

  /** Whether the bytes so far are a complete document. */
  boolean canEnd(Stack[] state) {
    for (Stack s : state) {
      if (canEnd(s)) {
        return true;
      }
    }
    return false;
  }

  private boolean canEnd(Stack s) {
    Frame f = s.top;
    switch (f.kind) {
      case Frame.DOC:
        return f.phase == 1;
      case Frame.NUM:
        return num(f).dfa.accepting(f.a) && canEnd(childDone(s.rest));
      case Frame.LIT:
        return lit(f).trie.value(f.a) >= 0 && canEnd(childDone(s.rest));
      default:
        return false;
    }
  }

  void step(Stack s, int b, List<Stack> out) {
    Frame f = s.top;
    Stack rest = s.rest;
    switch (f.kind) {
      case Frame.OBJ -> stepObject(f, rest, b, out);
      case Frame.ARR -> stepArray(f, rest, b, out);
      case Frame.STR -> {
        StringNode node = str(f);
        long r = StringLexer.step(node, f.lex, f.a, b);
        if (r == StringLexer.CLOSED) {
          if (node.extraKey) {
            closeExtraKey(f, rest, out);
          } else {
            out.add(childDone(rest));
          }
        } else if (r >= 0) {
          int count = f.a + ((r & StringLexer.START) != 0 ? 1 : 0);
          Object text = f.aux;
          if (node.extraKey) {
            int cp = StringLexer.completedCodePoint(f.lex, b);
            if (cp >= 0) {
              text = (text == null ? "" : (String) text) + Character.toString(cp);
            }
          }
          out.add(new Stack(new Frame(Frame.STR, f.node, 0, count, r & ~StringLexer.START,
              text), rest));
        }
      }
      case Frame.NUM -> {
        CodePointDfa dfa = num(f).dfa;
        int q = b < 128 ? dfa.next(f.a, b) : -1;
        if (q >= 0) {
          out.add(dfa.accepting(q) && !dfa.hasTransitions(q) ? childDone(rest)
              : new Stack(new Frame(Frame.NUM, f.node, 0, q, 0), rest));
        } else if (dfa.accepting(f.a)) {
          step(childDone(rest), b, out);
        }
      }
      case Frame.LIT -> {
        LiteralTrie trie = lit(f).trie;
        int t = trie.child(f.a, b);
        if (t >= 0) {
          out.add(trie.value(t) >= 0 && !trie.hasChildren(t) ? childDone(rest)
              : new Stack(new Frame(Frame.LIT, f.node, 0, t, 0), rest));
        } else if (trie.value(f.a) >= 0) {
          step(childDone(rest), b, out);
        }
      }
      default -> { } // DOC: nothing may follow the document
    }
  }

  // An object frame's lex: the member count (kept only under minProperties, capped there) in
  // the high half; the key trie node (O_KEY) or the extra member kind (O_XKEY, O_COLON) below.
  private static long lex(long low, long count) {
    return low | count << 32;
  }

  private static long count(Frame f) {
    return f.lex >>> 32;
  }

  private void stepObject(Frame f, Stack rest, int b, List<Stack> out) {
    ObjectNode o = (ObjectNode) grammar.node(f.node);
    int n = o.size();
    long count = count(f);
    switch (f.phase) {
      case O_START -> {
        if (b == '{') {
          out.add(new Stack(new Frame(Frame.OBJ, f.node, O_FIRST, -1, 0), rest));
        }
      }
      case O_FIRST -> {
        if (b == '}' && o.closeAllowed[0] && o.minProperties == 0) {
          out.add(childDone(rest));
        } else {
          keyStart(o, f.node, -1, null, 0, rest, b, out);
        }
      }
      case O_AFTER -> {
        if (b == ',' && o.moreKeys[f.a + 1]) {
          out.add(new Stack(new Frame(Frame.OBJ, f.node, O_COMMA, f.a, f.lex, f.aux), rest));
        } else if (b == '}' && o.closeAllowed[f.a + 1] && count >= o.minProperties) {
          out.add(childDone(rest));
        }
      }
      case O_COMMA -> keyStart(o, f.node, f.a, f.aux, count, rest, b, out);
      case O_KEY -> {
        LiteralTrie trie = o.keyTries[f.a + 1];
        int t = trie.child((int) f.lex, b);
        if (t >= 0) {
          int j = trie.value(t);
          if (j >= 0) {
            push(o.values[j], new Stack(new Frame(Frame.OBJ, f.node, O_VALUE, j, lex(0, count)),
                rest), out);
          } else {
            out.add(new Stack(new Frame(Frame.OBJ, f.node, O_KEY, f.a, lex(t, count)), rest));
          }
        }
      }
      case O_COLON -> {
        if (b == ':') {
          push(o.extras[(int) f.lex], new Stack(new Frame(Frame.OBJ, f.node, O_VALUE, n,
              lex(0, count), f.aux), rest), out);
        }
      }
      default -> { } // O_XKEY, O_VALUE wait for a child below the top
    }
  }

  private void keyStart(ObjectNode o, int node, int idx, Object used, long count, Stack rest,
      int b, List<Stack> out) {
    int t = o.keyTries[idx + 1].child(0, b);
    if (t >= 0) {
      out.add(new Stack(new Frame(Frame.OBJ, node, O_KEY, idx, lex(t, count)), rest));
    }
    if (o.extrasAllowed[idx + 1]) {
      for (int c = 0; c < o.extraKeys.length; c++) {
        Stack wait = new Stack(new Frame(Frame.OBJ, node, O_XKEY, o.size(), lex(c, count),
            used), rest);
        step(new Stack(new Frame(Frame.STR, o.extraKeys[c], 0, 0, StringLexer.open()), wait), b,
            out);
      }
    }
  }

  /** An extra key ends: refused if its object used it already, else remembered there. */
  private static void closeExtraKey(Frame key, Stack wait, List<Stack> out) {
    Frame p = wait.top;
    UsedKeys used = (UsedKeys) p.aux;
    String text = key.aux == null ? "" : (String) key.aux;
    if (!UsedKeys.contains(used, text)) {
      out.add(new Stack(new Frame(Frame.OBJ, p.node, O_COLON, p.a, p.lex,
          UsedKeys.add(used, text)), wait.rest));
    }
  }

  private void stepArray(Frame f, Stack rest, int b, List<Stack> out) {
    ArrayNode a = (ArrayNode) grammar.node(f.node);
    switch (f.phase) {
      case A_START -> {
        if (b == '[') {
          out.add(new Stack(new Frame(Frame.ARR, f.node, A_FIRST, 0, 0), rest));
        }
      }
      case A_FIRST, A_COMMA -> {
        if (f.phase == A_FIRST && b == ']' && a.min == 0) {
          out.add(childDone(rest));
        } else if (f.a < a.max) {
          List<Stack> items = new ArrayList<>(2);
          push(a.itemAt(f.a), new Stack(new Frame(Frame.ARR, f.node, A_VALUE, f.a, 0), rest),
              items);
          for (Stack item : items) {
            step(item, b, out);
          }
        }
      }
      case A_AFTER -> {
        if (b == ',' && f.a < a.max) {
          out.add(new Stack(new Frame(Frame.ARR, f.node, A_COMMA, f.a, 0), rest));
        } else if (b == ']' && f.a >= a.min) {
          out.add(childDone(rest));
        }
      }
      default -> { } // A_VALUE waits for its item
    }
  }

  /** The stacks that start a value of {@code node} on top of {@code below}. */
  void push(int node, Stack below, List<Stack> out) {
    Node n = grammar.node(node);
    if (n instanceof UnionNode u) {
      for (int alt : u.alternatives) {
        push(alt, below, out);
      }
    } else if (n instanceof ObjectNode) {
      out.add(new Stack(new Frame(Frame.OBJ, node, O_START, 0, 0), below));
    } else if (n instanceof ArrayNode) {
      out.add(new Stack(new Frame(Frame.ARR, node, A_START, 0, 0), below));
    } else if (n instanceof StringNode) {
      out.add(new Stack(new Frame(Frame.STR, node, 0, 0, StringLexer.open()), below));
    } else if (n instanceof NumberNode num) {
      out.add(new Stack(new Frame(Frame.NUM, node, 0, num.dfa.start, 0), below));
    } else {
      out.add(new Stack(new Frame(Frame.LIT, node, 0, 0, 0), below));
    }
  }

  /** The parent after its child value finished: the stack below the child, advanced. */
  Stack childDone(Stack parent) {
    Frame p = parent.top;
    Frame next;
    if (p.kind == Frame.DOC) {
      next = new Frame(Frame.DOC, -1, 1, 0, 0);
    } else if (p.kind == Frame.ARR) {
      next = new Frame(Frame.ARR, p.node, A_AFTER, p.a + 1, 0);
    } else if (p.phase == O_XKEY) {
      next = new Frame(Frame.OBJ, p.node, O_COLON, p.a, p.lex, p.aux); // key text: closeExtraKey
    } else {
      int cap = ((ObjectNode) grammar.node(p.node)).minProperties;
      next = new Frame(Frame.OBJ, p.node, O_AFTER, p.a, lex(0, Math.min(count(p) + 1, cap)),
          p.aux);
    }
    return new Stack(next, parent.rest);
  }

  StringNode str(Frame f) {
    return (StringNode) grammar.node(f.node);
  }

  private NumberNode num(Frame f) {
    return (NumberNode) grammar.node(f.node);
  }

  private LiteralNode lit(Frame f) {
    return (LiteralNode) grammar.node(f.node);
  }

  private static Stack[] dedup(List<Stack> out) {
    if (out.size() > MAX_STACKS) {
      throw new IllegalStateException("guided decoding: more than " + MAX_STACKS
          + " parses are open at once; simplify the schema's nested anyOf");
    }
    if (out.size() == 1) {
      return new Stack[] {out.get(0)};
    }
    Stack[] a = out.toArray(new Stack[0]);
    int n = 0;
    outer:
    for (Stack s : a) {
      for (int i = 0; i < n; i++) {
        if (a[i].equals(s)) {
          continue outer;
        }
      }
      a[n++] = s;
    }
    return n == a.length ? a : Arrays.copyOf(a, n);
  }
}
