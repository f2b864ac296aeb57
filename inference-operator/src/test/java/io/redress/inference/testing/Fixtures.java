package io.redress.inference.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;

/**
 * The HF reference fixtures made by {@code tools/make_fixtures.py}: random-weight Qwen2 model
 * directories and, per model, the prompts, greedy continuations and logits HF computed.
 */
public final class Fixtures {

  /** The fixture models. */
  public static final List<String> MODELS = List.of("qwen2-tiny-tied", "qwen2-small-untied");

  /**
   * GPTQ int4 fixtures (tools/make_gptq_fixture.py): qwen2-small-untied's shape with every
   * decoder linear layer quantized, act-order, group 32, asymmetric; and as Qwen's own
   * GPTQ-Int4 checkpoints are, group 128, no act-order, every zero point 8 (-sym: the CUDA
   * runner's one-token chain and the kernels reading scales without zero points); references
   * from the dense weights an independent torch dequantization gives.
   */
  public static final List<String> GPTQ_MODELS =
      List.of("qwen2-small-gptq", "qwen2-small-gptq-sym");

  private static final ObjectMapper JSON = new ObjectMapper();

  private Fixtures() {}

  /** A test resource as a path; the test is skipped (not failed) when it is absent. */
  public static Path resource(String name) {
    URL url = Fixtures.class.getResource("/" + name);
    Assumptions.assumeTrue(url != null,
        name + " is made by tools/make_fixtures.py on the GPU machine");
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The directory of a fixture model. */
  public static Path modelDir(String model) {
    return resource("fixtures/" + model + "/config.json").getParent();
  }

  /** One prompt of a fixture model with what HF computed for it. */
  public record Case(String prompt, int[] promptIds, int[] greedy, double minMargin,
      List<LogitsRow> logits) {}

  /** HF's logits at one position of the teacher-forced prompt + greedy continuation. */
  public record LogitsRow(int position, double maxAbs, int[] ids, double[] logits) {}

  /** The HF reference cases of a fixture model. */
  public static List<Case> reference(String model) {
    Path file = resource("fixtures/" + model + ".reference.json.gz");
    try (InputStream in = new GZIPInputStream(java.nio.file.Files.newInputStream(file))) {
      JsonNode root = JSON.readTree(in);
      List<Case> cases = new ArrayList<>();
      for (JsonNode c : root.get("cases")) {
        List<LogitsRow> rows = new ArrayList<>();
        for (JsonNode r : c.get("logits")) {
          rows.add(new LogitsRow(r.get("position").asInt(), r.get("max_abs").asDouble(),
              ints(r.get("ids")), doubles(r.get("logits"))));
        }
        cases.add(new Case(c.get("prompt").asText(), ints(c.get("prompt_ids")),
            ints(c.get("greedy")), c.get("min_margin").asDouble(), rows));
      }
      return cases;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  private static double[] doubles(JsonNode array) {
    double[] out = new double[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asDouble();
    }
    return out;
  }
}
