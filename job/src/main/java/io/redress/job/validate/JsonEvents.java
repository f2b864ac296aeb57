package io.redress.job.validate;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.schemas.ComplaintEvent;
import io.redress.schemas.Language;
import io.redress.schemas.Stage;
import io.redress.schemas.Turn;
import io.redress.schemas.TurnRole;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of a {@link ComplaintEvent} (the topic's optional encoding and the JSON Lines
 * log format): snake_case fields as in the Avro schema, timestamps as ISO-8601 strings, unknown
 * fields ignored. Decoding names the first field that is missing or of the wrong type.
 */
public final class JsonEvents {

  private static final ObjectMapper JSON = JsonMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build();

  static {
    JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
        .maxNestingDepth(64).build());
  }

  private JsonEvents() {
  }

  /**
   * Decodes one event.
   *
   * @throws InvalidInput stage decode ("undecodable") for bytes that are not one JSON object,
   *     stage validate for a missing or wrongly typed field or an unknown language
   */
  public static ComplaintEvent decode(byte[] bytes) throws InvalidInput {
    JsonNode root;
    try (JsonParser p = JSON.getFactory().createParser(bytes)) {
      root = JSON.readTree(p);
      if (root != null && p.nextToken() != null) {
        throw new InvalidInput(Stage.decode, "undecodable", "more than one JSON value");
      }
    } catch (IOException | RuntimeException e) {
      throw new InvalidInput(Stage.decode, "undecodable", "not JSON: " + firstLine(e));
    }
    if (root == null || !root.isObject()) {
      throw new InvalidInput(Stage.decode, "undecodable", "not a JSON object");
    }
    ComplaintEvent.Builder b = ComplaintEvent.newBuilder()
        .setComplaintId(text(root, "complaint_id"))
        .setConversationId(text(root, "conversation_id"))
        .setCustomerId(text(root, "customer_id"))
        .setChannel(text(root, "channel"))
        .setLanguage(language(root))
        .setCreatedAt(instant(root, "created_at", "created_at"))
        .setTurns(turns(root))
        .setReferenceReply(optionalText(root, "reference_reply"))
        .setReferenceCategory(optionalText(root, "reference_category"))
        .setAttributes(attributes(root));
    return b.build();
  }

  /** The JSON form of an event (for logs, tests and the demo's sample data). */
  public static ObjectNode encode(ComplaintEvent e) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("complaint_id", e.getComplaintId());
    o.put("conversation_id", e.getConversationId());
    o.put("customer_id", e.getCustomerId());
    o.put("channel", e.getChannel());
    o.put("language", e.getLanguage().name());
    o.put("created_at", e.getCreatedAt().toString());
    ArrayNode turns = o.putArray("turns");
    for (Turn t : e.getTurns()) {
      turns.addObject().put("role", t.getRole().name()).put("text", t.getText())
          .put("ts", t.getTs().toString());
    }
    o.put("reference_reply", e.getReferenceReply());
    o.put("reference_category", e.getReferenceCategory());
    ObjectNode attrs = o.putObject("attributes");
    e.getAttributes().forEach((k, v) -> attrs.put(k.toString(), v.toString()));
    return o;
  }

  /** {@link #encode} as a compact JSON line (UTF-8 bytes, no newline). */
  public static byte[] encodeBytes(ComplaintEvent e) {
    try {
      return JSON.writeValueAsBytes(encode(e));
    } catch (IOException ex) {
      throw new IllegalStateException(ex);
    }
  }

  private static String text(JsonNode o, String field) throws InvalidInput {
    JsonNode v = o.get(field);
    if (v == null || v.isNull()) {
      throw new InvalidInput(Stage.validate, "missing_field", "field " + field + " is missing");
    }
    if (!v.isTextual()) {
      throw new InvalidInput(Stage.validate, "wrong_type", "field " + field
          + " must be a string, not " + v.getNodeType().name().toLowerCase());
    }
    if (v.textValue().isBlank()) {
      throw new InvalidInput(Stage.validate, "missing_field", "field " + field + " is empty");
    }
    return v.textValue();
  }

  private static String optionalText(JsonNode o, String field) throws InvalidInput {
    JsonNode v = o.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new InvalidInput(Stage.validate, "wrong_type", "field " + field
          + " must be a string or null, not " + v.getNodeType().name().toLowerCase());
    }
    return v.textValue();
  }

  private static Language language(JsonNode o) throws InvalidInput {
    String s = text(o, "language");
    return switch (s) {
      case "zh" -> Language.zh;
      case "en" -> Language.en;
      default -> throw new InvalidInput(Stage.validate, "unknown_language", "language '"
          + abbreviate(s) + "' is not supported: use zh or en");
    };
  }

  private static Instant instant(JsonNode o, String field, String path) throws InvalidInput {
    String s = text(o, field);
    try {
      return OffsetDateTime.parse(s).toInstant();
    } catch (DateTimeParseException e) {
      try {
        return Instant.parse(s);
      } catch (DateTimeParseException e2) {
        throw new InvalidInput(Stage.validate, "wrong_type", path + " '" + abbreviate(s)
            + "' is not an ISO-8601 date-time such as 2025-03-01T09:30:00Z");
      }
    }
  }

  private static List<Turn> turns(JsonNode o) throws InvalidInput {
    JsonNode v = o.get("turns");
    if (v == null || v.isNull()) {
      throw new InvalidInput(Stage.validate, "missing_field", "field turns is missing");
    }
    if (!v.isArray()) {
      throw new InvalidInput(Stage.validate, "wrong_type", "field turns must be an array");
    }
    List<Turn> out = new ArrayList<>(v.size());
    for (int i = 0; i < v.size(); i++) {
      JsonNode t = v.get(i);
      String at = "turns[" + i + "]";
      if (!t.isObject()) {
        throw new InvalidInput(Stage.validate, "wrong_type", at + " must be an object");
      }
      String role;
      JsonNode r = t.get("role");
      if (r == null || r.isNull()) {
        throw new InvalidInput(Stage.validate, "missing_field", at + ".role is missing");
      }
      role = r.isTextual() ? r.textValue() : null;
      TurnRole tr;
      if ("customer".equals(role)) {
        tr = TurnRole.customer;
      } else if ("agent".equals(role)) {
        tr = TurnRole.agent;
      } else {
        throw new InvalidInput(Stage.validate, "wrong_type", at
            + ".role must be \"customer\" or \"agent\"");
      }
      JsonNode text = t.get("text");
      if (text == null || text.isNull()) {
        throw new InvalidInput(Stage.validate, "missing_field", at + ".text is missing");
      }
      if (!text.isTextual()) {
        throw new InvalidInput(Stage.validate, "wrong_type", at + ".text must be a string");
      }
      out.add(new Turn(tr, text.textValue(), instant(t, "ts", at + ".ts")));
    }
    return out;
  }

  private static Map<String, String> attributes(JsonNode o) throws InvalidInput {
    JsonNode v = o.get("attributes");
    Map<String, String> out = new LinkedHashMap<>();
    if (v == null || v.isNull()) {
      return out;
    }
    if (!v.isObject()) {
      throw new InvalidInput(Stage.validate, "wrong_type", "field attributes must be an object"
          + " of strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new InvalidInput(Stage.validate, "wrong_type", "attributes." + abbreviate(e.getKey())
            + " must be a string");
      }
      out.put(e.getKey(), e.getValue().textValue());
    }
    return out;
  }

  static String abbreviate(String s) {
    return s.length() <= 40 ? s : s.substring(0, 40) + "...";
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
