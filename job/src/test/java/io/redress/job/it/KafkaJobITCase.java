package io.redress.job.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.job.ComplaintJob;
import io.redress.job.cli.EmbeddedKafka;
import io.redress.job.cli.SampleComplaints;
import io.redress.job.validate.EventDecoder;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import io.redress.schemas.Stage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job against a real in-process KRaft broker (Kafka's test kit) on a MiniCluster:
 * exactly-once output read with read_committed, fuzzed input to the dead letters, TaskManager
 * failures during a replay.
 */
class KafkaJobITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK = JobTestSupport.miniCluster();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() throws Exception {
    if (kafka != null) {
      kafka.close();
    }
  }

  /** Fresh topics for one test; returns {complaints, replies, dead letters}. */
  private static String[] topics() throws Exception {
    String id = UUID.randomUUID().toString().substring(0, 8);
    String[] t = {"complaints-" + id, "replies-" + id, "dead-letters-" + id};
    kafka.createTopics(2, t);
    return t;
  }

  private static Map<String, String> kafkaOptions(String[] t, Path out) {
    Map<String, String> m = JobTestSupport.baseOptions();
    m.put("mode", "replay");
    m.put("bootstrap-servers", kafka.bootstrapServers());
    m.put("topic.complaints", t[0]);
    m.put("topic.replies", t[1]);
    m.put("topic.dead-letters", t[2]);
    m.put("transactional-id-prefix", "it-" + t[0]);
    m.put("output", out.toString());
    return m;
  }

  private static List<byte[]> avro(List<ComplaintEvent> events) {
    return events.stream().map(EventDecoder::toAvro).toList();
  }

  /** Every input offset appears exactly once across replies and dead letters. */
  private static void assertEachOffsetOnce(KafkaTopics.Output out, int inputs) {
    Map<String, Integer> seen = new HashMap<>();
    for (ComplaintReply r : out.replies()) {
      seen.merge(r.getSourcePartition() + "@" + r.getSourceOffset(), 1, Integer::sum);
    }
    for (DeadLetter d : out.deadLetters()) {
      seen.merge(d.getSourcePartition() + "@" + d.getSourceOffset(), 1, Integer::sum);
    }
    assertThat(seen).hasSize(inputs);
    assertThat(seen.values()).allMatch(n -> n == 1);
  }

  @Test
  void fiveHundredEventsGiveExactlyFiveHundredOutcomes(@TempDir Path dir) throws Exception {
    String[] t = topics();
    KafkaTopics.produce(kafka.bootstrapServers(), t[0], avro(SampleComplaints.generate(500, 1)));
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(kafkaOptions(t, dir)));
    env.execute("five-hundred");
    KafkaTopics.Output out = KafkaTopics.readCommitted(kafka.bootstrapServers(), t[1], t[2], 500);
    assertThat(out.total()).isEqualTo(500);
    assertEachOffsetOnce(out, 500);
    // Without guided decoding, outputs of the random model fail parsing; none may fail earlier.
    assertThat(out.deadLetters()).allMatch(d -> d.getStage() == Stage.parse);
    JsonNode report = JSON.readTree(dir.resolve("report.json").toFile());
    assertThat(report.path("inputs").asLong()).isEqualTo(500);
  }

  /** The trained demo model, guided, on 500 held-out complaints: every reply schema-valid. */
  @Test
  void fiveHundredEventsGiveFiveHundredSchemaValidReplies(@TempDir Path dir) throws Exception {
    String[] t = topics();
    KafkaTopics.produce(kafka.bootstrapServers(), t[0], avro(JobTestSupport.heldOut(500)));
    Map<String, String> m = kafkaOptions(t, dir);
    m.put("engine.max-new-tokens", "256");
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(m));
    env.execute("five-hundred-valid");
    KafkaTopics.Output out = KafkaTopics.readCommitted(kafka.bootstrapServers(), t[1], t[2], 500);
    assertThat(out.deadLetters()).isEmpty();
    assertThat(out.replies()).hasSize(500);
    assertThat(out.replies().stream().map(ComplaintReply::getComplaintId).distinct().count())
        .isEqualTo(500);
  }

  @Test
  void fuzzedRecordsGoToTheDeadLettersWithReasonAndOffset(@TempDir Path dir) throws Exception {
    String[] t = topics();
    Random rnd = new Random(11);
    List<ComplaintEvent> good = SampleComplaints.generate(100, 5);
    byte[] template = EventDecoder.toAvro(good.get(0));
    List<byte[]> values = new ArrayList<>();
    int goodAt = 0;
    for (int i = 0; i < 10_100; i++) {
      if (i % 101 == 50 && goodAt < good.size()) {
        values.add(EventDecoder.toAvro(good.get(goodAt++)));
        continue;
      }
      byte[] b;
      switch (i % 3) {
        case 0 -> {
          b = new byte[rnd.nextInt(200)];
          rnd.nextBytes(b);
        }
        case 1 -> {
          b = template.clone();
          b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
          b = java.util.Arrays.copyOf(b, b.length - 1 - rnd.nextInt(5)); // truncated too
        }
        default -> b = ("{\"complaint_id\": " + i + "}").getBytes();
      }
      values.add(b);
    }
    int goodCount = goodAt;
    int total = values.size();
    KafkaTopics.produce(kafka.bootstrapServers(), t[0], values);
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(kafkaOptions(t, dir)));
    env.execute("fuzz");
    KafkaTopics.Output out = KafkaTopics.readCommitted(kafka.bootstrapServers(), t[1], t[2],
        total);
    assertThat(out.total()).isEqualTo(total);
    assertEachOffsetOnce(out, total);
    long early = out.deadLetters().stream().filter(d -> d.getStage() == Stage.decode
        || d.getStage() == Stage.validate).count();
    assertThat(early).isEqualTo(total - goodCount);
    assertThat(out.deadLetters()).allSatisfy(d -> {
      assertThat(d.getErrorCode()).isNotBlank();
      assertThat(d.getSourceTopic()).isEqualTo(t[0]);
      assertThat(d.getSourceOffset()).isNotNull();
    });
    // Each good one is answered: a reply, or (until guided decoding) a parse-stage letter.
    long answered = out.replies().size() + out.deadLetters().stream()
        .filter(d -> d.getStage() == Stage.parse).count();
    assertThat(answered).isEqualTo(goodCount);
  }

  @Test
  void threeTaskManagerFailuresLoseAndDuplicateNothing(@TempDir Path dir,
      @InjectMiniCluster MiniCluster cluster) throws Exception {
    String[] t = topics();
    int n = 240;
    KafkaTopics.produce(kafka.bootstrapServers(), t[0], avro(SampleComplaints.generate(n, 3)));
    Map<String, String> m = kafkaOptions(t, dir);
    m.put("engine.max-new-tokens", "48");
    // Small waves of requests, so outcomes (and progress) arrive steadily, not in one burst.
    m.put("inference.capacity", "8");
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(m));
    JobClient job = env.executeAsync("failures");
    int killed = 0;
    int tms = 2;
    while (killed < 3 && !job.getJobExecutionResult().isDone()) {
      Thread.sleep(200);
      long progress = progress(dir);
      if (progress >= (killed + 1) * n / 10) {
        cluster.startTaskManager();
        tms++;
        cluster.terminateTaskManager(killed).get();
        killed++;
      }
    }
    job.getJobExecutionResult().get();
    assertThat(killed).as("failures injected before the job finished").isEqualTo(3);
    KafkaTopics.Output out = KafkaTopics.readCommitted(kafka.bootstrapServers(), t[1], t[2], n);
    assertThat(out.total()).isEqualTo(n);
    assertEachOffsetOnce(out, n);
    JsonNode report = JSON.readTree(dir.resolve("report.json").toFile());
    assertThat(report.path("inputs").asLong()).isEqualTo(n);
  }

  private static long progress(Path dir) {
    try {
      Path p = dir.resolve("progress.json");
      return Files.exists(p) ? JSON.readTree(p.toFile()).path("inputs").asLong() : 0;
    } catch (java.io.IOException e) {
      return 0;
    }
  }
}
