package io.redress.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.JsonProperties;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/** House rules for the Avro contracts that compatibility checks alone do not catch. */
class AvroSchemaRulesTest {

    private static final List<Schema> TOP_LEVEL = List.of(
            ComplaintEvent.getClassSchema(), ComplaintReply.getClassSchema(), DeadLetter.getClassSchema());

    @Test
    void everyFieldIsDocumented() {
        for (Schema.Field field : allFields()) {
            assertThat(field.doc()).as(field.name()).isNotBlank();
        }
    }

    @Test
    void everyNullableFieldDefaultsToNull() {
        // Optional data must be omittable by writers and readers alike, or evolution breaks.
        for (Schema.Field field : allFields()) {
            if (field.schema().isNullable()) {
                assertThat(field.schema().getTypes().get(0).getType()).as(field.name()).isEqualTo(Schema.Type.NULL);
                assertThat(field.defaultVal()).as(field.name()).isEqualTo(JsonProperties.NULL_VALUE);
            }
        }
    }

    @Test
    void replyRecordMirrorsJsonSchema() {
        List<String> names = Reply.getClassSchema().getFields().stream().map(Schema.Field::name).toList();
        assertThat(names).containsExactlyElementsOf(ReplySchema.FIELDS);
    }

    private static List<Schema.Field> allFields() {
        List<Schema.Field> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        TOP_LEVEL.forEach(s -> collect(s, out, seen));
        return out;
    }

    private static void collect(Schema schema, List<Schema.Field> out, Set<String> seen) {
        switch (schema.getType()) {
            case RECORD -> {
                if (seen.add(schema.getFullName())) {
                    for (Schema.Field f : schema.getFields()) {
                        out.add(f);
                        collect(f.schema(), out, seen);
                    }
                }
            }
            case ARRAY -> collect(schema.getElementType(), out, seen);
            case MAP -> collect(schema.getValueType(), out, seen);
            case UNION -> schema.getTypes().forEach(t -> collect(t, out, seen));
            default -> { }
        }
    }
}
