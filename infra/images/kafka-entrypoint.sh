#!/usr/bin/env bash
# Entrypoint of intake/kafka: renders server.properties from environment variables,
# formats the KRaft storage on first start, then runs the broker in the foreground.
#
#   KAFKA_NODE_ID                 node id                                  (default 1)
#   KAFKA_LISTENERS               listeners                                (default PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093)
#   KAFKA_ADVERTISED_LISTENERS    what clients are told                    (default PLAINTEXT://<hostname>:9092)
#   KAFKA_LISTENER_SECURITY_PROTOCOL_MAP                                   (default PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT)
#   KAFKA_CONTROLLER_QUORUM_VOTERS                                         (default <node id>@127.0.0.1:9093)
#   KAFKA_CLUSTER_ID              cluster id used when formatting          (default: a random one)
#   KAFKA_NUM_PARTITIONS          default partitions                       (default 6)
#   KAFKA_HEAP                    -Xms/-Xmx                                (default 512m)
#   KAFKA_LOG_LEVEL               root log level                           (default INFO)
#   KAFKA_CFG_<NAME>              any other broker setting: KAFKA_CFG_LOG_RETENTION_HOURS=1
#                                 becomes log.retention.hours=1 (last one wins)
set -euo pipefail
conf=/opt/kafka/config/server.properties
data=/var/lib/kafka/data
node_id="${KAFKA_NODE_ID:-1}"
java_opts=(-cp '/opt/kafka/libs/*' -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties)

cat >"$conf" <<PROPS
process.roles=broker,controller
node.id=$node_id
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:-$node_id@127.0.0.1:9093}
listeners=${KAFKA_LISTENERS:-PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093}
advertised.listeners=${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://$(hostname):9092}
listener.security.protocol.map=${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:-PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=${KAFKA_INTER_BROKER_LISTENER_NAME:-PLAINTEXT}
log.dirs=$data
auto.create.topics.enable=false
num.partitions=${KAFKA_NUM_PARTITIONS:-6}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=134217728
PROPS
# KAFKA_CFG_FOO_BAR=x -> foo.bar=x
while IFS='=' read -r name value; do
  key="$(echo "${name#KAFKA_CFG_}" | tr 'A-Z_' 'a-z.')"
  echo "$key=$value" >>"$conf"
done < <(env | grep '^KAFKA_CFG_' || true)

if [[ ! -f "$data/meta.properties" ]]; then
  mkdir -p "$data"
  cluster_id="${KAFKA_CLUSTER_ID:-$(java "${java_opts[@]}" -Dintake.log.level=WARN kafka.tools.StorageTool random-uuid)}"
  echo "kafka-entrypoint: formatting $data (cluster $cluster_id)"
  java "${java_opts[@]}" -Dintake.log.level=WARN kafka.tools.StorageTool format -t "$cluster_id" -c "$conf"
fi

heap="${KAFKA_HEAP:-512m}"
exec java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  "${java_opts[@]}" -Dintake.log.level="${KAFKA_LOG_LEVEL:-INFO}" kafka.Kafka "$conf"
