#!/usr/bin/env bash
# Runs a real Apache Kafka (KRaft) node from Maven Central jars, and Kafka's own CLI tools
# from the same jars. One node by default; a node of a multi-node cluster when
# INTAKE_KAFKA_VOTERS lists several voters (the fleet's `--brokers 3` runs this once per node).
#
#   kafka.sh fetch            fetch the jars into the cache (a no-op when cached)
#   kafka.sh start            format storage on first use, start the broker in the background
#   kafka.sh wait [SECONDS]   wait until the broker accepts clients
#   kafka.sh stop             stop the broker (SIGTERM, then SIGKILL after 30 s)
#   kafka.sh status           print "running PID" or "stopped"
#   kafka.sh tool NAME ARGS   run a Kafka tool: topics, console-consumer, console-producer,
#                             consumer-groups, producer-perf-test, get-offsets, storage,
#                             or a fully qualified main class
#
# Environment (all optional):
#   INTAKE_STATE_DIR       where data, logs and the pid file live   (default: <repo>/.intake)
#   INTAKE_KAFKA_PORT      client port on 127.0.0.1                 (default: 9092)
#   INTAKE_KAFKA_CONTROLLER_PORT  KRaft controller port              (default: client port + 1)
#   INTAKE_KAFKA_FLEET_PORT       when set: a second listener (FLEET) advertised on this
#                          port, for a proxy in front of the broker (the fault scenarios)
#   INTAKE_KAFKA_FLEET_LISTEN_PORT  where that listener binds         (default: client port + 2)
#   INTAKE_KAFKA_PARTITIONS default partitions of new topics        (default: 6)
#   INTAKE_KAFKA_HEAP      broker heap                              (default: 768m)
#   INTAKE_KAFKA_JVM_OPTS  extra JVM options of the broker           (default: none)
#   INTAKE_KAFKA_NODE_ID   this node's id                           (default: 1)
#   INTAKE_KAFKA_VOTERS    the controller quorum, id@host:port,...  (default: this node alone)
#   INTAKE_KAFKA_REPLICATION  replication factor of internal and new topics (default: 1);
#                          min.insync.replicas is 2 from a replication factor of 2 up, else 1
#   INTAKE_CACHE           jar cache, shared by every clone          (default: ~/.cache/intake)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
cache="${INTAKE_CACHE:-$HOME/.cache/intake}/kafka-$version"
libs="$cache/libs"
state="${INTAKE_STATE_DIR:-$root/.intake}"
port="${INTAKE_KAFKA_PORT:-9092}"
controller_port="${INTAKE_KAFKA_CONTROLLER_PORT:-$((port + 1))}"
partitions="${INTAKE_KAFKA_PARTITIONS:-6}"
fleet_port="${INTAKE_KAFKA_FLEET_PORT:-}"
fleet_listen_port="${INTAKE_KAFKA_FLEET_LISTEN_PORT:-$((port + 2))}"
heap="${INTAKE_KAFKA_HEAP:-768m}"
node_id="${INTAKE_KAFKA_NODE_ID:-1}"
voters="${INTAKE_KAFKA_VOTERS:-$node_id@127.0.0.1:$controller_port}"
replication="${INTAKE_KAFKA_REPLICATION:-1}"
min_isr=$(( replication >= 2 ? 2 : 1 ))
kdir="$state/kafka-$port"
data="$kdir/data"
pidfile="$kdir/kafka.pid"
logfile="$state/logs/kafka-$port.log"

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  # The pom's hash is part of the marker, so editing the pom refetches.
  local marker="$libs/.complete-$(sha1sum "$here/pom.xml" | cut -c1-12)"
  [[ -f "$marker" ]] && return 0
  command -v java >/dev/null || die "Java 17+ is needed to run Kafka (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "Maven is needed to fetch Kafka's jars (apt-get install maven)"
  echo "kafka.sh: fetching Apache Kafka $version jars from Maven Central into $libs" >&2
  rm -rf "$libs.tmp" && mkdir -p "$libs.tmp"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >&2 \
    || die "could not fetch Kafka's jars with Maven (is Maven Central reachable?)"
  rm -rf "$libs" && mv "$libs.tmp" "$libs" && touch "$marker"
}

java_run() { # java_run MAIN_CLASS ARGS... (foreground, quiet logging)
  exec java -Xmx256m -Dintake.log.level=WARN \
    -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$libs/*" "$@"
}

pid_alive() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

new_cluster_id() {
  java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -Dintake.log.level=WARN kafka.tools.StorageTool random-uuid
}

# The nodes of one cluster are formatted with the same cluster id, kept in the state dir.
node_cluster_id() {
  [[ "$voters" == *,* ]] || { new_cluster_id; return; }
  local file="$state/kafka-cluster-id"
  [[ -s "$file" ]] || new_cluster_id >"$file"
  cat "$file"
}

start() {
  fetch
  if pid_alive; then echo "kafka.sh: broker already running (pid $(cat "$pidfile"))" >&2; return 0; fi
  port_open "$port" && die "port $port is in use by another process; stop it or set INTAKE_KAFKA_PORT"
  mkdir -p "$kdir" "$state/logs"
  # Kafka answers with the advertised address of the listener a client came in on: clients
  # of the FLEET listener keep going through the proxy on $fleet_port.
  local fleet_listener="" fleet_advertised=""
  if [[ -n "$fleet_port" ]]; then
    fleet_listener=",FLEET://127.0.0.1:$fleet_listen_port"
    fleet_advertised=",FLEET://127.0.0.1:$fleet_port"
  fi
  sed -e "s|@PORT@|$port|g" -e "s|@CONTROLLER_PORT@|$controller_port|g" \
      -e "s|@DATA_DIR@|$data|g" -e "s|@PARTITIONS@|$partitions|g" \
      -e "s|@FLEET_LISTENER@|$fleet_listener|g" -e "s|@FLEET_ADVERTISED@|$fleet_advertised|g" \
      -e "s|@NODE_ID@|$node_id|g" -e "s|@VOTERS@|$voters|g" \
      -e "s|@REPLICATION@|$replication|g" -e "s|@MIN_ISR@|$min_isr|g" \
      "$here/server.properties.tmpl" > "$kdir/server.properties"
  if [[ ! -f "$data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(node_cluster_id)"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$here/log4j2.properties" -Dintake.log.level=WARN \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$kdir/server.properties" >>"$logfile" 2>&1 \
      || die "formatting the storage in $data failed; see $logfile"
  fi
  echo "==== broker start $(date -u +%FT%TZ) ====" >>"$logfile"
  wc -c <"$logfile" >"$kdir/log-offset"
  # shellcheck disable=SC2086 # INTAKE_KAFKA_JVM_OPTS is a list of options
  setsid java ${INTAKE_KAFKA_JVM_OPTS:-} -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$here/log4j2.properties" \
    -cp "$libs/*" kafka.Kafka "$kdir/server.properties" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "kafka.sh: broker starting on 127.0.0.1:$port (pid $!, log $logfile)" >&2
}

wait_ready() {
  local timeout="${1:-90}" waited=0 offset
  offset="$(cat "$kdir/log-offset" 2>/dev/null || echo 0)"
  while (( waited < timeout * 2 )); do
    pid_alive || die "the broker exited during start; last lines of $logfile:
$(tail -n 20 "$logfile")"
    if port_open "$port" && tail -c +"$((offset + 1))" "$logfile" | grep -q "Kafka Server started"; then
      echo "kafka.sh: broker ready on 127.0.0.1:$port" >&2
      return 0
    fi
    sleep 0.5; waited=$((waited + 1))
  done
  die "the broker did not become ready within ${timeout}s; see $logfile"
}

stop() {
  if ! pid_alive; then rm -f "$pidfile"; echo "kafka.sh: broker on port $port is not running" >&2; return 0; fi
  local pid waited=0
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= 60 )); then echo "kafka.sh: broker did not stop in 30 s, killing it" >&2; kill -KILL "$pid"; fi
    sleep 0.5; waited=$((waited + 1))
  done
  rm -f "$pidfile"
  echo "kafka.sh: broker on port $port stopped" >&2
}

tool() {
  (( $# >= 1 )) || die "usage: kafka.sh tool NAME [ARGS...]"
  fetch
  local name="$1"; shift
  case "$name" in
    topics) java_run org.apache.kafka.tools.TopicCommand "$@" ;;
    console-consumer) java_run org.apache.kafka.tools.consumer.ConsoleConsumer "$@" ;;
    console-producer) java_run org.apache.kafka.tools.ConsoleProducer "$@" ;;
    consumer-groups) java_run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
    producer-perf-test) java_run org.apache.kafka.tools.ProducerPerformance "$@" ;;
    get-offsets) java_run org.apache.kafka.tools.GetOffsetShell "$@" ;;
    storage) java_run kafka.tools.StorageTool "$@" ;;
    *.*) java_run "$name" "$@" ;;
    *) die "unknown tool '$name' (topics, console-consumer, console-producer, consumer-groups, producer-perf-test, get-offsets, storage)" ;;
  esac
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  wait) wait_ready "${2:-90}" ;;
  stop) stop ;;
  status) if pid_alive; then echo "running $(cat "$pidfile")"; else echo "stopped"; fi ;;
  tool) shift; tool "$@" ;;
  *) die "usage: kafka.sh fetch|start|wait [SECONDS]|stop|status|tool NAME [ARGS...]" ;;
esac
