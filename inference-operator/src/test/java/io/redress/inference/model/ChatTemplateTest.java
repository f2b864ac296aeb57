package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-written expectations of Qwen2.5's ChatML rendering; the golden test is the reference one. */
class ChatTemplateTest {

  private static final String QWEN_SYSTEM =
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n";

  @Test
  void qwen25InsertsItsDefaultSystemTurn() {
    String prompt =
        ChatTemplate.qwen25().render(List.of(ChatMessage.user("我的快递没到")), true);
    assertThat(prompt)
        .isEqualTo(
            QWEN_SYSTEM + "<|im_start|>user\n我的快递没到<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void anExplicitSystemTurnReplacesTheDefault() {
    String prompt =
        ChatTemplate.qwen25()
            .render(List.of(ChatMessage.system("You handle complaints."), ChatMessage.user("Hi")), false);
    assertThat(prompt)
        .isEqualTo(
            "<|im_start|>system\nYou handle complaints.<|im_end|>\n"
                + "<|im_start|>user\nHi<|im_end|>\n");
  }

  @Test
  void multiTurnKeepsOrderAndALateSystemTurnIsRenderedInPlace() {
    List<ChatMessage> chat =
        List.of(
            ChatMessage.user("Where is my refund?"),
            ChatMessage.assistant("Let me check."),
            ChatMessage.system("Be brief."),
            ChatMessage.user("Still waiting."));
    assertThat(ChatTemplate.qwen25().render(chat, true))
        .isEqualTo(
            QWEN_SYSTEM
                + "<|im_start|>user\nWhere is my refund?<|im_end|>\n"
                + "<|im_start|>assistant\nLet me check.<|im_end|>\n"
                + "<|im_start|>system\nBe brief.<|im_end|>\n"
                + "<|im_start|>user\nStill waiting.<|im_end|>\n"
                + "<|im_start|>assistant\n");
  }

  @Test
  void emptyContentIsRendered() {
    assertThat(ChatTemplate.chatml().render(List.of(ChatMessage.user("")), false))
        .isEqualTo("<|im_start|>user\n<|im_end|>\n");
  }

  @Test
  void chatmlInsertsNothing() {
    assertThat(ChatTemplate.chatml().render(List.of(ChatMessage.user("hi")), true))
        .isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    assertThat(ChatTemplate.chatml().defaultSystemPrompt()).isEmpty();
    assertThat(ChatTemplate.qwen25().defaultSystemPrompt())
        .hasValue(ChatTemplate.QWEN25_DEFAULT_SYSTEM);
  }

  @Test
  void renderedPromptEncodesToSpecialTokens() {
    try (Tokenizer tokenizer = Tokenizer.load(TokenizerTest.qwenTokenizerDir())) {
      int[] ids = tokenizer.encode(ChatTemplate.qwen25().render(List.of(ChatMessage.user("hi")), true));
      assertThat(ids[0]).isEqualTo(TokenizerTest.IM_START);
      assertThat(java.util.Arrays.stream(ids).filter(id -> id == TokenizerTest.IM_END).count()).isEqualTo(2);
      // "<|im_start|>assistant\n" ends the prompt: im_start, "assistant", "\n".
      assertThat(ids[ids.length - 3]).isEqualTo(TokenizerTest.IM_START);
    }
  }

  @Test
  void forModelPicksQwen25FromItsTemplate(@TempDir Path dir) throws IOException {
    Files.writeString(
        dir.resolve("tokenizer_config.json"),
        "{\"chat_template\": \"{%- if tools %}...{{- 'You are Qwen, created by Alibaba Cloud. "
            + "You are a helpful assistant.' }}...\"}");
    assertThat(ChatTemplate.forModel(dir).defaultSystemPrompt()).isPresent();
  }

  @Test
  void forModelFallsBackToChatml(@TempDir Path dir) throws IOException {
    assertThat(ChatTemplate.forModel(dir).defaultSystemPrompt()).as("no config").isEmpty();
    // The test tokenizer's config carries Qwen3's template, which inserts no system turn.
    assertThat(ChatTemplate.forModel(TokenizerTest.qwenTokenizerDir()).defaultSystemPrompt())
        .isEmpty();
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"model_max_length\": 4096}");
    assertThat(ChatTemplate.forModel(dir).defaultSystemPrompt()).as("no chat_template").isEmpty();
  }

  @Test
  void forModelRejectsABrokenConfig(@TempDir Path dir) throws IOException {
    Path config = Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
    assertThatThrownBy(() -> ChatTemplate.forModel(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(config.toString());
  }

  @Test
  void rejectsUnknownRolesAndEmptyChats() {
    assertThatThrownBy(() -> new ChatMessage("tool", "x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tool");
    assertThatThrownBy(() -> new ChatMessage("user", null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> ChatTemplate.qwen25().render(List.of(), true))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
