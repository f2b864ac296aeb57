package io.redress.job.cli;

import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real single-node KRaft Kafka broker in this JVM (Kafka's own test kit), for the demo and
 * the tests. Settings suit one broker: replication 1, few internal partitions, no rebalance
 * delay.
 */
public final class EmbeddedKafka implements AutoCloseable {

  private final KafkaClusterTestKit cluster;

  private EmbeddedKafka(KafkaClusterTestKit cluster) {
    this.cluster = cluster;
  }

  /** Formats and starts a broker; returns once it serves requests. */
  public static EmbeddedKafka start() throws Exception {
    KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
            .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
        .setConfigProp("offsets.topic.replication.factor", "1")
        .setConfigProp("offsets.topic.num.partitions", "4")
        .setConfigProp("transaction.state.log.replication.factor", "1")
        .setConfigProp("transaction.state.log.min.isr", "1")
        .setConfigProp("transaction.state.log.num.partitions", "4")
        .setConfigProp("group.initial.rebalance.delay.ms", "0")
        .setConfigProp("auto.create.topics.enable", "false")
        .build();
    try {
      cluster.format();
      cluster.startup();
      cluster.waitForReadyBrokers();
    } catch (Exception e) {
      cluster.close();
      throw e;
    }
    return new EmbeddedKafka(cluster);
  }

  public String bootstrapServers() {
    return cluster.bootstrapServers();
  }

  /** Creates topics with {@code partitions} partitions each (replication 1). */
  public void createTopics(int partitions, String... names) throws Exception {
    try (Admin admin = Admin.create(adminProperties())) {
      admin.createTopics(java.util.Arrays.stream(names)
          .map(n -> new NewTopic(n, partitions, (short) 1)).toList()).all().get();
    }
  }

  private Properties adminProperties() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrapServers());
    return p;
  }

  /** Topic names, for checks. */
  public List<String> topics() throws Exception {
    try (Admin admin = Admin.create(adminProperties())) {
      return admin.listTopics().names().get().stream().sorted().toList();
    }
  }

  @Override
  public void close() {
    try {
      cluster.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      throw new IllegalStateException("the embedded Kafka broker did not shut down cleanly", e);
    }
  }
}
