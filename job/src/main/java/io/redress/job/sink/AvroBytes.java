package io.redress.job.sink;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;

/** A record's Avro binary encoding, the value format of the output topics. */
final class AvroBytes<T extends SpecificRecord> implements SerializationSchema<T> {

  private final Class<T> type;
  private transient SpecificDatumWriter<T> writer;
  private transient BinaryEncoder encoder;

  AvroBytes(Class<T> type) {
    this.type = type;
  }

  @Override
  public byte[] serialize(T element) {
    if (writer == null) {
      writer = new SpecificDatumWriter<>(type);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    encoder = EncoderFactory.get().binaryEncoder(out, encoder);
    try {
      writer.write(element, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
