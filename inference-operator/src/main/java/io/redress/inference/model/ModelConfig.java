package io.redress.inference.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The architecture of a Qwen2 model, read from an HF {@code config.json} (plus the EOS ids of
 * {@code generation_config.json} when present).
 *
 * <p>Both config styles in the wild are accepted: published Qwen2.5 checkpoints write
 * {@code rope_theta} and {@code torch_dtype} at top level; transformers 5 writes
 * {@code rope_parameters} and {@code dtype}. Anything we would compute differently from the
 * reference (sliding-window attention, RoPE scaling, another architecture) is rejected here,
 * with the file named, rather than producing plausible but wrong text later.
 *
 * @param hiddenSize model width (d)
 * @param intermediateSize MLP width
 * @param numLayers decoder layers
 * @param numHeads query heads
 * @param numKvHeads key/value heads (grouped-query attention when fewer than numHeads)
 * @param headDim per-head width, hiddenSize / numHeads unless the config says otherwise
 * @param vocabSize embedding rows (may exceed the tokenizer's vocabulary: padding)
 * @param maxPositions max_position_embeddings
 * @param ropeTheta RoPE base
 * @param rmsNormEps RMSNorm epsilon
 * @param tieWordEmbeddings whether the LM head reuses the embedding matrix
 * @param dtype declared weight dtype ("bfloat16", "float16", "float32"), informational
 * @param eosTokenIds ids that end generation (config.json and generation_config.json)
 */
public record ModelConfig(
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    int vocabSize,
    int maxPositions,
    double ropeTheta,
    double rmsNormEps,
    boolean tieWordEmbeddings,
    String dtype,
    List<Integer> eosTokenIds) {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> SUPPORTED_ARCHITECTURES = Set.of("Qwen2ForCausalLM");

  public ModelConfig {
    requirePositive("hidden_size", hiddenSize);
    requirePositive("intermediate_size", intermediateSize);
    requirePositive("num_hidden_layers", numLayers);
    requirePositive("num_attention_heads", numHeads);
    requirePositive("num_key_value_heads", numKvHeads);
    requirePositive("head_dim", headDim);
    requirePositive("vocab_size", vocabSize);
    requirePositive("max_position_embeddings", maxPositions);
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads ("
              + numKvHeads + ")");
    }
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
    }
    if (!(ropeTheta > 0) || !(rmsNormEps > 0)) {
      throw new IllegalArgumentException("rope_theta and rms_norm_eps must be positive");
    }
    eosTokenIds = List.copyOf(eosTokenIds);
  }

  private static void requirePositive(String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " must be positive, got " + value);
    }
  }

  /** Queries per key/value head. */
  public int groupSize() {
    return numHeads / numKvHeads;
  }

  /** Width of all query heads together. */
  public int qSize() {
    return numHeads * headDim;
  }

  /**
   * Weight elements a decode step reads: every matrix once (QKV, O, gate/up/down per layer,
   * the LM head), the embedding only a row. Times bytes per element, over memory bandwidth,
   * this is the roofline of batch-1 decode.
   */
  public long decodeWeightElements() {
    long d = hiddenSize;
    long perLayer = d * (qSize() + 2L * kvSize()) + (long) qSize() * d + 3L * d * intermediateSize;
    return perLayer * numLayers + (long) vocabSize * d;
  }

  /** Width of all key (or value) heads together. */
  public int kvSize() {
    return numKvHeads * headDim;
  }

  /**
   * Reads {@code config.json} (and {@code generation_config.json} if present) from a model
   * directory.
   *
   * @throws ModelLoadException naming the file and what to change when it is missing, not
   *     JSON, or describes a model we cannot run exactly
   */
  public static ModelConfig load(Path modelDir) {
    if (!Files.isDirectory(modelDir)) {
      throw new ModelLoadException("model directory " + modelDir + " does not exist or is not"
          + " a directory: pass --model a directory in HF layout (config.json, *.safetensors,"
          + " tokenizer.json)");
    }
    Path file = modelDir.resolve("config.json");
    JsonNode root = readJson(file, "a model directory in HF layout holds config.json next to"
        + " the *.safetensors weights; pass --model the directory that contains it");
    try {
      ModelConfig config = fromJson(root, file);
      Path generation = modelDir.resolve("generation_config.json");
      if (Files.isRegularFile(generation)) {
        Set<Integer> eos = new LinkedHashSet<>(config.eosTokenIds);
        eos.addAll(intList(readJson(generation, "fix or delete it").get("eos_token_id")));
        config = config.withEosTokenIds(List.copyOf(eos));
      }
      return config;
    } catch (IllegalArgumentException e) {
      throw new ModelLoadException(file + ": " + e.getMessage());
    }
  }

  /** Parses a config that is already in memory; {@code source} names it in errors. */
  public static ModelConfig fromJson(JsonNode root, Path source) {
    List<String> architectures = new ArrayList<>();
    root.path("architectures").forEach(a -> architectures.add(a.asText()));
    String modelType = root.path("model_type").asText("");
    if (architectures.isEmpty() ? !modelType.equals("qwen2")
        : architectures.stream().noneMatch(SUPPORTED_ARCHITECTURES::contains)) {
      String found = architectures.isEmpty() ? "model_type '" + modelType + "'"
          : "architectures " + architectures;
      throw new ModelLoadException(source + ": unsupported model: " + found
          + ". Redress runs Qwen2ForCausalLM checkpoints (Qwen2 and Qwen2.5, bf16/fp16/fp32 or"
          + " GPTQ int4); convert the model or pick a Qwen2.5 checkpoint.");
    }
    if (root.path("use_sliding_window").asBoolean(false)) {
      throw new ModelLoadException(source + ": use_sliding_window is true; Redress implements"
          + " full attention only. Set \"use_sliding_window\": false (Qwen2.5 checkpoints ship"
          + " it false) or use a model without sliding-window layers.");
    }
    for (JsonNode layerType : root.path("layer_types")) {
      if (!layerType.asText().equals("full_attention")) {
        throw new ModelLoadException(source + ": layer_types contains '" + layerType.asText()
            + "'; Redress implements full attention only.");
      }
    }
    double ropeTheta = ropeTheta(root, source);
    int hidden = requiredInt(root, "hidden_size", source);
    int heads = requiredInt(root, "num_attention_heads", source);
    int headDim = root.hasNonNull("head_dim") ? root.get("head_dim").asInt() : hidden / heads;
    if (!root.hasNonNull("head_dim") && hidden % heads != 0) {
      throw new ModelLoadException(source + ": hidden_size " + hidden
          + " is not a multiple of num_attention_heads " + heads);
    }
    String dtype = root.hasNonNull("dtype") ? root.get("dtype").asText()
        : root.path("torch_dtype").asText("bfloat16");
    return new ModelConfig(
        hidden,
        requiredInt(root, "intermediate_size", source),
        requiredInt(root, "num_hidden_layers", source),
        heads,
        root.hasNonNull("num_key_value_heads") ? root.get("num_key_value_heads").asInt() : heads,
        headDim,
        requiredInt(root, "vocab_size", source),
        root.path("max_position_embeddings").asInt(32768),
        ropeTheta,
        root.path("rms_norm_eps").asDouble(1e-6),
        root.path("tie_word_embeddings").asBoolean(false),
        dtype,
        intList(root.get("eos_token_id")));
  }

  /** The same config with other EOS ids. */
  public ModelConfig withEosTokenIds(List<Integer> ids) {
    return new ModelConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
        headDim, vocabSize, maxPositions, ropeTheta, rmsNormEps, tieWordEmbeddings, dtype, ids);
  }

  private static double ropeTheta(JsonNode root, Path source) {
    // transformers 5 folds theta and scaling into rope_parameters; older configs use
    // rope_theta + rope_scaling. Only plain ("default") RoPE is computed exactly here.
    JsonNode params = root.path("rope_parameters");
    JsonNode scaling = params.isObject() ? params : root.path("rope_scaling");
    if (scaling.isObject()) {
      String type = scaling.hasNonNull("rope_type") ? scaling.get("rope_type").asText()
          : scaling.path("type").asText("default");
      if (!type.equals("default")) {
        throw new ModelLoadException(source + ": RoPE scaling '" + type + "' is not"
            + " implemented. Remove rope_scaling (the model then runs up to its native"
            + " max_position_embeddings) or use a checkpoint without it.");
      }
    }
    if (params.isObject() && params.hasNonNull("rope_theta")) {
      return params.get("rope_theta").asDouble();
    }
    return root.path("rope_theta").asDouble(10000.0);
  }

  private static int requiredInt(JsonNode root, String key, Path source) {
    JsonNode node = root.get(key);
    if (node == null || !node.canConvertToInt()) {
      throw new ModelLoadException(source + ": missing or non-integer \"" + key + "\"; it is"
          + " required for a Qwen2 model (compare with the checkpoint's original config.json)");
    }
    return node.asInt();
  }

  private static List<Integer> intList(JsonNode node) {
    List<Integer> ids = new ArrayList<>();
    if (node == null || node.isNull()) {
      return ids;
    }
    if (node.isArray()) {
      node.forEach(n -> ids.add(n.asInt()));
    } else {
      ids.add(node.asInt());
    }
    return ids;
  }

  static JsonNode readJson(Path file, String fix) {
    try {
      return JSON.readTree(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      throw new ModelLoadException(file + " not found: " + fix);
    } catch (IOException e) {
      throw new ModelLoadException(file + " is not valid JSON (" + firstLine(e.getMessage())
          + "): " + fix, e);
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }
}
