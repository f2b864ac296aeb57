package io.redress.inference.runtime.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.Tokenizer;
import io.redress.inference.testing.Fixtures;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The golden test of the CPU runner: logits and greedy continuations equal what HF
 * transformers computed (fp32, from the same bf16 weights) on the fixture models, and on the
 * GPTQ fixture from the weights its own torch dequantization gives.
 * Tolerance: |ours - HF| <= 1e-3 x max |logit| of the row; greedy tokens identical.
 */
class CpuModelReferenceTest {

  static final java.util.List<String> MODELS = java.util.stream.Stream.concat(
      Fixtures.MODELS.stream(), Fixtures.GPTQ_MODELS.stream()).toList();

  @ParameterizedTest
  @FieldSource("MODELS")
  void logitsMatchHfAtChosenPositions(String name) {
    CpuModel model = CpuModel.load(Fixtures.modelDir(name));
    CpuGenerator generator = new CpuGenerator(model);
    int vocab = model.config().vocabSize();
    for (Fixtures.Case c : Fixtures.reference(name)) {
      int[] all = IntStream.concat(IntStream.of(c.promptIds()), IntStream.of(c.greedy()))
          .toArray();
      float[] logits = generator.logitsOfAllPositions(all);
      for (Fixtures.LogitsRow row : c.logits()) {
        double tolerance = 1e-3 * row.maxAbs();
        double worst = 0;
        for (int i = 0; i < row.ids().length; i++) {
          double ours = logits[row.position() * vocab + row.ids()[i]];
          worst = Math.max(worst, Math.abs(ours - row.logits()[i]));
        }
        assertThat(worst).as("%s, prompt %s, position %d: max |logit diff| (max |logit| %.3f)",
            name, c.prompt(), row.position(), row.maxAbs()).isLessThanOrEqualTo(tolerance);
      }
    }
  }

  @ParameterizedTest
  @FieldSource("MODELS")
  void greedyContinuationEqualsHf(String name) {
    CpuModel model = CpuModel.load(Fixtures.modelDir(name));
    CpuGenerator generator = new CpuGenerator(model);
    for (Fixtures.Case c : Fixtures.reference(name)) {
      var out = generator.generate(c.promptIds(),
          SamplingParams.greedy(c.greedy().length).withIgnoreEos(true), id -> { });
      assertThat(out.tokenIds().stream().mapToInt(i -> i).toArray())
          .as("%s, prompt %s (HF's smallest top-2 margin %.4f)", name, c.prompt(),
              c.minMargin())
          .containsExactly(c.greedy());
    }
  }

  @ParameterizedTest
  @FieldSource("MODELS")
  void tokenizerInTheModelDirectoryGivesHfPromptIds(String name) {
    try (Tokenizer tokenizer = Tokenizer.load(Fixtures.modelDir(name))) {
      for (Fixtures.Case c : Fixtures.reference(name)) {
        assertThat(tokenizer.encode(c.prompt())).as(c.prompt()).containsExactly(c.promptIds());
      }
    }
  }
}
