package io.redress.job;

import static io.redress.job.JobConfigOptions.*;

import io.redress.inference.runtime.KvCacheDtype;
import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

/**
 * The job's settings, immutable and serializable (operators capture it). Each field is one of
 * {@link JobConfigOptions}, where it is documented.
 */
public record JobOptions(
    Mode mode,
    String bootstrapServers,
    String complaintsTopic,
    String repliesTopic,
    String deadLettersTopic,
    String groupId,
    String kafkaPropertiesFile,
    String transactionalIdPrefix,
    InputFormat inputFormat,
    List<String> inputs,
    String replayFrom,
    String replayTo,
    String modelDir,
    String device,
    int maxNewTokens,
    int maxPromptTokens,
    int maxNumSeqs,
    int maxBatchedTokens,
    int blockSize,
    int numBlocks,
    KvCacheDtype kvCacheDtype,
    int tensorParallelSize,
    boolean prefixCaching,
    int inferenceCapacity,
    Duration inferenceTimeout,
    int parallelism,
    Duration checkpointInterval,
    String outputDir,
    double cosineThreshold,
    boolean scoring,
    int maxRecordBytes) implements Serializable {

  /** How the job reads its input. */
  public enum Mode { STREAM, REPLAY, FILES }

  /** Encoding of records on the complaints topic. */
  public enum InputFormat { AVRO, JSON }

  public JobOptions {
    inputs = inputs == null ? List.of() : List.copyOf(inputs);
    kvCacheDtype = kvCacheDtype == null ? KvCacheDtype.AUTO : kvCacheDtype;
    if (kvCacheDtype == KvCacheDtype.FP8 && "cpu".equalsIgnoreCase(device)) {
      throw new IllegalArgumentException("--" + KV_CACHE_DTYPE.key() + " fp8 needs a GPU (the"
          + " CPU runner keeps K and V in fp32): drop it or use --device cuda or auto");
    }
    if (tensorParallelSize < 1) {
      throw new IllegalArgumentException("--" + TENSOR_PARALLEL_SIZE.key()
          + " must be at least 1, got " + tensorParallelSize);
    }
    if (tensorParallelSize > 1 && "cpu".equalsIgnoreCase(device)) {
      throw new IllegalArgumentException("--" + TENSOR_PARALLEL_SIZE.key() + " "
          + tensorParallelSize + " splits the model over GPUs: drop it or use --device cuda");
    }
    if (modelDir == null || modelDir.isBlank()) {
      throw new IllegalArgumentException("--model is required: a model directory (HF layout)");
    }
    if (mode != Mode.FILES && (bootstrapServers == null || bootstrapServers.isBlank())) {
      throw new IllegalArgumentException("--bootstrap-servers is required in " + name(mode)
          + " mode (or use --mode files --input FILE_OR_DIR)");
    }
    if (mode == Mode.FILES && inputs.isEmpty()) {
      throw new IllegalArgumentException("--input is required in files mode: JSON Lines or"
          + " Avro files, or directories of them");
    }
    if (mode == Mode.FILES && bootstrapServers == null && outputDir == null) {
      throw new IllegalArgumentException("--output is required in files mode without Kafka:"
          + " replies and dead letters are written there");
    }
    if (!(cosineThreshold >= -1 && cosineThreshold <= 1)) {
      throw new IllegalArgumentException("--cosine-threshold must be in [-1, 1], got "
          + cosineThreshold);
    }
    if (maxNewTokens <= 0 || inferenceCapacity <= 0 || maxRecordBytes <= 0) {
      throw new IllegalArgumentException("--engine.max-new-tokens, --inference.capacity and"
          + " --max-record-bytes must be positive");
    }
  }

  private static KvCacheDtype kvCacheDtype(String s) {
    try {
      return KvCacheDtype.parse(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + KV_CACHE_DTYPE.key() + ": " + e.getMessage());
    }
  }

  /** Whether replies and dead letters go to Kafka (else to files in the output directory). */
  public boolean kafkaOut() {
    return bootstrapServers != null;
  }

  /** Whether the run is bounded (and writes a report). */
  public boolean bounded() {
    return mode != Mode.STREAM;
  }

  /** Options from a Flink configuration; unset keys take their defaults. */
  public static JobOptions from(Configuration c) {
    return new JobOptions(
        parseEnum(Mode.class, c.get(MODE), MODE),
        c.get(BOOTSTRAP_SERVERS), c.get(TOPIC_COMPLAINTS), c.get(TOPIC_REPLIES),
        c.get(TOPIC_DEAD_LETTERS), c.get(GROUP_ID), c.get(KAFKA_PROPERTIES),
        c.get(TRANSACTIONAL_ID_PREFIX),
        parseEnum(InputFormat.class, c.get(INPUT_FORMAT), INPUT_FORMAT),
        splitList(c.get(INPUT)), c.get(REPLAY_FROM), c.get(REPLAY_TO), c.get(MODEL), c.get(DEVICE),
        c.get(MAX_NEW_TOKENS), c.get(MAX_PROMPT_TOKENS), c.get(MAX_NUM_SEQS),
        c.get(MAX_BATCHED_TOKENS), c.get(BLOCK_SIZE), c.get(NUM_BLOCKS),
        kvCacheDtype(c.get(KV_CACHE_DTYPE)), c.get(TENSOR_PARALLEL_SIZE), c.get(PREFIX_CACHING),
        c.get(INFERENCE_CAPACITY), c.get(INFERENCE_TIMEOUT), c.get(PARALLELISM),
        c.get(CHECKPOINT_INTERVAL), c.get(OUTPUT), c.get(COSINE_THRESHOLD), c.get(SCORING),
        c.get(MAX_RECORD_BYTES));
  }

  /**
   * Options from {@code --key value} (or {@code --key=value}) arguments.
   *
   * @throws IllegalArgumentException naming an unknown key, a missing value or a bad value
   */
  public static JobOptions fromArgs(String... args) {
    return from(toConfiguration(args));
  }

  /** The arguments as a Flink configuration (validated keys). */
  public static Configuration toConfiguration(String... args) {
    Set<String> known = JobConfigOptions.ALL.stream().map(ConfigOption::key)
        .collect(Collectors.toSet());
    Map<String, String> map = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument '" + a + "': options are"
            + " --key value");
      }
      String key = a.substring(2);
      String value;
      int eq = key.indexOf('=');
      if (eq >= 0) {
        value = key.substring(eq + 1);
        key = key.substring(0, eq);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException("--" + key + " needs a value");
      }
      if (!known.contains(key)) {
        throw new IllegalArgumentException("unknown option --" + key + "; known: "
            + known.stream().sorted().collect(Collectors.joining(", ")));
      }
      map.put(key, value);
    }
    try {
      return Configuration.fromMap(map);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("bad option value: " + e.getMessage(), e);
    }
  }

  /**
   * The Kafka client properties from {@link #kafkaPropertiesFile}, or empty.
   *
   * @throws IllegalArgumentException when the file cannot be read
   */
  public Properties kafkaProperties() {
    Properties p = new Properties();
    if (kafkaPropertiesFile != null) {
      Path file = Path.of(kafkaPropertiesFile);
      try (Reader r = Files.newBufferedReader(file)) {
        p.load(r);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read --kafka.properties " + file + ": "
            + e.getMessage(), e);
      }
    }
    return p;
  }

  /** A printable summary; Kafka properties are named by key only, never with values. */
  public String describe() {
    String props = kafkaPropertiesFile == null ? "none"
        : kafkaPropertiesFile + " (keys " + kafkaProperties().stringPropertyNames() + ")";
    return "mode=" + name(mode) + " bootstrap=" + bootstrapServers + " in=" + complaintsTopic
        + (mode == Mode.FILES ? " files=" + inputs : "") + " model=" + modelDir + " device="
        + device + " parallelism=" + parallelism + " checkpoint=" + checkpointInterval
        + " kafka.properties=" + props;
  }

  private static <E extends Enum<E>> E parseEnum(Class<E> type, String s, ConfigOption<?> o) {
    try {
      return Enum.valueOf(type, s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + o.key() + " '" + s + "' is not one of "
          + java.util.Arrays.stream(type.getEnumConstants()).map(JobOptions::name)
              .collect(Collectors.joining(", ")));
    }
  }

  private static List<String> splitList(String s) {
    return s == null ? List.of() : java.util.Arrays.stream(s.split(",")).map(String::trim)
        .filter(x -> !x.isEmpty()).toList();
  }

  private static String name(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  /** A copy with another mode/inputs etc. is made through {@link #toBuilderMap()}. */
  public Map<String, String> toBuilderMap() {
    Map<String, String> m = new HashMap<>();
    m.put(MODE.key(), name(mode));
    if (bootstrapServers != null) {
      m.put(BOOTSTRAP_SERVERS.key(), bootstrapServers);
    }
    m.put(TOPIC_COMPLAINTS.key(), complaintsTopic);
    m.put(TOPIC_REPLIES.key(), repliesTopic);
    m.put(TOPIC_DEAD_LETTERS.key(), deadLettersTopic);
    m.put(GROUP_ID.key(), groupId);
    if (kafkaPropertiesFile != null) {
      m.put(KAFKA_PROPERTIES.key(), kafkaPropertiesFile);
    }
    m.put(TRANSACTIONAL_ID_PREFIX.key(), transactionalIdPrefix);
    m.put(INPUT_FORMAT.key(), name(inputFormat));
    if (!inputs.isEmpty()) {
      m.put(INPUT.key(), String.join(",", inputs));
    }
    m.put(REPLAY_FROM.key(), replayFrom);
    m.put(REPLAY_TO.key(), replayTo);
    m.put(MODEL.key(), modelDir);
    m.put(DEVICE.key(), device);
    m.put(MAX_NEW_TOKENS.key(), Integer.toString(maxNewTokens));
    m.put(MAX_PROMPT_TOKENS.key(), Integer.toString(maxPromptTokens));
    m.put(MAX_NUM_SEQS.key(), Integer.toString(maxNumSeqs));
    m.put(MAX_BATCHED_TOKENS.key(), Integer.toString(maxBatchedTokens));
    m.put(BLOCK_SIZE.key(), Integer.toString(blockSize));
    m.put(NUM_BLOCKS.key(), Integer.toString(numBlocks));
    m.put(KV_CACHE_DTYPE.key(), kvCacheDtype.flag());
    m.put(TENSOR_PARALLEL_SIZE.key(), Integer.toString(tensorParallelSize));
    m.put(PREFIX_CACHING.key(), Boolean.toString(prefixCaching));
    m.put(INFERENCE_CAPACITY.key(), Integer.toString(inferenceCapacity));
    m.put(INFERENCE_TIMEOUT.key(), inferenceTimeout.toMillis() + " ms");
    m.put(PARALLELISM.key(), Integer.toString(parallelism));
    m.put(CHECKPOINT_INTERVAL.key(), checkpointInterval.toMillis() + " ms");
    if (outputDir != null) {
      m.put(OUTPUT.key(), outputDir);
    }
    m.put(COSINE_THRESHOLD.key(), Double.toString(cosineThreshold));
    m.put(SCORING.key(), Boolean.toString(scoring));
    m.put(MAX_RECORD_BYTES.key(), Integer.toString(maxRecordBytes));
    return m;
  }
}
