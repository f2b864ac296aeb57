package io.redress.job.it;

import io.redress.job.JobOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;

/** The fixture model, option maps and a MiniCluster configuration shared by the ITs. */
final class JobTestSupport {

  /** The random-weight fixture model (a copy of the engine's qwen2-small-untied). */
  static final Path MODEL = Path.of("../sample-data/demo-model").toAbsolutePath();

  private JobTestSupport() {
  }

  /** 2 TaskManagers x 2 slots, as the style guide's ITCases use. */
  static MiniClusterExtension miniCluster() {
    return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
        .setNumberTaskManagers(2).setNumberSlotsPerTaskManager(2).build());
  }

  /** Options for a fast test run: short replies, CPU, frequent checkpoints. */
  static Map<String, String> baseOptions() {
    Map<String, String> m = new HashMap<>();
    m.put("model", MODEL.toString());
    m.put("device", "cpu");
    m.put("engine.max-new-tokens", "8");
    m.put("engine.num-blocks", "2048");
    m.put("checkpoint-interval", "500 ms");
    m.put("parallelism", "2");
    m.put("scoring", "false");
    // A stuck engine fails the test in a minute instead of hanging it.
    m.put("inference.timeout", "60 s");
    return m;
  }

  /** The committed held-out sample complaints the demo model was not trained on. */
  static final Path HELD_OUT = Path.of("../sample-data/complaints.jsonl").toAbsolutePath();

  /** The first {@code n} held-out complaints. */
  static java.util.List<io.redress.schemas.ComplaintEvent> heldOut(int n) throws Exception {
    java.util.List<io.redress.schemas.ComplaintEvent> events = new java.util.ArrayList<>();
    for (String line : java.nio.file.Files.readAllLines(HELD_OUT)) {
      if (events.size() == n) {
        break;
      }
      events.add(io.redress.job.validate.JsonEvents.decode(
          line.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }
    return events;
  }

  static JobOptions options(Map<String, String> m) {
    return JobOptions.from(Configuration.fromMap(m));
  }

  /** An environment on the test's MiniCluster that restarts after failures. */
  static StreamExecutionEnvironment env() {
    return env(new Configuration());
  }

  /** {@link #env()} with {@code extra} settings too (e.g. a savepoint to restore). */
  static StreamExecutionEnvironment env(Configuration extra) {
    Configuration c = new Configuration();
    c.addAll(extra);
    c.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
    c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 10);
    c.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
    return StreamExecutionEnvironment.getExecutionEnvironment(c);
  }
}
