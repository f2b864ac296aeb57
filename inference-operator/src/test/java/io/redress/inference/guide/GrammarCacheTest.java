package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GrammarCacheTest {

  @Test
  void compilesOncePerTextAndForgetsTheLeastRecentlyUsed() {
    GrammarCache cache = new GrammarCache(2);
    String a = "{\"type\":\"string\"}";
    String b = "{\"type\":\"integer\"}";
    String c = "{\"type\":\"boolean\"}";
    CompiledSchema first = cache.get(a);
    assertThat(cache.get(a)).isSameAs(first);
    cache.get(b);
    cache.get(a); // a is now more recent than b
    cache.get(c); // evicts b
    assertThat(cache.size()).isEqualTo(2);
    assertThat(cache.get(a)).isSameAs(first);
    assertThat(first.schemaText()).isEqualTo(a);
  }

  @Test
  void badSchemasAreRefusedEveryTimeAndNotCached() {
    GrammarCache cache = new GrammarCache(4);
    String bad = "{\"type\":\"string\",\"format\":\"iso-time\"}";
    assertThatThrownBy(() -> cache.get(bad)).isInstanceOf(SchemaException.class);
    assertThatThrownBy(() -> cache.get(bad)).isInstanceOf(SchemaException.class);
    assertThat(cache.size()).isZero();
    assertThatThrownBy(() -> new GrammarCache(0)).isInstanceOf(IllegalArgumentException.class);
  }
}
