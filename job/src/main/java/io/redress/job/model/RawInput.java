package io.redress.job.model;

/**
 * One input exactly as received, before decoding: a Kafka record's value or a log line (or an
 * Avro file's record, re-encoded as Avro binary). A Flink POJO.
 */
public class RawInput {
  /** The bytes as received; empty for a Kafka tombstone. */
  public byte[] bytes;
  /** Where it came from. */
  public Origin origin;
  /** Whether {@link #bytes} are Avro binary (else JSON text). */
  public boolean avro;
  /** A read error (e.g. a corrupt Avro file block), or null; then the bytes are what was read. */
  public String readError;

  public RawInput() {
  }

  public RawInput(byte[] bytes, Origin origin, boolean avro) {
    this.bytes = bytes;
    this.origin = origin;
    this.avro = avro;
  }
}
