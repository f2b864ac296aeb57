package io.redress.job.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.redress.job.ComplaintJob;
import io.redress.job.cli.EmbeddedKafka;
import io.redress.job.cli.SampleComplaints;
import io.redress.schemas.ComplaintEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.checkpoint.RestoredCheckpointStats;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
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
 * {@code mode=stream}: the unbounded job on a live topic (in-process KRaft broker, MiniCluster).
 * Records are produced while the job runs (and while it is down); outcomes are read with
 * read_committed. A stopped job resumes where it left off, so over its runs every input has
 * exactly one outcome:
 *
 * <ul>
 *   <li>stop-with-savepoint once idle, then a restart from the savepoint (the source's split
 *       offsets and the sinks' pending transactions are in it);
 *   <li>stop-with-savepoint with inference requests in flight (they are in the savepoint too),
 *       then a restart from it;
 *   <li>cancel once idle, then a fresh start with the same group id, resuming from the offsets
 *       the source committed to Kafka on checkpoints.
 * </ul>
 *
 * <p>Why the cancel case waits until the group's committed offsets reach the end of the input
 * before cancelling: committed offsets are only a progress marker. On a checkpoint's completion
 * the sinks commit their transactions and the source commits its offsets, independently and
 * asynchronously; a cancel between the two either loses that checkpoint's outputs (offsets
 * committed, transactions not, and a fresh job aborts them) or repeats its inputs (the other
 * way round). Exactly once across a cancel mid-flight needs a restore from a retained
 * checkpoint or savepoint, which the savepoint cases cover.
 */
class StreamModeITCase {

  @RegisterExtension
  static final MiniClusterExtension FLINK = JobTestSupport.miniCluster();

  private static final Duration TIMEOUT = Duration.ofMinutes(2);
  /** Every 5th input is malformed (a decode/validate dead letter). */
  private static final int BAD_EVERY = 5;

  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private record Setup(String complaints, String replies, String deadLetters, String group,
      Map<String, String> options) {
  }

  private static Setup setup() throws Exception {
    String id = UUID.randomUUID().toString().substring(0, 8);
    Setup s = new Setup("complaints-" + id, "replies-" + id, "dead-letters-" + id,
        "it-stream-" + id, JobTestSupport.baseOptions());
    kafka.createTopics(2, s.complaints, s.replies, s.deadLetters);
    s.options.put("mode", "stream");
    s.options.put("bootstrap-servers", kafka.bootstrapServers());
    s.options.put("topic.complaints", s.complaints);
    s.options.put("topic.replies", s.replies);
    s.options.put("topic.dead-letters", s.deadLetters);
    s.options.put("group-id", s.group);
    s.options.put("transactional-id-prefix", "it-" + id);
    return s;
  }

  /** Inputs [from, to) of {@code all} produced round-robin over the two partitions, now. */
  private static List<KafkaTopics.Produced> produce(Setup s, List<byte[]> all, int from,
      int to) {
    List<KafkaTopics.Input> in = new ArrayList<>();
    for (int i = from; i < to; i++) {
      in.add(new KafkaTopics.Input(i % 2, System.currentTimeMillis(), all.get(i)));
    }
    return KafkaTopics.produceAt(kafka.bootstrapServers(), s.complaints, in);
  }

  private static JobClient start(Setup s, Configuration extra, String name,
      MiniCluster cluster) throws Exception {
    StreamExecutionEnvironment env = JobTestSupport.env(extra);
    ComplaintJob.buildPipeline(env, JobTestSupport.options(s.options));
    JobClient job = env.executeAsync(name);
    awaitAllTasksRunning(cluster, job.getJobID());
    return job;
  }

  /** Starts the job from {@code savepoint}, checking that it was restored from it. */
  private static JobClient restore(Setup s, String savepoint, String name, MiniCluster cluster)
      throws Exception {
    Configuration restore = new Configuration();
    restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
    JobClient job = start(s, restore, name, cluster);
    RestoredCheckpointStats restored = cluster.getExecutionGraph(job.getJobID()).get()
        .getCheckpointStatsSnapshot().getLatestRestoredCheckpoint();
    assertThat(restored).as("%s restored a savepoint", name).isNotNull();
    assertThat(restored.getExternalPath()).isEqualTo(savepoint);
    return job;
  }

  @Test
  void stopWithSavepointAndRestoreProcessesOnlyTheNewInput(@TempDir Path dir,
      @InjectMiniCluster MiniCluster cluster) throws Exception {
    Setup s = setup();
    int n = 30;
    int m = 20;
    List<ComplaintEvent> events = SampleComplaints.generate(n + m, 21);
    List<byte[]> values = Outcomes.values(events, BAD_EVERY, 21);

    JobClient first = start(s, new Configuration(), "stream-1", cluster);
    List<KafkaTopics.Produced> firstBatch = produce(s, values, 0, n);
    KafkaTopics.awaitCommitted(kafka.bootstrapServers(), s.replies, s.deadLetters, n, TIMEOUT);
    String savepoint = stop(first, dir);

    KafkaTopics.Output afterFirst = KafkaTopics.readAllCommitted(kafka.bootstrapServers(),
        s.replies, s.deadLetters);
    Outcomes.assertEachExactlyOnce(afterFirst, s.complaints, firstBatch);

    // More input while the job is down; the restored job must take it from the savepoint's
    // offsets, not from the start of the topic and not from its end.
    List<KafkaTopics.Produced> secondBatch = produce(s, values, n, n + m);
    JobClient second = restore(s, savepoint, "stream-2", cluster);
    KafkaTopics.awaitCommitted(kafka.bootstrapServers(), s.replies, s.deadLetters, n + m,
        TIMEOUT);
    stop(second, dir);

    KafkaTopics.Output all = assertBothRunsExactlyOnce(s, afterFirst, firstBatch, secondBatch);
    List<KafkaTopics.Produced> both = new ArrayList<>(firstBatch);
    both.addAll(secondBatch);
    assertThat(Outcomes.answeredIds(all)).containsExactlyElementsOf(
        Outcomes.complaintIds(both));
  }

  /**
   * Stop-with-savepoint while inference requests are in flight: the savepoint holds them (the
   * async operator's state), the job must end FINISHED, and the restored job answers them, so
   * each input still has exactly one outcome.
   */
  @Test
  void stopWithSavepointWhileRequestsAreInFlightLosesAndRepeatsNothing(@TempDir Path dir,
      @InjectMiniCluster MiniCluster cluster) throws Exception {
    Setup s = setup();
    int n = 20;
    // Longer replies, so that most requests are still running when the savepoint is taken.
    s.options.put("engine.max-new-tokens", "48");
    List<byte[]> values = Outcomes.values(SampleComplaints.generate(n, 23), BAD_EVERY, 23);

    JobClient first = start(s, new Configuration(), "stream-inflight-1", cluster);
    List<KafkaTopics.Produced> batch = produce(s, values, 0, n);
    KafkaTopics.awaitCommitted(kafka.bootstrapServers(), s.replies, s.deadLetters, 3, TIMEOUT);
    String savepoint = stop(first, dir);
    int atStop = KafkaTopics.readAllCommitted(kafka.bootstrapServers(), s.replies,
        s.deadLetters).total();
    System.err.printf("stopped with %d of %d outcomes committed%n", atStop, n);

    JobClient second = restore(s, savepoint, "stream-inflight-2", cluster);
    KafkaTopics.awaitCommitted(kafka.bootstrapServers(), s.replies, s.deadLetters, n, TIMEOUT);
    stop(second, dir);
    Outcomes.assertEachExactlyOnce(KafkaTopics.readAllCommitted(kafka.bootstrapServers(),
        s.replies, s.deadLetters), s.complaints, batch);
  }

  @Test
  void cancelledJobResumesFromCommittedOffsetsOfItsGroup(@TempDir Path dir,
      @InjectMiniCluster MiniCluster cluster) throws Exception {
    Setup s = setup();
    int n = 30;
    int m = 20;
    List<ComplaintEvent> events = SampleComplaints.generate(n + m, 22);
    List<byte[]> values = Outcomes.values(events, BAD_EVERY, 22);

    // A third of the first batch is there before the job starts: without committed offsets the
    // group starts from the earliest offsets, not the latest.
    List<KafkaTopics.Produced> firstBatch = new ArrayList<>(produce(s, values, 0, n / 3));
    JobClient first = start(s, new Configuration(), "stream-cancel-1", cluster);
    firstBatch.addAll(produce(s, values, n / 3, n));
    KafkaTopics.awaitCommitted(kafka.bootstrapServers(), s.replies, s.deadLetters, n, TIMEOUT);
    // Offsets are committed on checkpoints (the source's fetcher sends the commit after its
    // current poll, so this can take up to its 10 s poll timeout on an idle topic).
    awaitGroupAtEnd(s);
    cancel(first);

    KafkaTopics.Output afterFirst = KafkaTopics.readAllCommitted(kafka.bootstrapServers(),
        s.replies, s.deadLetters);
    Outcomes.assertEachExactlyOnce(afterFirst, s.complaints, firstBatch);

    List<KafkaTopics.Produced> secondBatch = produce(s, values, n, n + m);
    // A fresh job (no savepoint) of the same group: it starts from the committed offsets.
    JobClient second = start(s, new Configuration(), "stream-cancel-2", cluster);
    KafkaTopics.awaitCommitted(kafka.bootstrapServers(), s.replies, s.deadLetters, n + m,
        TIMEOUT);
    stop(second, dir);

    assertBothRunsExactlyOnce(s, afterFirst, firstBatch, secondBatch);
  }

  /**
   * After a second run: every input of both batches has exactly one committed outcome, and
   * what the second run added beyond {@code afterFirst} is exactly one per input of its batch.
   * Returns the whole committed output.
   */
  private static KafkaTopics.Output assertBothRunsExactlyOnce(Setup s,
      KafkaTopics.Output afterFirst, List<KafkaTopics.Produced> firstBatch,
      List<KafkaTopics.Produced> secondBatch) throws Exception {
    KafkaTopics.Output all = KafkaTopics.readAllCommitted(kafka.bootstrapServers(), s.replies,
        s.deadLetters);
    List<KafkaTopics.Produced> both = new ArrayList<>(firstBatch);
    both.addAll(secondBatch);
    Outcomes.assertEachExactlyOnce(all, s.complaints, both);
    assertNewOutcomesAreExactly(afterFirst, all, secondBatch);
    return all;
  }

  /** What {@code after} holds beyond {@code before} is one outcome per input of {@code batch}. */
  private static void assertNewOutcomesAreExactly(KafkaTopics.Output before,
      KafkaTopics.Output after, List<KafkaTopics.Produced> batch) {
    Set<String> added = new HashSet<>(after.countsBySource().keySet());
    added.removeAll(before.countsBySource().keySet());
    assertThat(added).containsExactlyInAnyOrderElementsOf(
        batch.stream().map(KafkaTopics.Produced::source).toList());
    assertThat(after.total() - before.total()).isEqualTo(batch.size());
  }

  /**
   * Waits until the job's group has committed, on every input partition, the partition's end
   * offset: a checkpoint covering all input has completed and the source committed it.
   */
  private static void awaitGroupAtEnd(Setup s) throws InterruptedException {
    Map<Integer, Long> end = KafkaTopics.endOffsets(kafka.bootstrapServers(), s.complaints);
    long deadline = System.currentTimeMillis() + TIMEOUT.toMillis();
    Map<Integer, Long> committed;
    while (!(committed = KafkaTopics.committedOffsets(kafka.bootstrapServers(), s.group,
        s.complaints)).equals(end)) {
      assertThat(System.currentTimeMillis()).as("group %s committed %s, end offsets %s",
          s.group, committed, end).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  /** Stops the job with a savepoint (its last transactions committed); returns the path. */
  private static String stop(JobClient job, Path dir) throws Exception {
    String savepoint = job.stopWithSavepoint(false, dir.resolve("savepoints").toUri()
            .toString(), SavepointFormatType.CANONICAL)
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    job.getJobExecutionResult().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.FINISHED);
    return savepoint;
  }

  private static void cancel(JobClient job) throws Exception {
    job.cancel().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertThatThrownBy(() -> job.getJobExecutionResult().get(TIMEOUT.toSeconds(),
        TimeUnit.SECONDS)).hasStackTraceContaining("cancel");
    assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.CANCELED);
  }

  private static void awaitAllTasksRunning(MiniCluster cluster, JobID id) throws Exception {
    long deadline = System.currentTimeMillis() + TIMEOUT.toMillis();
    while (true) {
      AccessExecutionGraph g = cluster.getExecutionGraph(id).get();
      if (g.getState() == JobStatus.RUNNING && StreamSupport.stream(
          g.getAllExecutionVertices().spliterator(), false)
          .allMatch(v -> v.getExecutionState() == ExecutionState.RUNNING)) {
        return;
      }
      assertThat(g.getState().isGloballyTerminalState()).as("job %s ended: %s", id,
          g.getState()).isFalse();
      assertThat(System.currentTimeMillis()).as("tasks of job %s running", id)
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
