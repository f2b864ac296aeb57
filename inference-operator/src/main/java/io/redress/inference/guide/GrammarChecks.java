package io.redress.inference.guide;

import io.redress.inference.guide.Grammar.ArrayNode;
import io.redress.inference.guide.Grammar.Node;
import io.redress.inference.guide.Grammar.ObjectNode;
import io.redress.inference.guide.Grammar.UnionNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Whole-grammar checks that local reading cannot make, because of recursive {@code $ref}s: every
 * node reachable from the root must be able to produce a finite value (a required property
 * that refers back to its own object cannot), and no chain of aliases may loop without entering
 * an object or array (it would never produce a byte).
 */
final class GrammarChecks {

  private final List<Node> nodes;
  private final int root;

  GrammarChecks(List<Node> nodes, int root) {
    this.nodes = nodes;
    this.root = root;
  }

  void run() {
    List<Integer> reachable = reachable();
    for (int id : reachable) {
      if (nodes.get(id) instanceof UnionNode) {
        noAliasCycle(id);
      }
    }
    boolean[] productive = productive();
    // Name the required property or item that cannot be produced, else any unproductive node.
    int culprit = -1;
    for (int id : reachable) {
      if (productive[id]) {
        continue;
      }
      Node n = nodes.get(id);
      if (n instanceof ObjectNode o) {
        for (int j = 0; j < o.values.length && culprit < 0; j++) {
          if (o.required[j] && !productive[o.values[j]]) {
            culprit = o.values[j];
          }
        }
      } else if (n instanceof ArrayNode a) {
        for (int i = 0; i < a.min && culprit < 0; i++) {
          if (!productive[a.itemAt(i)]) {
            culprit = a.itemAt(i);
          }
        }
      }
      if (culprit >= 0) {
        break;
      }
    }
    if (culprit < 0) {
      culprit = reachable.stream().filter(id -> !productive[id]).findFirst().orElse(-1);
    }
    if (culprit >= 0) {
      throw new SchemaException("$ref", nodes.get(culprit).pointer, "unsatisfiable: no finite"
          + " JSON value satisfies this schema (a required property or item refers back to it"
          + " without an optional way out)");
    }
  }

  private List<Integer> reachable() {
    boolean[] seen = new boolean[nodes.size()];
    List<Integer> out = new ArrayList<>();
    ArrayDeque<Integer> work = new ArrayDeque<>();
    seen[root] = true;
    work.add(root);
    while (!work.isEmpty()) {
      int id = work.poll();
      out.add(id);
      for (int c : children(nodes.get(id))) {
        if (c >= 0 && !seen[c]) {
          seen[c] = true;
          work.add(c);
        }
      }
    }
    return out;
  }

  private static int[] children(Node n) {
    if (n instanceof ObjectNode o) {
      return java.util.stream.IntStream.concat(java.util.Arrays.stream(o.values),
          java.util.stream.IntStream.concat(java.util.Arrays.stream(o.extras),
              java.util.Arrays.stream(o.extraKeys))).toArray();
    }
    if (n instanceof ArrayNode a) {
      int[] c = java.util.Arrays.copyOf(a.prefix, a.prefix.length + 1);
      c[a.prefix.length] = a.items;
      return c;
    }
    if (n instanceof UnionNode u) {
      return u.alternatives;
    }
    return new int[0];
  }

  private void noAliasCycle(int start) {
    // Depth-first over union -> union edges only; a union met again on the path is a loop.
    ArrayDeque<int[]> stack = new ArrayDeque<>();
    boolean[] onPath = new boolean[nodes.size()];
    boolean[] done = new boolean[nodes.size()];
    stack.push(new int[] {start, 0});
    onPath[start] = true;
    while (!stack.isEmpty()) {
      int[] top = stack.peek();
      int[] alts = ((UnionNode) nodes.get(top[0])).alternatives;
      if (top[1] == alts.length) {
        onPath[top[0]] = false;
        done[top[0]] = true;
        stack.pop();
        continue;
      }
      int next = alts[top[1]++];
      if (!(nodes.get(next) instanceof UnionNode) || done[next]) {
        continue;
      }
      if (onPath[next]) {
        throw new SchemaException("$ref", nodes.get(next).pointer, "circular $ref: the schema"
            + " refers to itself without an enclosing object or array");
      }
      onPath[next] = true;
      stack.push(new int[] {next, 0});
    }
  }

  private boolean[] productive() {
    boolean[] p = new boolean[nodes.size()];
    boolean changed = true;
    while (changed) {
      changed = false;
      for (int id = 0; id < nodes.size(); id++) {
        if (!p[id] && productive(nodes.get(id), p)) {
          p[id] = true;
          changed = true;
        }
      }
    }
    return p;
  }

  private static boolean productive(Node n, boolean[] p) {
    if (n instanceof ObjectNode o) {
      for (int j = 0; j < o.values.length; j++) {
        if (o.required[j] && !p[o.values[j]]) {
          return false;
        }
      }
      return true;
    }
    if (n instanceof ArrayNode a) {
      for (int i = 0; i < a.min; i++) {
        if (!p[a.itemAt(i)]) {
          return false;
        }
      }
      return true;
    }
    if (n instanceof UnionNode u) {
      for (int alt : u.alternatives) {
        if (p[alt]) {
          return true;
        }
      }
      return false;
    }
    return true;
  }
}
