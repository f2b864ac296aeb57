package io.redress.inference.guide;

import java.util.Objects;

/**
 * Compiled schemas by schema text, bounded (least recently used first out) and thread-safe.
 * A request's schema compiles once; later requests with the same text share the compiled
 * grammar and its mask caches. Invalid schemas are not cached: each submit gets the error.
 */
public final class GrammarCache {

  private final LruCache<String, CompiledSchema> cache;

  /** @param maxSchemas how many compiled schemas to keep */
  public GrammarCache(int maxSchemas) {
    if (maxSchemas <= 0) {
      throw new IllegalArgumentException("maxSchemas must be positive, got " + maxSchemas);
    }
    this.cache = new LruCache<>(maxSchemas);
  }

  /**
   * The compiled schema for this text, compiling it on first use.
   *
   * @throws SchemaException when the schema cannot be compiled
   */
  public CompiledSchema get(String schemaJson) {
    Objects.requireNonNull(schemaJson, "schemaJson");
    return cache.get(schemaJson, JsonSchemaCompiler::compile);
  }

  /** How many schemas are cached. */
  public int size() {
    return cache.size();
  }
}
