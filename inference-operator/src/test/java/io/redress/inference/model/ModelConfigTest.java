package io.redress.inference.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelConfigTest {

  @TempDir Path dir;

  /** Qwen2.5-0.5B-Instruct's config.json as published (top-level rope_theta, torch_dtype). */
  private static final String QWEN25_05B = """
      {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "hidden_act": "silu",
        "hidden_size": 896,
        "initializer_range": 0.02,
        "intermediate_size": 4864,
        "max_position_embeddings": 32768,
        "max_window_layers": 21,
        "model_type": "qwen2",
        "num_attention_heads": 14,
        "num_hidden_layers": 24,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": true,
        "torch_dtype": "bfloat16",
        "transformers_version": "4.43.1",
        "use_cache": true,
        "use_sliding_window": false,
        "vocab_size": 151936
      }
      """;

  /** The same model as transformers 5 writes it (rope_parameters, dtype, layer_types). */
  private static final String TRANSFORMERS5 = """
      {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 2,
        "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-06,
        "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
        "layer_types": ["full_attention", "full_attention"],
        "tie_word_embeddings": true, "dtype": "bfloat16", "use_sliding_window": false,
        "eos_token_id": 151645
      }
      """;

  @Test
  void readsPublishedQwen25Config() throws IOException {
    Files.writeString(dir.resolve("config.json"), QWEN25_05B);
    Files.writeString(dir.resolve("generation_config.json"),
        "{\"eos_token_id\": [151645, 151643], \"do_sample\": true}");
    ModelConfig c = ModelConfig.load(dir);
    assertThat(c.hiddenSize()).isEqualTo(896);
    assertThat(c.intermediateSize()).isEqualTo(4864);
    assertThat(c.numLayers()).isEqualTo(24);
    assertThat(c.numHeads()).isEqualTo(14);
    assertThat(c.numKvHeads()).isEqualTo(2);
    assertThat(c.headDim()).isEqualTo(64);
    assertThat(c.groupSize()).isEqualTo(7);
    assertThat(c.vocabSize()).isEqualTo(151936);
    assertThat(c.maxPositions()).isEqualTo(32768);
    assertThat(c.ropeTheta()).isEqualTo(1_000_000.0);
    assertThat(c.rmsNormEps()).isEqualTo(1e-6);
    assertThat(c.tieWordEmbeddings()).isTrue();
    assertThat(c.dtype()).isEqualTo("bfloat16");
    assertThat(c.eosTokenIds()).containsExactly(151645, 151643);
  }

  @Test
  void readsTransformers5Style() throws IOException {
    Files.writeString(dir.resolve("config.json"), TRANSFORMERS5);
    ModelConfig c = ModelConfig.load(dir);
    assertThat(c.ropeTheta()).isEqualTo(1_000_000.0);
    assertThat(c.dtype()).isEqualTo("bfloat16");
    assertThat(c.numLayers()).isEqualTo(2);
  }

  @Test
  void roundTripsThroughTheWriter() throws IOException {
    ModelConfig c = RandomCheckpoint.qwen25_05b();
    Files.writeString(dir.resolve("config.json"), RandomCheckpoint.configJson(c));
    assertThat(ModelConfig.load(dir)).isEqualTo(c);
  }

  @Test
  void rejectsOtherArchitecturesNamingTheFile() throws IOException {
    Files.writeString(dir.resolve("config.json"), QWEN25_05B
        .replace("Qwen2ForCausalLM", "LlamaForCausalLM").replace("\"qwen2\"", "\"llama\""));
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("config.json")
        .hasMessageContaining("LlamaForCausalLM")
        .hasMessageContaining("Qwen2ForCausalLM");
  }

  @Test
  void rejectsSlidingWindow() throws IOException {
    Files.writeString(dir.resolve("config.json"),
        QWEN25_05B.replace("\"use_sliding_window\": false", "\"use_sliding_window\": true"));
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("use_sliding_window");
  }

  @Test
  void rejectsSlidingLayerTypes() throws IOException {
    Files.writeString(dir.resolve("config.json"),
        TRANSFORMERS5.replace("[\"full_attention\", \"full_attention\"]",
            "[\"full_attention\", \"sliding_attention\"]"));
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("sliding_attention");
  }

  @Test
  void rejectsRopeScalingWeDoNotImplement() throws IOException {
    Files.writeString(dir.resolve("config.json"), QWEN25_05B.replace("\"rope_theta\"",
        "\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0,"
            + " \"original_max_position_embeddings\": 32768}, \"rope_theta\""));
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("yarn")
        .hasMessageContaining("rope_scaling");
    Files.writeString(dir.resolve("config.json"), TRANSFORMERS5.replace("\"default\"",
        "\"linear\", \"factor\": 2.0"));
    assertThatThrownBy(() -> ModelConfig.load(dir)).hasMessageContaining("linear");
  }

  @Test
  void missingConfigSaysWhatAModelDirectoryHolds() {
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining(dir.resolve("config.json").toString())
        .hasMessageContaining("not found")
        .hasMessageContaining("--model");
  }

  @Test
  void invalidJsonAndMissingKeysAreNamed() throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8,");
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("not valid JSON");
    Files.writeString(dir.resolve("config.json"), QWEN25_05B.replace("\"hidden_size\": 896,",
        ""));
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("hidden_size");
  }

  @Test
  void rejectsHeadsThatDoNotGroup() throws IOException {
    Files.writeString(dir.resolve("config.json"),
        QWEN25_05B.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3"));
    assertThatThrownBy(() -> ModelConfig.load(dir))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("num_key_value_heads");
  }
}
