package io.redress.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.Test;

/**
 * Old and new producers and consumers of the complaints topic must understand each other:
 * a later ComplaintEvent that adds a defaulted field is compatible in both directions.
 */
class SchemaEvolutionTest {

    private static final Schema CURRENT = ComplaintEvent.getClassSchema();
    private static final Schema EVOLVED = load("/evolution/ComplaintEvent-v2.avsc");

    // Generic, not specific: the evolved schema has the same full name as the generated class,
    // which a SpecificData model would instantiate. The conversion keeps timestamps as Instant.
    private static final GenericData MODEL = new GenericData();

    static {
        MODEL.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    }

    @Test
    void compatibleBothWays() {
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(EVOLVED, CURRENT).getType())
                .as("new reader, old data").isEqualTo(SchemaCompatibilityType.COMPATIBLE);
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(CURRENT, EVOLVED).getType())
                .as("old reader, new data").isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }

    @Test
    void newReaderFillsDefaultIntoOldData() throws IOException {
        ComplaintEvent event = Samples.zhEvent();
        byte[] bytes = AvroRoundTripTest.write(event);

        GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(CURRENT, EVOLVED, MODEL);
        GenericRecord read = reader.read(null, DecoderFactory.get().binaryDecoder(bytes, null));

        assertThat(read.get("priority")).hasToString("normal");
        assertThat(read.get("complaint_id")).hasToString(event.getComplaintId());
        assertThat(read.get("created_at")).isEqualTo(event.getCreatedAt());
        assertThat(read.get("reference_reply")).hasToString(event.getReferenceReply());
    }

    @Test
    void oldReaderSkipsNewField() throws IOException {
        ComplaintEvent event = Samples.zhEvent();
        GenericData.Record evolved = new GenericData.Record(EVOLVED);
        // Generated turns and enums are also generic records and symbols, so they can be copied as they are.
        for (Schema.Field field : CURRENT.getFields()) {
            evolved.put(field.name(), event.get(field.name()));
        }
        evolved.put("priority", "urgent");

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(EVOLVED, MODEL).write(evolved, encoder);
        encoder.flush();

        SpecificDatumReader<ComplaintEvent> reader = new SpecificDatumReader<>(EVOLVED, CURRENT);
        ComplaintEvent read = reader.read(null, DecoderFactory.get().binaryDecoder(out.toByteArray(), null));

        assertThat(read).isEqualTo(event);
    }

    private static Schema load(String resource) {
        try (InputStream in = SchemaEvolutionTest.class.getResourceAsStream(resource)) {
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + resource, e);
        }
    }
}
