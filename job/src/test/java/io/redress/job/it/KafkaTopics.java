package io.redress.job.it;

import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Producing raw records and reading the job's output topics with read_committed. */
final class KafkaTopics {

  record Output(List<ComplaintReply> replies, List<DeadLetter> deadLetters) {
    int total() {
      return replies.size() + deadLetters.size();
    }
  }

  private KafkaTopics() {
  }

  static void produce(String bootstrap, String topic, List<byte[]> values) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("linger.ms", "5");
    p.put("acks", "all");
    // Plain at-least-once with one request in flight: the input must be exactly what the test
    // says, and each send is checked below.
    p.put("enable.idempotence", "false");
    p.put("max.in.flight.requests.per.connection", "1");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      int i = 0;
      List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
      for (byte[] v : values) {
        // Round-robin over the partitions so both source subtasks have work.
        sent.add(producer.send(new ProducerRecord<>(topic, i++ % 2, null, v)));
      }
      producer.flush();
      for (var f : sent) {
        f.get();
      }
    } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException("producing the test input failed", e);
    }
  }

  /** Reads both output topics (committed records only) until {@code expected} or 20 s idle. */
  static Output readCommitted(String bootstrap, String replies, String dlq, int expected) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("isolation.level", "read_committed");
    p.put("auto.offset.reset", "earliest");
    p.put("group.id", "it-reader-" + System.nanoTime());
    List<ComplaintReply> rs = new ArrayList<>();
    List<DeadLetter> ds = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.subscribe(List.of(replies, dlq));
      long idleSince = System.currentTimeMillis();
      while (System.currentTimeMillis() - idleSince < 20_000) {
        var batch = c.poll(Duration.ofMillis(500));
        for (ConsumerRecord<byte[], byte[]> r : batch) {
          if (r.topic().equals(replies)) {
            rs.add(decode(r.value(), ComplaintReply.class));
          } else {
            ds.add(decode(r.value(), DeadLetter.class));
          }
        }
        if (!batch.isEmpty()) {
          idleSince = System.currentTimeMillis();
        }
        if (rs.size() + ds.size() >= expected) {
          // Linger briefly to catch duplicates beyond the expected count.
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofSeconds(2))) {
            if (r.topic().equals(replies)) {
              rs.add(decode(r.value(), ComplaintReply.class));
            } else {
              ds.add(decode(r.value(), DeadLetter.class));
            }
          }
          break;
        }
      }
    }
    return new Output(rs, ds);
  }

  private static <T> T decode(byte[] b, Class<T> type) {
    try {
      return new SpecificDatumReader<>(type).read(null,
          DecoderFactory.get().binaryDecoder(b, null));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
