package io.redress.inference.runtime.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.inference.engine.SamplingParams;
import io.redress.inference.runtime.KvCacheDtype;
import io.redress.inference.runtime.SeqStep;
import io.redress.inference.runtime.Step;
import io.redress.inference.testing.Fixtures;
import io.redress.inference.testing.Gpu;
import io.redress.inference.model.ChatMessage;
import io.redress.inference.model.ChatTemplate;
import io.redress.inference.model.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The FP8 (e4m3) KV cache against the bf16 one, teacher-forced: on the trained demo model the
 * greedy tokens agree on at least 95 % of positions (e4m3 keeps 3 mantissa bits, so near-ties
 * may flip), on the random fixtures on most; at the same kvCacheFraction the pool holds at
 * least 1.9x the tokens.
 */
@Tag("gpu")
class CudaFp8KvGpuTest {

  static final List<String> MODELS = Stream.concat(Fixtures.MODELS.stream(),
      Fixtures.GPTQ_MODELS.stream()).toList();

  @BeforeEach
  void gpu() {
    Gpu.assumeUsable();
  }

  /** Logits rows of every teacher-forced position (prefill, then one token at a time). */
  static List<float[]> rows(String name, KvCacheDtype dtype) {
    List<Fixtures.Case> cases = Fixtures.reference(name);
    return rows(Fixtures.modelDir(name), dtype, cases.stream().map(Fixtures.Case::promptIds)
        .toList(), cases.stream().map(Fixtures.Case::greedy).toList());
  }

  /**
   * Logits rows of each prompt's last position and of every forced token but the last; with
   * {@code forced[i] == null} the runner's own greedy tokens are generated instead (n of them,
   * written back into {@code forced}).
   */
  static List<float[]> rows(Path dir, KvCacheDtype dtype, List<int[]> prompts,
      List<int[]> forced) {
    List<float[]> rows = new ArrayList<>();
    int[] table = IntStream.range(0, 64).toArray();
    try (CudaModelRunner gpu = CudaModelRunner.load(dir,
        new CudaModelRunner.Options(0, 16, 64, 0.9, 4, 512, 1024, dtype))) {
      for (int c = 0; c < prompts.size(); c++) {
        int[] prompt = prompts.get(c);
        int[] next = forced.get(c);
        int p = prompt.length;
        SamplingParams greedy = SamplingParams.greedy(1);
        for (int j = 0; j < next.length; j++) {
          Step step = j == 0
              ? new Step(prompt, List.of(new SeqStep(p, 0, table, true, greedy, 0, 0)))
              : new Step(new int[] {next[j - 1]},
                  List.of(new SeqStep(1, p + j - 1, table, true, greedy, 0, j)));
          float[] row = gpu.stepLogits(step);
          rows.add(row);
          if (next[j] < 0) {
            next[j] = argmax(row); // generating: the runner's own greedy token
          }
        }
      }
    }
    return rows;
  }

  static int argmax(float[] row) {
    int best = 0;
    for (int v = 1; v < row.length; v++) {
      if (row[v] > row[best]) {
        best = v;
      }
    }
    return best;
  }

  /**
   * The bar on a trained model: the demo model (sample-data/demo-model) replying to 16
   * sample complaints in its chat format, 48 greedy tokens each from the bf16-KV runner, then
   * the FP8 runner teacher-forced over the same tokens.
   */
  @Test
  void onTheTrainedDemoModelGreedyAgreesOnAtLeast95PercentOfPositions() throws IOException {
    // The module directory under Maven, the project root on the GPU host.
    Path dir = Stream.of(Path.of("..", "sample-data", "demo-model"),
        Path.of("sample-data", "demo-model")).filter(Files::isDirectory).findFirst()
        .orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(dir != null
        && Files.exists(dir.resolveSibling("complaints.jsonl")),
        "sample-data/demo-model and complaints.jsonl not in this copy of the tree");
    Tokenizer tokenizer = Tokenizer.load(dir);
    ChatTemplate template = ChatTemplate.forModel(dir);
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    List<int[]> prompts = new ArrayList<>();
    List<int[]> forced = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolveSibling("complaints.jsonl")).subList(0,
        16)) {
      StringBuilder text = new StringBuilder();
      json.readTree(line).get("turns").forEach(t -> text.append(t.get("text").asText())
          .append('\n'));
      prompts.add(tokenizer.encode(template.render(
          List.of(ChatMessage.user(text.toString().strip())), true)));
      int[] none = new int[48];
      java.util.Arrays.fill(none, -1);
      forced.add(none);
    }
    List<float[]> bf16 = rows(dir, KvCacheDtype.AUTO, prompts, forced);
    List<float[]> fp8 = rows(dir, KvCacheDtype.FP8, prompts, forced);
    double share = agreement("demo-model", bf16, fp8, 0.95);
    assertThat(share).isGreaterThanOrEqualTo(0.95);
  }

  /**
   * The random fixtures are a harsher test: their attention is very peaked (the CUDA runner's
   * bf16 rounding alone moves their logits by about 3 %), so e4m3's 3 mantissa bits flip more
   * near-ties there (78-89 % agreement measured on the H100). A broken cache agrees on almost
   * none.
   */
  @ParameterizedTest
  @FieldSource("MODELS")
  void onTheRandomFixturesGreedyMostlyAgrees(String name) {
    double share = agreement(name, rows(name, KvCacheDtype.AUTO), rows(name, KvCacheDtype.FP8),
        0.70);
    assertThat(share).isGreaterThanOrEqualTo(0.70);
  }

  /** Share of rows with the same argmax; logs it with the worst relative logit difference. */
  static double agreement(String name, List<float[]> bf16, List<float[]> fp8, double bar) {
    assertThat(fp8).hasSameSizeAs(bf16);
    int agree = 0;
    double worstRel = 0;
    for (int i = 0; i < bf16.size(); i++) {
      float[] a = bf16.get(i);
      float[] b = fp8.get(i);
      agree += argmax(a) == argmax(b) ? 1 : 0;
      double maxAbs = 0;
      double maxDiff = 0;
      for (int v = 0; v < a.length; v++) {
        maxAbs = Math.max(maxAbs, Math.abs(a[v]));
        maxDiff = Math.max(maxDiff, Math.abs(a[v] - b[v]));
      }
      worstRel = Math.max(worstRel, maxDiff / maxAbs);
    }
    double share = (double) agree / bf16.size();
    System.out.printf("%s: FP8 KV greedy agrees with bf16 KV on %d of %d positions (%.1f %%,"
        + " bar %.0f %%); worst |fp8 - bf16| / max|logit| = %.2e%n", name, agree, bf16.size(),
        100 * share, 100 * bar, worstRel);
    return share;
  }

  @Test
  void thePoolHoldsAtLeast1Point9TimesTheTokens() {
    String name = "qwen2-small-untied";
    int[] blocks = new int[2];
    KvCacheDtype[] dtypes = {KvCacheDtype.AUTO, KvCacheDtype.FP8};
    for (int i = 0; i < 2; i++) {
      try (CudaModelRunner gpu = CudaModelRunner.load(Fixtures.modelDir(name),
          new CudaModelRunner.Options(0, 16, 0, 0.5, 4, 512, 1024, dtypes[i]))) {
        blocks[i] = gpu.numBlocks();
      }
    }
    System.out.printf("%s at kvCacheFraction 0.5: %d bf16 blocks, %d FP8 blocks (%.2fx)%n",
        name, blocks[0], blocks[1], (double) blocks[1] / blocks[0]);
    assertThat((double) blocks[1] / blocks[0]).isGreaterThanOrEqualTo(1.9);
  }
}
