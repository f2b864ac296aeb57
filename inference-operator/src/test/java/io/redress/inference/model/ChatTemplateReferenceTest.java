package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Golden test against transformers' {@code apply_chat_template} over Qwen2.5-Instruct's template
 * ({@code tools/qwen25_chat_template.jinja}): same text, and the same ids once encoded.
 */
class ChatTemplateReferenceTest {

  @Test
  void renderingAndIdsEqualTransformers() throws IOException {
    Path reference = TokenizerTest.resource("/chat").resolve("reference.jsonl");
    Assumptions.assumeTrue(
        Files.isRegularFile(reference),
        "reference made by tools/make_fixtures.py on the GPU machine");
    ObjectMapper json = new ObjectMapper();
    List<String> lines = Files.readAllLines(reference);
    assertThat(lines).as("one reference per case in cases.jsonl")
        .hasSameSizeAs(Files.readAllLines(TokenizerTest.resource("/chat/cases.jsonl")));

    try (Tokenizer tokenizer = Tokenizer.load(TokenizerTest.qwenTokenizerDir())) {
      for (int i = 0; i < lines.size(); i++) {
        JsonNode ref = json.readTree(lines.get(i));
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : ref.get("messages")) {
          messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        boolean addGenerationPrompt = ref.get("add_generation_prompt").asBoolean();
        String text = ChatTemplate.qwen25().render(messages, addGenerationPrompt);
        assertThat(text).as("case %d rendering", i + 1).isEqualTo(ref.get("text").asText());
        assertThat(tokenizer.encode(text))
            .as("case %d ids", i + 1)
            .containsExactly(json.treeToValue(ref.get("ids"), int[].class));
      }
    }
  }
}
