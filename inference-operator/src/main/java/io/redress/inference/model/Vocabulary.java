package io.redress.inference.model;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The token table of an HF {@code tokenizer.json}: every id's text, which ids are special, and,
 * for byte-level BPE tokenizers (GPT-2, Qwen, Llama 3), every id's exact byte string.
 *
 * <p>The byte strings are what guided decoding walks: a token is allowed when its bytes keep
 * the output inside the grammar, so they must be the bytes the token adds to the decoded text,
 * not a display form. They are computed once here rather than per request.
 */
final class Vocabulary {

  /** GPT-2's reversible byte -> printable-char table, inverted: char -> byte, -1 if unmapped. */
  private static final int[] BYTE_OF_CHAR = byteLevelDecodeTable();

  private final String[] tokenText; // (vocabSize) vocab key or added-token content; null = gap
  private final BitSet special;
  private final Map<String, Integer> idByText;
  private final byte[][] tokenBytes; // (vocabSize) null when the tokenizer is not byte-level
  private final String whyNoBytes; // set when tokenBytes is null

  private Vocabulary(
      String[] tokenText,
      BitSet special,
      Map<String, Integer> idByText,
      byte[][] tokenBytes,
      String whyNoBytes) {
    this.tokenText = tokenText;
    this.special = special;
    this.idByText = idByText;
    this.tokenBytes = tokenBytes;
    this.whyNoBytes = whyNoBytes;
  }

  /**
   * Reads the table from a parsed {@code tokenizer.json}.
   *
   * @param root the whole file's JSON
   * @param file where it came from, for messages
   * @throws ModelLoadException when the file has no usable model vocabulary
   */
  static Vocabulary fromTokenizerJson(JsonNode root, Path file) {
    JsonNode model = root.path("model");
    Map<String, Integer> modelIds = modelVocab(model, file);
    JsonNode added = root.path("added_tokens");

    int size = 0;
    for (int id : modelIds.values()) {
      size = Math.max(size, id + 1);
    }
    for (JsonNode token : added) {
      size = Math.max(size, addedId(token, file) + 1);
    }

    String[] text = new String[size];
    Map<String, Integer> idByText = new HashMap<>(modelIds);
    modelIds.forEach((token, id) -> text[id] = token);
    BitSet special = new BitSet(size);
    BitSet isAdded = new BitSet(size);
    for (JsonNode token : added) {
      int id = addedId(token, file);
      String content = token.path("content").asText();
      // Like HF's token_to_id and id_to_token: the added vocabulary wins over the model's.
      text[id] = content;
      idByText.put(content, id);
      isAdded.set(id);
      special.set(id, token.path("special").asBoolean(false));
    }

    String whyNoBytes = byteLevelProblem(root, model);
    byte[][] bytes = whyNoBytes == null ? computeBytes(text, isAdded) : null;
    return new Vocabulary(text, special, Map.copyOf(idByText), bytes, whyNoBytes);
  }

  /** Highest id + 1, added tokens included. */
  int size() {
    return tokenText.length;
  }

  /** The bytes of one token, or a clear error for tokenizers that are not byte-level BPE. */
  byte[] bytes(int id, Path file) {
    if (tokenBytes == null) {
      throw new ModelLoadException(
          "Token byte strings are only defined for byte-level BPE tokenizers, but "
              + file
              + " "
              + whyNoBytes
              + ". Use the model's own HF tokenizer.json (GPT-2/Qwen style, ByteLevel decoder).");
    }
    checkId(id);
    byte[] b = tokenBytes[id];
    if (b == null) {
      throw new IllegalArgumentException("no token has id " + id + " in " + file);
    }
    return b.clone();
  }

  boolean isSpecial(int id) {
    checkId(id);
    return special.get(id);
  }

  OptionalInt id(String text) {
    Integer id = idByText.get(text);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  private void checkId(int id) {
    if (id < 0 || id >= tokenText.length) {
      throw new IllegalArgumentException(
          "token id " + id + " is outside the vocabulary [0, " + tokenText.length + ")");
    }
  }

  private static Map<String, Integer> modelVocab(JsonNode model, Path file) {
    JsonNode vocab = model.path("vocab");
    Map<String, Integer> ids = new HashMap<>();
    if (vocab.isObject()) { // BPE, WordPiece, WordLevel: {"token": id}
      for (Map.Entry<String, JsonNode> e : vocab.properties()) {
        ids.put(e.getKey(), nonNegative(e.getValue(), file));
      }
    } else if (vocab.isArray()) { // Unigram: [["piece", score], ...], id = position
      for (int i = 0; i < vocab.size(); i++) {
        ids.put(vocab.get(i).path(0).asText(), i);
      }
    } else {
      throw new ModelLoadException(
          file
              + " has no model.vocab, so it is not an HF tokenizers file. "
              + "Use the tokenizer.json published with the model (written by HF tokenizers).");
    }
    return ids;
  }

  private static int addedId(JsonNode token, Path file) {
    return nonNegative(token.path("id"), file);
  }

  private static int nonNegative(JsonNode id, Path file) {
    if (!id.canConvertToInt() || id.asInt() < 0) {
      throw new ModelLoadException(
          file + " has a token id that is not a non-negative integer: " + id
              + ". Re-download tokenizer.json from the model's repository.");
    }
    return id.asInt();
  }

  /** Null when the tokenizer is byte-level BPE, else what it is instead (for the message). */
  private static String byteLevelProblem(JsonNode root, JsonNode model) {
    String type = model.path("type").asText(model.has("merges") ? "BPE" : "");
    if (!type.equals("BPE")) {
      return "has a " + (type.isEmpty() ? "model of unknown type" : type + " model");
    }
    if (!hasByteLevel(root.path("decoder"))) {
      return "has no ByteLevel decoder (decoder: " + root.path("decoder").path("type").asText("none") + ")";
    }
    return null;
  }

  private static boolean hasByteLevel(JsonNode decoder) {
    if (decoder.path("type").asText().equals("ByteLevel")) {
      return true;
    }
    for (JsonNode inner : decoder.path("decoders")) {
      if (hasByteLevel(inner)) {
        return true;
      }
    }
    return false;
  }

  private static byte[][] computeBytes(String[] text, BitSet isAdded) {
    byte[][] bytes = new byte[text.length][];
    for (int id = 0; id < text.length; id++) {
      if (text[id] != null) {
        bytes[id] =
            isAdded.get(id) ? text[id].getBytes(StandardCharsets.UTF_8) : byteLevelBytes(text[id]);
      }
    }
    return bytes;
  }

  /**
   * Reverses GPT-2's byte-to-char mapping. A token with a char outside the mapping decodes to
   * its own UTF-8, as HF's ByteLevel decoder does, so that these bytes always equal decode's.
   */
  static byte[] byteLevelBytes(String token) {
    byte[] out = new byte[token.length()];
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
      if (b < 0) {
        return token.getBytes(StandardCharsets.UTF_8);
      }
      out[i] = (byte) b;
    }
    return out;
  }

  /**
   * GPT-2's bytes_to_unicode, inverted. Printable Latin-1 bytes stand for themselves; the other
   * 68 bytes (controls, space, 0x7F-0xA0, 0xAD) take the chars 256, 257, ... in byte order, so
   * every byte has a visible, non-whitespace char and BPE merges never see raw spaces.
   */
  private static int[] byteLevelDecodeTable() {
    int[] table = new int[256 + 256];
    Arrays.fill(table, -1);
    int next = 256;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      table[printable ? b : next++] = b;
    }
    return table;
  }
}
