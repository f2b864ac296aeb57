package io.redress.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.redress.job.JobOptions;
import io.redress.job.sink.RecordJson;
import io.redress.job.validate.EventDecoder;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code demo}: everything in one process, no Kafka, GPU or Docker needed. An in-process KRaft
 * broker, sample complaints published to {@code complaints}, the job replaying the topic on a
 * local MiniCluster with the demo model, then replies read back with read_committed, the
 * accuracy and the report's location.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Runs the whole pipeline locally on sample complaints.")
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--model", description = "Model directory (default: sample-data/demo-model).")
  String model;

  @Option(names = "--out", defaultValue = "target/redress-demo",
      description = "Where the report goes (default: ${DEFAULT-VALUE}).")
  String out;

  @Option(names = "--input", description = "Complaints as JSON Lines (default:"
      + " sample-data/complaints.jsonl, the held-out sample set).")
  String input;

  @Option(names = "--limit", defaultValue = "0", description = "Only the first N complaints"
      + " (default: all).")
  int limit;

  @Option(names = "--max-new-tokens", defaultValue = "256")
  int maxNewTokens;

  @Option(names = "--device", defaultValue = "auto")
  String device;

  @Override
  public Integer call() throws Exception {
    Path modelDir = model != null ? Path.of(model) : defaultModel();
    Path inputFile = input != null ? Path.of(input) : sampleData("complaints.jsonl");
    List<ComplaintEvent> events = ComplaintLines.read(inputFile, limit);
    System.err.println("demo: starting an in-process Kafka broker ...");
    // Kafka's formatter prints to stdout; stdout is for results.
    java.io.PrintStream stdout = System.out;
    EmbeddedKafka started;
    System.setOut(System.err);
    try {
      started = EmbeddedKafka.start();
    } finally {
      System.setOut(stdout);
    }
    try (EmbeddedKafka kafka = started) {
      kafka.createTopics(2, "complaints", "complaint-replies", "complaint-dead-letters");
      int bad = publish(kafka.bootstrapServers(), events);
      System.err.printf("demo: published %d complaints from %s and %d malformed records to"
          + " 'complaints' at %s%n", events.size(), inputFile, bad, kafka.bootstrapServers());
      Map<String, String> m = new HashMap<>();
      m.put("mode", "replay");
      m.put("bootstrap-servers", kafka.bootstrapServers());
      m.put("model", modelDir.toString());
      m.put("output", Path.of(out).toAbsolutePath().toString());
      m.put("device", device);
      m.put("engine.max-new-tokens", Integer.toString(maxNewTokens));
      m.put("checkpoint-interval", "1 s");
      m.put("transactional-id-prefix", "redress-demo-" + System.currentTimeMillis());
      JobOptions o = JobOptions.from(org.apache.flink.configuration.Configuration.fromMap(m));
      System.err.println("demo: running the job on a local Flink MiniCluster with model "
          + modelDir);
      JsonNode report = LocalRun.run(o, events.size() + bad, System.err);
      showOutput(kafka.bootstrapServers(), o, events.size() + bad);
      ReplayCommand.printSummary(report, Path.of(out), o);
    }
    return 0;
  }

  /** Publishes the events as Avro plus a few malformed records; returns how many were bad. */
  private static int publish(String bootstrap, List<ComplaintEvent> events) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ComplaintEvent e : events) {
        producer.send(new ProducerRecord<>("complaints",
            e.getComplaintId().getBytes(StandardCharsets.UTF_8), EventDecoder.toAvro(e)));
      }
      byte[][] bad = {"not avro at all".getBytes(StandardCharsets.UTF_8), new byte[0],
          {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f}};
      for (byte[] b : bad) {
        producer.send(new ProducerRecord<>("complaints", null, b));
      }
      producer.flush();
      return bad.length;
    } catch (org.apache.kafka.common.KafkaException e) {
      throw new IllegalStateException("publishing the sample complaints failed: "
          + e.getMessage(), e);
    }
  }

  /** Reads the committed output back (until all {@code expected} are seen, or 10 s). */
  private static void showOutput(String bootstrap, JobOptions o, int expected) {
    List<ComplaintReply> replies = new ArrayList<>();
    List<DeadLetter> letters = new ArrayList<>();
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("isolation.level", "read_committed");
    p.put("auto.offset.reset", "earliest");
    p.put("group.id", "redress-demo-reader");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.subscribe(List.of(o.repliesTopic(), o.deadLettersTopic()));
      long deadline = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < deadline
          && replies.size() + letters.size() < expected) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
          if (r.topic().equals(o.repliesTopic())) {
            replies.add(decode(r.value(), ComplaintReply.class));
          } else {
            letters.add(decode(r.value(), DeadLetter.class));
          }
        }
      }
    }
    System.out.printf("read back with read_committed: %d replies on '%s', %d dead letters on"
        + " '%s'%n", replies.size(), o.repliesTopic(), letters.size(), o.deadLettersTopic());
    replies.stream().limit(3).forEach(r -> System.out.println("reply: "
        + RecordJson.line(RecordJson.reply(r))));
    letters.stream().limit(3).forEach(d -> System.out.println("dead letter: " + d.getStage()
        + "/" + d.getErrorCode() + " " + d.getSourceTopic() + "/" + d.getSourcePartition() + "@"
        + d.getSourceOffset() + ": " + d.getMessage()));
  }

  private static <T> T decode(byte[] b, Class<T> type) {
    try {
      return new SpecificDatumReader<>(type).read(null,
          DecoderFactory.get().binaryDecoder(b, null));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** sample-data/demo-model, found from the jar's location or the working directory. */
  static Path defaultModel() {
    Path dir = sampleData("demo-model");
    if (!Files.isRegularFile(dir.resolve("config.json"))) {
      throw new IllegalArgumentException("no demo model in " + dir + "; pass --model DIR");
    }
    return dir;
  }

  /** sample-data/NAME next to the build (or the working directory); pass a flag otherwise. */
  static Path sampleData(String name) {
    for (Path p : new Path[] {repoRoot().resolve("sample-data").resolve(name),
        Path.of("sample-data", name), Path.of("..", "sample-data", name)}) {
      if (Files.exists(p)) {
        return p;
      }
    }
    throw new IllegalArgumentException("sample-data/" + name + " not found; run from the"
        + " repository or pass its path explicitly");
  }

  private static Path repoRoot() {
    try {
      Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation()
          .toURI());
      // job/target/redress-job.jar or job/target/classes
      Path p = jar.getParent() == null ? null : jar.getParent().getParent();
      return p == null || p.getParent() == null ? Path.of(".") : p.getParent();
    } catch (URISyntaxException | RuntimeException e) {
      return Path.of(".");
    }
  }
}
