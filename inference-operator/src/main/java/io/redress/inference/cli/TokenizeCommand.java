package io.redress.inference.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.redress.inference.model.Tokenizer;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code redress tokenize}: JSON Lines of strings on stdin, one JSON array of token ids per
 * line on stdout ({@code --decode}: the reverse). Output lines match input lines one to one.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
    description = {"Encode JSON strings (one per line on stdin) to JSON arrays of token ids,",
        "or decode arrays back to strings with --decode."})
final class TokenizeCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
      description = "A directory holding tokenizer.json (or tokenizer.json.gz), or the file.")
  Path tokenizerPath;

  @Option(names = "--decode", description = "Read arrays of ids, write the decoded strings.")
  boolean decode;

  @Override
  public Integer call() throws IOException {
    try (Tokenizer tokenizer = Tokenizer.load(tokenizerPath);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
            StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out,
            StandardCharsets.UTF_8))) {
      String line;
      long lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        JsonNode node = parse(line, lineNo);
        if (decode) {
          out.write(JSON.writeValueAsString(tokenizer.decode(ids(node, lineNo, tokenizer))));
        } else {
          if (!node.isTextual()) {
            throw new UserInputException("stdin line " + lineNo + " is not a JSON string;"
                + " write each text as a JSON string, e.g. \"hello\"");
          }
          out.write(JSON.writeValueAsString(tokenizer.encode(node.asText())));
        }
        out.newLine();
      }
    }
    return 0;
  }

  private static JsonNode parse(String line, long lineNo) {
    try {
      return JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new UserInputException("stdin line " + lineNo + " is not valid JSON: "
          + e.getOriginalMessage());
    }
  }

  private static int[] ids(JsonNode node, long lineNo, Tokenizer tokenizer) {
    if (!node.isArray()) {
      throw new UserInputException("stdin line " + lineNo + " is not a JSON array of token"
          + " ids; --decode reads lines like [9707, 11, 1879]");
    }
    int[] ids = new int[node.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = node.get(i);
      if (!id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= tokenizer.vocabSize()) {
        throw new UserInputException("stdin line " + lineNo + ": " + id + " is not a token id"
            + " of this tokenizer (0.." + (tokenizer.vocabSize() - 1) + ")");
      }
      ids[i] = id.asInt();
    }
    return ids;
  }
}
