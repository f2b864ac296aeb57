package io.redress.inference.guide;

/**
 * The extra keys an object has used so far, as a persistent list (newest first), so a key is
 * never written twice: duplicate names make JSON that strict parsers refuse and lenient ones
 * read as "last one wins". Equal by content.
 */
final class UsedKeys {

  final String key;
  final UsedKeys next;
  final int size;
  private final int hash;

  private UsedKeys(String key, UsedKeys next) {
    this.key = key;
    this.next = next;
    this.size = next == null ? 1 : next.size + 1;
    this.hash = key.hashCode() * 31 + (next == null ? 0 : next.hash);
  }

  /** {@code used} (possibly null: none) plus one key. */
  static UsedKeys add(UsedKeys used, String key) {
    return new UsedKeys(key, used);
  }

  static boolean contains(UsedKeys used, String key) {
    for (UsedKeys u = used; u != null; u = u.next) {
      if (u.key.equals(key)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof UsedKeys u) || u.hash != hash || u.size != size) {
      return false;
    }
    UsedKeys a = this;
    UsedKeys b = u;
    while (a != null) {
      if (!a.key.equals(b.key)) {
        return false;
      }
      a = a.next;
      b = b.next;
    }
    return true;
  }

  @Override
  public int hashCode() {
    return hash;
  }
}
