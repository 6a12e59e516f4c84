// Apache Kafka's Java client (kafka-clients) against a broker: seedlog, or Apache Kafka itself
// as the baseline that proves these checks right. tests/apache_kafka.rs compiles this file with
// javac against .kafka/lib and runs it; by hand:
//   javac -cp '.kafka/lib/*' -d /tmp/cc tests/java/ClientCases.java
//   java -cp "/tmp/cc:.kafka/lib/*" ClientCases 127.0.0.1:9092 [case ...]
//
// Every case makes its own topics (named after the case and this run) and asserts what it
// reads back: records equal to what was sent, offsets, timestamps, partition counts, configs.
// One line per case, "PASS name (ms)" or "FAIL name: why" with the stack trace; the exit code
// is the number of failed cases (0: all passed), 2 for a usage error.

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicationFactorException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

public final class ClientCases {
    /** How long one wait (a future, reading records back) may take before the case fails. */
    static final Duration WAIT = Duration.ofSeconds(30);

    static String bootstrap;
    /** Topic names carry this run's id, so a case never meets records of an earlier run. */
    static final String RUN = Long.toString(System.currentTimeMillis() % 10_000_000);

    interface Case {
        void run() throws Exception;
    }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: ClientCases BOOTSTRAP [case ...]");
            System.exit(2);
        }
        bootstrap = args[0];
        Map<String, Case> cases = new LinkedHashMap<>();
        cases.put("produce-acks-0", () -> produceWithAcks("0"));
        cases.put("produce-acks-1", () -> produceWithAcks("1"));
        cases.put("produce-acks-all", () -> produceWithAcks("all"));
        cases.put("produce-idempotent", ClientCases::produceIdempotent);
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            cases.put("codec-" + codec, () -> produceWithCodec(codec));
        }
        cases.put("headers", ClientCases::headers);
        cases.put("log-append-time", ClientCases::logAppendTime);
        cases.put("consume-assign-seek", ClientCases::consumeAssignSeek);
        cases.put("consume-out-of-range", ClientCases::consumeOutOfRange);
        cases.put("consume-offsets-for-times", ClientCases::offsetsForTimes);
        cases.put("admin-topics", ClientCases::adminTopics);
        cases.put("admin-create-partitions", ClientCases::adminCreatePartitions);
        cases.put("admin-describe-cluster", ClientCases::adminDescribeCluster);
        cases.put("admin-describe-configs", ClientCases::adminDescribeConfigs);
        cases.put("admin-list-offsets", ClientCases::adminListOffsets);

        List<String> selected = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : List.copyOf(cases.keySet());
        int failed = 0;
        for (String name : selected) {
            Case c = cases.get(name);
            if (c == null) {
                System.err.println("unknown case " + name + "; cases: " + cases.keySet());
                System.exit(2);
            }
            long started = System.nanoTime();
            try {
                c.run();
                System.out.printf("PASS %s (%d ms)%n", name, (System.nanoTime() - started) / 1_000_000);
            } catch (Throwable e) {
                failed++;
                System.out.printf("FAIL %s (%d ms): %s%n", name, (System.nanoTime() - started) / 1_000_000, e);
                e.printStackTrace(System.out);
            }
            System.out.flush();
        }
        System.out.printf("client cases against %s: %d of %d passed%n", bootstrap, selected.size() - failed, selected.size());
        System.exit(Math.min(failed, 100));
    }

    // ---- produce ----

    /** acks=0, 1 or all without idempotence: 100 records to one partition, read back in order. */
    static void produceWithAcks(String acks) throws Exception {
        String topic = createTopic("acks-" + acks, 1, Map.of());
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            sent.add(new ProducerRecord<>(topic, 0, bytes("k" + i), bytes("acks " + acks + " value " + i)));
        }
        List<RecordMetadata> acked = send(sent, Map.of(
            ProducerConfig.ACKS_CONFIG, acks,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false",
            ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1"));
        for (int i = 0; i < acked.size(); i++) {
            RecordMetadata m = acked.get(i);
            check(m.partition() == 0, "record %d acknowledged on partition %d", i, m.partition());
            if (acks.equals("0")) {
                // With acks=0 the broker answers nothing: the client reports no offset.
                check(!m.hasOffset(), "acks=0 record %d has offset %d", i, m.offset());
            } else {
                check(m.offset() == i, "acks=%s record %d acknowledged at offset %d", acks, i, m.offset());
            }
        }
        List<ConsumerRecord<byte[], byte[]>> read = readAll(new TopicPartition(topic, 0), sent.size());
        assertSameRecords(sent, read, 0);
    }

    /**
     * An idempotent producer with 5 requests in flight and small batches, 1,000 records over 3
     * partitions: every partition gets each record once, in send order, at contiguous offsets;
     * a second producer (a new producer id) continues where the first stopped.
     */
    static void produceIdempotent() throws Exception {
        String topic = createTopic("idempotent", 3, Map.of());
        Map<String, String> config = Map.of(
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5",
            ProducerConfig.BATCH_SIZE_CONFIG, "1024",
            ProducerConfig.LINGER_MS_CONFIG, "1");
        Map<Integer, List<ProducerRecord<byte[], byte[]>>> byPartition = new HashMap<>();
        for (int round = 0; round < 2; round++) {
            List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                int partition = i % 3;
                sent.add(new ProducerRecord<>(topic, partition, bytes("k" + i), bytes("round " + round + " record " + i)));
            }
            List<RecordMetadata> acked = send(sent, config);
            for (int i = 0; i < sent.size(); i++) {
                List<ProducerRecord<byte[], byte[]>> earlier = byPartition.computeIfAbsent(sent.get(i).partition(), p -> new ArrayList<>());
                check(acked.get(i).offset() == earlier.size(), "round %d record %d on partition %d acknowledged at offset %d, expected %d",
                    round, i, sent.get(i).partition(), acked.get(i).offset(), earlier.size());
                earlier.add(sent.get(i));
            }
        }
        for (int p = 0; p < 3; p++) {
            List<ProducerRecord<byte[], byte[]>> expected = byPartition.get(p);
            assertSameRecords(expected, readAll(new TopicPartition(topic, p), expected.size()), 0);
        }
    }

    /** 500 compressible records in batches of many, with the codec; read back equal. */
    static void produceWithCodec(String codec) throws Exception {
        String topic = createTopic("codec-" + codec, 1, Map.of());
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            String value = ("codec " + codec + " record " + i + " ").repeat(1 + i % 7);
            sent.add(new ProducerRecord<>(topic, 0, i % 5 == 0 ? null : bytes("key-" + i), bytes(value)));
        }
        List<RecordMetadata> acked = send(sent, Map.of(
            ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
            ProducerConfig.LINGER_MS_CONFIG, "20",
            ProducerConfig.BATCH_SIZE_CONFIG, "16384"));
        for (int i = 0; i < acked.size(); i++) {
            check(acked.get(i).offset() == i, "codec %s record %d acknowledged at offset %d", codec, i, acked.get(i).offset());
        }
        assertSameRecords(sent, readAll(new TopicPartition(topic, 0), sent.size()), 0);
    }

    /**
     * Headers come back as sent: order, repeated keys, null and empty values, binary bytes; a
     * record with no headers has none; a null key and a null value (tombstone) stay null.
     */
    static void headers() throws Exception {
        String topic = createTopic("headers", 1, Map.of());
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        List<Header> many = List.of(
            new RecordHeader("trace", bytes("a")),
            new RecordHeader("nullable", (byte[]) null),
            new RecordHeader("trace", bytes("b")),
            new RecordHeader("empty", new byte[0]),
            new RecordHeader("binary", new byte[] {0, 1, 2, (byte) 0xff}),
            new RecordHeader("ünïcødé", bytes("välue")));
        sent.add(new ProducerRecord<>(topic, 0, null, bytes("k0"), bytes("with headers"), many));
        sent.add(new ProducerRecord<>(topic, 0, null, bytes("k1"), bytes("without headers"), List.of()));
        sent.add(new ProducerRecord<>(topic, 0, null, null, bytes("null key"), List.of(new RecordHeader("only", bytes("one")))));
        sent.add(new ProducerRecord<>(topic, 0, null, bytes("k3"), null, List.of(new RecordHeader("tombstone", bytes("yes")))));
        send(sent, Map.of(ProducerConfig.LINGER_MS_CONFIG, "10"));
        assertSameRecords(sent, readAll(new TopicPartition(topic, 0), sent.size()), 0);
    }

    /**
     * A topic with message.timestamp.type=LogAppendTime: the broker stamps each batch with its
     * own clock, whatever the producer set; the acknowledgement and the consumer both report it.
     */
    static void logAppendTime() throws Exception {
        String topic = createTopic("log-append-time", 1, Map.of("message.timestamp.type", "LogAppendTime"));
        long before = System.currentTimeMillis();
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (int i = 0; i < 20; i++) sent.add(new ProducerRecord<>(topic, 0, 1_000L + i, bytes("k" + i), bytes("v" + i)));
        List<RecordMetadata> acked = send(sent, Map.of(ProducerConfig.LINGER_MS_CONFIG, "10"));
        long after = System.currentTimeMillis();
        for (RecordMetadata m : acked) {
            check(m.timestamp() >= before - 1_000 && m.timestamp() <= after + 1_000, "acknowledged timestamp %d outside [%d, %d]", m.timestamp(), before, after);
        }
        List<ConsumerRecord<byte[], byte[]>> read = readAll(new TopicPartition(topic, 0), sent.size());
        for (int i = 0; i < read.size(); i++) {
            ConsumerRecord<byte[], byte[]> r = read.get(i);
            check(r.timestampType() == TimestampType.LOG_APPEND_TIME, "record %d timestamp type %s", i, r.timestampType());
            check(r.timestamp() == acked.get(i).timestamp(), "record %d timestamp %d, acknowledged %d", i, r.timestamp(), acked.get(i).timestamp());
            check(Arrays.equals(r.value(), sent.get(i).value()), "record %d value %s", i, show(r.value()));
        }
    }

    // ---- consume ----

    /** assign, beginning and end offsets, seek, position, seekToEnd and seekToBeginning. */
    static void consumeAssignSeek() throws Exception {
        String topic = createTopic("assign-seek", 2, Map.of());
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        List<ProducerRecord<byte[], byte[]>> sent0 = new ArrayList<>();
        List<ProducerRecord<byte[], byte[]>> sent1 = new ArrayList<>();
        for (int i = 0; i < 30; i++) sent0.add(new ProducerRecord<>(topic, 0, bytes("a" + i), bytes("p0 " + i)));
        for (int i = 0; i < 20; i++) sent1.add(new ProducerRecord<>(topic, 1, bytes("b" + i), bytes("p1 " + i)));
        List<ProducerRecord<byte[], byte[]>> all = new ArrayList<>(sent0);
        all.addAll(sent1);
        send(all, Map.of());

        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of())) {
            consumer.assign(List.of(p0, p1));
            check(consumer.assignment().equals(Set.of(p0, p1)), "assignment %s", consumer.assignment());
            Map<TopicPartition, Long> beginning = consumer.beginningOffsets(List.of(p0, p1), WAIT);
            Map<TopicPartition, Long> end = consumer.endOffsets(List.of(p0, p1), WAIT);
            check(beginning.equals(Map.of(p0, 0L, p1, 0L)), "beginningOffsets %s", beginning);
            check(end.equals(Map.of(p0, 30L, p1, 20L)), "endOffsets %s", end);

            consumer.seek(p0, 10);
            consumer.seek(p1, 15);
            Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> read = poll(consumer, Map.of(p0, 20, p1, 5));
            assertSameRecords(sent0.subList(10, 30), read.get(p0), 10);
            assertSameRecords(sent1.subList(15, 20), read.get(p1), 15);
            check(consumer.position(p0, WAIT) == 30, "position(p0) after reading to the end: %d", consumer.position(p0, WAIT));

            consumer.seekToEnd(List.of(p1));
            check(consumer.position(p1, WAIT) == 20, "position(p1) after seekToEnd: %d", consumer.position(p1, WAIT));
            consumer.seekToBeginning(List.of(p1));
            check(consumer.position(p1, WAIT) == 0, "position(p1) after seekToBeginning: %d", consumer.position(p1, WAIT));
            consumer.pause(List.of(p0));
            read = poll(consumer, Map.of(p1, 20));
            assertSameRecords(sent1, read.get(p1), 0);
        }
    }

    /**
     * A seek past the end: with auto.offset.reset=none the broker's OFFSET_OUT_OF_RANGE
     * surfaces as OffsetOutOfRangeException; with earliest the consumer resets to offset 0.
     */
    static void consumeOutOfRange() throws Exception {
        String topic = createTopic("out-of-range", 1, Map.of());
        TopicPartition tp = new TopicPartition(topic, 0);
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (int i = 0; i < 10; i++) sent.add(new ProducerRecord<>(topic, 0, bytes("k" + i), bytes("v" + i)));
        send(sent, Map.of());
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none"))) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, 1_000);
            long deadline = System.nanoTime() + WAIT.toNanos();
            boolean thrown = false;
            while (!thrown && System.nanoTime() < deadline) {
                try {
                    check(consumer.poll(Duration.ofMillis(200)).isEmpty(), "records returned at offset 1000 of 10");
                } catch (OffsetOutOfRangeException e) {
                    check(e.offsetOutOfRangePartitions().equals(Map.of(tp, 1_000L)), "out of range: %s", e.offsetOutOfRangePartitions());
                    thrown = true;
                }
            }
            check(thrown, "no OffsetOutOfRangeException for offset 1000 of a 10-record partition");
        }
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"))) {
            consumer.assign(List.of(tp));
            consumer.seek(tp, 1_000);
            assertSameRecords(sent, poll(consumer, Map.of(tp, 10)).get(tp), 0);
        }
    }

    /** Records with CreateTime timestamps one second apart; offsetsForTimes finds each. */
    static void offsetsForTimes() throws Exception {
        String topic = createTopic("offsets-for-times", 1, Map.of());
        TopicPartition tp = new TopicPartition(topic, 0);
        long base = (System.currentTimeMillis() / 1000) * 1000 - 60_000;
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (int i = 0; i < 10; i++) sent.add(new ProducerRecord<>(topic, 0, base + i * 1000L, bytes("k" + i), bytes("at " + i)));
        // Two batches of five (linger + a flush between), so a lookup crosses a batch boundary.
        send(sent.subList(0, 5), Map.of(ProducerConfig.LINGER_MS_CONFIG, "50"));
        send(sent.subList(5, 10), Map.of(ProducerConfig.LINGER_MS_CONFIG, "50"));

        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of())) {
            consumer.assign(List.of(tp));
            Map<Long, Long> expected = new LinkedHashMap<>();
            expected.put(base - 5_000, 0L);      // before every record: the first
            expected.put(base, 0L);
            expected.put(base + 2_500, 3L);      // between records: the next one
            expected.put(base + 5_000, 5L);      // first record of the second batch
            expected.put(base + 9_000, 9L);      // the last
            for (Map.Entry<Long, Long> e : expected.entrySet()) {
                Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(Map.of(tp, e.getKey()), WAIT);
                OffsetAndTimestamp at = found.get(tp);
                check(at != null, "offsetsForTimes(%d) found nothing", e.getKey() - base);
                check(at.offset() == e.getValue(), "offsetsForTimes(base+%d): offset %d, expected %d", e.getKey() - base, at.offset(), e.getValue());
                check(at.timestamp() == base + at.offset() * 1000, "offsetsForTimes(base+%d): timestamp base+%d", e.getKey() - base, at.timestamp() - base);
            }
            Map<TopicPartition, OffsetAndTimestamp> after = consumer.offsetsForTimes(Map.of(tp, base + 9_001), WAIT);
            check(after.get(tp) == null, "offsetsForTimes past the last timestamp: %s", after.get(tp));

            consumer.seek(tp, consumer.offsetsForTimes(Map.of(tp, base + 7_000), WAIT).get(tp).offset());
            List<ConsumerRecord<byte[], byte[]>> read = poll(consumer, Map.of(tp, 3)).get(tp);
            assertSameRecords(sent.subList(7, 10), read, 7);
            for (ConsumerRecord<byte[], byte[]> r : read) {
                check(r.timestampType() == TimestampType.CREATE_TIME, "timestamp type %s", r.timestampType());
            }
        }
    }

    // ---- admin ----

    /** createTopics (and its errors), listTopics, describeTopics, deleteTopics. */
    static void adminTopics() throws Exception {
        try (Admin admin = admin()) {
            String topic = "admin-topics-" + RUN;
            var created = admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1)
                .configs(Map.of("retention.ms", "3600000", "max.message.bytes", "200000"))));
            created.all().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            check(created.numPartitions(topic).get() == 3, "createTopics numPartitions %d", created.numPartitions(topic).get());
            check(created.replicationFactor(topic).get() == 1, "createTopics replicationFactor %d", created.replicationFactor(topic).get());
            check(!created.topicId(topic).get().equals(Uuid.ZERO_UUID), "createTopics returned the zero topic id");

            expectError(() -> admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(),
                TopicExistsException.class, "creating an existing topic");
            expectError(() -> admin.createTopics(List.of(new NewTopic("admin-rf3-" + RUN, 1, (short) 3))).all().get(),
                InvalidReplicationFactorException.class, "replication factor 3 on one broker");
            expectError(() -> admin.createTopics(List.of(new NewTopic("admin-p0-" + RUN, 0, (short) 1))).all().get(),
                InvalidPartitionsException.class, "0 partitions");

            check(admin.listTopics().names().get().contains(topic), "listTopics lacks %s", topic);
            Node node = admin.describeCluster().nodes().get().iterator().next();
            TopicDescription description = waitForPartitions(admin, topic, 3);
            check(description.topicId().equals(created.topicId(topic).get()), "describeTopics topic id %s, createTopics said %s",
                description.topicId(), created.topicId(topic).get());
            check(!description.isInternal(), "%s described as internal", topic);
            for (TopicPartitionInfo p : description.partitions()) {
                check(p.leader() != null && p.leader().id() == node.id(), "partition %d leader %s, the node is %s", p.partition(), p.leader(), node);
                check(p.replicas().size() == 1 && p.isr().size() == 1, "partition %d replicas %s isr %s", p.partition(), p.replicas(), p.isr());
            }

            admin.deleteTopics(List.of(topic)).all().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (admin.listTopics().names().get().contains(topic)) {
                check(System.nanoTime() < deadline, "%s still listed after deleteTopics", topic);
                Thread.sleep(100);
            }
            expectError(() -> admin.describeTopics(List.of(topic)).allTopicNames().get(),
                UnknownTopicOrPartitionException.class, "describing a deleted topic");
            expectError(() -> admin.deleteTopics(List.of(topic)).all().get(),
                UnknownTopicOrPartitionException.class, "deleting a deleted topic");
        }
    }

    /** createPartitions grows a topic (and the new partitions take records); it never shrinks one. */
    static void adminCreatePartitions() throws Exception {
        String topic = createTopic("admin-grow", 2, Map.of());
        try (Admin admin = admin()) {
            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            check(waitForPartitions(admin, topic, 5).partitions().size() == 5, "not 5 partitions");
            expectError(() -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(4))).all().get(),
                InvalidPartitionsException.class, "shrinking 5 partitions to 4");
            expectError(() -> admin.createPartitions(Map.of("admin-missing-" + RUN, NewPartitions.increaseTo(4))).all().get(),
                UnknownTopicOrPartitionException.class, "growing a missing topic");
        }
        List<ProducerRecord<byte[], byte[]>> sent = List.of(new ProducerRecord<>(topic, 4, bytes("k"), bytes("in a new partition")));
        check(send(sent, Map.of()).get(0).offset() == 0, "first record of partition 4 not at offset 0");
        assertSameRecords(sent, readAll(new TopicPartition(topic, 4), 1), 0);
    }

    /** describeCluster: one node, reachable at the bootstrap address, a cluster id, a controller. */
    static void adminDescribeCluster() throws Exception {
        try (Admin admin = admin()) {
            DescribeClusterResult cluster = admin.describeCluster();
            Collection<Node> nodes = cluster.nodes().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            check(nodes.size() == 1, "nodes %s", nodes);
            Node node = nodes.iterator().next();
            check((node.host() + ":" + node.port()).equals(bootstrap), "node %s is not at %s", node, bootstrap);
            String clusterId = cluster.clusterId().get();
            check(clusterId != null && !clusterId.isEmpty(), "cluster id '%s'", clusterId);
            Node controller = cluster.controller().get();
            // Kafka 4 answers admin clients with a random live broker as the "controller".
            check(controller != null && controller.id() == node.id(), "controller %s, node %s", controller, node);
        }
    }

    /** describeConfigs of a topic (overrides and defaults, with their sources) and of the broker. */
    static void adminDescribeConfigs() throws Exception {
        String topic = createTopic("admin-configs", 1, Map.of("retention.ms", "7200000", "cleanup.policy", "delete", "segment.bytes", "1048576"));
        try (Admin admin = admin()) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get(WAIT.toSeconds(), TimeUnit.SECONDS).get(resource);
            expectConfig(config, "retention.ms", "7200000", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            expectConfig(config, "segment.bytes", "1048576", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            expectConfig(config, "cleanup.policy", "delete", ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
            ConfigEntry maxBytes = config.get("max.message.bytes");
            check(maxBytes != null && maxBytes.source() != ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                "max.message.bytes (not overridden) described as %s", maxBytes);
            check(maxBytes.value() != null && Integer.parseInt(maxBytes.value()) > 0, "max.message.bytes value %s", maxBytes.value());
            ConfigEntry type = config.get("retention.ms");
            check(type.type() == ConfigEntry.ConfigType.LONG, "retention.ms type %s", type.type());

            expectError(() -> admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, "admin-missing-" + RUN))).all().get(),
                UnknownTopicOrPartitionException.class, "describing the configs of a missing topic");

            Node node = admin.describeCluster().nodes().get().iterator().next();
            ConfigResource brokerResource = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node.id()));
            Config broker = admin.describeConfigs(List.of(brokerResource)).all().get(WAIT.toSeconds(), TimeUnit.SECONDS).get(brokerResource);
            check(!broker.entries().isEmpty(), "broker %d describes no configs", node.id());
        }
    }

    /** listOffsets: earliest, latest, max timestamp and by timestamp, on two partitions. */
    static void adminListOffsets() throws Exception {
        String topic = createTopic("admin-list-offsets", 2, Map.of());
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        long base = (System.currentTimeMillis() / 1000) * 1000 - 30_000;
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        // p0: timestamps not in offset order, so max timestamp is not the last record.
        long[] p0Times = {base + 3_000, base + 9_000, base + 1_000, base + 4_000};
        for (int i = 0; i < p0Times.length; i++) sent.add(new ProducerRecord<>(topic, 0, p0Times[i], bytes("k" + i), bytes("v" + i)));
        for (int i = 0; i < 7; i++) sent.add(new ProducerRecord<>(topic, 1, base + i, bytes("k" + i), bytes("v" + i)));
        send(sent, Map.of());
        try (Admin admin = admin()) {
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> earliest = admin.listOffsets(Map.of(p0, OffsetSpec.earliest(), p1, OffsetSpec.earliest())).all().get();
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> latest = admin.listOffsets(Map.of(p0, OffsetSpec.latest(), p1, OffsetSpec.latest())).all().get();
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> max = admin.listOffsets(Map.of(p0, OffsetSpec.maxTimestamp(), p1, OffsetSpec.maxTimestamp())).all().get();
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> byTime = admin.listOffsets(Map.of(p0, OffsetSpec.forTimestamp(base + 3_500), p1, OffsetSpec.forTimestamp(base + 3))).all().get();
            check(earliest.get(p0).offset() == 0 && earliest.get(p1).offset() == 0, "earliest %s", earliest);
            check(latest.get(p0).offset() == 4 && latest.get(p1).offset() == 7, "latest %s", latest);
            check(max.get(p0).offset() == 1 && max.get(p0).timestamp() == base + 9_000, "max timestamp of p0: %s", max.get(p0));
            check(max.get(p1).offset() == 6 && max.get(p1).timestamp() == base + 6, "max timestamp of p1: %s", max.get(p1));
            // The first offset whose timestamp is >= the target: in p0, offset 1 (base+9000).
            check(byTime.get(p0).offset() == 1 && byTime.get(p0).timestamp() == base + 9_000, "forTimestamp(base+3500) of p0: %s", byTime.get(p0));
            check(byTime.get(p1).offset() == 3 && byTime.get(p1).timestamp() == base + 3, "forTimestamp(base+3) of p1: %s", byTime.get(p1));
            // Without tiered storage the local log starts at the log start offset, and
            // there is no tiered offset (-1) (ListOffsets v8 and v9).
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> local = admin.listOffsets(Map.of(p0, OffsetSpec.earliestLocal())).all().get();
            check(local.get(p0).offset() == 0, "earliestLocal of p0: %s", local.get(p0));
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> tiered = admin.listOffsets(Map.of(p0, OffsetSpec.latestTiered())).all().get();
            check(tiered.get(p0).offset() == -1, "latestTiered of p0: %s", tiered.get(p0));
        }
    }

    // ---- helpers ----

    static String createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        String topic = name + "-" + RUN;
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1).configs(configs))).all()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
            waitForPartitions(admin, topic, partitions);
        }
        return topic;
    }

    /** Kafka propagates metadata asynchronously: wait until describeTopics shows the partitions, all led. */
    static TopicDescription waitForPartitions(Admin admin, String topic, int partitions) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
                if (d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null)) {
                    return d;
                }
                check(System.nanoTime() < deadline, "%s has %d partitions, expected %d: %s", topic, d.partitions().size(), partitions, d);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) throw e;
            }
            Thread.sleep(50);
        }
    }

    static Admin admin() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(WAIT.toMillis()));
        return Admin.create(p);
    }

    /** Sends every record with one producer (config on top of the defaults), flushes, returns the acknowledgements in order. */
    static List<RecordMetadata> send(List<ProducerRecord<byte[], byte[]>> records, Map<String, String> config) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "25000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "20000");
        p.putAll(config);
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (ProducerRecord<byte[], byte[]> r : records) futures.add(producer.send(r));
            producer.flush();
            List<RecordMetadata> acked = new ArrayList<>();
            for (Future<RecordMetadata> f : futures) acked.add(f.get(WAIT.toSeconds(), TimeUnit.SECONDS));
            return acked;
        }
    }

    static KafkaConsumer<byte[], byte[]> consumer(Map<String, String> config) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(WAIT.toMillis()));
        // Small fetches, so a partition is read over several fetches, not one.
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, "4096");
        p.putAll(config);
        return new KafkaConsumer<>(p);
    }

    /** Reads a partition from its beginning (no group: assign) until `count` records came. */
    static List<ConsumerRecord<byte[], byte[]>> readAll(TopicPartition tp, int count) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(Map.of())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            return poll(consumer, Map.of(tp, count)).get(tp);
        }
    }

    /** Polls until each partition returned its expected count (failing past it or after WAIT). */
    static Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> poll(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Integer> counts) {
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> read = new HashMap<>();
        counts.keySet().forEach(tp -> read.put(tp, new ArrayList<>()));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (counts.entrySet().stream().anyMatch(e -> read.get(e.getKey()).size() < e.getValue())) {
            check(System.nanoTime() < deadline, "read %s of %s records", sizes(read), counts);
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                check(read.containsKey(tp), "a record from %s, which was not asked for", tp);
                read.get(tp).add(r);
            }
        }
        // Nothing more than expected arrives.
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            read.get(new TopicPartition(r.topic(), r.partition())).add(r);
        }
        check(counts.entrySet().stream().allMatch(e -> read.get(e.getKey()).size() == e.getValue()), "read %s records, expected %s", sizes(read), counts);
        return read;
    }

    static Map<TopicPartition, Integer> sizes(Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> read) {
        Map<TopicPartition, Integer> out = new HashMap<>();
        read.forEach((tp, list) -> out.put(tp, list.size()));
        return out;
    }

    /** Same key, value, headers (and timestamp when sent with one), at offsets from `firstOffset` on. */
    static void assertSameRecords(List<ProducerRecord<byte[], byte[]>> sent, List<ConsumerRecord<byte[], byte[]>> read, long firstOffset) {
        check(sent.size() == read.size(), "sent %d records, read %d", sent.size(), read.size());
        for (int i = 0; i < sent.size(); i++) {
            ProducerRecord<byte[], byte[]> s = sent.get(i);
            ConsumerRecord<byte[], byte[]> r = read.get(i);
            check(r.offset() == firstOffset + i, "record %d at offset %d, expected %d", i, r.offset(), firstOffset + i);
            check(Arrays.equals(s.key(), r.key()), "record %d key %s, sent %s", i, show(r.key()), show(s.key()));
            check(Arrays.equals(s.value(), r.value()), "record %d value %s, sent %s", i, show(r.value()), show(s.value()));
            if (s.timestamp() != null) check(s.timestamp() == r.timestamp(), "record %d timestamp %d, sent %d", i, r.timestamp(), s.timestamp());
            Header[] sentHeaders = s.headers().toArray();
            Header[] readHeaders = r.headers().toArray();
            check(sentHeaders.length == readHeaders.length, "record %d has %d headers, sent %d", i, readHeaders.length, sentHeaders.length);
            for (int h = 0; h < sentHeaders.length; h++) {
                check(sentHeaders[h].key().equals(readHeaders[h].key()) && Arrays.equals(sentHeaders[h].value(), readHeaders[h].value()),
                    "record %d header %d is %s=%s, sent %s=%s", i, h, readHeaders[h].key(), show(readHeaders[h].value()),
                    sentHeaders[h].key(), show(sentHeaders[h].value()));
            }
        }
    }

    static void expectConfig(Config config, String name, String value, ConfigEntry.ConfigSource source) {
        ConfigEntry entry = config.get(name);
        check(entry != null, "no config %s in %s", name, config);
        check(value.equals(entry.value()), "%s = %s, expected %s", name, entry.value(), value);
        check(entry.source() == source, "%s source %s, expected %s", name, entry.source(), source);
    }

    interface Call {
        Object call() throws Exception;
    }

    static void expectError(Call call, Class<? extends Throwable> expected, String what) throws Exception {
        try {
            Object result = call.call();
            throw new AssertionError(what + ": succeeded (" + result + "), expected " + expected.getSimpleName());
        } catch (ExecutionException e) {
            check(expected.isInstance(e.getCause()), "%s: %s, expected %s", what, e.getCause(), expected.getSimpleName());
        }
    }

    static void check(boolean condition, String format, Object... args) {
        if (!condition) throw new AssertionError(String.format(format, args));
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String show(byte[] b) {
        return b == null ? "null" : "'" + new String(b, StandardCharsets.UTF_8) + "'";
    }
}
