package io.redress.job.cli;

import io.redress.job.JobConfigOptions;
import io.redress.job.validate.EventDecoder;
import io.redress.schemas.ComplaintEvent;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code publish}: JSON Lines complaints (the job's JSON form) to the complaints topic as Avro
 * binary {@link ComplaintEvent} records keyed by complaint_id, the form the job reads by default.
 * Every line is decoded and checked exactly as the job does first, so a bad line stops the run
 * before anything is sent.
 */
@Command(name = "publish", mixinStandardHelpOptions = true,
    description = {"Publishes JSON Lines complaints to Kafka as Avro ComplaintEvent records"
        + " keyed by complaint_id.",
        "Every line is checked first; a bad line publishes nothing."})
final class PublishCommand implements Callable<Integer> {

  @Option(names = "--bootstrap-servers", required = true,
      description = "Kafka bootstrap servers.")
  String bootstrap;

  @Option(names = "--topic", description = "Topic (default: ${DEFAULT-VALUE}).")
  String topic = JobConfigOptions.TOPIC_COMPLAINTS.defaultValue();

  @Option(names = "--input", required = true, description = "JSON Lines file of complaints.")
  Path input;

  @Option(names = {"--kafka.properties", "--kafka-properties"}, description = "Kafka client"
      + " properties file (TLS, SASL); never logged.")
  Path kafkaProperties;

  @Override
  public Integer call() throws IOException {
    Properties props = producerProperties();
    // Every line is checked before any is sent.
    long total = ComplaintLines.forEach(input, l -> { });
    if (total == 0) {
      throw new IllegalArgumentException(input + " holds no complaints");
    }

    AtomicLong acked = new AtomicLong();
    AtomicReference<Exception> failure = new AtomicReference<>();
    long[] lastProgress = {System.nanoTime()};
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      ComplaintLines.forEach(input, l -> {
        if (failure.get() != null) {
          return; // reported below; the remaining sends would fail the same way
        }
        ComplaintEvent e = l.event();
        producer.send(new ProducerRecord<>(topic,
                e.getComplaintId().getBytes(StandardCharsets.UTF_8), EventDecoder.toAvro(e)),
            (metadata, ex) -> {
              if (ex != null) {
                failure.compareAndSet(null, ex);
              } else {
                acked.incrementAndGet();
              }
            });
        if (System.nanoTime() - lastProgress[0] >= 1_000_000_000L) {
          lastProgress[0] = System.nanoTime();
          System.err.printf("publish: %d of %d acknowledged%n", acked.get(), total);
        }
      });
      producer.flush();
    } catch (KafkaException e) {
      failure.compareAndSet(null, e);
    }
    if (failure.get() != null) {
      Exception e = failure.get();
      throw new IllegalArgumentException("publishing to '" + topic + "' at " + bootstrap
          + " failed after " + acked.get() + " of " + total + " records: "
          + (e.getMessage() != null ? e.getMessage() : e.toString()));
    }
    System.out.printf("published %d complaints to '%s' at %s (Avro ComplaintEvent, key"
        + " complaint_id)%n", total, topic, bootstrap);
    return 0;
  }

  /** The properties file's settings, then ours: the flag's servers and full acknowledgement. */
  private Properties producerProperties() {
    Properties p = new Properties();
    if (kafkaProperties != null) {
      try (Reader r = Files.newBufferedReader(kafkaProperties)) {
        p.load(r);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read --kafka.properties " + kafkaProperties
            + ": " + e.getMessage(), e);
      }
    }
    p.put("bootstrap.servers", bootstrap);
    p.put("acks", "all");
    return p;
  }
}
