package io.redress.job.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.job.ComplaintJob;
import io.redress.job.cli.SampleComplaints;
import io.redress.job.sink.OutputFiles;
import io.redress.job.validate.JsonEvents;
import io.redress.schemas.ComplaintEvent;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.apache.flink.test.junit5.MiniClusterExtension;

/**
 * Files mode without Kafka: JSON Lines and Avro logs in, replies.jsonl, dead-letters.jsonl and
 * the report out. Every input is accounted for exactly once; bad lines carry file and line.
 */
class FilesReplayITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK = JobTestSupport.miniCluster();

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void replaysJsonLinesAndAvroFiles(@TempDir Path dir) throws Exception {
    Path logs = Files.createDirectories(dir.resolve("logs"));
    List<ComplaintEvent> events = SampleComplaints.generate(30, 3);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      lines.add(new String(JsonEvents.encodeBytes(events.get(i)), StandardCharsets.UTF_8));
    }
    // Bad lines at known positions (1-based line numbers 4, 9, 15).
    lines.add(3, "{\"complaint_id\": \"x\"");
    lines.add(8, JsonEvents.encode(events.get(0)).put("language", "fr").toString());
    lines.add(14, JsonEvents.encode(events.get(0)).putArray("turns").toString().isEmpty()
        ? "" : emptyDialog(events.get(0)));
    Files.writeString(logs.resolve("a.jsonl"), String.join("\n", lines) + "\n");
    try (DataFileWriter<ComplaintEvent> w = new DataFileWriter<>(
        new SpecificDatumWriter<>(ComplaintEvent.class))) {
      w.create(ComplaintEvent.getClassSchema(), new File(logs.resolve("b.avro").toString()));
      for (int i = 20; i < 30; i++) {
        w.append(events.get(i));
      }
    }
    Path out = dir.resolve("out");
    Map<String, String> m = JobTestSupport.baseOptions();
    m.put("mode", "files");
    m.put("input", logs.toString());
    m.put("output", out.toString());

    long t0 = System.nanoTime();
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(m));
    env.execute("files-replay-it");
    OutputFiles.merge(out, OutputFiles.REPLIES);
    OutputFiles.merge(out, OutputFiles.DEAD_LETTERS);
    System.err.printf("files replay of 33 inputs took %.1f s%n", (System.nanoTime() - t0) / 1e9);

    List<JsonNode> replies = readLines(out.resolve("replies.jsonl"));
    List<JsonNode> dead = readLines(out.resolve("dead-letters.jsonl"));
    assertThat(replies.size() + dead.size()).isEqualTo(33);

    Set<Long> badLines = new HashSet<>();
    for (JsonNode d : dead) {
      assertThat(d.path("error_code").asText()).isNotBlank();
      assertThat(d.path("message").asText()).isNotBlank();
      String stage = d.path("stage").asText();
      if (stage.equals("decode") || stage.equals("validate")) {
        assertThat(d.path("source_file").asText()).endsWith("a.jsonl");
        badLines.add(d.path("source_line").asLong());
      }
    }
    assertThat(badLines).containsExactlyInAnyOrder(4L, 9L, 15L);
    // Without guided decoding the fixture model's output does not parse: then every good
    // input is a parse-stage dead letter; with it, a reply. Either way, exactly one outcome.
    for (JsonNode d : dead) {
      assertThat(d.path("stage").asText()).isIn("decode", "validate", "parse", "prompt");
    }

    JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
    assertThat(report.path("inputs").asLong()).isEqualTo(33);
    assertThat(report.path("replies").asLong()).isEqualTo(replies.size());
    assertThat(report.path("dead_letters").asLong()).isEqualTo(dead.size());
    assertThat(report.path("dead_letters_by_reason").path("validate/unknown_language").asLong())
        .isEqualTo(1);
    assertThat(report.path("latency_ms").path("count").asLong()).isEqualTo(30);
    assertThat(report.path("by_language")).isNotEmpty();
    assertThat(Files.readString(out.resolve("report.html"))).contains("echarts")
        .contains("Accuracy by category");
  }

  private static String emptyDialog(ComplaintEvent e) {
    var o = JsonEvents.encode(e);
    o.putArray("turns");
    return o.toString();
  }

  private static List<JsonNode> readLines(Path p) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(p)) {
      if (!l.isBlank()) {
        out.add(JSON.readTree(l));
      }
    }
    return out;
  }
}
