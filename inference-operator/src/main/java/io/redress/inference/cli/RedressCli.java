package io.redress.inference.cli;

import io.redress.inference.model.ModelLoadException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code redress}: the engine's command line ({@code tokenize}, {@code generate}). Results go
 * to stdout, logs and progress to stderr; user errors print one line and exit with status 1,
 * usage errors with status 2.
 */
@Command(
    name = "redress",
    mixinStandardHelpOptions = true,
    versionProvider = RedressCli.Version.class,
    description = "Structured replies to complaint conversations on your own GPUs.",
    subcommands = {TokenizeCommand.class, GenerateCommand.class})
public final class RedressCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand");
  }

  public static void main(String[] args) {
    System.exit(execute(args));
  }

  /** Runs the CLI and returns its exit status (tests call this). */
  public static int execute(String... args) {
    CommandLine cli = new CommandLine(new RedressCli());
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      PrintWriter err = commandLine.getErr();
      if (e instanceof ModelLoadException || e instanceof UserInputException
          || e instanceof IllegalArgumentException) {
        err.println("error: " + e.getMessage());
      } else {
        err.println("error: " + e);
        e.printStackTrace(err);
      }
      err.flush();
      return 1;
    });
    return cli.execute(args);
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = RedressCli.class.getPackage().getImplementationVersion();
      return new String[] {"redress " + (v == null ? "(development build)" : v)};
    }
  }
}
