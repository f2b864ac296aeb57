package io.redress.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.SamplingParams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The requests of a throughput run: random token ids (optionally with one prefix shared by
 * all) or lines of a JSON Lines file. Every request generates exactly its output length: EOS
 * is ignored, decoding is greedy, so runs with different engine settings do the same work.
 *
 * @param mode "random" or "dataset"
 * @param items the requests, in submission order
 */
record ThroughputWorkload(String mode, List<Item> items) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String LINE_FORMAT = "each line is {\"prompt\": \"text\", \"output_len\":"
      + " N} or {\"prompt_ids\": [1, 2, ...], \"output_len\": N}";

  /**
   * One request.
   *
   * @param id request id (unique in a run)
   * @param promptIds prompt token ids, or null for a text prompt
   * @param promptText raw prompt text (tokenized by the engine, no chat template), or null
   * @param outputLen tokens to generate
   */
  record Item(String id, int[] promptIds, String promptText, int outputLen) {

    GenerationRequest toRequest() {
      SamplingParams params = SamplingParams.greedy(outputLen).withIgnoreEos(true);
      return promptIds != null ? GenerationRequest.ofTokens(id, promptIds, params)
          : GenerationRequest.ofText(id, promptText, params);
    }
  }

  /** Requests with a text prompt. */
  long textPrompts() {
    return items.stream().filter(i -> i.promptText() != null).count();
  }

  /** Sum of the requests' output lengths. */
  long totalOutputLen() {
    return items.stream().mapToLong(Item::outputLen).sum();
  }

  /**
   * {@code n} prompts of {@code promptLen} ids drawn uniformly from [0, vocab) with a
   * {@code new Random(seed)}; the first {@code sharedPrefix} ids are drawn once and are the
   * same in every prompt (a shared system prompt), the rest differ per request.
   */
  static ThroughputWorkload random(String idPrefix, int n, int promptLen, int sharedPrefix,
      int outputLen, int vocab, long seed) {
    Random rnd = new Random(seed);
    int[] prefix = rnd.ints(sharedPrefix, 0, vocab).toArray();
    List<Item> items = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int[] ids = new int[promptLen];
      System.arraycopy(prefix, 0, ids, 0, sharedPrefix);
      for (int j = sharedPrefix; j < promptLen; j++) {
        ids[j] = rnd.nextInt(vocab);
      }
      items.add(new Item(idPrefix + i, ids, null, outputLen));
    }
    return new ThroughputWorkload("random", List.copyOf(items));
  }

  /**
   * Reads a JSON Lines dataset: {@code {"prompt": str, "output_len": int}} or
   * {@code {"prompt_ids": [int], "output_len": int}} per line (blank lines skipped).
   *
   * @param defaultOutputLen used for lines without {@code output_len}
   * @param limit take at most this many lines (null: all)
   * @throws IllegalArgumentException naming the file and line for anything unusable
   */
  static ThroughputWorkload fromJsonl(Path file, int vocab, int defaultOutputLen,
      Integer limit) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("--dataset " + file + ": no such file");
    }
    List<Item> items = new ArrayList<>();
    for (int i = 0; i < lines.size() && (limit == null || items.size() < limit); i++) {
      if (!lines.get(i).isBlank()) {
        items.add(parseLine(file, i + 1, lines.get(i), vocab, defaultOutputLen, items.size()));
      }
    }
    if (items.isEmpty()) {
      throw new IllegalArgumentException("--dataset " + file + " holds no requests; "
          + LINE_FORMAT);
    }
    return new ThroughputWorkload("dataset", List.copyOf(items));
  }

  private static Item parseLine(Path file, int lineNo, String line, int vocab,
      int defaultOutputLen, int index) {
    String where = file + " line " + lineNo + ": ";
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      node = null;
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(where + "not a JSON object; " + LINE_FORMAT);
    }
    JsonNode text = node.get("prompt");
    JsonNode ids = node.get("prompt_ids");
    if ((text == null || text.isNull()) == (ids == null || ids.isNull())) {
      throw new IllegalArgumentException(where + (text == null && ids == null
          ? "no \"prompt\" or \"prompt_ids\"" : "both \"prompt\" and \"prompt_ids\"")
          + "; " + LINE_FORMAT);
    }
    int outputLen = defaultOutputLen;
    JsonNode len = node.get("output_len");
    if (len != null && !len.isNull()) {
      if (!len.canConvertToInt() || !len.isIntegralNumber() || len.asInt() <= 0) {
        throw new IllegalArgumentException(where + "\"output_len\" must be a positive integer,"
            + " got " + len);
      }
      outputLen = len.asInt();
    }
    String id = "req-" + index;
    if (text != null && !text.isNull()) {
      if (!text.isTextual() || text.asText().isEmpty()) {
        throw new IllegalArgumentException(where + "\"prompt\" must be a non-empty string");
      }
      return new Item(id, null, text.asText(), outputLen);
    }
    if (!ids.isArray() || ids.isEmpty()) {
      throw new IllegalArgumentException(where + "\"prompt_ids\" must be a non-empty array of"
          + " token ids");
    }
    int[] prompt = new int[ids.size()];
    for (int k = 0; k < prompt.length; k++) {
      JsonNode t = ids.get(k);
      if (!t.isIntegralNumber() || !t.canConvertToInt() || t.asInt() < 0
          || t.asInt() >= vocab) {
        throw new IllegalArgumentException(where + "prompt_ids[" + k + "] = " + t
            + " is not a token id of this model (0 <= id < vocab_size " + vocab + ")");
      }
      prompt[k] = t.asInt();
    }
    return new Item(id, prompt, null, outputLen);
  }
}
