package io.redress.job.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ChatTemplate;
import io.redress.inference.model.Tokenizer;
import io.redress.job.JobOptions;
import io.redress.job.infer.InferenceFunction;
import io.redress.job.prompt.PromptTemplate;
import io.redress.job.validate.JsonEvents;
import io.redress.schemas.ComplaintEvent;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bin/redress overhead}: what the Flink job costs over the engine alone, on the same
 * complaints, model and engine settings. The engine run renders and tokenizes every prompt, then
 * submits them all at once and waits (the engine's best case: one full queue). The job run
 * replays the same complaints from a file through the whole pipeline (decode, validate,
 * prompt, keyed async inference, parse, schema check; scoring off unless asked, as the engine
 * run does none). Writes overhead.json and overhead.md.
 */
@Command(name = "overhead", mixinStandardHelpOptions = true,
    description = "Benchmark the job against the engine alone on the same complaints.")
final class OverheadCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT);

  @Option(names = "--input", description = "Complaints as JSON Lines (default:"
      + " sample-data/complaints.jsonl).")
  String input;

  @Option(names = "--limit", defaultValue = "200", description = "Complaints (default:"
      + " ${DEFAULT-VALUE}; 0 = all).")
  int limit;

  @Option(names = "--model", description = "Model directory (default: sample-data/demo-model).")
  String model;

  @Option(names = "--device", defaultValue = "auto", description = "auto, cuda or cpu.")
  String device;

  @Option(names = "--max-new-tokens", defaultValue = "256")
  int maxNewTokens;

  @Option(names = "--scoring", description = "Score replies in the job run too.")
  boolean scoring;

  @Option(names = "--out", defaultValue = "bench-results", description = "Output directory.")
  Path out;

  @Override
  public Integer call() throws Exception {
    Path modelDir = model != null ? Path.of(model) : DemoCommand.defaultModel();
    Path inputFile = input != null ? Path.of(input) : DemoCommand.sampleData("complaints.jsonl");
    List<ComplaintEvent> events = ComplaintLines.read(inputFile, limit);
    Files.createDirectories(out);
    Path jobDir = out.resolve("overhead-job");
    Path jobInput = out.resolve("overhead-input.jsonl");
    try (OutputStream w = Files.newOutputStream(jobInput)) {
      for (ComplaintEvent e : events) {
        w.write(JsonEvents.encodeBytes(e));
        w.write('\n');
      }
    }
    Map<String, String> m = new HashMap<>();
    m.put("mode", "files");
    m.put("input", jobInput.toAbsolutePath().toString());
    m.put("model", modelDir.toAbsolutePath().toString());
    m.put("output", jobDir.toAbsolutePath().toString());
    m.put("device", device);
    m.put("engine.max-new-tokens", Integer.toString(maxNewTokens));
    m.put("scoring", Boolean.toString(scoring));
    m.put("checkpoint-interval", "2 s");
    JobOptions o = JobOptions.from(org.apache.flink.configuration.Configuration.fromMap(m));

    System.err.printf("overhead: %d complaints, model %s; engine alone first%n", events.size(),
        modelDir);
    ObjectNode engine = engineAlone(o, events);
    System.err.println("overhead: now the job (local MiniCluster, files mode)");
    long start = System.nanoTime();
    JsonNode report = LocalRun.run(o, events.size(), System.err);
    double jobTotal = (System.nanoTime() - start) / 1e9;
    if (report == null) {
      throw new IllegalStateException("the job wrote no report");
    }
    ObjectNode job = JSON.createObjectNode();
    double jobWall = report.path("throughput").path("wall_seconds").asDouble();
    long jobTokens = report.path("tokens").path("completion").asLong();
    job.put("replies", report.path("replies").asLong());
    job.put("dead_letters", report.path("dead_letters").asLong());
    job.put("completion_tokens", jobTokens);
    job.put("wall_seconds_first_to_last_output", jobWall);
    job.put("wall_seconds_with_startup", jobTotal);
    job.put("completion_tokens_per_second", jobTokens / jobWall);

    ObjectNode r = JSON.createObjectNode();
    r.put("generated_at", Instant.now().toString());
    Path name = modelDir.toAbsolutePath().normalize().getFileName();
    r.put("model", name == null ? modelDir.toString() : name.toString());
    r.put("complaints", events.size());
    r.put("device", device);
    r.put("machine", Runtime.getRuntime().availableProcessors() + " hardware threads, "
        + System.getProperty("os.arch") + ", Java " + System.getProperty("java.version"));
    r.put("scoring_in_job", scoring);
    r.set("engine_alone", engine);
    r.set("job", job);
    double engineTps = engine.path("completion_tokens_per_second").asDouble();
    r.put("job_throughput_vs_engine", (jobTokens / jobWall) / engineTps);
    r.put("job_total_vs_engine_total", jobTotal / engine.path("total_seconds").asDouble());
    Files.writeString(out.resolve("overhead.json"), JSON.writeValueAsString(r));
    Files.writeString(out.resolve("overhead.md"), markdown(r));
    System.out.print(markdown(r));
    System.out.println("written: " + out.resolve("overhead.json") + ", overhead.md");
    return 0;
  }

  private ObjectNode engineAlone(JobOptions o, List<ComplaintEvent> events) throws Exception {
    Path dir = Path.of(o.modelDir());
    EngineConfig.Device d = EngineConfig.Device.parse(o.device().toLowerCase(Locale.ROOT));
    SamplingParams sampling = InferenceFunction.sampling(o);
    long t0 = System.nanoTime();
    List<int[]> prompts = new ArrayList<>();
    try (Tokenizer tok = Tokenizer.load(dir)) {
      ChatTemplate template = ChatTemplate.forModel(dir);
      for (ComplaintEvent e : events) {
        prompts.add(tok.encode(PromptTemplate.render(template, e)));
      }
    }
    double tokenizeSeconds = (System.nanoTime() - t0) / 1e9;
    long opening = System.nanoTime();
    try (Engine engine = Engine.open(InferenceFunction.engineConfig(o, d))) {
      long start = System.nanoTime();
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      java.util.concurrent.atomic.AtomicLong firstDone = new java.util.concurrent.atomic
          .AtomicLong();
      for (int i = 0; i < prompts.size(); i++) {
        futures.add(engine.submit(GenerationRequest.ofTokens("r" + i, prompts.get(i),
            sampling)).whenComplete((res, err) ->
                firstDone.compareAndSet(0, System.nanoTime())));
      }
      long tokens = 0;
      long finished = 0;
      for (CompletableFuture<GenerationResult> f : futures) {
        GenerationResult res = f.get();
        tokens += res.completionTokens();
        finished += res.finishReason().name().equals("STOP") ? 1 : 0;
      }
      long end = System.nanoTime();
      double wall = (end - start) / 1e9;
      ObjectNode n = JSON.createObjectNode();
      n.put("wall_seconds_first_to_last_output", (end - firstDone.get()) / 1e9);
      n.put("tokenize_seconds", tokenizeSeconds);
      n.put("total_seconds", tokenizeSeconds + (end - opening) / 1e9);
      n.put("finished_by_eos", finished);
      n.put("completion_tokens", tokens);
      n.put("wall_seconds", wall);
      n.put("completion_tokens_per_second", tokens / ((end - firstDone.get()) / 1e9));
      return n;
    }
  }

  private static String markdown(JsonNode r) {
    JsonNode e = r.get("engine_alone");
    JsonNode j = r.get("job");
    return String.format(Locale.ROOT, """
        # Job overhead against the engine alone

        %d complaints, model `%s`, device %s, %s. Scoring in the job run: %s.

        | | engine alone | job |
        |---|---:|---:|
        | completion tokens | %d | %d |
        | wall time (s), first output to last | %.1f | %.1f |
        | engine: first submit to last output (s) | %.1f | |
        | whole run: engine tokenize + load + generate; job with MiniCluster start (s) | %.1f | %.1f |
        | completion tokens/s (first output to last) | %.0f | %.0f |

        Between first and last reply the job delivers **%.0f %%** of the engine's throughput
        on the same work; the whole job run takes %.2f times the engine's (Flink's start-up
        and the records' way through the pipeline included).
        """, r.path("complaints").asInt(), r.path("model").asText(), r.path("device").asText(),
        r.path("machine").asText(), r.path("scoring_in_job").asBoolean() ? "on" : "off",
        e.path("completion_tokens").asLong(), j.path("completion_tokens").asLong(),
        e.path("wall_seconds_first_to_last_output").asDouble(),
        j.path("wall_seconds_first_to_last_output").asDouble(),
        e.path("wall_seconds").asDouble(), e.path("total_seconds").asDouble(),
        j.path("wall_seconds_with_startup").asDouble(),
        e.path("completion_tokens_per_second").asDouble(),
        j.path("completion_tokens_per_second").asDouble(),
        100 * r.path("job_throughput_vs_engine").asDouble(),
        r.path("job_total_vs_engine_total").asDouble());
  }
}
