package io.redress.inference.guide;

import io.redress.inference.model.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Shared test inputs: the real Qwen vocabulary (loaded once per JVM), test schemas. */
final class GuideFixtures {

  /** Qwen2.5's embedding rows: more than the tokenizer's 151,669 ids. */
  static final int QWEN_MODEL_VOCAB = 151_936;
  static final int ENDOFTEXT = 151_643;
  static final int IM_END = 151_645;

  private static Tokenizer tokenizer;
  private static TokenVocabulary qwen;

  private GuideFixtures() {}

  static synchronized Tokenizer qwenTokenizer() {
    if (tokenizer == null) {
      tokenizer = Tokenizer.load(resource("/qwen-tokenizer"));
    }
    return tokenizer;
  }

  static synchronized TokenVocabulary qwen() {
    if (qwen == null) {
      qwen = TokenVocabulary.of(qwenTokenizer(), QWEN_MODEL_VOCAB, Set.of(ENDOFTEXT, IM_END));
    }
    return qwen;
  }

  /** A small vocabulary: every single byte, plus a few longer tokens; id 0 is EOS. */
  static TokenVocabulary bytes(String... extra) {
    List<byte[]> t = new ArrayList<>();
    t.add(null); // EOS
    for (int b = 0; b < 256; b++) {
      t.add(new byte[] {(byte) b});
    }
    for (String s : extra) {
      t.add(s.getBytes(StandardCharsets.UTF_8));
    }
    return TokenVocabulary.of(t, t.size() + 5, Set.of(0));
  }

  static String text(String resource) {
    try (InputStream in = GuideFixtures.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String replySchema() {
    return text("/guide/reply.schema.json");
  }

  static Path resource(String name) {
    try {
      return Path.of(GuideFixtures.class.getResource(name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
