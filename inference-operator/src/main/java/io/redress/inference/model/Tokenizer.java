package io.redress.inference.model;

import ai.djl.engine.EngineException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model's tokenizer: HF {@code tokenizers} itself (through DJL's JNI binding) over the model's
 * {@code tokenizer.json}, so ids are exactly those of the Python reference, plus each token's
 * byte string for guided decoding.
 *
 * <p>Encoding follows HF's defaults: added special tokens written in the text (e.g.
 * {@code "<|im_start|>"}) become their ids, the file's normalizer (NFC for Qwen) applies, and
 * the post-processor's special tokens are added (none for Qwen). Unlike DJL's defaults, nothing
 * is truncated or padded: a prompt of any length encodes whole.
 *
 * <p>Thread-safe: encode and decode may run concurrently (the native tokenizer is immutable).
 * Close it once no call is in flight; it holds native memory.
 */
public final class Tokenizer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(Tokenizer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * DJL options. Its defaults truncate to 512 tokens and pad to the longest input; an inference
   * engine must see every token of the prompt and nothing else.
   */
  private static final Map<String, String> DJL_OPTIONS =
      Map.of(
          "addSpecialTokens", "true",
          "withOverflowingTokens", "false",
          "truncation", "false",
          "padding", "false");

  static {
    // Two DJL defaults that an inference engine must not have; an operator's own setting of
    // either (environment or system property) still wins.
    // On a machine with a CUDA GPU, DJL picks a "cuXXX" build of its native library, which is
    // not in the jar and is downloaded at first use: that fails offline, and HF tokenizers has
    // no GPU code anyway. The CPU build ships inside the jar.
    setIfUnset("RUST_FLAVOR", "cpu");
    // DJL probes the EC2 metadata endpoint and reports usage on first load: a network call,
    // with second-long timeouts, that an on-premise deployment should not make.
    setIfUnset("OPT_OUT_TRACKING", "true");
  }

  private final HuggingFaceTokenizer hf;
  private final Vocabulary vocabulary;
  private final Path file;

  private Tokenizer(HuggingFaceTokenizer hf, Vocabulary vocabulary, Path file) {
    this.hf = hf;
    this.vocabulary = vocabulary;
    this.file = file;
  }

  /**
   * Loads a tokenizer.
   *
   * @param path a model directory holding {@code tokenizer.json} (or {@code tokenizer.json.gz}),
   *     or such a file itself; gzip is recognised by its content, not its name
   * @return the tokenizer; close it when done
   * @throws ModelLoadException when the file is missing, unreadable, not JSON, or not an HF
   *     tokenizer; the message names the file and the fix
   */
  public static Tokenizer load(Path path) {
    Objects.requireNonNull(path, "path");
    Path file = resolve(path);
    byte[] json = readMaybeGzipped(file);
    JsonNode root = parse(json, file);
    Vocabulary vocabulary = Vocabulary.fromTokenizerJson(root, file);
    HuggingFaceTokenizer hf = createNative(json, file);
    LOG.debug("Loaded tokenizer {} ({} tokens)", file, vocabulary.size());
    return new Tokenizer(hf, vocabulary, file);
  }

  /**
   * Encodes text as HF {@code Tokenizer.encode(text).ids} does.
   *
   * @param text any string; special-token text inside it becomes the special token
   * @return the token ids, never truncated
   */
  public int[] encode(String text) {
    Objects.requireNonNull(text, "text");
    long[] ids = hf.encode(text, true, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  /**
   * Decodes ids as HF {@code decode(ids, skip_special_tokens=False)} does: special tokens stay in
   * the text; bytes that do not form whole UTF-8 characters become U+FFFD. Ids at or above
   * {@link #vocabSize()} (a model's padding rows, which an untrained model can produce) have no
   * text and are skipped, as HF skips them.
   *
   * @param ids token ids, each non-negative
   * @return the text
   */
  public String decode(int[] ids) {
    Objects.requireNonNull(ids, "ids");
    long[] wide = new long[ids.length];
    int n = 0;
    for (int id : ids) {
      if (id < 0) {
        throw new IllegalArgumentException("token id " + id + " is negative");
      }
      if (id < vocabulary.size()) {
        wide[n++] = id;
      }
    }
    return hf.decode(n == ids.length ? wide : java.util.Arrays.copyOf(wide, n), false);
  }

  /**
   * The number of token ids: the highest id, added tokens included, plus one. A model's
   * embedding may have more rows (padding); those ids are never produced by the tokenizer.
   */
  public int vocabSize() {
    return vocabulary.size();
  }

  /**
   * The exact bytes a token contributes to decoded text: for regular tokens, GPT-2's byte-level
   * mapping reversed (so {@code "Ġhi"} is {@code " hi"}, and a token may hold part of a UTF-8
   * character); for added tokens, the UTF-8 of their text. Concatenating the bytes of an encoding
   * gives the UTF-8 of its decoding.
   *
   * @param id a token id in [0, {@link #vocabSize()})
   * @return a fresh copy of the bytes
   * @throws ModelLoadException when the tokenizer is not byte-level BPE
   * @throws IllegalArgumentException when no token has that id
   */
  public byte[] tokenBytes(int id) {
    return vocabulary.bytes(id, file);
  }

  /**
   * Whether the id is an added token marked special (such as {@code <|im_end|>}), the tokens HF
   * drops when decoding with {@code skip_special_tokens=True}.
   */
  public boolean isSpecial(int id) {
    return vocabulary.isSpecial(id);
  }

  /**
   * The id of a token given as HF's {@code token_to_id} takes it: an added token's content
   * ({@code "<|im_end|>"}) or a vocabulary entry as tokenizer.json spells it (byte-level form,
   * {@code "Ġhello"} for " hello").
   */
  public OptionalInt tokenId(String tokenText) {
    return vocabulary.id(Objects.requireNonNull(tokenText, "tokenText"));
  }

  /** Frees the native tokenizer. */
  @Override
  public void close() {
    hf.close();
  }

  @Override
  public String toString() {
    return "Tokenizer[" + file + ", " + vocabulary.size() + " tokens]";
  }

  private static void setIfUnset(String name, String value) {
    if (System.getenv(name) == null && System.getProperty(name) == null) {
      System.setProperty(name, value);
    }
  }

  private static Path resolve(Path path) {
    if (Files.isDirectory(path)) {
      for (String name : new String[] {"tokenizer.json", "tokenizer.json.gz"}) {
        Path candidate = path.resolve(name);
        if (Files.isRegularFile(candidate)) {
          return candidate;
        }
      }
      throw new ModelLoadException(
          "No tokenizer.json (or tokenizer.json.gz) in "
              + path
              + ". Copy the model's tokenizer.json from its Hugging Face repository into it.");
    }
    if (!Files.isRegularFile(path)) {
      throw new ModelLoadException(
          "Tokenizer file "
              + path
              + " does not exist. Pass the model directory or the path of its tokenizer.json.");
    }
    return path;
  }

  private static byte[] readMaybeGzipped(Path file) {
    try {
      byte[] bytes = Files.readAllBytes(file);
      boolean gzip = bytes.length >= 2 && (bytes[0] & 0xFF) == 0x1F && (bytes[1] & 0xFF) == 0x8B;
      if (!gzip) {
        return bytes;
      }
      try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
        return in.readAllBytes();
      }
    } catch (IOException e) {
      throw new ModelLoadException(
          "Cannot read tokenizer file "
              + file
              + " ("
              + e
              + "). Check that it is readable and complete, or download it again.",
          e);
    }
  }

  private static JsonNode parse(byte[] json, Path file) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
      throw new ModelLoadException(
          "Tokenizer file "
              + file
              + " is not valid JSON"
              + where
              + " ("
              + e.getOriginalMessage()
              + "). It may be truncated or not a tokenizer.json; download it again.",
          e);
    } catch (IOException e) {
      throw new ModelLoadException("Cannot read tokenizer file " + file + " (" + e + ").", e);
    }
    if (root == null || !root.isObject() || !root.has("model")) {
      throw new ModelLoadException(
          "Tokenizer file "
              + file
              + " is JSON but not an HF tokenizers file (no \"model\" section). "
              + "Use the tokenizer.json published with the model.");
    }
    return root;
  }

  private static HuggingFaceTokenizer createNative(byte[] json, Path file) {
    try {
      return HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json), DJL_OPTIONS);
    } catch (EngineException e) {
      // DJL reports a native library it could not extract, load or download this way.
      throw new ModelLoadException(
          "Cannot load the native HF tokenizers library needed for "
              + file
              + " ("
              + rootMessage(e)
              + "). DJL extracts it from its jar into DJL_CACHE_DIR (default ~/.djl.ai):"
              + " make that folder writable, and leave RUST_FLAVOR unset or \"cpu\" (other"
              + " flavors are downloaded at run time).",
          e);
    } catch (IOException | RuntimeException e) {
      throw new ModelLoadException(
          "HF tokenizers cannot build a tokenizer from "
              + file
              + " ("
              + e.getMessage()
              + "). Use the tokenizer.json published with the model.",
          e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root == e ? String.valueOf(e.getMessage()) : e.getMessage() + ": " + root;
  }
}
