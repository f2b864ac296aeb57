package io.redress.job;

import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Every option of the job, documented once. On the command line each is {@code --KEY VALUE}
 * (e.g. {@code --bootstrap-servers host:9092}); {@link JobOptions#fromArgs} reads them, and the
 * parsed set is registered as global job parameters so the Flink UI shows it.
 */
public final class JobConfigOptions {

  private JobConfigOptions() {
  }

  public static final ConfigOption<String> MODE = ConfigOptions.key("mode").stringType()
      .defaultValue("stream")
      .withDescription("stream: an unbounded run on the complaints topic from the group's"
          + " committed offsets (earliest without them); replay: a bounded run over a range of"
          + " the topic (replay.* options); files: a bounded run over JSON Lines / Avro log files"
          + " (input).");

  public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions
      .key("bootstrap-servers").stringType().noDefaultValue()
      .withDescription("Kafka bootstrap servers. Required for stream and replay; in files mode"
          + " replies and dead letters go to the topics when set, else to files in output.");

  public static final ConfigOption<String> TOPIC_COMPLAINTS = ConfigOptions
      .key("topic.complaints").stringType().defaultValue("complaints")
      .withDescription("Input topic of ComplaintEvent records.");

  public static final ConfigOption<String> TOPIC_REPLIES = ConfigOptions
      .key("topic.replies").stringType().defaultValue("complaint-replies")
      .withDescription("Output topic of ComplaintReply records (Avro, key complaint_id).");

  public static final ConfigOption<String> TOPIC_DEAD_LETTERS = ConfigOptions
      .key("topic.dead-letters").stringType().defaultValue("complaint-dead-letters")
      .withDescription("Output topic of DeadLetter records (Avro).");

  public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("group-id")
      .stringType().defaultValue("redress-job")
      .withDescription("Kafka consumer group; offsets are committed on checkpoints.");

  public static final ConfigOption<String> KAFKA_PROPERTIES = ConfigOptions
      .key("kafka.properties").stringType().noDefaultValue()
      .withDescription("A Java properties file of Kafka client settings (TLS, SASL, ...)"
          + " applied to the source and both sinks. Its values are never logged.");

  public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions
      .key("transactional-id-prefix").stringType().defaultValue("redress")
      .withDescription("Prefix of the sinks' Kafka transactional ids; unique per job.");

  public static final ConfigOption<String> INPUT_FORMAT = ConfigOptions.key("input-format")
      .stringType().defaultValue("avro")
      .withDescription("Encoding of records on the complaints topic: avro (binary"
          + " ComplaintEvent) or json. Files are recognised by their content.");

  public static final ConfigOption<String> INPUT = ConfigOptions.key("input")
      .stringType().noDefaultValue()
      .withDescription("files mode: log files or directories (JSON Lines or Avro container"
          + " files), comma-separated.");

  public static final ConfigOption<String> REPLAY_FROM = ConfigOptions.key("replay.from")
      .stringType().defaultValue("earliest")
      .withDescription("replay mode: where to start: earliest, an ISO-8601 instant, or offsets"
          + " per partition 'p:offset,p:offset'.");

  public static final ConfigOption<String> REPLAY_TO = ConfigOptions.key("replay.to")
      .stringType().defaultValue("latest")
      .withDescription("replay mode: where to stop (exclusive): latest, an ISO-8601 instant, or"
          + " offsets per partition 'p:offset,p:offset'.");

  public static final ConfigOption<String> MODEL = ConfigOptions.key("model").stringType()
      .noDefaultValue()
      .withDescription("Model directory (HF layout) on every TaskManager.");

  public static final ConfigOption<String> DEVICE = ConfigOptions.key("device").stringType()
      .defaultValue("auto")
      .withDescription("auto (a GPU from external-resource.gpu or the first usable one, else"
          + " the CPU runner), cuda or cpu.");

  public static final ConfigOption<Integer> MAX_NEW_TOKENS = ConfigOptions
      .key("engine.max-new-tokens").intType().defaultValue(256)
      .withDescription("Most tokens generated per reply.");

  public static final ConfigOption<Integer> MAX_PROMPT_TOKENS = ConfigOptions
      .key("engine.max-prompt-tokens").intType().defaultValue(0)
      .withDescription("Longest prompt in tokens; longer conversations go to the dead letters."
          + " 0: the model's maximum length minus engine.max-new-tokens.");

  public static final ConfigOption<Integer> MAX_NUM_SEQS = ConfigOptions
      .key("engine.max-num-seqs").intType().defaultValue(256)
      .withDescription("Most sequences per engine step.");

  public static final ConfigOption<Integer> MAX_BATCHED_TOKENS = ConfigOptions
      .key("engine.max-batched-tokens").intType().defaultValue(8192)
      .withDescription("Most tokens per engine step.");

  public static final ConfigOption<Integer> BLOCK_SIZE = ConfigOptions
      .key("engine.block-size").intType().defaultValue(16)
      .withDescription("KV cache block size in tokens.");

  public static final ConfigOption<Integer> NUM_BLOCKS = ConfigOptions
      .key("engine.num-blocks").intType().defaultValue(0)
      .withDescription("KV cache blocks; 0 sizes the pool from free memory.");

  public static final ConfigOption<String> KV_CACHE_DTYPE = ConfigOptions
      .key("engine.kv-cache-dtype").stringType().defaultValue("auto")
      .withDescription("KV cache storage: auto (bf16 on the GPU) or fp8 (e4m3, about twice"
          + " the tokens; GPU only).");

  public static final ConfigOption<Integer> TENSOR_PARALLEL_SIZE = ConfigOptions
      .key("engine.tensor-parallel-size").intType().defaultValue(1)
      .withDescription("GPUs each inference subtask's model is split over (consecutive ones of"
          + " the TaskManager's external-resource.gpu; they need peer access, e.g. NVLink).");

  public static final ConfigOption<Boolean> PREFIX_CACHING = ConfigOptions
      .key("engine.prefix-caching").booleanType().defaultValue(true)
      .withDescription("Share KV blocks of identical prompt prefixes.");

  public static final ConfigOption<Integer> INFERENCE_CAPACITY = ConfigOptions
      .key("inference.capacity").intType().defaultValue(128)
      .withDescription("Most requests in flight per inference subtask (backpressure bound).");

  public static final ConfigOption<Duration> INFERENCE_TIMEOUT = ConfigOptions
      .key("inference.timeout").durationType().defaultValue(Duration.ofMinutes(5))
      .withDescription("A request still unanswered after this goes to the dead letters.");

  public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("parallelism")
      .intType().defaultValue(0)
      .withDescription("Parallelism of the job; 0 keeps the environment's default.");

  public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions
      .key("checkpoint-interval").durationType().defaultValue(Duration.ofSeconds(10))
      .withDescription("Checkpoint interval; Kafka transactions commit on each checkpoint.");

  public static final ConfigOption<String> OUTPUT = ConfigOptions.key("output").stringType()
      .noDefaultValue()
      .withDescription("Directory for report.json and report.html (replay and files modes)"
          + " and, without Kafka, replies and dead letters as JSON Lines.");

  public static final ConfigOption<Double> COSINE_THRESHOLD = ConfigOptions
      .key("cosine-threshold").doubleType().defaultValue(0.85)
      .withDescription("A reply is correct when the cosine similarity of its reply_text and"
          + " the reference reply reaches this.");

  public static final ConfigOption<Boolean> SCORING = ConfigOptions.key("scoring")
      .booleanType().defaultValue(true)
      .withDescription("Score replies against reference replies with bge-small (ONNX).");

  public static final ConfigOption<Integer> MAX_RECORD_BYTES = ConfigOptions
      .key("max-record-bytes").intType().defaultValue(1 << 20)
      .withDescription("Larger input records go to the dead letters undecoded.");

  /** All options, for the usage text and argument checks. */
  public static final List<ConfigOption<?>> ALL = List.of(MODE, BOOTSTRAP_SERVERS,
      TOPIC_COMPLAINTS, TOPIC_REPLIES, TOPIC_DEAD_LETTERS, GROUP_ID, KAFKA_PROPERTIES,
      TRANSACTIONAL_ID_PREFIX, INPUT_FORMAT, INPUT, REPLAY_FROM, REPLAY_TO, MODEL, DEVICE,
      MAX_NEW_TOKENS, MAX_PROMPT_TOKENS, MAX_NUM_SEQS, MAX_BATCHED_TOKENS, BLOCK_SIZE,
      NUM_BLOCKS, KV_CACHE_DTYPE, TENSOR_PARALLEL_SIZE, PREFIX_CACHING, INFERENCE_CAPACITY, INFERENCE_TIMEOUT, PARALLELISM,
      CHECKPOINT_INTERVAL, OUTPUT, COSINE_THRESHOLD, SCORING, MAX_RECORD_BYTES);
}
