package io.redress.job.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.redress.job.JobConfigOptions;
import io.redress.job.validate.JsonEvents;
import io.redress.schemas.ComplaintEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code publish} against a real in-process KRaft broker (Kafka's test kit). */
class PublishCommandTest {

  private static final String DEFAULT_TOPIC = JobConfigOptions.TOPIC_COMPLAINTS.defaultValue();

  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startKafka() throws Exception {
    kafka = EmbeddedKafka.start();
    kafka.createTopics(2, DEFAULT_TOPIC, "bad-input", "no-properties");
  }

  @AfterAll
  static void stopKafka() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private record Run(int status, String out, String err) {
  }

  /** Runs the CLI as bin/redress does, capturing stdout and stderr. */
  private static Run run(String... args) {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int status = JobCli.run(args);
      return new Run(status, out.toString(StandardCharsets.UTF_8),
          err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
  }

  private static Path jsonLines(Path dir, List<byte[]> lines) throws IOException {
    Path file = dir.resolve("complaints.jsonl");
    try (OutputStream o = Files.newOutputStream(file)) {
      for (byte[] line : lines) {
        o.write(line);
        o.write('\n');
      }
    }
    return file;
  }

  /** Every record on the topic, from the beginning to the current end. */
  private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic) {
    Properties p = new Properties();
    p.put("bootstrap.servers", kafka.bootstrapServers());
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = c.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(partitions);
      c.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = c.endOffsets(partitions);
      long deadline = System.currentTimeMillis() + 20_000;
      while (partitions.stream().anyMatch(tp -> c.position(tp) < end.get(tp))
          && System.currentTimeMillis() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(records::add);
      }
    }
    return records;
  }

  private static ComplaintEvent decode(byte[] avro) throws IOException {
    return new SpecificDatumReader<>(ComplaintEvent.class).read(null,
        DecoderFactory.get().binaryDecoder(avro, null));
  }

  @Test
  void publishesEachLineAsAvroKeyedByComplaintIdToTheDefaultTopic(@TempDir Path dir)
      throws Exception {
    List<ComplaintEvent> events = SampleComplaints.generate(25, 3);
    List<byte[]> lines = new ArrayList<>();
    for (ComplaintEvent e : events) {
      lines.add(JsonEvents.encodeBytes(e));
    }
    lines.add(12, new byte[0]); // blank lines are skipped
    Path file = jsonLines(dir, lines);

    Run r = run("publish", "--bootstrap-servers", kafka.bootstrapServers(),
        "--input", file.toString());

    assertThat(r.status()).as(r.err()).isZero();
    assertThat(r.out()).contains("published 25 complaints to '" + DEFAULT_TOPIC + "'");
    List<ConsumerRecord<byte[], byte[]>> records = readAll(DEFAULT_TOPIC);
    assertThat(records).hasSize(events.size());
    List<ComplaintEvent> read = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> rec : records) {
      ComplaintEvent e = decode(rec.value());
      assertThat(new String(rec.key(), StandardCharsets.UTF_8)).isEqualTo(e.getComplaintId());
      read.add(e);
    }
    assertThat(read).containsExactlyInAnyOrderElementsOf(events);
  }

  @Test
  void aBadLineIsAnErrorNamingItAndNothingIsPublished(@TempDir Path dir) throws Exception {
    List<ComplaintEvent> events = SampleComplaints.generate(3, 4);
    Path file = jsonLines(dir, List.of(JsonEvents.encodeBytes(events.get(0)),
        JsonEvents.encode(events.get(1)).without("conversation_id").toString()
            .getBytes(StandardCharsets.UTF_8),
        JsonEvents.encodeBytes(events.get(2))));

    Run r = run("publish", "--bootstrap-servers", kafka.bootstrapServers(),
        "--topic", "bad-input", "--input", file.toString());

    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains("error: " + file + " line 2: field conversation_id is"
        + " missing (missing_field)");
    assertThat(r.out()).isEmpty();
    assertThat(readAll("bad-input")).isEmpty();
  }

  @Test
  void anUnreadableKafkaPropertiesFileIsAnError(@TempDir Path dir) throws Exception {
    Path file = jsonLines(dir, List.of(JsonEvents.encodeBytes(
        SampleComplaints.generate(1, 5).get(0))));

    Run r = run("publish", "--bootstrap-servers", kafka.bootstrapServers(),
        "--topic", "no-properties", "--input", file.toString(),
        "--kafka.properties", dir.resolve("missing.properties").toString());

    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).contains("error: cannot read --kafka.properties");
    assertThat(readAll("no-properties")).isEmpty();
  }
}
