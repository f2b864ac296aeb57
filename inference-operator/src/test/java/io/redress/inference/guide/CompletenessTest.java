package io.redress.inference.guide;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.model.Tokenizer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Completeness: for every corpus schema, 20 valid instances made without our automaton
 * ({@link InstanceGenerator}, each confirmed by networknt) and serialized compactly are accepted
 * token by token, each token set in the mask before it is accepted, under the Qwen tokenizer's
 * own encoding and under three random segmentations of the same bytes; then EOS is allowed.
 */
class CompletenessTest {

  private static final int INSTANCES = 20;
  private static final int SEGMENTATIONS = 3;

  @Test
  void validInstancesAreAcceptedUnderAnyTokenization() throws Exception {
    TokenVocabulary vocab = GuideFixtures.qwen();
    Tokenizer tokenizer = GuideFixtures.qwenTokenizer();
    Map<ByteBuffer, Integer> ids = Walks.tokenIds(vocab);
    List<String> failures = new ArrayList<>();
    int schemas = 0;
    int accepted = 0;
    int[] words = new int[vocab.maskWords()];
    for (SchemaCorpus.Entry e : SchemaCorpus.all()) {
      CompiledSchema compiled = JsonSchemaCompiler.compile(e.schema());
      NetworkntValidator validator = new NetworkntValidator(e.schema());
      InstanceGenerator gen = new InstanceGenerator(NetworkntValidator.JSON.readTree(e.schema()),
          e.name().hashCode());
      Random rnd = new Random(e.name().hashCode() * 31L);
      int valid = 0;
      for (int attempt = 0; attempt < 200 && valid < INSTANCES; attempt++) {
        byte[] instance = gen.next();
        if (instance == null || !validator.errors(instance).isEmpty()) {
          continue;
        }
        valid++;
        String text = new String(instance, StandardCharsets.UTF_8);
        List<int[]> tokenizations = new ArrayList<>();
        tokenizations.add(tokenizer.encode(text));
        for (int k = 0; k < SEGMENTATIONS; k++) {
          tokenizations.add(Walks.randomTokens(instance, ids, vocab.maxTokenBytes(), rnd));
        }
        for (int k = 0; k < tokenizations.size(); k++) {
          String problem = accept(compiled.newMatcher(vocab), vocab, tokenizations.get(k), words,
              instance);
          if (problem == null) {
            accepted++;
          } else {
            failures.add(e.name() + " tokenization " + k + ": " + problem + "\n  instance: "
                + text + "\n  schema: " + e.schema());
          }
        }
      }
      schemas++;
      if (valid < INSTANCES) {
        failures.add(e.name() + ": only " + valid + " valid instances generated");
      }
    }
    System.out.printf("completeness: %d schemas, %d tokenized instances accepted, %d failures%n",
        schemas, accepted, failures.size());
    assertThat(failures).isEmpty();
    assertThat(schemas).isGreaterThanOrEqualTo(200);
  }

  /** Null when every token is in the mask and accepted and EOS may follow; else what failed. */
  static String accept(GrammarMatcher m, TokenVocabulary vocab, int[] tokens, int[] words,
      byte[] expected) {
    int at = 0;
    for (int i = 0; i < tokens.length; i++) {
      int id = tokens[i];
      byte[] b = vocab.bytes(id);
      if (b == null || !Arrays.equals(b, 0, b.length, expected, at, Math.min(expected.length,
          at + b.length))) {
        return "tokenization does not spell the instance at byte " + at + " (normalized?)";
      }
      m.fillNextTokenBitmask(words, 0);
      if ((words[id >>> 5] & (1 << (id & 31))) == 0) {
        return "token " + i + " (" + new String(b, StandardCharsets.UTF_8) + ") not in the mask"
            + " after byte " + at;
      }
      if (!m.acceptToken(id)) {
        return "token " + i + " in the mask but refused";
      }
      at += b.length;
    }
    m.fillNextTokenBitmask(words, 0);
    for (int eos : vocab.eosIds()) {
      if ((words[eos >>> 5] & (1 << (eos & 31))) == 0) {
        return "EOS not allowed at the end";
      }
    }
    return m.isComplete() && m.acceptToken(vocab.eosIds()[0]) ? null : "not complete at the end";
  }
}
