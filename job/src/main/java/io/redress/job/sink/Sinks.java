package io.redress.job.sink;

import io.redress.job.JobOptions;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.functions.sink.filesystem.OutputFileConfig;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;

/**
 * Where replies and dead letters go: Kafka with exactly-once delivery (transactions committed
 * on checkpoints; read them with isolation.level=read_committed), or, without Kafka, JSON Lines
 * part files under the output directory, also committed on checkpoints (see
 * {@link OutputFiles} for merging them).
 */
public final class Sinks {

  /** The Kafka producer's transaction timeout unless kafka.properties sets one; it must not
   * exceed the brokers' transaction.max.timeout.ms (15 minutes by default). */
  static final String DEFAULT_TRANSACTION_TIMEOUT_MS = "600000";

  private Sinks() {
  }

  /** Adds the reply sink. */
  public static void replies(DataStream<ComplaintReply> replies, JobOptions o) {
    if (o.kafkaOut()) {
      replies.sinkTo(KafkaSink.<ComplaintReply>builder()
              .setBootstrapServers(o.bootstrapServers())
              .setKafkaProducerConfig(producerProperties(o))
              .setRecordSerializer(KafkaRecordSerializationSchema.<ComplaintReply>builder()
                  .setTopic(o.repliesTopic())
                  .setKeySerializationSchema(
                      r -> r.getComplaintId().getBytes(StandardCharsets.UTF_8))
                  .setValueSerializationSchema(new AvroBytes<>(ComplaintReply.class))
                  .build())
              .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
              .setTransactionalIdPrefix(o.transactionalIdPrefix() + "-replies")
              .build())
          .name("write-replies").uid("write-replies");
    } else {
      replies.map(r -> RecordJson.line(RecordJson.reply(r))).name("replies-to-json")
          .uid("replies-to-json")
          .sinkTo(fileSink(o, OutputFiles.REPLIES))
          .name("write-replies").uid("write-replies-files");
    }
  }

  /** Adds the dead-letter sink. */
  public static void deadLetters(DataStream<DeadLetter> letters, JobOptions o) {
    if (o.kafkaOut()) {
      letters.sinkTo(KafkaSink.<DeadLetter>builder()
              .setBootstrapServers(o.bootstrapServers())
              .setKafkaProducerConfig(producerProperties(o))
              .setRecordSerializer(KafkaRecordSerializationSchema.<DeadLetter>builder()
                  .setTopic(o.deadLettersTopic())
                  .setValueSerializationSchema(new AvroBytes<>(DeadLetter.class))
                  .build())
              .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
              .setTransactionalIdPrefix(o.transactionalIdPrefix() + "-dead-letters")
              .build())
          .name("write-dead-letters").uid("write-dead-letters");
    } else {
      letters.map(d -> RecordJson.line(RecordJson.deadLetter(d)))
          .name("dead-letters-to-json").uid("dead-letters-to-json")
          .sinkTo(fileSink(o, OutputFiles.DEAD_LETTERS))
          .name("write-dead-letters").uid("write-dead-letters-files");
    }
  }

  static Properties producerProperties(JobOptions o) {
    Properties p = o.kafkaProperties();
    p.putIfAbsent("transaction.timeout.ms", DEFAULT_TRANSACTION_TIMEOUT_MS);
    return p;
  }

  private static FileSink<String> fileSink(JobOptions o, String name) {
    return FileSink.forRowFormat(new Path(OutputFiles.partsDir(o.outputDir(), name).toUri()),
            new SimpleStringEncoder<String>(StandardCharsets.UTF_8.name()))
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withOutputFileConfig(OutputFileConfig.builder().withPartPrefix(name)
            .withPartSuffix(".jsonl").build())
        .build();
  }
}
