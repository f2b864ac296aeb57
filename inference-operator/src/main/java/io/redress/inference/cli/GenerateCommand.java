package io.redress.inference.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.engine.Engine;
import io.redress.inference.engine.EngineConfig;
import io.redress.inference.engine.EngineStats;
import io.redress.inference.engine.FinishReason;
import io.redress.inference.engine.GenerationRequest;
import io.redress.inference.engine.GenerationResult;
import io.redress.inference.engine.SamplingParams;
import io.redress.inference.model.ChatMessage;
import io.redress.inference.model.ModelConfig;
import io.redress.inference.model.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code redress generate}: text from a model directory for one prompt or a file of prompts.
 * With {@code --jsonl}, stdout has exactly one JSON object per prompt, in input order.
 */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Generate text with a Qwen2 model directory (HF layout).")
final class GenerateCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(GenerateCommand.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Where generation runs. */
  enum Device { cpu, cuda, auto }

  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "Model directory: config.json, *.safetensors, tokenizer.json(.gz).")
  Path model;

  @ArgGroup(exclusive = true, multiplicity = "1")
  PromptSource source;

  /** Exactly one way to give prompts. */
  static final class PromptSource {
    @Option(names = "--prompt", paramLabel = "TEXT", description = "The prompt text.")
    String prompt;

    @Option(names = "--prompt-file", paramLabel = "FILE",
        description = "A file whose whole content (UTF-8) is the prompt.")
    Path promptFile;

    @Option(names = "--batch-file", paramLabel = "FILE.jsonl",
        description = "One JSON string per line, each a prompt; all are submitted at once to"
            + " one engine.")
    Path batchFile;
  }

  @Option(names = "--chat", description = "Wrap each prompt as a user message in the model's"
      + " chat template (ChatML) and add the assistant generation prompt.")
  boolean chat;

  @Option(names = "--max-tokens", defaultValue = "128", paramLabel = "N",
      description = "Most tokens to generate per prompt (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", paramLabel = "T",
      description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--top-p", defaultValue = "1", paramLabel = "P",
      description = "Nucleus sampling mass, 1 = off (default: ${DEFAULT-VALUE}).")
  double topP;

  @Option(names = "--top-k", defaultValue = "0", paramLabel = "K",
      description = "Keep the K most likely tokens, 0 = off (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--seed", paramLabel = "S", description = "Random seed for sampling.")
  Long seed;

  @Option(names = "--ignore-eos", description = "Do not stop at the model's EOS tokens.")
  boolean ignoreEos;

  @Option(names = "--device", defaultValue = "auto", paramLabel = "cpu|cuda|auto",
      description = "Where to run (default: ${DEFAULT-VALUE}: a usable GPU, else the CPU).")
  Device device;

  @Option(names = "--jsonl", description = "One JSON object per prompt on stdout: text,"
      + " token_ids, finish_reason, prompt_tokens, cached_tokens, completion_tokens.")
  boolean jsonl;

  @Mixin SchedulerOptions sched = new SchedulerOptions();

  @Option(names = "--max-model-len", defaultValue = "0", paramLabel = "N",
      description = "Longest prompt + output; 0 = the model's maximum (default:"
          + " ${DEFAULT-VALUE}).")
  int maxModelLen;

  @Option(names = "--no-prefix-cache", description = "Do not reuse KV of shared prefixes.")
  boolean noPrefixCache;

  @Mixin GpuOptions gpu = new GpuOptions();

  @Option(names = "--json-schema", paramLabel = "FILE",
      description = "Guide the output by this JSON Schema: it always parses and validates.")
  Path jsonSchema;

  @Override
  public Integer call() throws IOException {
    List<String> prompts = readPrompts();
    SamplingParams params = new SamplingParams(temperature, topP, topK, seed, maxTokens,
        List.of(), List.of(), ignoreEos,
        jsonSchema == null ? null : readFile(jsonSchema, "--json-schema"));
    EngineConfig config = sched.applyTo(gpu.applyTo(EngineConfig.builder(model)))
        .device(EngineConfig.Device.parse(device.name()))
        .maxModelLen(maxModelLen)
        .enablePrefixCaching(!noPrefixCache)
        .build();
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    try (Engine engine = Engine.open(config)) {
      Tokenizer tokenizer = engine.tokenizer();
      if (tokenizer == null) {
        throw new UserInputException(model + " has no tokenizer.json: generate needs one to"
            + " read text prompts");
      }
      boolean stream = !jsonl && prompts.size() == 1;
      TextStream printer = stream
          ? new TextStream(tokenizer, out, stopIds()) : null;
      long t0 = System.nanoTime();
      List<CompletableFuture<GenerationResult>> futures = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        String prompt = prompts.get(i);
        GenerationRequest request = chat
            ? GenerationRequest.ofChat(Integer.toString(i),
                List.of(new ChatMessage("user", prompt)), params)
            : GenerationRequest.ofText(Integer.toString(i), prompt, params);
        if (printer != null) {
          request = request.withListener((id, token, index) -> printer.accept(token));
        }
        futures.add(engine.submit(request));
      }
      long generated = 0;
      for (CompletableFuture<GenerationResult> future : futures) {
        GenerationResult r = future.join();
        if (r.finishReason() == FinishReason.ERROR) {
          throw new UserInputException("prompt " + (Integer.parseInt(r.requestId()) + 1) + ": "
              + r.message());
        }
        generated += r.completionTokens();
        if (jsonl) {
          ObjectNode line = JSON.createObjectNode();
          line.put("text", r.text());
          line.set("token_ids", JSON.valueToTree(r.tokenIds()));
          line.put("finish_reason", r.finishReason().jsonName());
          line.put("prompt_tokens", r.promptTokens());
          line.put("cached_tokens", r.cachedTokens());
          line.put("completion_tokens", r.completionTokens());
          out.println(JSON.writeValueAsString(line));
        } else if (printer != null) {
          printer.finish(r.text());
        } else {
          out.println(r.text());
        }
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      EngineStats stats = engine.stats();
      LOG.info("{} prompts, {} tokens generated in {} s ({} tokens/s), prefix-cache hits {}"
          + " of {} prompt tokens{}", prompts.size(), generated, String.format("%.2f", seconds),
          String.format("%.1f", generated / seconds), stats.prefixHitTokens(),
          stats.promptTokens(), jsonSchema == null ? "" : String.format(
              ", %d tokens jump-forwarded, masks %.1f ms", stats.jumpForwardTokens(),
              stats.guidedMaskNanos() / 1e6));
    }
    return 0;
  }

  private Set<Integer> stopIds() {
    Set<Integer> ids = new HashSet<>();
    if (!ignoreEos) {
      ids.addAll(ModelConfig.load(model).eosTokenIds());
    }
    return ids;
  }

  private List<String> readPrompts() throws IOException {
    if (source.prompt != null) {
      return List.of(source.prompt);
    }
    if (source.promptFile != null) {
      return List.of(readFile(source.promptFile, "--prompt-file"));
    }
    List<String> prompts = new ArrayList<>();
    String[] lines = readFile(source.batchFile, "--batch-file").split("\r?\n");
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(lines[i]);
      } catch (JsonProcessingException e) {
        node = null;
      }
      if (node == null || !node.isTextual()) {
        throw new UserInputException(source.batchFile + " line " + (i + 1) + " is not a JSON"
            + " string; --batch-file holds one JSON string per line, e.g. \"Hello\"");
      }
      prompts.add(node.asText());
    }
    if (prompts.isEmpty()) {
      throw new UserInputException(source.batchFile + " holds no prompts");
    }
    return prompts;
  }

  private static String readFile(Path file, String flag) throws IOException {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new UserInputException(flag + " " + file + ": no such file");
    }
  }

  /** Prints a single prompt's completion as it is generated, whole characters only. */
  private static final class TextStream {
    private final Tokenizer tokenizer;
    private final PrintStream out;
    private final Set<Integer> stopIds;
    private final List<Integer> ids = new ArrayList<>();
    private int printed;

    TextStream(Tokenizer tokenizer, PrintStream out, Set<Integer> stopIds) {
      this.tokenizer = tokenizer;
      this.out = out;
      this.stopIds = stopIds;
    }

    void accept(int id) {
      if (stopIds.contains(id)) {
        return; // a stop token ends generation and is not part of the text
      }
      ids.add(id);
      String text = tokenizer.decode(ids.stream().mapToInt(i -> i).toArray());
      // Hold back a trailing replacement char: the rest of a multi-byte character may follow.
      int end = text.endsWith("\uFFFD") ? text.length() - 1 : text.length();
      if (end > printed) {
        out.print(text.substring(printed, end));
        printed = end;
      }
    }

    /** Prints what was held back (a final partial character) and ends the line. */
    void finish(String completion) {
      if (completion.length() > printed) {
        out.print(completion.substring(printed));
      }
      out.println();
    }
  }
}
