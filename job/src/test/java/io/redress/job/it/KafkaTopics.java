package io.redress.job.it;

import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Producing raw records and reading the job's output topics with read_committed. */
final class KafkaTopics {

  record Output(List<ComplaintReply> replies, List<DeadLetter> deadLetters) {
    int total() {
      return replies.size() + deadLetters.size();
    }

    /** How often each input ("partition@offset") has an outcome, replies and dead letters. */
    Map<String, Integer> countsBySource() {
      Map<String, Integer> seen = new TreeMap<>();
      for (ComplaintReply r : replies) {
        seen.merge(r.getSourcePartition() + "@" + r.getSourceOffset(), 1, Integer::sum);
      }
      for (DeadLetter d : deadLetters) {
        seen.merge(d.getSourcePartition() + "@" + d.getSourceOffset(), 1, Integer::sum);
      }
      return seen;
    }
  }

  /** One input record: a value for a given partition with a given record timestamp. */
  record Input(int partition, long timestamp, byte[] value) {
  }

  /** An input as it landed on the topic. */
  record Produced(int partition, long offset, long timestamp, byte[] value) {
    /** "partition@offset", as {@link Output#countsBySource()} keys it. */
    String source() {
      return partition + "@" + offset;
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

  /**
   * Produces each input to its partition with its record timestamp (CreateTime), in order, and
   * returns where each landed.
   */
  static List<Produced> produceAt(String bootstrap, String topic, List<Input> inputs) {
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProperties(
        bootstrap), new ByteArraySerializer(), new ByteArraySerializer())) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (Input in : inputs) {
        sent.add(producer.send(new ProducerRecord<>(topic, in.partition(), in.timestamp(), null,
            in.value())));
      }
      producer.flush();
      List<Produced> out = new ArrayList<>();
      for (int i = 0; i < inputs.size(); i++) {
        RecordMetadata md = sent.get(i).get();
        out.add(new Produced(md.partition(), md.offset(), md.timestamp(), inputs.get(i).value()));
      }
      return out;
    } catch (InterruptedException | ExecutionException e) {
      throw new IllegalStateException("producing the test input failed", e);
    }
  }

  private static Properties producerProperties(String bootstrap) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("linger.ms", "5");
    p.put("acks", "all");
    p.put("enable.idempotence", "false");
    p.put("max.in.flight.requests.per.connection", "1");
    return p;
  }

  /**
   * Everything committed on both output topics, read up to their last stable offsets. Only
   * meaningful once the job that writes them has stopped (or is idle with nothing pending):
   * then the result is final, with no idle-time guessing.
   */
  static Output readAllCommitted(String bootstrap, String replies, String dlq) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("isolation.level", "read_committed");
    List<ComplaintReply> rs = new ArrayList<>();
    List<DeadLetter> ds = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      for (String topic : List.of(replies, dlq)) {
        for (PartitionInfo pi : c.partitionsFor(topic)) {
          tps.add(new TopicPartition(topic, pi.partition()));
        }
      }
      c.assign(tps);
      c.seekToBeginning(tps);
      // With read_committed, end offsets are the last stable offsets.
      Map<TopicPartition, Long> end = c.endOffsets(tps);
      long deadline = System.currentTimeMillis() + 60_000;
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError("output topics not read to their end offsets " + end
              + " within 60 s");
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.topic().equals(replies)) {
            rs.add(decode(r.value(), ComplaintReply.class));
          } else {
            ds.add(decode(r.value(), DeadLetter.class));
          }
        }
      }
    }
    return new Output(rs, ds);
  }

  /**
   * Polls both output topics (committed records only) until at least {@code expected} outcomes
   * have arrived; fails after {@code timeout}. For a running (unbounded) job.
   */
  static void awaitCommitted(String bootstrap, String replies, String dlq, int expected,
      Duration timeout) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("isolation.level", "read_committed");
    p.put("auto.offset.reset", "earliest");
    p.put("group.id", "it-await-" + System.nanoTime());
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      c.subscribe(List.of(replies, dlq));
      long deadline = System.currentTimeMillis() + timeout.toMillis();
      int seen = 0;
      while (seen < expected) {
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError("only " + seen + " of " + expected
              + " outcomes committed within " + timeout);
        }
        seen += c.poll(Duration.ofMillis(200)).count();
      }
    }
  }

  /** End offsets (log end) of each partition of {@code topic}. */
  static Map<Integer, Long> endOffsets(String bootstrap, String topic) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
        new ByteArrayDeserializer())) {
      List<TopicPartition> tps = c.partitionsFor(topic).stream()
          .map(pi -> new TopicPartition(topic, pi.partition())).toList();
      Map<Integer, Long> out = new TreeMap<>();
      c.endOffsets(tps).forEach((tp, o) -> out.put(tp.partition(), o));
      return out;
    }
  }

  /** The offsets {@code group} has committed on {@code topic}, by partition (absent: none). */
  static Map<Integer, Long> committedOffsets(String bootstrap, String group, String topic) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    try (Admin admin = Admin.create(p)) {
      Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group)
          .partitionsToOffsetAndMetadata().get();
      Map<Integer, Long> out = new TreeMap<>();
      m.forEach((tp, om) -> {
        if (tp.topic().equals(topic) && om != null) {
          out.put(tp.partition(), om.offset());
        }
      });
      return out;
    } catch (InterruptedException | ExecutionException e) {
      throw new IllegalStateException("listing the offsets of group " + group + " failed", e);
    }
  }

  /** The bytes of a dead letter's raw field. */
  static byte[] raw(DeadLetter d) {
    ByteBuffer b = d.getRaw().duplicate();
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
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

  static <T> T decode(byte[] b, Class<T> type) {
    try {
      return new SpecificDatumReader<>(type).read(null,
          DecoderFactory.get().binaryDecoder(b, null));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
