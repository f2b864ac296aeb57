package io.redress.job.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.redress.job.JobConfigOptions;
import io.redress.job.JobOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docker-compose.yml (and docker-compose.cpu.yml, docker/flink/Dockerfile) against the job: the
 * topics it creates, the options it submits, the model it mounts, the GPU it configures and the
 * images it pins. Docker is not needed; the files are read as YAML and text.
 */
class ComposeFileTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final String JAR = "/opt/flink/usrlib/redress-job-flink.jar";

  private static JsonNode services;
  private static String dockerfile;

  @BeforeAll
  static void read() throws IOException {
    services = new YAMLMapper().readTree(ROOT.resolve("docker-compose.yml").toFile())
        .path("services");
    dockerfile = Files.readString(ROOT.resolve("docker/flink/Dockerfile"));
  }

  private static JsonNode service(String name) {
    JsonNode s = services.path(name);
    assertThat(s.isObject()).as("service " + name).isTrue();
    return s;
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** The container path where a service mounts {@code source} (short volume syntax). */
  private static Optional<String> mountTarget(JsonNode service, String source) {
    for (String v : strings(service.path("volumes"))) {
      String[] parts = v.split(":");
      if (parts[0].equals(source)) {
        return Optional.of(parts[1]);
      }
    }
    return Optional.empty();
  }

  /** FLINK_PROPERTIES ("key: value" lines, as the Flink image's entrypoint reads them). */
  private static Map<String, String> flinkProperties(String serviceName) {
    Map<String, String> props = new LinkedHashMap<>();
    for (String line : service(serviceName).path("environment").path("FLINK_PROPERTIES").asText()
        .split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        props.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
      }
    }
    return props;
  }

  /** The job's arguments as the submit service passes them to `flink run`. */
  private static String[] jobArgs() {
    JsonNode submit = service("submit");
    assertThat(strings(submit.path("command")).get(2))
        .contains("flink run -d -m jobmanager:8081 " + JAR + " $$JOB_ARGS");
    return submit.path("environment").path("JOB_ARGS").asText().trim().split("\\s+");
  }

  private static String argValue(String[] args, String key) {
    int i = Arrays.asList(args).indexOf(key);
    assertThat(i).as(key + " in " + Arrays.toString(args)).isGreaterThanOrEqualTo(0);
    return args[i + 1];
  }

  private static String kafkaEnv(String key) {
    return service("kafka").path("environment").path(key).asText();
  }

  private static Set<String> defaultTopics() {
    return Set.of(JobConfigOptions.TOPIC_COMPLAINTS.defaultValue(),
        JobConfigOptions.TOPIC_REPLIES.defaultValue(),
        JobConfigOptions.TOPIC_DEAD_LETTERS.defaultValue());
  }

  @Test
  void hasTheServices() {
    Set<String> names = new TreeSet<>();
    services.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactlyInAnyOrder("kafka", "kafka-init", "jobmanager",
        "taskmanager", "submit", "loader");
  }

  @Test
  void publishesTheFlinkUiAndKafkasHostListener() {
    assertThat(strings(service("jobmanager").path("ports"))).contains("8081:8081");
    assertThat(strings(service("kafka").path("ports"))).contains("9094:9094");
    assertThat(kafkaEnv("KAFKA_ADVERTISED_LISTENERS"))
        .contains("//localhost:9094").contains("//kafka:9092");
    assertThat(kafkaEnv("KAFKA_PROCESS_ROLES")).isEqualTo("broker,controller");
  }

  @Test
  void kafkaInitCreatesTheJobsDefaultTopics() {
    JsonNode init = service("kafka-init");
    assertThat(Set.of(init.path("environment").path("TOPICS").asText().trim().split("\\s+")))
        .isEqualTo(defaultTopics());
    assertThat(String.join(" ", strings(init.path("command"))))
        .contains("for topic in $$TOPICS").contains("kafka-topics.sh").contains("--create");
    assertThat(init.path("depends_on").path("kafka").path("condition").asText())
        .isEqualTo("service_healthy");
  }

  @Test
  void submitPassesOptionsTheJobAccepts() {
    String[] args = jobArgs();
    // The job's own parser: unknown keys and missing required options throw.
    Configuration conf = JobOptions.toConfiguration(args);
    JobOptions o = JobOptions.from(conf);
    assertThat(o.mode()).isEqualTo(JobOptions.Mode.STREAM);
    assertThat(o.bootstrapServers()).isEqualTo("kafka:9092");
    assertThat(Set.of(o.complaintsTopic(), o.repliesTopic(), o.deadLettersTopic()))
        .isEqualTo(defaultTopics());
    assertThat(dockerfile).contains("COPY job/target/redress-job-flink.jar /opt/flink/usrlib/");
    JsonNode dependsOn = service("submit").path("depends_on");
    assertThat(dependsOn.path("kafka-init").path("condition").asText())
        .isEqualTo("service_completed_successfully");
    assertThat(dependsOn.path("jobmanager").path("condition").asText())
        .isEqualTo("service_healthy");
  }

  @Test
  void theModelMountIsTheModelTheJobIsGiven() {
    assertThat(mountTarget(service("taskmanager"), "./sample-data/demo-model"))
        .contains(argValue(jobArgs(), "--model"));
  }

  @Test
  void loaderPublishesTheSampleComplaintsToTheComplaintsTopic() {
    JsonNode loader = service("loader");
    List<String> command = strings(loader.path("command"));
    assertThat(command).containsSubsequence("java", "-cp", "io.redress.job.cli.JobCli",
        "publish");
    String[] args = command.toArray(new String[0]);
    assertThat(argValue(args, "--bootstrap-servers")).isEqualTo("kafka:9092");
    assertThat(mountTarget(loader, "./sample-data/complaints.jsonl"))
        .contains(argValue(args, "--input"));
    // Without --topic, publish writes to the job's default input topic.
    assertThat(command).doesNotContain("--topic");
    assertThat(command.get(command.indexOf("-cp") + 1)).startsWith(JAR + ":");
  }

  @Test
  void theTaskManagerHasTheGpuAsAFlinkExternalResourceAndADeviceReservation() {
    Map<String, String> tm = flinkProperties("taskmanager");
    assertThat(tm.get("external-resources").split(";")).contains("gpu");
    assertThat(tm).containsEntry("external-resource.gpu.driver-factory.class",
        "org.apache.flink.externalresource.gpu.GPUDriverFactory");
    assertThat(tm).containsEntry("external-resource.gpu.amount", "1");
    assertThat(tm).containsEntry("jobmanager.rpc.address", "jobmanager");

    JsonNode devices = service("taskmanager").path("deploy").path("resources")
        .path("reservations").path("devices");
    assertThat(devices.size()).isEqualTo(1);
    assertThat(devices.get(0).path("driver").asText()).isEqualTo("nvidia");
    assertThat(devices.get(0).path("count").asInt()).isEqualTo(1);
    assertThat(strings(devices.get(0).path("capabilities"))).contains("gpu");
    // cuBLAS for the CUDA runner, where the engine looks for it.
    assertThat(dockerfile).contains("COPY --from=cuda /cublas/ /usr/local/cuda/lib64/")
        .contains("ENV LD_LIBRARY_PATH=/usr/local/cuda/lib64");
  }

  @Test
  void jobManagerAndTaskManagerAgreeOnClassLoadingAndCheckpoints() {
    Map<String, String> jm = flinkProperties("jobmanager");
    Map<String, String> tm = flinkProperties("taskmanager");
    for (String key : List.of("classloader.parent-first-patterns.additional",
        "execution.checkpointing.dir", "execution.checkpointing.savepoint-dir")) {
      assertThat(tm.get(key)).as(key).isNotBlank().isEqualTo(jm.get(key));
    }
    // The native-library jars the Dockerfile puts into lib/ are the ones loaded parent-first.
    assertThat(tm.get("classloader.parent-first-patterns.additional").split(";"))
        .containsExactlyInAnyOrder("jcuda.", "ai.djl.", "ai.onnxruntime.", "com.sun.jna.");
    assertThat(dockerfile).contains("job/target/lib/jcuda-[0-9]*.jar",
        "job/target/lib/tokenizers-[0-9]*.jar", "job/target/lib/onnxruntime-[0-9]*.jar",
        "job/target/lib/jna-[0-9]*.jar");
  }

  @Test
  void imagesArePinnedAndMatchTheVersionsTheJobIsBuiltWith() {
    List<String> images = new ArrayList<>();
    services.forEach(s -> images.add(s.path("image").asText()));
    for (String line : dockerfile.split("\n")) {
      if (line.startsWith("FROM ")) {
        images.add(line.split("\\s+")[1]);
      }
    }
    for (String image : images) {
      int colon = image.lastIndexOf(':');
      assertThat(colon).as(image + " has a tag").isGreaterThan(image.lastIndexOf('/'));
      assertThat(image.substring(colon + 1)).as(image).isNotBlank().isNotEqualTo("latest");
    }
    assertThat(images).contains("flink:" + EnvironmentInformation.getVersion()
        + "-scala_2.12-java17");
    assertThat(images).anyMatch(i -> i.matches("nvidia/cuda:13\\.0\\.\\d+-runtime-ubuntu24\\.04"));
    assertThat(images).contains("apache/kafka:" + AppInfoParser.getVersion());
    // The Flink services share the one image the jobmanager service builds.
    assertThat(service("jobmanager").path("build").path("dockerfile").asText())
        .isEqualTo("docker/flink/Dockerfile");
    for (String s : List.of("taskmanager", "submit", "loader")) {
      assertThat(service(s).path("image").asText())
          .isEqualTo(service("jobmanager").path("image").asText());
    }
  }

  @Test
  void theCpuOverrideDropsOnlyTheGpuReservation() throws IOException {
    Path file = ROOT.resolve("docker-compose.cpu.yml");
    JsonNode cpu = new YAMLMapper().readTree(file.toFile()).path("services");
    List<String> names = new ArrayList<>();
    cpu.fieldNames().forEachRemaining(names::add);
    assertThat(names).containsExactly("taskmanager");
    JsonNode taskmanager = cpu.path("taskmanager");
    assertThat(taskmanager.size()).isEqualTo(1);
    JsonNode devices = taskmanager.path("deploy").path("resources").path("reservations")
        .path("devices");
    assertThat(devices.isArray() && devices.isEmpty()).as(devices.toString()).isTrue();
    // Compose merges lists; !reset is what removes the base file's device.
    assertThat(Files.readString(file)).contains("devices: !reset []");
  }
}
