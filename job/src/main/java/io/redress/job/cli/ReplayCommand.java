package io.redress.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.redress.job.JobOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code replay}: a bounded run over log files or a topic range, with a report. */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = {"Replays historical complaints through the job on an embedded Flink.",
        "Files (--input): without Kafka writes replies.jsonl, dead-letters.jsonl, report.json"
            + " and report.html into --out; with --bootstrap-servers the replies and dead"
            + " letters go to the topics and the report to --out.",
        "Without --input, replays a range of the complaints topic (--from, --to)."})
final class ReplayCommand implements Callable<Integer> {

  @Option(names = "--input", split = ",", description = "JSON Lines or Avro files, or"
      + " directories of them.")
  List<String> inputs = new ArrayList<>();

  @Option(names = "--model", required = true, description = "Model directory.")
  String model;

  @Option(names = "--out", required = true, description = "Output directory.")
  String out;

  @Option(names = "--bootstrap-servers", description = "Kafka bootstrap servers.")
  String bootstrap;

  @Option(names = "--kafka-properties", description = "Kafka client properties file (TLS,"
      + " SASL); never logged.")
  String kafkaProperties;

  @Option(names = "--topic", defaultValue = "complaints", description = "Input topic for a"
      + " topic-range replay (default: ${DEFAULT-VALUE}).")
  String topic;

  @Option(names = "--input-format", defaultValue = "avro", description = "Topic record"
      + " encoding: avro or json (default: ${DEFAULT-VALUE}).")
  String inputFormat;

  @Option(names = "--from", defaultValue = "earliest", description = "Topic range start:"
      + " earliest, an ISO-8601 instant, or p:offset,... (default: ${DEFAULT-VALUE}).")
  String from;

  @Option(names = "--to", defaultValue = "latest", description = "Topic range end (exclusive):"
      + " latest, an ISO-8601 instant, or p:offset,... (default: ${DEFAULT-VALUE}).")
  String to;

  @Option(names = "--device", defaultValue = "auto", description = "auto, cuda or cpu.")
  String device;

  @Option(names = "--parallelism", defaultValue = "0", description = "0: min(2, cores).")
  int parallelism;

  @Option(names = "--max-new-tokens", defaultValue = "256")
  int maxNewTokens;

  @Option(names = "--cosine-threshold", defaultValue = "0.85")
  double threshold;

  @Option(names = "--checkpoint-interval", defaultValue = "2 s")
  String checkpointInterval;

  @Option(names = "--no-scoring", description = "Skip the bge-small scoring.")
  boolean noScoring;

  @Override
  public Integer call() throws Exception {
    Path outDir = Path.of(out);
    boolean files = !inputs.isEmpty();
    if (!files && bootstrap == null) {
      throw new IllegalArgumentException("give --input FILE_OR_DIR, or --bootstrap-servers to"
          + " replay a range of the topic");
    }
    for (String in : inputs) {
      if (!Files.exists(Path.of(in))) {
        throw new IllegalArgumentException("--input " + in + " does not exist");
      }
    }
    if (!Files.isDirectory(Path.of(model))) {
      throw new IllegalArgumentException("--model " + model + " is not a directory");
    }
    Map<String, String> m = new java.util.HashMap<>(Map.of(
        "mode", files ? "files" : "replay",
        "model", model, "output", outDir.toAbsolutePath().toString(),
        "device", device, "engine.max-new-tokens", Integer.toString(maxNewTokens),
        "cosine-threshold", Double.toString(threshold),
        "checkpoint-interval", checkpointInterval,
        "scoring", Boolean.toString(!noScoring),
        "parallelism", Integer.toString(parallelism)));
    m.put("topic.complaints", topic);
    m.put("input-format", inputFormat);
    m.put("replay.from", from);
    m.put("replay.to", to);
    if (files) {
      m.put("input", String.join(",", inputs));
    }
    if (bootstrap != null) {
      m.put("bootstrap-servers", bootstrap);
    }
    if (kafkaProperties != null) {
      m.put("kafka.properties", kafkaProperties);
    }
    JobOptions o = JobOptions.from(org.apache.flink.configuration.Configuration.fromMap(m));
    long expected = files ? countLines(inputs) : -1;
    JsonNode report = LocalRun.run(o, expected, System.err);
    printSummary(report, outDir, o);
    return 0;
  }

  static void printSummary(JsonNode report, Path outDir, JobOptions o) {
    if (report == null) {
      System.out.println("no report was written");
      return;
    }
    System.out.printf(Locale.ROOT, "inputs %d, replies %d, dead letters %d%n",
        report.path("inputs").asLong(), report.path("replies").asLong(),
        report.path("dead_letters").asLong());
    JsonNode acc = report.get("accuracy");
    System.out.println("accuracy: " + (acc == null || acc.isNull() ? "n/a (no scored replies)"
        : String.format(Locale.ROOT, "%.1f %% of %d scored", 100 * acc.asDouble(),
            report.path("scored").asLong())));
    if (!o.kafkaOut()) {
      System.out.println("replies: " + outDir.resolve("replies.jsonl").toAbsolutePath());
      System.out.println("dead letters: " + outDir.resolve("dead-letters.jsonl")
          .toAbsolutePath());
    }
    System.out.println("report: " + outDir.resolve("report.html").toAbsolutePath() + " ("
        + outDir.resolve("report.json").getFileName() + " beside it)");
  }

  /** JSON Lines lines in the inputs (progress total); -1 when any input is Avro. */
  private static long countLines(List<String> inputs) {
    long n = 0;
    try {
      for (String in : inputs) {
        List<Path> files;
        try (var s = Files.walk(Path.of(in))) {
          files = s.filter(Files::isRegularFile)
              .filter(p -> !p.getFileName().toString().startsWith(".")
                  && !p.getFileName().toString().startsWith("_")).toList();
        }
        for (Path f : files) {
          byte[] b = Files.readAllBytes(f);
          if (b.length >= 4 && b[0] == 'O' && b[1] == 'b' && b[2] == 'j' && b[3] == 1) {
            return -1;
          }
          for (int i = 0; i < b.length; i++) {
            if (b[i] == '\n' || i == b.length - 1) {
              n++;
            }
          }
        }
      }
    } catch (java.io.IOException e) {
      return -1;
    }
    return n;
  }
}
