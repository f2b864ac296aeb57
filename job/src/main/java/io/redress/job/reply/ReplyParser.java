package io.redress.job.reply;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.redress.job.validate.InvalidInput;
import io.redress.schemas.Reply;
import io.redress.schemas.ReplySchema;
import io.redress.schemas.Stage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Generated text to a {@link Reply}: parsed with Jackson, validated against reply.schema.json
 * (networknt, draft 2020-12). Guided decoding makes both always succeed; this is the check that
 * holds the engine to it. Thread-safe.
 */
public final class ReplyParser {

  private static final ObjectMapper JSON = new ObjectMapper();
  private final JsonSchema schema;

  public ReplyParser() {
    schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
        .getSchema(ReplySchema.text());
  }

  /**
   * Parses and validates.
   *
   * @throws InvalidInput stage parse: "invalid_json" or "schema_violation", naming the problem
   */
  public Reply parse(String text) throws InvalidInput {
    JsonNode node;
    try {
      node = JSON.readTree(text == null ? "" : text);
    } catch (Exception e) {
      throw new InvalidInput(Stage.parse, "invalid_json", "the reply is not JSON: "
          + firstLine(e.getMessage()) + "; output starts: " + head(text));
    }
    if (node == null || node.isMissingNode()) {
      throw new InvalidInput(Stage.parse, "invalid_json", "the reply is empty");
    }
    Set<ValidationMessage> errors = schema.validate(node);
    if (!errors.isEmpty()) {
      throw new InvalidInput(Stage.parse, "schema_violation", "the reply does not match"
          + " reply.schema.json: " + errors.stream().map(ValidationMessage::getMessage)
              .sorted().limit(5).collect(Collectors.joining("; ")));
    }
    List<String> demands = new ArrayList<>();
    node.get("demands").forEach(d -> demands.add(d.textValue()));
    return Reply.newBuilder()
        .setCategory(node.get("category").textValue())
        .setDemands(demands)
        .setUrgency(node.get("urgency").textValue())
        .setSentiment(node.get("sentiment").textValue())
        .setReplyText(node.get("reply_text").textValue())
        .build();
  }

  private static String head(String s) {
    if (s == null) {
      return "(nothing)";
    }
    String h = s.length() > 60 ? s.substring(0, 60) + "..." : s;
    return '"' + h.replace("\n", "\\n") + '"';
  }

  private static String firstLine(String m) {
    if (m == null) {
      return "";
    }
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
