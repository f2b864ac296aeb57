package io.redress.job.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The job's commands ({@code bin/redress demo}, {@code replay}, {@code publish},
 * {@code prompts}, {@code convert}, {@code overhead}). A user error prints one line {@code error: ...} and exits
 * 1; a wrong flag exits 2.
 */
@Command(name = "redress", mixinStandardHelpOptions = true,
    subcommands = {DemoCommand.class, ReplayCommand.class, PublishCommand.class,
        PromptsCommand.class, ConvertCommand.class, OverheadCommand.class},
    description = "Complaint replies with the Flink job, locally.")
public final class JobCli implements Callable<Integer> {

  public static void main(String[] args) {
    quietLibraries();
    System.exit(run(args));
  }

  /** Runs a command line; returns the exit status. */
  public static int run(String... args) {
    CommandLine cl = new CommandLine(new JobCli());
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      Throwable root = e;
      while (root.getCause() != null && !(root instanceof IllegalArgumentException)) {
        root = root.getCause();
      }
      if (root instanceof IllegalArgumentException
          || root instanceof io.redress.inference.model.ModelLoadException) {
        cmd.getErr().println("error: " + root.getMessage());
        return 1;
      }
      throw e;
    });
    return cl.execute(args);
  }

  @Override
  public Integer call() {
    CommandLine.usage(this, System.err);
    return 2;
  }

  /** Flink's and Kafka's INFO lines would drown the progress; ours stay at info. */
  static void quietLibraries() {
    setIfUnset("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    setIfUnset("org.slf4j.simpleLogger.log.io.redress", "info");
    setIfUnset("org.slf4j.simpleLogger.log.org.apache.flink.runtime.checkpoint", "error");
    setIfUnset("org.slf4j.simpleLogger.log.org.apache.kafka", "error");
    setIfUnset("org.slf4j.simpleLogger.log.kafka", "error");
    setIfUnset("org.slf4j.simpleLogger.log.org.apache.flink", "error");
  }

  private static void setIfUnset(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }
}
