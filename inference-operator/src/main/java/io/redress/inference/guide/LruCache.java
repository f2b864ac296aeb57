package io.redress.inference.guide;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * A bounded map that forgets the least recently used entry; thread-safe. Values are computed
 * outside the lock, so two threads may compute the same entry once each (both results equal).
 */
final class LruCache<K, V> {

  private final Map<K, V> map;

  LruCache(int maxEntries) {
    this.map = new LinkedHashMap<>(64, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > maxEntries;
      }
    };
  }

  V get(K key, Function<K, V> compute) {
    V v;
    synchronized (map) {
      v = map.get(key);
    }
    if (v == null) {
      v = compute.apply(key);
      synchronized (map) {
        V raced = map.putIfAbsent(key, v);
        if (raced != null) {
          v = raced;
        }
      }
    }
    return v;
  }

  int size() {
    synchronized (map) {
      return map.size();
    }
  }

  void clear() {
    synchronized (map) {
      map.clear();
    }
  }
}
