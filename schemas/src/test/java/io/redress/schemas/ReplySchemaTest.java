package io.redress.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaId;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ReplySchemaTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonSchemaFactory FACTORY = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final JsonNode SCHEMA_NODE = parse(ReplySchema.text());
    private static final JsonSchema SCHEMA = FACTORY.getSchema(SCHEMA_NODE);

    /** What the guided decoder compiles; anything else would be silently ignored there. */
    private static final Set<String> SUPPORTED_KEYWORDS = Set.of(
            "type", "properties", "required", "additionalProperties", "enum", "items",
            "minItems", "maxItems", "minLength", "maxLength", "$schema", "$id", "title", "description");

    private static final String ZH_DELIVERY = """
            {"category": "delivery",
             "demands": ["尽快发货", "说明延误原因", "否则全额退款"],
             "urgency": "high", "sentiment": "angry",
             "reply_text": "您好，非常抱歉让您久等了。我们已催促仓库今天内发货，并为您补偿10元优惠券；如今天仍未发出，我们将为您办理全额退款。"}""";

    @Test
    void isValidDraft202012() {
        assertThat(SCHEMA_NODE.path("$schema").asText()).isEqualTo(SchemaId.V202012);
        JsonSchema meta = FACTORY.getSchema(SchemaLocation.of(SchemaId.V202012));
        assertThat(meta.validate(SCHEMA_NODE)).isEmpty();

        // The meta-schema check is not vacuous: a malformed copy fails it.
        JsonNode broken = parse(mutate(ReplySchema.text(), s -> ((ObjectNode) s.get("properties").get("demands")).put("minItems", "one")));
        assertThat(meta.validate(broken)).isNotEmpty();
    }

    @Test
    void usesOnlyKeywordsTheGuidedDecoderSupports() {
        List<String> keywords = new ArrayList<>();
        collectKeywords(SCHEMA_NODE, keywords);
        assertThat(keywords).isNotEmpty().isSubsetOf(SUPPORTED_KEYWORDS);
    }

    @Test
    void listsEveryPropertyInOrderAndRequiresAll() {
        // Guided decoding emits keys in schema order; the prompt and the Avro Reply record assume it.
        List<String> names = new ArrayList<>();
        SCHEMA_NODE.get("properties").fieldNames().forEachRemaining(names::add);
        assertThat(names).containsExactlyElementsOf(ReplySchema.FIELDS);
        assertThat(strings(SCHEMA_NODE.get("required"))).containsExactlyElementsOf(ReplySchema.FIELDS);
        assertThat(SCHEMA_NODE.get("additionalProperties").isBoolean()).isTrue();
        assertThat(SCHEMA_NODE.get("additionalProperties").booleanValue()).isFalse();
    }

    @Test
    void constantsMatchTheFile() {
        JsonNode p = SCHEMA_NODE.get("properties");
        assertThat(strings(p.at("/category/enum"))).containsExactlyElementsOf(ReplySchema.CATEGORIES);
        assertThat(strings(p.at("/urgency/enum"))).containsExactlyElementsOf(ReplySchema.URGENCIES);
        assertThat(strings(p.at("/sentiment/enum"))).containsExactlyElementsOf(ReplySchema.SENTIMENTS);
        assertThat(p.at("/demands/minItems").intValue()).isEqualTo(ReplySchema.MIN_DEMANDS);
        assertThat(p.at("/demands/maxItems").intValue()).isEqualTo(ReplySchema.MAX_DEMANDS);
        assertThat(p.at("/demands/items/maxLength").intValue()).isEqualTo(ReplySchema.MAX_DEMAND_LENGTH);
        assertThat(p.at("/reply_text/maxLength").intValue()).isEqualTo(ReplySchema.MAX_REPLY_TEXT_LENGTH);
    }

    static Stream<String> validReplies() {
        return Stream.of(
                ZH_DELIVERY,
                """
                {"category": "billing", "demands": ["Refund the duplicate $29.99 charge"],
                 "urgency": "medium", "sentiment": "frustrated",
                 "reply_text": "Hello, we're sorry for the double charge. We have refunded the duplicate $29.99; it will reach your card within 3-5 business days."}""",
                """
                {"category": "network_outage", "demands": ["恢复宽带连接", "减免断网期间月租"],
                 "urgency": "critical", "sentiment": "anxious",
                 "reply_text": "您好，您所在小区的光纤故障已定位，维修人员正在抢修，预计今晚8点前恢复；断网期间的费用将按天减免。"}""",
                """
                {"category": "other", "demands": ["Thank the courier"],
                 "urgency": "low", "sentiment": "satisfied",
                 "reply_text": "Thank you for the kind words! We have passed them on to the courier."}""",
                // Exactly at every limit: 3 demands of 80 characters, a 600-character reply (counted in characters, not bytes).
                mutate(ZH_DELIVERY, r -> {
                    r.set("demands", JSON.createArrayNode().add("退".repeat(80)).add("款".repeat(80)).add("急".repeat(80)));
                    r.put("reply_text", "您".repeat(600));
                }));
    }

    @ParameterizedTest
    @MethodSource("validReplies")
    void acceptsValidReplies(String reply) {
        assertThat(SCHEMA.validate(parse(reply))).isEmpty();
    }

    static Stream<Arguments> invalidReplies() {
        return Stream.of(
                Arguments.of("missing urgency", mutate(ZH_DELIVERY, r -> r.remove("urgency")), "required"),
                Arguments.of("extra field", mutate(ZH_DELIVERY, r -> r.put("order_id", "JD20250307-5521")), "additionalProperties"),
                Arguments.of("no demands", mutate(ZH_DELIVERY, r -> r.putArray("demands")), "minItems"),
                Arguments.of("four demands", mutate(ZH_DELIVERY, r -> ((ArrayNode) r.get("demands")).add("道歉")), "maxItems"),
                Arguments.of("empty demand", mutate(ZH_DELIVERY, r -> ((ArrayNode) r.get("demands")).set(0, "")), "minLength"),
                Arguments.of("demand too long", mutate(ZH_DELIVERY, r -> ((ArrayNode) r.get("demands")).set(0, "退".repeat(81))), "maxLength"),
                Arguments.of("unknown category", mutate(ZH_DELIVERY, r -> r.put("category", "shipping")), "enum"),
                Arguments.of("unknown urgency", mutate(ZH_DELIVERY, r -> r.put("urgency", "urgent")), "enum"),
                Arguments.of("unknown sentiment", mutate(ZH_DELIVERY, r -> r.put("sentiment", "happy")), "enum"),
                Arguments.of("empty reply_text", mutate(ZH_DELIVERY, r -> r.put("reply_text", "")), "minLength"),
                Arguments.of("reply_text too long", mutate(ZH_DELIVERY, r -> r.put("reply_text", "您".repeat(601))), "maxLength"),
                Arguments.of("demands not an array", mutate(ZH_DELIVERY, r -> r.put("demands", "尽快发货")), "type"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidReplies")
    void rejectsInvalidReplies(String why, String reply, String keyword) {
        Set<ValidationMessage> errors = SCHEMA.validate(parse(reply));
        // Exactly one failing keyword: the one this case breaks, nothing collateral.
        assertThat(errors.stream().map(ValidationMessage::getType).collect(Collectors.toSet()))
                .as("%s: %s", why, errors)
                .containsExactly(keyword);
    }

    private static void collectKeywords(JsonNode schema, List<String> out) {
        for (Map.Entry<String, JsonNode> e : schema.properties()) {
            out.add(e.getKey());
            if (e.getKey().equals("properties")) {
                // Keys here are property names; their values are subschemas.
                e.getValue().forEach(sub -> collectKeywords(sub, out));
            } else if (e.getKey().equals("items") && e.getValue().isObject()) {
                collectKeywords(e.getValue(), out);
            }
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String mutate(String json, Consumer<ObjectNode> change) {
        ObjectNode node = (ObjectNode) parse(json);
        change.accept(node);
        return node.toString();
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + json, e);
        }
    }
}
