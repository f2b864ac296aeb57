package io.redress.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.job.ComplaintJob;
import io.redress.job.JobOptions;
import io.redress.job.sink.OutputFiles;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs a bounded job on an embedded Flink MiniCluster, printing progress from the report
 * operator's progress.json, then merges the files output.
 */
final class LocalRun {

  private static final ObjectMapper JSON = new ObjectMapper();

  private LocalRun() {
  }

  /** Runs to completion; returns the report (null when the run wrote none). */
  static JsonNode run(JobOptions o, long expectedInputs, PrintStream progress) throws Exception {
    Configuration conf = new Configuration();
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
    conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY,
        java.time.Duration.ofSeconds(1));
    int parallelism = o.parallelism() > 0 ? o.parallelism()
        : Math.min(2, Runtime.getRuntime().availableProcessors());
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
    ComplaintJob.buildPipeline(env, o);
    Path out = Path.of(o.outputDir());
    Files.createDirectories(out);
    Files.deleteIfExists(out.resolve("progress.json"));
    long start = System.nanoTime();
    JobClient job = env.executeAsync("redress " + o.mode().name().toLowerCase(Locale.ROOT));
    var result = job.getJobExecutionResult();
    String last = "";
    while (!result.isDone()) {
      Thread.sleep(1000);
      String line = progressLine(out.resolve("progress.json"), expectedInputs, start);
      if (line != null && !line.equals(last)) {
        progress.println(line);
        last = line;
      }
    }
    result.get(); // rethrows a failed job
    String line = progressLine(out.resolve("progress.json"), expectedInputs, start);
    if (line != null && !line.equals(last)) {
      progress.println(line);
    }
    if (!o.kafkaOut()) {
      OutputFiles.merge(out, OutputFiles.REPLIES);
      OutputFiles.merge(out, OutputFiles.DEAD_LETTERS);
      OutputFiles.removeParts(out);
    }
    Path report = out.resolve("report.json");
    return Files.exists(report) ? JSON.readTree(report.toFile()) : null;
  }

  private static String progressLine(Path file, long expected, long startNanos) {
    try {
      if (!Files.exists(file)) {
        return null;
      }
      JsonNode p = JSON.readTree(file.toFile());
      long done = p.path("inputs").asLong();
      double secs = (System.nanoTime() - startNanos) / 1e9;
      return String.format(Locale.ROOT, "progress: %d%s inputs, %d replies, %d dead letters"
              + " (%.0f s)", done, expected > 0 ? "/" + expected : "",
          p.path("replies").asLong(), p.path("dead_letters").asLong(), secs);
    } catch (java.io.IOException e) {
      return null; // being replaced; next poll
    }
  }
}
