package io.redress.job.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.job.ComplaintJob;
import io.redress.job.cli.EmbeddedKafka;
import io.redress.job.cli.SampleComplaints;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mode=replay} over a range of the complaints topic, by record timestamps and by
 * per-partition offsets ({@code replay.from} / {@code replay.to}, the end exclusive). One topic
 * of 40 records over two partitions, with known timestamps (one second apart) and every fifth
 * record malformed; each replay must answer exactly the records of its range, once each, and
 * its report.json must count exactly them.
 *
 * <p>Record k (0..39) is on partition k % 2 at offset k / 2 with timestamp BASE + k seconds.
 */
@Timeout(120)
class ReplayRangeITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK = JobTestSupport.miniCluster();

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int RECORDS = 40;
  private static final int BAD_EVERY = 5;

  private static EmbeddedKafka kafka;
  private static String complaints;
  /** Record timestamps are BASE + k s: recent, so the broker's retention keeps them. */
  private static Instant base;
  private static List<KafkaTopics.Produced> produced;

  @BeforeAll
  static void produceTopic() throws Exception {
    kafka = EmbeddedKafka.start();
    complaints = "complaints-replay-" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopics(2, complaints);
    base = Instant.now().truncatedTo(ChronoUnit.MINUTES).minus(Duration.ofHours(1));
    List<byte[]> values = Outcomes.values(SampleComplaints.generate(RECORDS, 31), BAD_EVERY, 31);
    List<KafkaTopics.Input> in = new ArrayList<>();
    for (int k = 0; k < RECORDS; k++) {
      in.add(new KafkaTopics.Input(k % 2, base.toEpochMilli() + 1000L * k, values.get(k)));
    }
    produced = KafkaTopics.produceAt(kafka.bootstrapServers(), complaints, in);
    for (int k = 0; k < RECORDS; k++) {
      // The layout the expectations below rely on.
      assertThat(produced.get(k).partition()).isEqualTo(k % 2);
      assertThat(produced.get(k).offset()).isEqualTo(k / 2);
      assertThat(produced.get(k).timestamp()).isEqualTo(base.toEpochMilli() + 1000L * k);
    }
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  void timestampRangeReplaysTheRecordsFromInclusiveToExclusive(@TempDir Path dir)
      throws Exception {
    // [BASE+9 s, BASE+30 s): k = 9..29, both partitions; k = 9 sits exactly on the start (kept)
    // and k = 30 exactly on the end (left out).
    replayAndCheck(dir, iso(9), iso(30), k -> k >= 9 && k < 30);
  }

  @Test
  void offsetRangeReplaysTheRecordsFromInclusiveToExclusive(@TempDir Path dir)
      throws Exception {
    // Partition 0 offsets 3..11 (k = 6, 8, .., 22), partition 1 offsets 7..8 (k = 15, 17).
    replayAndCheck(dir, "0:3,1:7", "0:12,1:9",
        k -> k % 2 == 0 ? k / 2 >= 3 && k / 2 < 12 : k / 2 >= 7 && k / 2 < 9);
  }

  @Test
  void timestampStartAndOffsetEndCombine(@TempDir Path dir) throws Exception {
    // From BASE+20 s (partition 0 offset 10, partition 1 offset 10) to offsets 0:15 and 1:12.
    replayAndCheck(dir, iso(20), "0:15,1:12",
        k -> k >= 20 && (k % 2 == 0 ? k / 2 < 15 : k / 2 < 12));
  }

  @Test
  void offsetsBeyondThePartitionsEndStopAtTheEnd(@TempDir Path dir) throws Exception {
    // Partition 0 from offset 18 to "1000" (its end is 20): offsets 18, 19. Partition 1 from
    // offset 25, past its end: nothing (not a reset to its beginning). The run must finish.
    replayAndCheck(dir, "0:18,1:25", "0:1000,1:1000", k -> k % 2 == 0 && k / 2 >= 18);
  }

  @Test
  void partitionsNotListedRunFromTheirBeginningOrToTheirEnd(@TempDir Path dir)
      throws Exception {
    // Only partition 1 bounded: partition 0 is replayed whole (earliest .. latest).
    replayAndCheck(dir, "1:16", "1:18", k -> k % 2 == 0 || (k / 2 >= 16 && k / 2 < 18));
  }

  private static String iso(int seconds) {
    return base.plusSeconds(seconds).toString();
  }

  /**
   * Replays [from, to) into fresh output topics and checks that the replies and dead letters
   * are exactly one per record k with {@code selected}, and that report.json counts them.
   */
  private static void replayAndCheck(Path dir, String from, String to,
      Predicate<Integer> selected) throws Exception {
    List<KafkaTopics.Produced> expected = new ArrayList<>();
    int malformed = 0;
    for (int k = 0; k < RECORDS; k++) {
      if (selected.test(k)) {
        expected.add(produced.get(k));
        malformed += Outcomes.malformed(k, BAD_EVERY) ? 1 : 0;
      }
    }
    assertThat(expected).as("a range that tells right from wrong").isNotEmpty()
        .hasSizeLessThan(RECORDS);

    String id = UUID.randomUUID().toString().substring(0, 8);
    String replies = "replies-" + id;
    String dlq = "dead-letters-" + id;
    kafka.createTopics(2, replies, dlq);
    Path out = dir.resolve("out");
    Map<String, String> m = JobTestSupport.baseOptions();
    m.put("mode", "replay");
    m.put("bootstrap-servers", kafka.bootstrapServers());
    m.put("topic.complaints", complaints);
    m.put("topic.replies", replies);
    m.put("topic.dead-letters", dlq);
    m.put("transactional-id-prefix", "it-" + id);
    m.put("replay.from", from);
    m.put("replay.to", to);
    m.put("output", out.toString());
    StreamExecutionEnvironment env = JobTestSupport.env();
    ComplaintJob.buildPipeline(env, JobTestSupport.options(m));
    env.execute("replay " + from + " .. " + to);

    KafkaTopics.Output output = KafkaTopics.readAllCommitted(kafka.bootstrapServers(), replies,
        dlq);
    Outcomes.assertEachExactlyOnce(output, complaints, expected);
    assertThat(Outcomes.answeredIds(output)).containsExactlyElementsOf(
        Outcomes.complaintIds(expected));

    JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
    assertThat(report.path("inputs").asLong()).isEqualTo(expected.size());
    assertThat(report.path("replies").asLong()).isEqualTo(output.replies().size());
    assertThat(report.path("dead_letters").asLong()).isEqualTo(output.deadLetters().size());
    long early = 0;
    for (Map.Entry<String, JsonNode> e : report.path("dead_letters_by_reason").properties()) {
      if (e.getKey().startsWith("decode/") || e.getKey().startsWith("validate/")) {
        early += e.getValue().asLong();
      }
    }
    assertThat(early).as("malformed records in the range").isEqualTo(malformed);
  }
}
