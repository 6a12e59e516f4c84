#!/usr/bin/env bash
# Install Apache Kafka's jars for the tests that use Kafka as the oracle and the peer
# (tests/kafka_tools.rs, tests/common/kafka.rs): the broker (kafka_2.13, kafka-server),
# kafka-tools and kafka-clients of one pinned version, with their runtime dependencies,
# resolved from Maven Central with mvn into .kafka/lib/ (ignored by git).
#
# Kafka's shell scripts are not on Maven Central: run the main classes directly, e.g.
#   java -cp '.kafka/lib/*' org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --list
#
# Run from the repo root: scripts/install-kafka.sh
# Idempotent: when .kafka/lib/.seedlog-kafka-ok names the pinned version it does nothing.
# Safe to run concurrently (an flock serialises installers).
# Needs: java >= 17 and javac (Kafka 4's broker and tools need 17), mvn, network to Maven
# Central. KAFKA_VERSION=... overrides the pin (for trying another 4.x by hand).
set -euo pipefail

# The pin. 4.1.x: the Kafka line the project's reference notes describe (KIP-966's ELR on by
# default, KIP-896's protocol floors); its newest patch release.
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
# log4j2 is the logging backend that Kafka 4's distribution puts on the classpath; the
# broker's and tools' poms leave it out (they bring slf4j-api 1.7 and log4j-api only), so it
# is named here: log4j-core and the binding for slf4j 1.x, at the log4j-api version Kafka
# 4.1.2 brings.
LOG4J_VERSION="2.25.3"
DEPENDENCY_PLUGIN_VERSION="3.8.1"

root="$(pwd)"
if [[ ! -f "$root/Cargo.toml" || ! -f "$root/scripts/install-kafka.sh" ]]; then
  echo "install-kafka: run me from the seedlog repo root (found no scripts/install-kafka.sh in $root)" >&2
  exit 2
fi

start=$SECONDS
kafka_dir="$root/.kafka"
lib="$kafka_dir/lib"
marker="$lib/.seedlog-kafka-ok"
want="kafka $KAFKA_VERSION log4j $LOG4J_VERSION"

for tool in java javac mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-kafka: '$tool' is not on PATH; Apache Kafka's jars need a JDK >= 17 (java, javac) and Maven (mvn)." >&2
    echo "install-kafka: on Debian: apt-get install openjdk-17-jdk-headless maven" >&2
    exit 1
  fi
done
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
if [[ -z "$java_major" || "$java_major" -lt 17 ]]; then
  echo "install-kafka: java is version '${java_major:-unknown}'; Kafka $KAFKA_VERSION's broker and tools need Java >= 17" >&2
  exit 1
fi

mkdir -p "$kafka_dir"
exec 9>"$kafka_dir/.install.lock"
flock 9

if [[ -f "$marker" ]] && [[ "$(sed -n 2p "$marker")" == "$want" ]]; then
  echo "install-kafka: already installed ($want in $lib)"
  exit 0
fi
rm -rf "$lib" "$kafka_dir/lib.tmp"

# A throwaway pom that depends on the four artifacts; copy-dependencies puts them and their
# runtime closure in one folder.
work="$kafka_dir/resolve"
rm -rf "$work"
mkdir -p "$work"
cat >"$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>seedlog.test</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-server</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM

echo "install-kafka: resolving Apache Kafka $KAFKA_VERSION (kafka_2.13, kafka-server, kafka-tools, kafka-clients) with mvn"
mvn_log="$work/mvn.log"
if ! mvn -B -q -f "$work/pom.xml" \
  "org.apache.maven.plugins:maven-dependency-plugin:$DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
  -DincludeScope=runtime -DoutputDirectory="$kafka_dir/lib.tmp" >"$mvn_log" 2>&1; then
  tail -n 40 "$mvn_log" >&2
  echo "install-kafka: mvn could not resolve Apache Kafka $KAFKA_VERSION (full log: $mvn_log)" >&2
  exit 1
fi

# A log4j2 config for the tools and the broker (WARN to stderr), so a test sees warnings
# and errors without INFO noise. Kafka's scripts pass one the same way.
cat >"$kafka_dir/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    Console:
      name: STDERR
      target: SYSTEM_ERR
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDERR
YAML

# Check that the main classes the tests run are there (jar tf: the JDK's own lister).
check_class() { # jar class
  if ! jar tf "$kafka_dir/lib.tmp/$1" | grep -xF "${2//.//}.class" >/dev/null; then
    echo "install-kafka: $2 is not in $1; the resolved set is incomplete" >&2
    exit 1
  fi
}
check_class "kafka_2.13-$KAFKA_VERSION.jar" kafka.Kafka
check_class "kafka_2.13-$KAFKA_VERSION.jar" kafka.tools.StorageTool
check_class "kafka_2.13-$KAFKA_VERSION.jar" kafka.tools.DumpLogSegments
check_class "kafka-tools-$KAFKA_VERSION.jar" org.apache.kafka.tools.TopicCommand
check_class "kafka-clients-$KAFKA_VERSION.jar" org.apache.kafka.clients.producer.KafkaProducer

jars=$(find "$kafka_dir/lib.tmp" -name '*.jar' | wc -l)
{
  echo "# written by scripts/install-kafka.sh; delete to force a reinstall"
  echo "$want"
  (cd "$kafka_dir/lib.tmp" && ls -1 ./*.jar | sed 's|^\./||')
} >"$kafka_dir/lib.tmp/.seedlog-kafka-ok"
mv "$kafka_dir/lib.tmp" "$lib"
rm -rf "$work"
echo "install-kafka: installed Apache Kafka $KAFKA_VERSION ($jars jars, log4j $LOG4J_VERSION) into $lib in $((SECONDS - start)) s"
