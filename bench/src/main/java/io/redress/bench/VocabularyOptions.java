package io.redress.bench;

import io.redress.inference.guide.TokenVocabulary;
import io.redress.inference.model.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** The tokenizer and mask shape the guided-decoding benchmarks compute masks over. */
final class VocabularyOptions {

  @Option(names = "--tokenizer", paramLabel = "PATH", defaultValue =
      "inference-operator/src/test/resources/qwen-tokenizer",
      description = "Tokenizer directory or tokenizer.json[.gz] (default: the Qwen2.5 one).")
  Path tokenizerPath;

  @Option(names = "--model-vocab", defaultValue = "151936",
      description = "Mask length: the model's vocabulary rows (Qwen2.5: 151936).")
  int modelVocab;

  @Option(names = "--eos", split = ",", defaultValue = "151643,151645",
      description = "EOS token ids.")
  List<Integer> eosIds;

  Tokenizer loadTokenizer() {
    return Tokenizer.load(tokenizerPath);
  }

  /** The masks' vocabulary over {@code tokenizer}, with this model's rows and EOS ids. */
  TokenVocabulary vocabulary(Tokenizer tokenizer) {
    return TokenVocabulary.of(tokenizer, modelVocab, Set.copyOf(eosIds));
  }
}
