package io.redress.job.sink;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.schemas.ComplaintReply;
import io.redress.schemas.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The JSON Lines forms of replies and dead letters (files output): the Avro fields by name,
 * timestamps as ISO-8601, a dead letter's raw bytes as base64 plus, when they are UTF-8, as text.
 */
public final class RecordJson {

  private static final ObjectMapper JSON = new ObjectMapper();

  private RecordJson() {
  }

  /** One reply as a JSON object. */
  public static ObjectNode reply(ComplaintReply r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("complaint_id", r.getComplaintId());
    o.put("conversation_id", r.getConversationId());
    o.put("model", r.getModel());
    o.put("prompt_version", r.getPromptVersion());
    ObjectNode reply = o.putObject("reply");
    reply.put("category", r.getReply().getCategory());
    var demands = reply.putArray("demands");
    r.getReply().getDemands().forEach(demands::add);
    reply.put("urgency", r.getReply().getUrgency());
    reply.put("sentiment", r.getReply().getSentiment());
    reply.put("reply_text", r.getReply().getReplyText());
    o.put("raw_json", r.getRawJson());
    o.put("cosine", r.getCosine());
    o.put("correct", r.getCorrect());
    o.put("latency_ms", r.getLatencyMs());
    o.put("prompt_tokens", r.getPromptTokens());
    o.put("cached_tokens", r.getCachedTokens());
    o.put("completion_tokens", r.getCompletionTokens());
    o.put("processed_at", r.getProcessedAt().toString());
    o.put("source_topic", r.getSourceTopic());
    o.put("source_partition", r.getSourcePartition());
    o.put("source_offset", r.getSourceOffset());
    return o;
  }

  /** One dead letter as a JSON object. */
  public static ObjectNode deadLetter(DeadLetter d) {
    ObjectNode o = JSON.createObjectNode();
    o.put("source_topic", d.getSourceTopic());
    o.put("source_partition", d.getSourcePartition());
    o.put("source_offset", d.getSourceOffset());
    o.put("source_file", d.getSourceFile());
    o.put("source_line", d.getSourceLine());
    o.put("stage", d.getStage().name());
    o.put("error_code", d.getErrorCode());
    o.put("message", d.getMessage());
    o.put("at", d.getAt().toString());
    byte[] raw = bytes(d.getRaw());
    o.put("raw_base64", Base64.getEncoder().encodeToString(raw));
    try {
      o.put("raw_text", StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(raw))
          .toString());
    } catch (CharacterCodingException e) {
      o.putNull("raw_text");
    }
    return o;
  }

  static byte[] bytes(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    byte[] out = new byte[d.remaining()];
    d.get(out);
    return out;
  }

  /** A compact one-line rendering. */
  public static String line(ObjectNode o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
