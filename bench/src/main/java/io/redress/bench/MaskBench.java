package io.redress.bench;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.redress.inference.guide.CompiledSchema;
import io.redress.inference.guide.GrammarMatcher;
import io.redress.inference.guide.JsonSchemaCompiler;
import io.redress.inference.guide.SchemaException;
import io.redress.inference.guide.TokenVocabulary;
import io.redress.inference.model.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * MaskBench (guidance-ai/jsonschemabench, folder maskbench/): mask computation in isolation,
 * without a model. For each schema file: compile, then feed every test instance token by token,
 * computing the full mask before each token; valid instances must be accepted to the end (EOS
 * included), invalid ones rejected somewhere. Reports MaskBench's table: TBM (time between
 * masks) and TTFM (time to first mask) percentiles, and the schemas per outcome.
 *
 * <p>Deliberate differences from MaskBench's runner, all documented in the report: instances are
 * written in the form our matchers produce (compact, declared properties in schema order) rather
 * than Python's {@code json.dumps} with spaces; the end of a valid instance must also allow EOS
 * (MaskBench does not check it), so an invalid instance that is only a prefix of a valid one
 * (a number below its minimum) counts as rejected; and when a schema has both kinds of error
 * the invalidation error wins (MaskBench keeps whichever test came last), since it is the
 * soundness bug.
 */
@Command(name = "maskbench", mixinStandardHelpOptions = true, sortOptions = false,
    description = "MaskBench: compile each schema, check its valid/invalid instances token by"
        + " token, time masks. Writes maskbench.json and maskbench.md into --out.")
final class MaskBench implements Callable<Integer> {

  @Option(names = "--data", required = true, paramLabel = "DIR",
      description = "MaskBench's data/ folder (one JSON file per schema).")
  Path data;

  @Mixin VocabularyOptions vocabulary = new VocabularyOptions();

  @Option(names = "--threads", defaultValue = "1",
      description = "Schemas run in parallel (each one single-threaded).")
  int threads;

  @Option(names = "--timeout-s", defaultValue = "60", description = "Time limit per schema.")
  int timeoutS;

  @Option(names = "--limit", defaultValue = "0", description = "Only the first N files (0: all).")
  int limit;

  @Option(names = "--every", defaultValue = "1",
      description = "Only every Nth file in name order: a deterministic subset.")
  int every;

  @Option(names = "--data-order", description = "Keep each instance's keys in the file's"
      + " order (as MaskBench feeds them) instead of moving declared properties into schema"
      + " order.")
  boolean dataOrder;

  @Option(names = "--closed-objects", description = "Read schemas as the engine does by"
      + " default: objects with declared properties and no additionalProperties accept no other"
      + " member (and tuples no further item), so a model cannot invent keys. Default: JSON"
      + " Schema's own reading, which the suite's labels follow.")
  boolean closedObjects;

  /** Earlier name of the default reading; kept so existing scripts still run. */
  @Option(names = "--open-objects", hidden = true)
  boolean openObjectsAlias;

  @Option(names = "--out", defaultValue = "bench-results", paramLabel = "DIR") Path out;

  /** MaskBench's schema classes, in its table's order. */
  enum Outcome {
    PASSING("passing"), COMPILE_ERROR("compile error"), TIMEOUT("timeout"),
    VALIDATION_ERROR("validation error"), INVALIDATION_ERROR("invalidation error");

    final String label;

    Outcome(String label) {
      this.label = label;
    }
  }

  /**
   * One schema's run.
   *
   * @param errors every failing test, in order (the first says why the schema failed)
   * @param ttfmNanos compile plus first mask; 0 when it did not compile
   * @param maskNanos each mask computation plus its token's commit, as MaskBench times them
   * @param reordered instances whose properties were moved into schema order
   * @param eosOnly invalid instances whose every token was allowed, refused only by EOS at the
   *     end (MaskBench, which does not check EOS, would count them as accepted)
   */
  record Result(String name, Outcome outcome, String keyword, List<String> errors,
      long ttfmNanos, long[] maskNanos, int validTests, int invalidTests, int reordered,
      int eosOnly) {

    String split() {
      return MaskBench.split(name);
    }

    String firstError() {
      return errors.isEmpty() ? "" : errors.get(0);
    }
  }

  /**
   * The vocabulary masks are computed over, the text-to-ids function that goes with it, and
   * whether instances are put into schema order (else their keys keep the file's order), and
   * whether objects accept undeclared members when additionalProperties is absent.
   */
  record Setup(TokenVocabulary vocab, Function<String, int[]> encoder,
      Function<Integer, byte[]> tokenBytes, boolean schemaOrder, boolean openObjects) {}

  private static final ObjectMapper JSON = new ObjectMapper()
      // Exact numbers: "1.0" stays 1.0 and 0.1 is not rounded through a double.
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .setNodeFactory(JsonNodeFactory.withExactBigDecimals(true));

  /** JSON Schema's own keywords (drafts 4 to 2020-12), to tell them from vendor extensions. */
  static final Set<String> STANDARD_KEYWORDS = Set.of("$schema", "$id", "id", "$ref",
      "$defs", "definitions", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
      "$comment", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum",
      "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "items",
      "additionalItems", "prefixItems", "contains", "maxContains", "minContains", "maxItems",
      "minItems", "uniqueItems", "maxProperties", "minProperties", "required", "properties",
      "patternProperties", "additionalProperties", "dependencies", "dependentRequired",
      "dependentSchemas", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "allOf",
      "anyOf", "oneOf", "not", "if", "then", "else", "format", "contentEncoding",
      "contentMediaType", "contentSchema", "title", "description", "default", "deprecated",
      "readOnly", "writeOnly", "examples");

  private static final Pattern QUOTED = Pattern.compile("'([^']*)'");

  private static final String EOS_REFUSED = "EOS not allowed";

  private static final double[] PERCENTILES = {25, 50, 75, 90, 95, 99, 99.9, 100};

  @Override
  public Integer call() throws Exception {
    List<Path> files = listFiles(data, every, limit);
    if (files.isEmpty()) {
      throw new IllegalArgumentException("no *.json files in " + data);
    }
    try (Tokenizer tokenizer = vocabulary.loadTokenizer()) {
      TokenVocabulary vocab = vocabulary.vocabulary(tokenizer);
      Setup setup = new Setup(vocab, tokenizer::encode, tokenizer::tokenBytes, !dataOrder,
          !closedObjects);
      List<Result> results = run(files, setup, threads, timeoutS, System.err);
      Files.createDirectories(out);
      String md = markdown(results, timeoutS, describe(files.size()));
      Files.writeString(out.resolve("maskbench.md"), md);
      JSON.writerWithDefaultPrettyPrinter()
          .writeValue(out.resolve("maskbench.json").toFile(), json(results, timeoutS));
      System.out.print(md);
    }
    return 0;
  }

  private String describe(int count) {
    return String.format("%,d schema files from %s%s, tokenizer %s, %d thread(s), %d s timeout,"
        + " keys in %s order, %s, %s", count, data.getFileName(),
        every > 1 ? " (every " + every + "th)" : "", vocabulary.tokenizerPath.getFileName(),
        threads, timeoutS, dataOrder ? "the file's" : "schema",
        !closedObjects ? "JSON Schema's reading (absent additionalProperties allows other"
            + " members)" : "closed objects (absent additionalProperties allows no undeclared"
            + " member)",
        MachineInfo.detect().describe());
  }

  static List<Path> listFiles(Path dir, int every, int limit) throws IOException {
    List<Path> all;
    try (Stream<Path> s = Files.list(dir)) {
      all = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
    List<Path> picked = new ArrayList<>();
    for (int i = 0; i < all.size(); i += Math.max(1, every)) {
      picked.add(all.get(i));
    }
    return limit > 0 && picked.size() > limit ? picked.subList(0, limit) : picked;
  }

  /** "Github_easy---o1.json" to "Github_easy"; "BFCL_java_12.json" to "BFCL_java". */
  static String split(String fileName) {
    int dashes = fileName.indexOf("---");
    if (dashes >= 0) {
      return fileName.substring(0, dashes);
    }
    return fileName.replaceFirst("(_\\d+)?\\.json$", "");
  }

  // ---------------------------------------------------------------- running

  /**
   * Runs every file, {@code threads} at a time, in name order of results. Each schema checks
   * its deadline between tokens; one stuck where it cannot check (inside the compiler) is given
   * up at the deadline plus a grace period and counted as a timeout, its thread left behind.
   */
  static List<Result> run(List<Path> files, Setup setup, int threads, int timeoutS,
      PrintStream progress) throws InterruptedException {
    long timeoutNanos = TimeUnit.SECONDS.toNanos(timeoutS);
    long graceNanos = timeoutNanos / 2 + TimeUnit.SECONDS.toNanos(5);
    record Running(Future<?> future, long startNanos) {}
    BlockingQueue<Result> done = new LinkedBlockingQueue<>();
    Map<String, Running> running = new HashMap<>();
    Map<String, Result> results = new TreeMap<>();
    ExecutorService pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "maskbench");
      t.setDaemon(true); // a schema given up on must not keep the JVM alive
      return t;
    });
    long start = System.nanoTime();
    long lastReport = start;
    int next = 0;
    int abandoned = 0;
    try {
      while (next < files.size() || !running.isEmpty()) {
        while (running.size() < threads && next < files.size()) {
          Path file = files.get(next++);
          long t0 = System.nanoTime();
          Future<?> f = pool.submit(() -> done.add(runGuarded(file, setup, t0 + timeoutNanos)));
          running.put(file.getFileName().toString(), new Running(f, t0));
        }
        Result r = done.poll(200, TimeUnit.MILLISECONDS);
        if (r != null && running.remove(r.name()) != null) {
          results.put(r.name(), r);
        }
        long now = System.nanoTime();
        for (Iterator<Map.Entry<String, Running>> it = running.entrySet().iterator();
            it.hasNext(); ) {
          Map.Entry<String, Running> e = it.next();
          if (now - e.getValue().startNanos() > timeoutNanos + graceNanos) {
            e.getValue().future().cancel(true);
            it.remove();
            abandoned++;
            results.put(e.getKey(), timeout(e.getKey(), "no deadline check reached (stuck in"
                + " one call, e.g. compiling); thread abandoned"));
          }
        }
        if (now - lastReport > TimeUnit.SECONDS.toNanos(5)) {
          lastReport = now;
          progress.println(progressLine(results.values(), files.size(), now - start, abandoned));
        }
      }
    } finally {
      pool.shutdownNow();
    }
    progress.println(progressLine(results.values(), files.size(), System.nanoTime() - start,
        abandoned));
    return new ArrayList<>(results.values());
  }

  private static String progressLine(Collection<Result> results, int total,
      long elapsedNanos, int abandoned) {
    Map<Outcome, Long> counts = results.stream()
        .collect(Collectors.groupingBy(Result::outcome, Collectors.counting()));
    return String.format("maskbench: %,d/%,d schemas, passing %d, compile error %d, timeout %d,"
            + " validation error %d, invalidation error %d, %.0f s%s", results.size(), total,
        counts.getOrDefault(Outcome.PASSING, 0L), counts.getOrDefault(Outcome.COMPILE_ERROR, 0L),
        counts.getOrDefault(Outcome.TIMEOUT, 0L),
        counts.getOrDefault(Outcome.VALIDATION_ERROR, 0L),
        counts.getOrDefault(Outcome.INVALIDATION_ERROR, 0L), elapsedNanos / 1e9,
        abandoned > 0 ? ", " + abandoned + " stuck thread(s) abandoned" : "");
  }

  private static Result timeout(String name, String why) {
    return new Result(name, Outcome.TIMEOUT, null, List.of(why), 0, new long[0], 0, 0, 0, 0);
  }

  /** Thrown between tokens once a schema's time is up. */
  private static final class Deadline extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Deadline() {
      super("time limit reached", null, false, false);
    }
  }

  /** {@link #runSchema}, with a crash outside the engine calls reported, not lost. */
  private static Result runGuarded(Path file, Setup setup, long deadlineNanos) {
    try {
      return runSchema(file, setup, deadlineNanos);
    } catch (RuntimeException | Error e) {
      return new Result(file.getFileName().toString(), Outcome.VALIDATION_ERROR, null,
          List.of("EXN in the benchmark: " + crash(e)), 0, new long[0], 0, 0, 0, 0);
    }
  }

  /** One schema file, start to finish, on the calling thread. */
  static Result runSchema(Path file, Setup setup, long deadlineNanos) {
    String name = file.getFileName().toString();
    JsonNode doc;
    try {
      doc = JSON.readTree(file.toFile());
    } catch (IOException e) {
      return new Result(name, Outcome.COMPILE_ERROR, "file", List.of("unreadable: " + e),
          0, new long[0], 0, 0, 0, 0);
    }
    JsonNode schema = doc.get("schema");
    TokenVocabulary vocab = setup.vocab();
    int[] words = new int[vocab.maskWords()];
    CompiledSchema compiled;
    long ttfm;
    try {
      long t0 = System.nanoTime();
      compiled = JsonSchemaCompiler.compile(JSON.writeValueAsString(schema),
          setup.openObjects());
      compiled.newMatcher(vocab).fillNextTokenBitmask(words, 0);
      ttfm = System.nanoTime() - t0;
    } catch (SchemaException e) {
      return new Result(name, Outcome.COMPILE_ERROR, e.keyword(), List.of(e.getMessage()), 0,
          new long[0], 0, 0, 0, 0);
    } catch (Exception | StackOverflowError e) {
      // MaskBench counts any failure to compile as a compile error; the class and where it
      // was thrown tell a crash of the compiler.
      return new Result(name, Outcome.COMPILE_ERROR, e.getClass().getSimpleName(),
          List.of(crash(e)), 0, new long[0], 0, 0, 0, 0);
    }

    LongList masks = new LongList();
    List<String> errors = new ArrayList<>();
    boolean invalidation = false;
    int valid = 0;
    int invalid = 0;
    int reordered = 0;
    int eosOnly = 0;
    try {
      JsonNode tests = doc.path("tests");
      for (int i = 0; i < tests.size(); i++) {
        JsonNode test = tests.get(i);
        boolean shouldAccept = test.path("valid").asBoolean();
        JsonNode instance = test.get("data");
        JsonNode ordered = setup.schemaOrder() ? SchemaOrder.apply(instance, schema) : instance;
        if (!keyOrder(ordered).equals(keyOrder(instance))) {
          reordered++;
        }
        String text = JSON.writeValueAsString(ordered);
        String rejection;
        try {
          rejection = feed(compiled, setup, text, words, masks, deadlineNanos);
        } catch (Deadline d) {
          throw d;
        } catch (Exception | StackOverflowError e) {
          errors.add("test #" + i + ": EXN " + crash(e));
          continue;
        }
        boolean accepted = rejection == null;
        if (!shouldAccept && rejection != null && rejection.startsWith(EOS_REFUSED)) {
          eosOnly++;
        }
        if (accepted && !shouldAccept) {
          invalidation = true;
          errors.add("test #" + i + ": should reject but didn't: " + clip(text, 400));
        } else if (!accepted && shouldAccept) {
          errors.add("test #" + i + ": should accept but didn't: " + rejection);
        } else if (shouldAccept) {
          valid++;
        } else {
          invalid++;
        }
      }
    } catch (Deadline d) {
      return timeout(name, "time limit reached after " + masks.size() + " tokens");
    } catch (IOException e) {
      errors.add("EXN " + e);
    }
    Outcome outcome = invalidation ? Outcome.INVALIDATION_ERROR
        : errors.isEmpty() ? Outcome.PASSING : Outcome.VALIDATION_ERROR;
    return new Result(name, outcome, null, errors, ttfm, masks.toArray(), valid, invalid,
        reordered, eosOnly);
  }

  /** An unexpected exception and the first few frames that throw it, for the report. */
  private static String crash(Throwable e) {
    return e + " at " + Arrays.stream(e.getStackTrace()).limit(4).map(String::valueOf)
        .collect(Collectors.joining(" < "));
  }

  /**
   * Feeds one instance token by token, timing each mask plus commit.
   *
   * @return null when every token and then EOS were allowed, else why not
   */
  private static String feed(CompiledSchema compiled, Setup setup, String text, int[] words,
      LongList masks, long deadlineNanos) {
    int[] ids = setup.encoder().apply(text);
    GrammarMatcher m = compiled.newMatcher(setup.vocab());
    StringBuilder prefix = new StringBuilder();
    for (int k = 0; k < ids.length; k++) {
      if (System.nanoTime() > deadlineNanos) {
        throw new Deadline();
      }
      int id = ids[k];
      long t0 = System.nanoTime();
      m.fillNextTokenBitmask(words, 0);
      boolean allowed = allowed(words, id);
      boolean accepted = allowed && m.acceptToken(id);
      masks.add(System.nanoTime() - t0);
      String token = new String(setup.tokenBytes().apply(id), StandardCharsets.UTF_8);
      if (allowed != accepted) {
        return "mask allows token " + k + " " + quote(token) + " but acceptToken refuses it";
      }
      if (!allowed) {
        // Name the first byte the schema refuses: a token often spans a value's end and the
        // next key, and only the byte tells which of them is wrong.
        byte[] b = setup.tokenBytes().apply(id);
        int ok = 0;
        while (ok < b.length && m.copy().tryAcceptBytes(Arrays.copyOf(b, ok + 1))) {
          ok++;
        }
        String head = prefix + new String(b, 0, ok, StandardCharsets.UTF_8);
        String tail = new String(b, ok, b.length - ok, StandardCharsets.UTF_8);
        return "token " + k + "/" + ids.length + " " + quote(token) + " refused at "
            + quote(tail.substring(0, Math.min(1, tail.length()))) + " " + where(head)
            + " after " + quote(clipStart(head, 120));
      }
      prefix.append(token);
    }
    m.fillNextTokenBitmask(words, 0);
    int eos = setup.vocab().eosIds()[0];
    if (!allowed(words, eos)) {
      return EOS_REFUSED + " at the end of " + quote(clipStart(prefix.toString(), 120));
    }
    return null;
  }

  /** Where in the JSON text {@code head} ends: inside a key, a string value, or between. */
  static String where(String head) {
    boolean inString = false;
    boolean isKey = false;
    boolean escaped = false;
    char last = '['; // the last structural character outside strings; a value comes first
    Deque<Character> open = new ArrayDeque<>();
    for (int i = 0; i < head.length(); i++) {
      char c = head.charAt(i);
      if (inString) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          inString = false;
          last = isKey ? 'k' : 'v';
        }
      } else if (c == '"') {
        inString = true;
        isKey = !open.isEmpty() && open.peek() == '{' && (last == '{' || last == ',');
      } else if (c == '{' || c == '[') {
        open.push(c);
        last = c;
      } else if (c == '}' || c == ']') {
        open.poll();
        last = c;
      } else if (c == ',' || c == ':') {
        last = c;
      } else if (!Character.isWhitespace(c)) {
        last = 'v'; // inside a number or literal
      }
    }
    if (inString) {
      return isKey ? "(in a key)" : "(in a string value)";
    }
    if (last == 'k') {
      return "(after a key)";
    }
    return last == ':' || last == '[' || (last == ',' && Character.valueOf('[').equals(open.peek()))
        ? "(at a value)" : (last == '{' || last == ',') ? "(at a key)" : "(after a value)";
  }

  private static boolean allowed(int[] words, int id) {
    return id >= 0 && (id >> 5) < words.length && (words[id >> 5] & (1 << (id & 31))) != 0;
  }

  /** Object keys in document order, all levels (equals() on objects ignores key order). */
  private static List<String> keyOrder(JsonNode v) {
    List<String> keys = new ArrayList<>();
    collectKeys(v, keys);
    return keys;
  }

  private static void collectKeys(JsonNode v, List<String> keys) {
    if (v.isObject()) {
      v.fields().forEachRemaining(e -> {
        keys.add(e.getKey());
        collectKeys(e.getValue(), keys);
      });
    } else if (v.isArray()) {
      v.forEach(x -> collectKeys(x, keys));
    }
  }

  // ---------------------------------------------------------------- report

  /** MaskBench's percentile: the value at index floor(n * p / 100), clamped to the last. */
  static double maskbenchPercentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int idx = (int) (sorted.length * p / 100);
    return sorted[Math.min(idx, sorted.length - 1)];
  }

  /** MaskBench's rows (times in microseconds) for some results. */
  static Map<String, Double> rows(List<Result> results, int timeoutS) {
    LongList tbm = new LongList();
    LongList ttfm = new LongList();
    Map<Outcome, Integer> counts = new HashMap<>();
    for (Result r : results) {
      counts.merge(r.outcome(), 1, Integer::sum);
      if (r.outcome() == Outcome.TIMEOUT) {
        ttfm.add(TimeUnit.SECONDS.toNanos(timeoutS)); // MaskBench counts the limit
      } else if (r.outcome() != Outcome.COMPILE_ERROR) {
        ttfm.add(r.ttfmNanos());
        tbm.addAll(r.maskNanos());
      }
    }
    Map<String, Double> rows = new LinkedHashMap<>();
    stats("TBM", tbm.toArray(), rows);
    stats("TTFM", ttfm.toArray(), rows);
    rows.put("tokens", (double) tbm.size());
    rows.put("schemas", (double) results.size());
    for (Outcome o : Outcome.values()) {
      rows.put(o.label, (double) counts.getOrDefault(o, 0));
    }
    return rows;
  }

  private static void stats(String prefix, long[] nanos, Map<String, Double> rows) {
    Arrays.sort(nanos);
    rows.put(prefix + " avg", nanos.length == 0 ? Double.NaN
        : Arrays.stream(nanos).average().orElse(Double.NaN) / 1e3);
    for (double p : PERCENTILES) {
      String label = p == Math.rint(p) ? String.valueOf((int) p) : String.valueOf(p);
      rows.put(prefix + " p" + label, maskbenchPercentile(nanos, p) / 1e3);
    }
  }

  /** Compile errors grouped by keyword: count, and the commonest messages (details blurred). */
  static List<Map.Entry<String, List<Map.Entry<String, Integer>>>> compileErrorGroups(
      List<Result> results) {
    Map<String, Map<String, Integer>> groups = new HashMap<>();
    for (Result r : results) {
      if (r.outcome() == Outcome.COMPILE_ERROR) {
        groups.computeIfAbsent(r.keyword(), k -> new HashMap<>())
            .merge(blur(r.firstError()), 1, Integer::sum);
      }
    }
    return groups.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue().entrySet().stream()
            .sorted(Map.Entry.<String, Integer>comparingByValue().reversed()).toList()))
        .sorted(Comparator.comparingInt(
            (Map.Entry<String, List<Map.Entry<String, Integer>>> e) -> -total(e.getValue())))
        .toList();
  }

  private static int total(List<Map.Entry<String, Integer>> messages) {
    return messages.stream().mapToInt(Map.Entry::getValue).sum();
  }

  /** A message with its pointer, long quoted values and numbers blurred, so alike ones group. */
  static String blur(String message) {
    String m = message.replaceFirst("\\. Supported[^:]*:.*", "").replaceFirst(" at [^:]*:", ":");
    // Short one-word quotes (keyword and format names) stay: they tell groups apart.
    return QUOTED.matcher(m).replaceAll(q -> q.group(1).length() > 24 || q.group(1).contains(" ")
            ? "'…'" : Matcher.quoteReplacement(q.group()))
        .replaceAll("\\d+", "N");
  }

  static String markdown(List<Result> results, int timeoutS, String setupLine) {
    StringBuilder md = new StringBuilder("# MaskBench\n\n").append(setupLine).append("\n\n");
    md.append("| metric | Redress |\n|:---|---:|\n");
    rows(results, timeoutS).forEach((k, v) -> md.append("| ").append(k).append(" | ")
        .append(k.startsWith("TBM") || k.startsWith("TTFM") ? micros(v) : String.format("%,.0f",
            v)).append(" |\n"));
    md.append("""

        Times in µs. TBM: one mask computation plus committing its token, as MaskBench times it,
        over all tokens of schemas that compiled. TTFM: compile plus the first mask; a timeout
        counts as the time limit (%d s). Percentiles as MaskBench takes them (index
        floor(n·p/100)). Instances are written compactly, keys in the order the setup line
        says; a valid instance must also allow EOS at its end; an invalidation error wins over a
        validation error in the same schema. %,d invalid instances (in %,d schemas) had every
        token allowed and were refused only by EOS; MaskBench, which does not check EOS, would
        count those schemas as invalidation errors. %,d instances were reordered.

        ## Per split

        | split | schemas | passing | compile error | timeout | validation error \
        | invalidation error | tokens | TBM p50 | TBM p99 | TTFM p50 | TTFM p99 |
        |:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
        """.formatted(timeoutS, results.stream().mapToInt(Result::eosOnly).sum(),
        results.stream().filter(r -> r.eosOnly() > 0).count(),
        results.stream().mapToInt(Result::reordered).sum()));
    Map<String, List<Result>> bySplit = results.stream()
        .collect(Collectors.groupingBy(Result::split, TreeMap::new, Collectors.toList()));
    bySplit.forEach((split, rs) -> {
      Map<String, Double> r = rows(rs, timeoutS);
      md.append(String.format("| %s | %,.0f | %,.0f | %,.0f | %,.0f | %,.0f | %,.0f | %,.0f | %s"
              + " | %s | %s | %s |%n", split, r.get("schemas"), r.get("passing"),
          r.get("compile error"), r.get("timeout"), r.get("validation error"),
          r.get("invalidation error"), r.get("tokens"), micros(r.get("TBM p50")),
          micros(r.get("TBM p99")), micros(r.get("TTFM p50")), micros(r.get("TTFM p99"))));
    });
    md.append("\n## Compile errors by keyword\n\nThe keyword each failing schema stopped at"
        + " (its first error only); standard: a JSON Schema (draft 4 to 2020-12) keyword.\n\n"
        + "| keyword | standard | schemas | commonest message |\n|:---|:---|---:|:---|\n");
    for (var g : compileErrorGroups(results)) {
      md.append(String.format("| %s | %s | %,d | %s (%d) |%n", g.getKey(),
          STANDARD_KEYWORDS.contains(g.getKey()) ? "yes" : "no", total(g.getValue()),
          clip(g.getValue().get(0).getKey(), 160).replace("|", "\\|"),
          g.getValue().get(0).getValue()));
    }
    List<Result> invalidations = results.stream()
        .filter(r -> r.outcome() == Outcome.INVALIDATION_ERROR).toList();
    md.append("\n## Invalidation errors (invalid instances accepted)\n\n");
    if (invalidations.isEmpty()) {
      md.append("None.\n");
    }
    for (Result r : invalidations) {
      r.errors().stream().filter(e -> e.contains("should reject")).forEach(e -> md.append("- ")
          .append(r.name()).append(": `").append(e.replace("`", "'")).append("`\n"));
    }
    return md.toString();
  }

  private static String micros(double v) {
    return Double.isNaN(v) ? "-" : v < 100 ? String.format("%.1f", v) : String.format("%,.0f", v);
  }

  static ObjectNode json(List<Result> results, int timeoutS) {
    ObjectNode root = JSON.createObjectNode();
    root.put("benchmark", "maskbench");
    root.put("timeout_s", timeoutS);
    rows(results, timeoutS).forEach(root.putObject("metrics")::put);
    ObjectNode splits = root.putObject("splits");
    results.stream()
        .collect(Collectors.groupingBy(Result::split, TreeMap::new, Collectors.toList()))
        .forEach((split, rs) -> rows(rs, timeoutS).forEach(splits.putObject(split)::put));
    root.put("instances_reordered", results.stream().mapToInt(Result::reordered).sum());
    root.put("invalid_refused_only_by_eos", results.stream().mapToInt(Result::eosOnly).sum());
    root.put("schemas_with_invalid_refused_only_by_eos",
        results.stream().filter(r -> r.eosOnly() > 0).count());
    ArrayNode groups = root.putArray("compile_error_groups");
    for (var g : compileErrorGroups(results)) {
      ObjectNode o = groups.addObject();
      o.put("keyword", g.getKey());
      o.put("standard", STANDARD_KEYWORDS.contains(g.getKey()));
      o.put("count", total(g.getValue()));
      ObjectNode messages = o.putObject("messages");
      g.getValue().forEach(m -> messages.put(m.getKey(), m.getValue()));
    }
    ArrayNode failures = root.putArray("failures");
    for (Result r : results) {
      if (r.outcome() != Outcome.PASSING) {
        ObjectNode f = failures.addObject();
        f.put("name", r.name());
        f.put("class", r.outcome().label);
        if (r.keyword() != null) {
          f.put("keyword", r.keyword());
        }
        f.put("message", r.firstError());
        if (r.errors().size() > 1) {
          r.errors().forEach(f.putArray("errors")::add);
        }
      }
    }
    return root;
  }

  private static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }

  private static String clipStart(String s, int max) {
    return s.length() <= max ? s : "…" + s.substring(s.length() - max);
  }

  /** A growable array of longs (millions of timings, without boxing). */
  static final class LongList {
    private long[] a = new long[64];
    private int n;

    void add(long v) {
      if (n == a.length) {
        a = Arrays.copyOf(a, n * 2);
      }
      a[n++] = v;
    }

    void addAll(long[] vs) {
      if (n + vs.length > a.length) {
        a = Arrays.copyOf(a, Math.max(a.length * 2, n + vs.length));
      }
      System.arraycopy(vs, 0, a, n, vs.length);
      n += vs.length;
    }

    int size() {
      return n;
    }

    long[] toArray() {
      return Arrays.copyOf(a, n);
    }
  }
}
