package io.redress.job.source;

import io.redress.job.model.Origin;
import io.redress.job.model.RawInput;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Kafka records to {@link RawInput} without decoding, so that decoding failures become dead
 * letters (with topic, partition and offset) in the job instead of failing the source.
 */
final class KafkaInputDeserializer implements KafkaRecordDeserializationSchema<RawInput> {

  private final boolean avro;

  KafkaInputDeserializer(boolean avro) {
    this.avro = avro;
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RawInput> out) {
    byte[] value = record.value() == null ? new byte[0] : record.value();
    out.collect(new RawInput(value, Origin.kafka(record.topic(), record.partition(),
        record.offset()), avro));
  }

  @Override
  public TypeInformation<RawInput> getProducedType() {
    return TypeInformation.of(RawInput.class);
  }
}
