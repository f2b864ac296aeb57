package io.redress.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.bench.MaskBench.Outcome;
import io.redress.bench.MaskBench.Result;
import io.redress.inference.guide.TokenVocabulary;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MaskBench's classification on tiny schema files, over a one-token-per-byte vocabulary. */
class MaskBenchTest {

  @TempDir Path dir;

  /** Id 0 is EOS, id b + 1 is the byte b: any text encodes, one token per byte. */
  private static MaskBench.Setup byteSetup() {
    List<byte[]> tokens = new ArrayList<>();
    tokens.add(null);
    for (int b = 0; b < 256; b++) {
      tokens.add(new byte[] {(byte) b});
    }
    TokenVocabulary vocab = TokenVocabulary.of(tokens, tokens.size(), Set.of(0));
    Function<String, int[]> encoder = text -> {
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      int[] ids = new int[bytes.length];
      for (int i = 0; i < bytes.length; i++) {
        ids[i] = (bytes[i] & 0xff) + 1;
      }
      return ids;
    };
    return new MaskBench.Setup(vocab, encoder, tokens::get, true, false);
  }

  private void write(String name, String json) throws Exception {
    Files.writeString(dir.resolve(name), json);
  }

  @Test
  void classifiesLikeMaskBench() throws Exception {
    // Properties in the data out of schema order: the benchmark writes them in schema order.
    write("Demo---passing.json", """
        {"schema": {"type": "object", "properties": {"a": {"type": "integer"},
          "b": {"type": "string"}}, "required": ["a", "b"], "additionalProperties": false},
         "tests": [{"valid": true, "data": {"b": "x", "a": 1}},
                   {"valid": false, "data": {"a": "1", "b": "x"}}]}""");
    // Invalid only by its length, or by a number below its minimum: rejected at a token.
    write("Demo---rejects.json", """
        {"schema": {"type": "object", "properties": {"s": {"type": "string", "maxLength": 3},
          "n": {"type": "integer", "minimum": 10}}, "additionalProperties": false},
         "tests": [{"valid": true, "data": {"s": "abc", "n": 10}},
                   {"valid": false, "data": {"s": "abcd"}},
                   {"valid": false, "data": {"n": 1}}]}""");
    // A top-level number below its minimum is a prefix of valid ones: only EOS refuses it.
    write("Demo---eos.json", """
        {"schema": {"type": "integer", "minimum": 10},
         "tests": [{"valid": true, "data": 12}, {"valid": false, "data": 1}]}""");
    write("Demo---unsatisfiable.json", """
        {"schema": {"type": "integer", "minimum": 5, "maximum": 1},
         "tests": [{"valid": true, "data": 3}]}""");
    // Mislabelled tests stand in for engine bugs: a "valid" instance the schema refuses, an
    // "invalid" one it accepts.
    write("Demo---validation.json", """
        {"schema": {"type": "boolean"}, "tests": [{"valid": true, "data": "yes"}]}""");
    write("Demo---invalidation.json", """
        {"schema": {"type": "boolean"}, "tests": [{"valid": true, "data": "yes"},
          {"valid": false, "data": true}]}""");
    write("JME_7.json", """
        {"schema": {"type": "string"}, "tests": []}""");

    List<Path> files = MaskBench.listFiles(dir, 1, 0);
    List<Result> results = MaskBench.run(files, byteSetup(), 2, 60,
        new PrintStream(new ByteArrayOutputStream()));
    Map<String, Result> byName = results.stream()
        .collect(Collectors.toMap(Result::name, r -> r));

    assertThat(byName.get("Demo---passing.json").outcome()).isEqualTo(Outcome.PASSING);
    assertThat(byName.get("Demo---passing.json").reordered()).isEqualTo(1);
    assertThat(byName.get("Demo---rejects.json").outcome()).isEqualTo(Outcome.PASSING);
    assertThat(byName.get("Demo---rejects.json").invalidTests()).isEqualTo(2);
    assertThat(byName.get("Demo---rejects.json").eosOnly()).isZero();
    assertThat(byName.get("Demo---eos.json").outcome()).isEqualTo(Outcome.PASSING);
    assertThat(byName.get("Demo---eos.json").eosOnly()).isEqualTo(1);
    Result unsat = byName.get("Demo---unsatisfiable.json");
    assertThat(unsat.outcome()).isEqualTo(Outcome.COMPILE_ERROR);
    assertThat(unsat.keyword()).isNotBlank();
    assertThat(byName.get("Demo---validation.json").outcome())
        .isEqualTo(Outcome.VALIDATION_ERROR);
    assertThat(byName.get("Demo---validation.json").firstError()).contains("should accept");
    assertThat(byName.get("Demo---invalidation.json").outcome())
        .isEqualTo(Outcome.INVALIDATION_ERROR);
    assertThat(byName.get("JME_7.json").outcome()).isEqualTo(Outcome.PASSING);

    Map<String, Double> rows = MaskBench.rows(results, 60);
    assertThat(rows.get("schemas")).isEqualTo(7);
    assertThat(rows.get("passing")).isEqualTo(4);
    assertThat(rows.get("compile error")).isEqualTo(1);
    assertThat(rows.get("validation error")).isEqualTo(1);
    assertThat(rows.get("invalidation error")).isEqualTo(1);
    assertThat(rows.get("tokens")).isPositive();

    String md = MaskBench.markdown(results, 60, "test");
    assertThat(md).contains("| TBM p99.9 |", "| Demo | 6 |", "| JME | 1 |",
        "Demo---invalidation.json");
    JsonNode json = new ObjectMapper().readTree(
        MaskBench.json(results, 60).toString());
    assertThat(json.path("failures")).hasSize(3);
    assertThat(json.path("compile_error_groups").get(0).path("count").asInt()).isEqualTo(1);
  }

  @Test
  void splitsAndPercentiles() {
    assertThat(MaskBench.split("Github_easy---o1.json")).isEqualTo("Github_easy");
    assertThat(MaskBench.split("BFCL_java_12.json")).isEqualTo("BFCL_java");
    long[] sorted = {1, 2, 3, 4};
    assertThat(MaskBench.maskbenchPercentile(sorted, 50)).isEqualTo(3);
    assertThat(MaskBench.maskbenchPercentile(sorted, 100)).isEqualTo(4);
    assertThat(MaskBench.maskbenchPercentile(sorted, 25)).isEqualTo(2);
  }

  @Test
  void blursCompileErrorsIntoGroups() {
    assertThat(MaskBench.blur("JSON Schema keyword 'format' at /properties/a/format: format"
        + " 'utc-millisec' is not supported. Supported formats: date, email"))
        .isEqualTo("JSON Schema keyword 'format': format 'utc-millisec' is not supported");
    assertThat(MaskBench.blur("JSON Schema keyword 'oneOf' at /oneOf: branches 0 and 12 may"
        + " both match 'a very long value that names nothing'"))
        .isEqualTo("JSON Schema keyword 'oneOf': branches N and N may both match '…'");
  }

  @Test
  void placesTheRefusedByte() {
    assertThat(MaskBench.where("{\"a\":1,\"b")).isEqualTo("(in a key)");
    assertThat(MaskBench.where("{\"a\":\"x\\\"y")).isEqualTo("(in a string value)");
    assertThat(MaskBench.where("{\"a\":[1,")).isEqualTo("(at a value)");
    assertThat(MaskBench.where("{\"a\":1,")).isEqualTo("(at a key)");
    assertThat(MaskBench.where("{\"a\":12")).isEqualTo("(after a value)");
    assertThat(MaskBench.where("")).isEqualTo("(at a value)");
    assertThat(MaskBench.where("{\"a\":\"x\"")).isEqualTo("(after a value)");
    assertThat(MaskBench.where("{\"a\"")).isEqualTo("(after a key)");
  }
}
