package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenVocabularyTest {

  @Test
  void qwenVocabularyShape() {
    TokenVocabulary v = GuideFixtures.qwen();
    assertThat(v.modelVocabSize()).isEqualTo(GuideFixtures.QWEN_MODEL_VOCAB);
    assertThat(v.maskWords()).isEqualTo(4748);
    assertThat(v.maxTokenBytes()).isEqualTo(128);
    assertThat(v.bytes(151_644)).isNull(); // <|im_start|>: special
    assertThat(v.bytes(GuideFixtures.IM_END)).isNull(); // EOS: never text
    assertThat(v.bytes(151_700)).isNull(); // beyond the tokenizer: padding row
    assertThat(new String(v.bytes(151_657), StandardCharsets.UTF_8)).isEqualTo("<tool_call>");
    assertThat(v.isEos(GuideFixtures.ENDOFTEXT)).isTrue();
  }

  @Test
  void duplicateAndEmptyTokens() {
    List<byte[]> t = new ArrayList<>();
    t.add(null); // EOS
    t.add("\"".getBytes(StandardCharsets.UTF_8));
    t.add("a".getBytes(StandardCharsets.UTF_8));
    t.add("a".getBytes(StandardCharsets.UTF_8)); // same bytes, another id
    t.add(new byte[0]);
    TokenVocabulary v = TokenVocabulary.of(t, 40, Set.of(0));
    GrammarMatcher m = JsonSchemaCompiler.compile("{\"type\":\"string\"}").newMatcher(v);
    m.acceptToken(1);
    int[] words = new int[v.maskWords()];
    m.fillNextTokenBitmask(words, 0);
    assertThat(MatcherTest.bit(words, 2)).isTrue();
    assertThat(MatcherTest.bit(words, 3)).isTrue();
    assertThat(MatcherTest.bit(words, 4)).isFalse();
    assertThat(m.acceptToken(4)).isFalse();
    assertThat(Arrays.stream(words).map(Integer::bitCount).sum()).isEqualTo(3);
  }

  @Test
  void refusesBadArguments() {
    assertThatThrownBy(() -> TokenVocabulary.of(List.of(), 0, Set.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenVocabulary.of(List.of(), 10, Set.of(10)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
