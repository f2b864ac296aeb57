package io.redress.job.model;

import java.util.Objects;

/**
 * Where an input came from: a Kafka record (topic, partition, offset) or a line of a log file
 * (file, 1-based line or record index). A Flink POJO: public fields, no-arg constructor.
 */
public class Origin {
  /** Kafka topic, or null for a file. */
  public String topic;
  /** Kafka partition, or null for a file. */
  public Integer partition;
  /** Kafka offset, or null for a file. */
  public Long offset;
  /** Log file, or null for Kafka. */
  public String file;
  /** 1-based line (JSON Lines) or record index (Avro file), or null for Kafka. */
  public Long line;

  public Origin() {
  }

  /** A Kafka record's coordinates. */
  public static Origin kafka(String topic, int partition, long offset) {
    Origin o = new Origin();
    o.topic = topic;
    o.partition = partition;
    o.offset = offset;
    return o;
  }

  /** A file line's coordinates. */
  public static Origin file(String file, long line) {
    Origin o = new Origin();
    o.file = file;
    o.line = line;
    return o;
  }

  /** "topic/partition@offset" or "file:line", for messages. */
  @Override
  public String toString() {
    return topic != null ? topic + "/" + partition + "@" + offset : file + ":" + line;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Origin other && Objects.equals(topic, other.topic)
        && Objects.equals(partition, other.partition) && Objects.equals(offset, other.offset)
        && Objects.equals(file, other.file) && Objects.equals(line, other.line);
  }

  @Override
  public int hashCode() {
    return Objects.hash(topic, partition, offset, file, line);
  }
}
