#!/usr/bin/env bash
# Development and CI services, without Docker: a real Apache Kafka broker (KRaft, one node that is
# both broker and controller) from Maven Central jars, and the machine's own PostgreSQL.
#
#   scripts/services.sh up       start what is not running, wait until it answers (safe to repeat)
#   scripts/services.sh down     stop the Kafka broker this script started (by its pid)
#   scripts/services.sh status   say what runs, where it listens and where it logs
#   scripts/services.sh reset    down, then delete the broker's data (topics and offsets)
#
# Kafka listens with PLAINTEXT on KAFKA_PORT, SSL with required client certificates on
# KAFKA_SSL_PORT and SASL_SSL (SCRAM-SHA-512, user availability) on KAFKA_SASL_SSL_PORT; the
# dev CA, broker and client certificates are made with openssl in SERVICES_DIR/kafka/tls.
# Settings (environment): KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_SSL_PORT (9094),
# KAFKA_SASL_SSL_PORT (9095), KAFKA_HEAP (1g),
# SERVICES_DIR (.services: the broker's config, data, pid and log live in SERVICES_DIR/kafka;
# PostgreSQL's dev TLS files stay in .services/postgres-tls).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
JARS="$ROOT/.cache/kafka-$KAFKA_VERSION/lib"
STATE="${SERVICES_DIR:-$ROOT/.services}/kafka"
PID_FILE="$STATE/kafka.pid"
LOG_FILE="$STATE/kafka.log"
KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-9094}"
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-9095}"
KAFKA_TLS="$STATE/tls"
# Development credentials of the SASL_SSL listener (never use them anywhere else).
KAFKA_SCRAM_USER=availability
KAFKA_SCRAM_PASSWORD=availability-dev-password
KAFKA_HEAP="${KAFKA_HEAP:-1g}"
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
PG_LOG="/var/log/postgresql"
# Databases the project uses: the main job writes to "availability"; tests make their own.
PG_DATABASES=(availability)

say() { printf '%s\n' "services: $*"; }
fail() {
  printf '%s\n' "services: error: $*" >&2
  exit 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# The pid of the broker this script started, if that process is still it (pids get reused).
kafka_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $STATE/server.properties" || return 1
  printf '%s\n' "$pid"
}

log_tail() {
  printf '%s\n' "---- last lines of $1 ----" >&2
  tail -n "${2:-40}" "$1" >&2 2>/dev/null || true
  printf '%s\n' "----" >&2
}

check_java() {
  command -v java >/dev/null || fail "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  local major
  major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  [[ -n "$major" && "$major" -ge 17 ]] || fail "Kafka needs Java 17 or newer, found: $(java -version 2>&1 | head -n1)"
}

kafka_jars() {
  [[ -f "$JARS/.complete" ]] && return 0
  command -v mvn >/dev/null || fail "mvn not found: install Maven (apt-get install maven)"
  say "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into ${JARS#"$ROOT"/}"
  rm -rf "$JARS.tmp"
  mkdir -p "$(dirname "$JARS")"
  local out="$ROOT/.cache/maven-kafka.log"
  if ! mvn -B -q -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$JARS.tmp" >"$out" 2>&1; then
    log_tail "$out" 30
    fail "Maven could not resolve Kafka $KAFKA_VERSION (full output: $out)"
  fi
  rm -rf "$JARS"
  mv "$JARS.tmp" "$JARS"
  touch "$JARS/.complete"
}

# Dev certificates, made with openssl in the current folder: a CA (ca.crt, ca.key)...
dev_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=$1" 2>/dev/null
}

# ...and certificates it signs: dev_cert NAME COMMON_NAME [SUBJECT_ALT_NAME] makes NAME.crt, NAME.key.
dev_cert() {
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  local ext=()
  if [[ -n "${3:-}" ]]; then
    printf 'subjectAltName=%s\n' "$3" >"$1.ext"
    ext=(-extfile "$1.ext")
  fi
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 3650 \
    "${ext[@]}" 2>/dev/null
}

kafka_tls() {
  [[ -f "$KAFKA_TLS/client.key" ]] && return 0
  command -v openssl >/dev/null || fail "openssl not found (apt-get install openssl)"
  rm -rf "$KAFKA_TLS"
  mkdir -p "$KAFKA_TLS"
  (
    cd "$KAFKA_TLS"
    dev_ca "availability Kafka dev CA"
    dev_cert broker localhost "DNS:localhost,IP:127.0.0.1"
    cat broker.key broker.crt >broker.pem
    dev_cert client availability-client
    chmod 600 ./*.key broker.pem
  ) || fail "could not make the Kafka dev certificates in $KAFKA_TLS"
}

write_kafka_config() {
  mkdir -p "$STATE/data"
  cat >"$STATE/server.properties" <<EOF
# Written by scripts/services.sh; edits are overwritten on the next "up".
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT,SSL://$KAFKA_HOST:$KAFKA_SSL_PORT,SASL_SSL://$KAFKA_HOST:$KAFKA_SASL_SSL_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,SSL://$KAFKA_HOST:$KAFKA_SSL_PORT,SASL_SSL://$KAFKA_HOST:$KAFKA_SASL_SSL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_TLS/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_TLS/ca.crt
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$STATE/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
}

JAVA_ARGS=(-Xms256m "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j.configuration=file:$ROOT/scripts/kafka/log4j.properties" "-Dkafka.log.file=$LOG_FILE"
  -cp "$JARS/*")

kafka_java() { java "${JAVA_ARGS[@]}" "$@"; }

kafka_up() {
  local pid
  if pid="$(kafka_pid)"; then
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      say "Kafka $KAFKA_VERSION already running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT, log $LOG_FILE"
      return 0
    fi
  elif port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    fail "port $KAFKA_PORT on $KAFKA_HOST is taken by a process this script did not start; stop it or set KAFKA_PORT"
  fi
  check_java
  kafka_jars
  kafka_tls
  write_kafka_config
  if [[ -z "${pid:-}" ]]; then
    if [[ ! -f "$STATE/data/meta.properties" ]]; then
      local cluster_id
      cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
      [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || fail "kafka StorageTool random-uuid printed no cluster id"
      kafka_java kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
        -c "$STATE/server.properties" \
        --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
        >>"$STATE/format.log" 2>&1 ||
        {
          log_tail "$STATE/format.log"
          fail "formatting the KRaft storage in $STATE/data failed"
        }
      touch "$STATE/scram-user.done"
    fi
    touch "$LOG_FILE"
    local from
    from="$(($(wc -l <"$LOG_FILE") + 1))"
    # setsid: the broker outlives this script and the terminal session that ran it.
    setsid java "${JAVA_ARGS[@]}" kafka.Kafka "$STATE/server.properties" \
      >>"$STATE/kafka.out" 2>&1 </dev/null &
    echo "$!" >"$PID_FILE"
    pid="$!"
    say "starting Kafka $KAFKA_VERSION (pid $pid)"
  fi
  local deadline=$((SECONDS + 90))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail "$STATE/kafka.out" 20
      log_tail "$LOG_FILE"
      rm -f "$PID_FILE"
      fail "Kafka exited during start-up"
    fi
    if port_open "$KAFKA_HOST" "$KAFKA_PORT" && port_open "$KAFKA_HOST" "$KAFKA_SASL_SSL_PORT" &&
      tail -n +"${from:-1}" "$LOG_FILE" | grep -q 'Kafka Server started'; then
      kafka_scram_user
      say "Kafka $KAFKA_VERSION listening on $KAFKA_HOST:$KAFKA_PORT (PLAINTEXT), :$KAFKA_SSL_PORT (SSL, client certificates from $KAFKA_TLS), :$KAFKA_SASL_SSL_PORT (SASL_SSL, SCRAM-SHA-512 user $KAFKA_SCRAM_USER); pid $pid, log $LOG_FILE"
      return 0
    fi
    sleep 0.5
  done
  log_tail "$LOG_FILE"
  fail "Kafka did not answer on $KAFKA_HOST:$KAFKA_PORT within 90 s (pid $pid still running; 'down' stops it)"
}

# A broker formatted before the SASL_SSL listener existed has no SCRAM user yet: add it once.
kafka_scram_user() {
  [[ -f "$STATE/scram-user.done" ]] && return 0
  kafka_java kafka.admin.ConfigCommand --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" --alter \
    --add-config "SCRAM-SHA-512=[password=$KAFKA_SCRAM_PASSWORD]" \
    --entity-type users --entity-name "$KAFKA_SCRAM_USER" >>"$STATE/scram.log" 2>&1 ||
    {
      log_tail "$STATE/scram.log"
      fail "could not create the SCRAM user $KAFKA_SCRAM_USER"
    }
  touch "$STATE/scram-user.done"
}

kafka_down() {
  local pid
  if ! pid="$(kafka_pid)"; then
    rm -f "$PID_FILE"
    say "Kafka is not running (no broker started by this script)"
    return 0
  fi
  say "stopping Kafka (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
  if kill -0 "$pid" 2>/dev/null; then
    say "Kafka did not stop within 30 s; killing pid $pid"
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  say "Kafka stopped"
}

pg_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n1; }

# The machine has one PostgreSQL server, so its TLS files belong to the checkout, not to a
# SERVICES_DIR (which holds one broker's state, and tests point it at temporary folders).
PG_TLS_DIR="$ROOT/.services/postgres-tls"

# TLS for the local server, so sslmode=require/verify-ca/verify-full are real test cases: a dev CA
# and a server certificate for DNS:localhost (deliberately not for 127.0.0.1, so verify-full to
# the IP address is a name mismatch). A server whose TLS was set up by someone else is left alone.
pg_tls() {
  local psql_admin=(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc)
  local ssl cert data changed=0
  ssl="$("${psql_admin[@]}" "SHOW ssl")"
  cert="$("${psql_admin[@]}" "SHOW ssl_cert_file")"
  if [[ "$ssl" == on && "$cert" != *availability-dev-server.crt ]]; then
    say "PostgreSQL already has TLS with $cert; not replacing it (verify-full tests will skip)"
    return 0
  fi
  data="$("${psql_admin[@]}" "SHOW data_directory")"
  if [[ ! -f "$PG_TLS_DIR/ca.crt" || ! -f "$PG_TLS_DIR/server.crt" ]]; then
    command -v openssl >/dev/null || fail "openssl not found (apt-get install openssl)"
    rm -rf "$PG_TLS_DIR"
    mkdir -p "$PG_TLS_DIR"
    (
      cd "$PG_TLS_DIR"
      dev_ca "availability dev CA"
      # Deliberately not for 127.0.0.1, so verify-full to the IP address is a name mismatch.
      dev_cert server localhost "DNS:localhost"
    ) || fail "could not make the PostgreSQL dev certificates in $PG_TLS_DIR"
  fi
  # Another checkout may have installed its own certificate; the server serves this one's.
  if ! cmp -s "$PG_TLS_DIR/server.crt" "$data/availability-dev-server.crt"; then
    install -o postgres -g postgres -m 0644 "$PG_TLS_DIR/server.crt" "$data/availability-dev-server.crt"
    install -o postgres -g postgres -m 0600 "$PG_TLS_DIR/server.key" "$data/availability-dev-server.key"
    changed=1
  fi
  if [[ "$ssl" != on || "$changed" == 1 ]]; then
    "${psql_admin[@]}" "ALTER SYSTEM SET ssl_cert_file = 'availability-dev-server.crt'" >/dev/null
    "${psql_admin[@]}" "ALTER SYSTEM SET ssl_key_file = 'availability-dev-server.key'" >/dev/null
    "${psql_admin[@]}" "ALTER SYSTEM SET ssl = on" >/dev/null
    "${psql_admin[@]}" "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
    [[ "$("${psql_admin[@]}" "SHOW ssl")" == on ]] || {
      log_tail "$PG_LOG/postgresql-$(pg_cluster_version)-main.log"
      fail "PostgreSQL did not turn TLS on"
    }
    say "PostgreSQL TLS on (dev CA: $PG_TLS_DIR/ca.crt, certificate for localhost)"
  fi
}

pg_up() {
  command -v pg_isready >/dev/null || fail "PostgreSQL is not installed (apt-get install postgresql)"
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    local version
    version="$(pg_cluster_version)"
    [[ -n "$version" ]] || fail "no PostgreSQL cluster under /etc/postgresql"
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
      {
        log_tail "$PG_LOG/postgresql-$version-main.log"
        fail "PostgreSQL did not start"
      }
    local deadline=$((SECONDS + 30))
    until pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; do
      if ((SECONDS >= deadline)); then
        log_tail "$PG_LOG/postgresql-$version-main.log"
        fail "PostgreSQL did not answer on $PG_HOST:$PG_PORT within 30 s"
      fi
      sleep 0.3
    done
  fi
  local db
  for db in "${PG_DATABASES[@]}"; do
    if [[ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
      createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$db"
      say "created database $db"
    fi
  done
  pg_tls
  say "PostgreSQL listening on $PG_HOST:$PG_PORT (user $PG_USER, databases: ${PG_DATABASES[*]}, TLS CA $PG_TLS_DIR/ca.crt), log $PG_LOG/postgresql-$(pg_cluster_version)-main.log"
}

status() {
  local pid rc=0
  if pid="$(kafka_pid)" && port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    say "Kafka $KAFKA_VERSION: running, pid $pid, $KAFKA_HOST:$KAFKA_PORT, log $LOG_FILE"
  else
    say "Kafka $KAFKA_VERSION: not running"
    rc=3
  fi
  if pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
    say "PostgreSQL: running, $PG_HOST:$PG_PORT"
  else
    say "PostgreSQL: not running"
    rc=3
  fi
  return "$rc"
}

case "${1:-}" in
up)
  mkdir -p "$STATE"
  pg_up
  kafka_up
  ;;
down) kafka_down ;;
status) status ;;
reset)
  kafka_down
  rm -rf "$STATE/data"
  say "deleted Kafka data in $STATE/data"
  ;;
-h | --help | help)
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  ;;
*)
  printf '%s\n' "usage: scripts/services.sh up|down|status|reset" >&2
  exit 2
  ;;
esac
