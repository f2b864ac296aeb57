package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The product's reply schema on the real Qwen vocabulary: what jump-forward fixes, where EOS
 * comes, and which ids never appear in a mask (special tokens, the embedding's padding rows).
 */
class ReplySchemaTest {

  private static final String REPLY = "{\"category\":\"billing\",\"demands\":[\"退款\","
      + "\"explain the \\\"extra\\\" fee\"],\"urgency\":\"high\",\"sentiment\":\"angry\","
      + "\"reply_text\":\"您好，非常抱歉。\\nWe will refund you today.\"}";

  @Test
  void jumpForwardCoversKeysPunctuationAndEnumTails() {
    GrammarMatcher m = JsonSchemaCompiler.compile(GuideFixtures.replySchema())
        .newMatcher(GuideFixtures.qwen());
    assertThat(text(m.forcedBytes())).isEqualTo("{\"category\":\"");
    m.acceptBytes(m.forcedBytes());
    m.acceptBytes(bytes("b"));
    assertThat(text(m.forcedBytes())).isEqualTo("illing\",\"demands\":[\"");
    m.acceptBytes(m.forcedBytes());
    assertThat(m.forcedBytes()).isEmpty(); // the demand text is free
    m.acceptBytes(bytes("x\""));
    assertThat(m.forcedBytes()).isEmpty(); // ',' (another demand) or ']'
    m.acceptBytes(bytes("]"));
    assertThat(text(m.forcedBytes())).isEqualTo(",\"urgency\":\"");
    m.acceptBytes(m.forcedBytes());
    m.acceptBytes(bytes("c"));
    assertThat(text(m.forcedBytes())).isEqualTo("ritical\",\"sentiment\":\"");
    m.acceptBytes(m.forcedBytes());
    m.acceptBytes(bytes("sat"));
    assertThat(text(m.forcedBytes())).isEqualTo("isfied\",\"reply_text\":\"");
    m.acceptBytes(m.forcedBytes());
    assertThat(m.forcedBytes()).isEmpty(); // minLength 1: a character must come first
    m.acceptBytes(bytes("好"));
    assertThat(m.isComplete()).isFalse();
    assertThat(m.forcedBytes()).isEmpty();
    m.acceptBytes(bytes("\""));
    assertThat(text(m.forcedBytes())).isEqualTo("}");
    m.acceptBytes(m.forcedBytes());
    assertThat(m.isComplete()).isTrue();
    assertThat(m.isTerminated()).isTrue();
    assertThat(m.forcedBytes()).isEmpty();
  }

  @Test
  void forcedBytesNeverEndInsideACharacter() {
    String schema = "{\"enum\":[\"é1\",\"è2\"]}";
    GrammarMatcher m = JsonSchemaCompiler.compile(schema).newMatcher(GuideFixtures.qwen());
    // é is C3 A9, è is C3 A8: the shared lead byte is forced but held back with its quote.
    assertThat(text(m.forcedBytes())).isEqualTo("\"");
  }

  @Test
  void eosOnlyAtTheEndAndSpecialTokensNever() {
    TokenVocabulary vocab = GuideFixtures.qwen();
    Tokenizer tokenizer = GuideFixtures.qwenTokenizer();
    GrammarMatcher m = JsonSchemaCompiler.compile(GuideFixtures.replySchema()).newMatcher(vocab);
    int[] ids = tokenizer.encode(REPLY);
    int[] words = new int[vocab.maskWords()];
    assertThat(words.length).isEqualTo((GuideFixtures.QWEN_MODEL_VOCAB + 31) / 32);
    for (int i = 0; i < ids.length; i++) {
      m.fillNextTokenBitmask(words, 0);
      assertThat(MatcherTest.bit(words, GuideFixtures.IM_END)).isFalse();
      assertThat(MatcherTest.bit(words, GuideFixtures.ENDOFTEXT)).isFalse();
      for (int id = tokenizer.vocabSize(); id < GuideFixtures.QWEN_MODEL_VOCAB; id++) {
        assertThat(MatcherTest.bit(words, id)).as("padding id %d", id).isFalse();
      }
      for (int id = 151_643; id < tokenizer.vocabSize(); id++) {
        if (tokenizer.isSpecial(id)) {
          assertThat(MatcherTest.bit(words, id)).as("special id %d", id).isFalse();
        }
      }
      assertThat(MatcherTest.bit(words, ids[i])).isTrue();
      assertThat(m.acceptToken(ids[i])).isTrue();
    }
    m.fillNextTokenBitmask(words, 0);
    assertThat(MatcherTest.count(words)).isEqualTo(2);
    assertThat(MatcherTest.bit(words, GuideFixtures.IM_END)).isTrue();
    assertThat(MatcherTest.bit(words, GuideFixtures.ENDOFTEXT)).isTrue();
    assertThat(m.acceptToken(151_644)).isFalse(); // <|im_start|>
    assertThat(m.acceptToken(GuideFixtures.QWEN_MODEL_VOCAB - 1)).isFalse();
    assertThat(m.acceptToken(GuideFixtures.IM_END)).isTrue();
  }

  @Test
  void everyMaskedTokenAgreesWithTheForcedBytes() {
    // Where bytes are forced, each allowed token must be a prefix of them or extend them.
    TokenVocabulary vocab = GuideFixtures.qwen();
    CompiledSchema schema = JsonSchemaCompiler.compile(GuideFixtures.replySchema());
    Random rnd = new Random(7);
    int[] words = new int[vocab.maskWords()];
    for (int walk = 0; walk < 5; walk++) {
      GrammarMatcher m = schema.newMatcher(vocab);
      for (int step = 0; step < 200 && !m.isTerminated(); step++) {
        byte[] forced = m.forcedBytes();
        m.fillNextTokenBitmask(words, 0);
        if (forced.length > 0) {
          for (int w = 0; w < words.length; w++) {
            for (int x = words[w]; x != 0; x &= x - 1) {
              byte[] b = vocab.bytes(w * 32 + Integer.numberOfTrailingZeros(x));
              int n = Math.min(b.length, forced.length);
              assertThat(java.util.Arrays.equals(b, 0, n, forced, 0, n)).isTrue();
            }
          }
        }
        int id = Walks.pick(words, rnd);
        if (vocab.isEos(id)) {
          break;
        }
        m.acceptToken(id);
      }
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
