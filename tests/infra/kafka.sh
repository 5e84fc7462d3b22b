#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) on loopback, for e2e tests.
#
# The broker is assembled from Maven Central jars (kafka_2.13, kafka-tools and their
# runtime dependencies, resolved by Maven from a generated pom) and run with java -cp.
# Besides PLAINTEXT it serves SASL_SSL (SCRAM-SHA-512) and SSL listeners with a
# self-signed CA generated in the run dir (KAFKA_SECURE=0 leaves them out).
# `start` on a running broker whose settings differ from the requested ones restarts it.
#
# usage: kafka.sh start|stop|status|restart|kill9|clean|env|install
#        kafka.sh topic NAME PARTITIONS [KEY=VALUE...]   create a topic (idempotent)
#        kafka.sh topics                                 list topics
#        kafka.sh delete-topic NAME
SVC=kafka
source "$(dirname "$0")/lib.sh"

KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}
LOG4J_VERSION=${KAFKA_LOG4J_VERSION:-2.25.3}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
KAFKA_SASL_SSL_PORT=${KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 2))}
KAFKA_SSL_PORT=${KAFKA_SSL_PORT:-$((KAFKA_PORT + 3))}
KAFKA_SCRAM_USER=${KAFKA_SCRAM_USER:-siemproc-test}
KAFKA_SCRAM_PASSWORD=${KAFKA_SCRAM_PASSWORD:-siemproc-test-secret}
KAFKA_SSL_CLIENT_AUTH=${KAFKA_SSL_CLIENT_AUTH:-requested}   # none | requested | required
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_AUTO_CREATE_TOPICS=${KAFKA_AUTO_CREATE_TOPICS:-false}

DIR=$RUN_ROOT/kafka
PIDFILE=$DIR/kafka.pid
LOGFILE=$DIR/server.log
HOME_DIR=$CACHE/kafka-$KAFKA_VERSION
LIBS=$HOME_DIR/libs
TLS_PASS=siemproc-test

write_pom() {
    cat >"$HOME_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>siemproc.test</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <!-- Connect is only needed by the connect tools; it would triple the download. -->
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions>
    </dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <!-- Kafka logs through slf4j 1.7; this binds it to log4j2 as the Kafka tarball does. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

fetch_kafka() {
    [[ -e $HOME_DIR/.complete ]] && return 0
    local t0
    t0=$(date +%s%N)
    log "assembling Kafka $KAFKA_VERSION from Maven Central into $HOME_DIR"
    rm -rf "$HOME_DIR" && mkdir -p "$HOME_DIR"
    write_pom
    mvn_cmd -f "$HOME_DIR/pom.xml" "$MVN_DEP_PLUGIN:copy-dependencies" \
        -DoutputDirectory="$LIBS" -DincludeScope=runtime
    [[ -s $LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] || die "kafka_2.13 jar missing after download"
    touch "$HOME_DIR/.complete"
    log "Kafka jars ready ($(find "$LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$LIBS" | cut -f1)) in $(elapsed_since "$t0")s"
}
install() { with_lock "kafka-$KAFKA_VERSION" fetch_kafka; }

is_secure() { [[ ${KAFKA_SECURE:-1} == 1 ]]; }

# gen_tls: self-signed CA, a broker cert for localhost/127.0.0.1 and a client cert
# (for mTLS tests), kept across restarts so clients can keep trusting the CA.
gen_tls() {
    local d=$DIR/tls
    [[ -s $d/broker.p12 && -s $d/client.pem ]] && return 0
    command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
    log "generating self-signed CA and certificates in $d"
    rm -rf "$d" && mkdir -p "$d"
    (
        cd "$d"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
            -subj "/CN=siemproc-test-ca" -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        for who in broker client; do
            openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=siemproc-test-$who"
            printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
                "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth,clientAuth" >"$who.ext"
            openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
                -out "$who.pem" -days 3650 -extfile "$who.ext"
        done
        openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
            -out broker.p12 -passout "pass:$TLS_PASS"
        rm -f ./*.csr ./*.ext ca.srl
    ) >"$DIR/tls-gen.log" 2>&1 || { cat "$DIR/tls-gen.log" >&2; die "certificate generation failed"; }
}

render_server_properties() {
    local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
    local advertised="PLAINTEXT://127.0.0.1:$KAFKA_PORT"
    if is_secure; then
        listeners+=",SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT"
        advertised+=",SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT,SSL://127.0.0.1:$KAFKA_SSL_PORT"
    fi
    cat <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL
log.dirs=$DIR/data
num.partitions=1
auto.create.topics.enable=$KAFKA_AUTO_CREATE_TOPICS
offsets.topic.replication.factor=1
offsets.topic.num.partitions=${KAFKA_OFFSETS_PARTITIONS:-4}
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# After kill9 the old incarnation's registration blocks the restart until its
# session expires (default 9 s); keep that short, with room for a GC pause.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=4000
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
EOF
    if is_secure; then
        cat <<EOF
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$DIR/tls/broker.p12
ssl.keystore.password=$TLS_PASS
ssl.key.password=$TLS_PASS
ssl.truststore.type=PEM
ssl.truststore.location=$DIR/tls/ca.pem
listener.name.ssl.ssl.client.auth=$KAFKA_SSL_CLIENT_AUTH
listener.name.sasl_ssl.ssl.client.auth=none
EOF
    fi
}

write_config() {
    render_server_properties >"$DIR/server.properties"
    local level
    for level in server:"${KAFKA_LOG_LEVEL:-INFO}" tools:WARN; do
        cat >"$DIR/log4j2-${level%%:*}.properties" <<EOF
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.target = SYSTEM_ERR
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${level#*:}
rootLogger.appenderRef.out.ref = OUT
EOF
    done
}

# java_kafka LOG4J_NAME HEAP MAIN ARGS...: run a class from the assembled jars.
java_kafka() {
    local cfg=$1 heap=$2; shift 2
    # shellcheck disable=SC2086
    timeout "${KAFKA_TOOL_TIMEOUT:-120}" "$(java_home)/bin/java" $heap -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$DIR/log4j2-$cfg.properties" -cp "$LIBS/*" "$@"
}

tool() {
    [[ -e $DIR/log4j2-tools.properties ]] || { mkdir -p "$DIR"; write_config; }
    java_kafka tools -Xmx256m "$@"
}

format_storage() {
    [[ -e $DIR/data/meta.properties ]] && return 0
    local cluster_id
    cluster_id=$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
    log "formatting KRaft storage (cluster id $cluster_id, SCRAM user $KAFKA_SCRAM_USER)"
    tool kafka.tools.StorageTool format -t "$cluster_id" -c "$DIR/server.properties" \
        --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$KAFKA_SCRAM_PASSWORD]" \
        >"$DIR/format.log" 2>&1 || { cat "$DIR/format.log" >&2; die "storage format failed"; }
}

print_env() {
    echo "KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
    echo "KAFKA_VERSION=$KAFKA_VERSION"
    if [[ $(cat "$DIR/secure" 2>/dev/null || echo 0) == 1 ]]; then
        echo "KAFKA_SASL_SSL_BOOTSTRAP=127.0.0.1:$KAFKA_SASL_SSL_PORT"
        echo "KAFKA_SSL_BOOTSTRAP=127.0.0.1:$KAFKA_SSL_PORT"
        echo "KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
        echo "KAFKA_SASL_USERNAME=$KAFKA_SCRAM_USER"
        echo "KAFKA_SASL_PASSWORD=$KAFKA_SCRAM_PASSWORD"
        echo "KAFKA_CA_PEM=$DIR/tls/ca.pem"
        echo "KAFKA_CLIENT_CERT=$DIR/tls/client.pem"
        echo "KAFKA_CLIENT_KEY=$DIR/tls/client.key"
    fi
    echo "KAFKA_PID=$(cat "$PIDFILE" 2>/dev/null || true)"
    echo "KAFKA_LOG=$LOGFILE"
}

list_topics() { KAFKA_TOOL_TIMEOUT=60 tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list; }
broker_answers() { list_topics >/dev/null 2>"$DIR/check.log"; }

start() {
    begin_start "$(render_server_properties; echo "heap: $KAFKA_HEAP_OPTS")" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" ||
        return 0
    if is_secure; then
        require_port_free "$KAFKA_SASL_SSL_PORT"; require_port_free "$KAFKA_SSL_PORT"
        gen_tls; echo 1 >"$DIR/secure"
    else
        echo 0 >"$DIR/secure"
    fi
    write_config
    format_storage
    # shellcheck disable=SC2086
    setsid nohup "$(java_home)/bin/java" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$DIR/log4j2-server.properties" -Dkafka.logs.dir="$DIR" \
        -cp "$LIBS/*" kafka.Kafka "$DIR/server.properties" >"$LOGFILE" 2>&1 </dev/null 9>&- &
    echo $! >"$PIDFILE"
    wait_started "port $KAFKA_PORT not open" "$KAFKA_START_TIMEOUT" 0.25 "$LOGFILE" port_open "$KAFKA_PORT"
    # The port opens before the broker has caught up with the metadata log; a
    # successful admin call proves it serves requests.
    wait_started "broker not answering" "$KAFKA_START_TIMEOUT" 1 "$DIR/check.log" broker_answers
    log "Kafka $KAFKA_VERSION ready on 127.0.0.1:$KAFKA_PORT in $(elapsed_since "$START_T0")s (rss $(rss_kb "$PIDFILE") KiB)"
    if is_secure; then
        log "SASL_SSL 127.0.0.1:$KAFKA_SASL_SSL_PORT (SCRAM-SHA-512 $KAFKA_SCRAM_USER/$KAFKA_SCRAM_PASSWORD), SSL 127.0.0.1:$KAFKA_SSL_PORT (client auth $KAFKA_SSL_CLIENT_AUTH), CA $DIR/tls/ca.pem"
    fi
    print_env
}

ready() { port_open "$KAFKA_PORT"; }

create_topic() {
    [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "usage: kafka.sh topic NAME PARTITIONS [KEY=VALUE...]"
    local name=$1 parts=$2 kv args=()
    shift 2
    for kv in "$@"; do args+=(--config "$kv"); done
    KAFKA_TOOL_TIMEOUT=60 tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
        --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 "${args[@]}"
}

case ${1:-} in
    topic) shift; create_topic "$@" ;;
    topics) list_topics ;;
    delete-topic)
        [[ -n ${2:-} ]] || die "usage: kafka.sh delete-topic NAME"
        KAFKA_TOOL_TIMEOUT=60 tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
            --delete --if-exists --topic "$2" ;;
    *) service_main "start|stop|status|restart|kill9|clean|env|install|topic|topics|delete-topic" "${1:-}" ;;
esac
