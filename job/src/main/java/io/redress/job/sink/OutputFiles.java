package io.redress.job.sink;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files output: the sinks commit part files under {@code OUT/.parts/NAME/}; after the run
 * {@link #merge} concatenates the committed ones into {@code OUT/NAME.jsonl} and removes the
 * parts. In-progress and pending files (hidden, a leading '.') never committed, so they are
 * not output.
 */
public final class OutputFiles {

  public static final String REPLIES = "replies";
  public static final String DEAD_LETTERS = "dead-letters";

  private OutputFiles() {
  }

  static Path partsDir(String outputDir, String name) {
    return Path.of(outputDir).toAbsolutePath().resolve(".parts").resolve(name);
  }

  /**
   * Merges the committed parts of {@code name} into {@code OUT/name.jsonl}.
   *
   * @return the number of lines written
   */
  public static long merge(Path outputDir, String name) throws IOException {
    Path parts = partsDir(outputDir.toString(), name);
    Path target = outputDir.resolve(name + ".jsonl");
    long lines = 0;
    List<Path> files = new ArrayList<>();
    if (Files.isDirectory(parts)) {
      try (Stream<Path> s = Files.walk(parts)) {
        s.filter(Files::isRegularFile)
            .filter(p -> !p.getFileName().toString().startsWith("."))
            .sorted(Comparator.comparing(Path::toString))
            .forEach(files::add);
      }
    }
    try (OutputStream out = Files.newOutputStream(target)) {
      for (Path f : files) {
        byte[] b = Files.readAllBytes(f);
        out.write(b);
        for (byte x : b) {
          if (x == '\n') {
            lines++;
          }
        }
      }
    }
    return lines;
  }

  /** Deletes the parts folder (after {@link #merge} of every output). */
  public static void removeParts(Path outputDir) throws IOException {
    Path root = outputDir.toAbsolutePath().resolve(".parts");
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
