package io.redress.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.model.ChatTemplate;
import io.redress.job.prompt.PromptTemplate;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/redress prompts}: the job's exact prompt text for each complaint, paired with the
 * reply the model should write (from the reference fields), as JSON Lines. This is the training
 * set of {@code tools/train_demo_model.py}: rendering it here, with the job's own
 * {@link PromptTemplate} and ChatML, means the model is trained on byte-for-byte what the job
 * will show it.
 *
 * <p>Output lines: {@code {"complaint_id", "language", "prompt", "completion"}}, where prompt
 * ends with the opened assistant turn and completion is the compact reply JSON in the schema's
 * property order (what guided decoding emits), without the end-of-turn token.
 */
@Command(name = "prompts", mixinStandardHelpOptions = true,
    description = "Render the job's prompts with their reference replies (training data).")
final class PromptsCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--input", required = true,
      description = "Complaints as JSON Lines with reference_reply, reference_category,"
          + " reference_demands, reference_urgency and reference_sentiment.")
  Path input;

  @Option(names = "--out", required = true, description = "JSON Lines file to write.")
  Path out;

  @Override
  public Integer call() throws IOException {
    ChatTemplate template = ChatTemplate.chatml();
    long written;
    try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      written = ComplaintLines.forEach(input, l -> {
        ObjectNode row = JSON.createObjectNode();
        row.put("complaint_id", l.event().getComplaintId());
        row.put("language", l.event().getLanguage().name());
        row.put("prompt", PromptTemplate.render(template, l.event()));
        row.put("completion", JSON.writeValueAsString(reply(JSON.readTree(l.bytes()),
            l.number())));
        w.write(JSON.writeValueAsString(row));
        w.newLine();
      });
    }
    System.err.printf("wrote %,d prompts to %s%n", written, out);
    return 0;
  }

  /** The reference reply as the model must write it: schema property order, compact. */
  private ObjectNode reply(JsonNode raw, long line) {
    ObjectNode r = JSON.createObjectNode();
    r.put("category", required(raw, "reference_category", line).asText());
    r.set("demands", required(raw, "reference_demands", line));
    r.put("urgency", required(raw, "reference_urgency", line).asText());
    r.put("sentiment", required(raw, "reference_sentiment", line).asText());
    r.put("reply_text", required(raw, "reference_reply", line).asText());
    return r;
  }

  private JsonNode required(JsonNode raw, String field, long line) {
    JsonNode v = raw.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException(input + " line " + line + ": no " + field
          + " (training data needs every reference field)");
    }
    return v;
  }
}
