package io.redress.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code redress bench}: benchmark CLIs; each writes a JSON and a Markdown result. */
@Command(name = "redress bench", mixinStandardHelpOptions = true,
    description = "Benchmarks. Each writes <name>.json and <name>.md into --out.",
    subcommands = {CpuDecodeBench.class, ThroughputBench.class, DecodeBench.class,
        GuidedBench.class, GemmBench.class, MaskBench.class, AllReduceBench.class})
public final class BenchCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a benchmark");
  }

  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new BenchCli());
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      commandLine.getErr().println("error: " + e.getMessage());
      if (!(e instanceof IllegalArgumentException)
          && !(e instanceof io.redress.inference.model.ModelLoadException)) {
        e.printStackTrace(commandLine.getErr());
      }
      return 1;
    });
    System.exit(cli.execute(args));
  }
}
