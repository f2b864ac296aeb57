package io.redress.job.source;

import io.redress.job.JobOptions;
import io.redress.job.model.RawInput;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;

/** The job's input for each mode, as undecoded {@link RawInput}. */
public final class Sources {

  private Sources() {
  }

  /** Adds the source of {@code options.mode()} to the environment. */
  public static DataStream<RawInput> create(StreamExecutionEnvironment env, JobOptions o) {
    return switch (o.mode()) {
      case FILES -> env.fromSource(files(o), WatermarkStrategy.noWatermarks(), "read-files")
          .uid("read-files");
      case STREAM, REPLAY -> env.fromSource(kafka(o), WatermarkStrategy.noWatermarks(),
          "read-kafka").uid("read-kafka");
    };
  }

  /** JSON Lines and Avro log files (directories are read recursively). */
  public static FileSource<RawInput> files(JobOptions o) {
    Path[] paths = o.inputs().stream().map(p -> new Path(java.nio.file.Path.of(p)
        .toAbsolutePath().toUri())).toArray(Path[]::new);
    return FileSource.forBulkFileFormat(new LogFileFormat(), paths).build();
  }

  /**
   * stream: from the group's committed offsets (earliest without them), committing on each
   * checkpoint. replay: the bounded range replay.from .. replay.to, committing nothing.
   */
  public static KafkaSource<RawInput> kafka(JobOptions o) {
    Properties props = o.kafkaProperties();
    KafkaSourceBuilder<RawInput> b = KafkaSource.<RawInput>builder()
        .setBootstrapServers(o.bootstrapServers())
        .setTopics(o.complaintsTopic())
        .setProperties(props)
        .setDeserializer(new KafkaInputDeserializer(
            o.inputFormat() == JobOptions.InputFormat.AVRO));
    if (o.mode() == JobOptions.Mode.STREAM) {
      b.setGroupId(o.groupId())
          .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST));
    } else {
      b.setGroupId(o.groupId() + "-replay")
          .setProperty("commit.offsets.on.checkpoint", "false")
          .setStartingOffsets(bound(o.replayFrom(), o.complaintsTopic(), true))
          .setBounded(bound(o.replayTo(), o.complaintsTopic(), false));
    }
    return b.build();
  }

  /**
   * "earliest", "latest", an ISO-8601 instant, or "p:offset,p:offset" ({@link PartitionOffsets}:
   * partitions not listed run from their beginning / to their end; offsets are clamped to what
   * the partition holds).
   *
   * @throws IllegalArgumentException naming the bad value
   */
  static OffsetsInitializer bound(String spec, String topic, boolean start) {
    String s = spec.trim();
    if (s.equals("earliest")) {
      return OffsetsInitializer.earliest();
    }
    if (s.equals("latest")) {
      return OffsetsInitializer.latest();
    }
    if (s.contains(":") && !s.contains("T")) {
      Map<TopicPartition, Long> offsets = new HashMap<>();
      for (String part : s.split(",")) {
        String[] po = part.trim().split(":");
        if (po.length != 2) {
          throw badBound(spec, start);
        }
        try {
          offsets.put(new TopicPartition(topic, Integer.parseInt(po[0].trim())),
              Long.parseLong(po[1].trim()));
        } catch (RuntimeException e) {
          throw badBound(spec, start);
        }
      }
      return new PartitionOffsets(offsets, start);
    }
    try {
      return OffsetsInitializer.timestamp(Instant.parse(s).toEpochMilli());
    } catch (DateTimeParseException e) {
      throw badBound(spec, start);
    }
  }

  /**
   * One end of a replay as offsets per partition. A partition not listed starts at its
   * beginning or stops at its end (never at a committed offset of the group). Offsets are
   * clamped to what the partition holds when the replay starts: a stop past the end stops at
   * the end (else the bounded run would wait forever for records that may never come), a start
   * past the end replays nothing of that partition (else the consumer's out-of-range reset
   * would replay it from the beginning), a start before the beginning (records deleted by
   * retention) starts at the beginning.
   */
  @SuppressWarnings("deprecation") // OffsetResetStrategy: the connector's interface needs it
  static final class PartitionOffsets implements OffsetsInitializer {
    private static final long serialVersionUID = 1L;

    private final HashMap<TopicPartition, Long> offsets;
    private final boolean start;

    PartitionOffsets(Map<TopicPartition, Long> offsets, boolean start) {
      this.offsets = new HashMap<>(offsets);
      this.start = start;
    }

    @Override
    public Map<TopicPartition, Long> getPartitionOffsets(Collection<TopicPartition> partitions,
        PartitionOffsetsRetriever retriever) {
      Map<TopicPartition, Long> begin = retriever.beginningOffsets(partitions);
      Map<TopicPartition, Long> end = retriever.endOffsets(partitions);
      Map<TopicPartition, Long> out = new HashMap<>();
      for (TopicPartition tp : partitions) {
        long lo = begin.get(tp);
        long hi = end.get(tp);
        Long o = offsets.get(tp);
        out.put(tp, o == null ? (start ? lo : hi) : Math.max(lo, Math.min(hi, o)));
      }
      return out;
    }

    @Override
    public OffsetResetStrategy getAutoOffsetResetStrategy() {
      return start ? OffsetResetStrategy.EARLIEST : OffsetResetStrategy.LATEST;
    }
  }

  private static IllegalArgumentException badBound(String spec, boolean start) {
    return new IllegalArgumentException("--replay." + (start ? "from" : "to") + " '" + spec
        + "' is not earliest, latest, an ISO-8601 instant (2025-03-01T00:00:00Z) or"
        + " partition offsets (0:100,1:250)");
  }
}
