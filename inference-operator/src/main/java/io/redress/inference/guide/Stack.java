package io.redress.inference.guide;

/**
 * A persistent stack of {@link Frame}s (top first, shared tails): stepping a byte replaces the
 * top or pushes onto it without copying what lies below, so copies of a matcher are free.
 */
final class Stack {

  final Frame top;
  final Stack rest;
  private final int hash;

  Stack(Frame top, Stack rest) {
    this.top = top;
    this.rest = rest;
    this.hash = top.hashCode() * 31 + (rest == null ? 0 : rest.hash);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Stack s) || s.hash != hash) {
      return false;
    }
    Stack x = this;
    Stack y = s;
    while (x != null && y != null) {
      if (x == y) {
        return true;
      }
      if (!x.top.equals(y.top)) {
        return false;
      }
      x = x.rest;
      y = y.rest;
    }
    return x == y;
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    for (Stack s = this; s != null; s = s.rest) {
      sb.append(s.top).append(s.rest == null ? "" : " | ");
    }
    return sb.append(']').toString();
  }
}
