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

  /**
   * 10,000 bad records (random bytes, corrupted and truncated Avro, JSON text, dialogs too long
   * for the model, impossible timestamps) around 100 good held-out complaints: each bad one is a
   * dead letter with its reason and offset, each good one a reply, and the job runs to the end.
   */
  @Test
  void fuzzedRecordsGoToTheDeadLettersWithReasonAndOffset(@TempDir Path dir) throws Exception {
    String[] t = topics();
    Random rnd = new Random(11);
    List<ComplaintEvent> good = JobTestSupport.heldOut(100);
    byte[] template = EventDecoder.toAvro(good.get(0));
    List<byte[]> values = new ArrayList<>();
    int goodAt = 0;
    int tooLong = 0;
    for (int i = 0; i < 10_100; i++) {
      if (i % 101 == 50 && goodAt < good.size()) {
        values.add(EventDecoder.toAvro(good.get(goodAt++)));
        continue;
      }
      byte[] b;
      switch (i % 5) {
        case 0 -> {
          b = new byte[rnd.nextInt(200)];
          rnd.nextBytes(b);
        }
        case 1 -> {
          b = template.clone();
          b[rnd.nextInt(b.length)] ^= (byte) (1 + rnd.nextInt(255));
          b = java.util.Arrays.copyOf(b, b.length - 1 - rnd.nextInt(5)); // truncated too
        }
        case 2 -> b = ("{\"complaint_id\": " + i + "}").getBytes();
        case 3 -> {
          // A dialog longer than the model's context: rejected when the prompt is built.
          ComplaintEvent huge = ComplaintEvent.newBuilder(good.get(i % good.size()))
              .setComplaintId("huge-" + i).build();
          List<io.redress.schemas.Turn> turns = new ArrayList<>(huge.getTurns());
          for (int k = 0; k < 60; k++) {
            turns.add(io.redress.schemas.Turn.newBuilder(turns.get(0))
                .setText("still waiting for my refund, order 88-4412-XY, ".repeat(8)).build());
          }
          huge.setTurns(turns);
          b = EventDecoder.toAvro(huge);
          tooLong++;
        }
        default -> b = EventDecoder.toAvro(ComplaintEvent.newBuilder(good.get(i % good.size()))
            .setComplaintId("clock-" + i)
            .setCreatedAt(java.time.Instant.ofEpochMilli(rnd.nextBoolean() ? 0 : Long.MAX_VALUE
                / 2)).build());
      }
      values.add(b);
    }
    int goodCount = goodAt;
    int total = values.size();
    KafkaTopics.produce(kafka.bootstrapServers(), t[0], values);
    Map<String, String> m = kafkaOptions(t, dir);
    m.put("engine.max-new-tokens", "256");
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(m));
    env.execute("fuzz");
    KafkaTopics.Output out = KafkaTopics.readCommitted(kafka.bootstrapServers(), t[1], t[2],
        total);
    assertThat(out.total()).isEqualTo(total);
    assertEachOffsetOnce(out, total);
    assertThat(out.deadLetters()).hasSize(total - goodCount);
    assertThat(out.deadLetters()).allSatisfy(d -> {
      assertThat(d.getStage()).isIn(Stage.decode, Stage.validate, Stage.prompt);
      assertThat(d.getErrorCode()).isNotBlank();
      assertThat(d.getMessage()).isNotBlank();
      assertThat(d.getSourceTopic()).isEqualTo(t[0]);
      assertThat(d.getSourceOffset()).isNotNull();
    });
    assertThat(out.deadLetters().stream().filter(d -> d.getStage() == Stage.prompt).count())
        .isEqualTo(tooLong);
    assertThat(out.deadLetters().stream()
        .filter(d -> d.getErrorCode().equals("bad_timestamp")).count()).isPositive();
    // Each good one is answered with a schema-valid reply.
    assertThat(out.replies()).hasSize(goodCount);
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
