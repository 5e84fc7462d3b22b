#!/usr/bin/env bash
# Single-node OpenSearch on loopback, for e2e tests.
#
# Runs the integ-test zip distribution from Maven Central (no security plugin, no
# bundled JDK: uses the machine's Java 17). OpenSearch refuses to run as root, so
# under root it runs as an unprivileged user ($SIEMPROC_TEST_USER, created if missing).
# `start` on a running node whose settings differ from the requested ones restarts it.
#
# usage: opensearch.sh start|stop|status|restart|kill9|clean|env|install
SVC=opensearch
source "$(dirname "$0")/lib.sh"

OPENSEARCH_VERSION=${OPENSEARCH_VERSION:-2.19.6}
OPENSEARCH_PORT=${OPENSEARCH_PORT:-19200}
OPENSEARCH_TRANSPORT_PORT=${OPENSEARCH_TRANSPORT_PORT:-$((OPENSEARCH_PORT + 100))}
OPENSEARCH_HEAP=${OPENSEARCH_HEAP:-512m}
OPENSEARCH_WRITE_QUEUE=${OPENSEARCH_WRITE_QUEUE:-10000}     # small (e.g. 2) to provoke 429s
OPENSEARCH_WRITE_THREADS=${OPENSEARCH_WRITE_THREADS:-}      # empty: OpenSearch default
OPENSEARCH_START_TIMEOUT=${OPENSEARCH_START_TIMEOUT:-120}

DIR=$RUN_ROOT/opensearch
PIDFILE=$DIR/run/opensearch.pid
LAUNCHER_PID=$DIR/launcher.pid
LOGFILE=$DIR/console.log    # the server's own logs are in $DIR/logs
DIST=$CACHE/opensearch-$OPENSEARCH_VERSION
URL=http://127.0.0.1:$OPENSEARCH_PORT

fetch_opensearch() {
    [[ -e $DIST/.complete ]] && return 0
    local t0 zip=$CACHE/downloads/opensearch-$OPENSEARCH_VERSION.zip
    t0=$(date +%s%N)
    log "fetching OpenSearch $OPENSEARCH_VERSION integ-test zip from Maven Central"
    mvn_copy_artifact "org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip" "$CACHE/downloads"
    [[ -s $zip ]] || die "OpenSearch zip missing after download"
    rm -rf "$DIST" "$DIST.tmp" && mkdir -p "$DIST.tmp"
    if command -v unzip >/dev/null; then
        unzip -q "$zip" -d "$DIST.tmp"
    else
        python3 -m zipfile -e "$zip" "$DIST.tmp"
    fi
    mv "$DIST.tmp/opensearch-$OPENSEARCH_VERSION" "$DIST" && rmdir "$DIST.tmp"
    chmod -R a+rX "$DIST" && chmod a+x "$DIST"/bin/*
    touch "$DIST/.complete"
    log "OpenSearch unpacked ($(du -sh "$DIST" | cut -f1)) in $(elapsed_since "$t0")s"
}
install() { with_lock "opensearch-$OPENSEARCH_VERSION" fetch_opensearch; }

as_user() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u "$TEST_USER" -- "$@"; else "$@"; fi
}

# home_dir: where the unprivileged user can read the distribution. The cache is
# usually under root's private home, so then a hard-linked copy in the run dir.
home_dir() {
    if as_user test -r "$DIST/lib" -a -x "$DIST/bin/opensearch"; then echo "$DIST"; return; fi
    local copy=$DIR/home
    if [[ ! -e $copy/.complete || $(cat "$copy/.version" 2>/dev/null) != "$OPENSEARCH_VERSION" ]]; then
        rm -rf "$copy"
        cp -al "$DIST" "$copy" 2>/dev/null || { rm -rf "$copy"; cp -a "$DIST" "$copy"; }
        echo "$OPENSEARCH_VERSION" >"$copy/.version"
    fi
    echo "$copy"
}

write_config() {
    local home=$1 conf=$DIR/config
    rm -rf "$conf" && mkdir -p "$conf"
    cp -r "$home/config/." "$conf/"
    # The stock jvm.options writes GC logs, heap dumps and crash files relative
    # to the (read-only) home; point them at the run dir.
    sed -i -e "s#logs/gc.log#$DIR/logs/gc.log#" -e "s#HeapDumpPath=data#HeapDumpPath=$DIR/data#" \
        -e "s#ErrorFile=logs/#ErrorFile=$DIR/logs/#" "$conf/jvm.options"
    render_yml >"$conf/opensearch.yml"
}

render_yml() {
    cat <<EOF
cluster.name: siemproc-test
node.name: siemproc-test-node
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
discovery.type: single-node
path.data: $DIR/data
path.logs: $DIR/logs
bootstrap.memory_lock: false
cluster.routing.allocation.disk.threshold_enabled: false
thread_pool.write.queue_size: $OPENSEARCH_WRITE_QUEUE
EOF
    [[ -z $OPENSEARCH_WRITE_THREADS ]] || echo "thread_pool.write.size: $OPENSEARCH_WRITE_THREADS"
}

print_env() {
    echo "OPENSEARCH_URL=$URL"
    echo "OPENSEARCH_VERSION=$OPENSEARCH_VERSION"
    echo "OPENSEARCH_PID=$(cat "$PIDFILE" 2>/dev/null || true)"
    echo "OPENSEARCH_LOG=$DIR/logs/siemproc-test.log"
}

health() { curl -s -m 10 "$URL/_cluster/health?wait_for_status=yellow&timeout=${1:-1s}" 2>/dev/null; }
healthy() { health "$@" | grep -qE '"status":"(green|yellow)"'; }
ready() { healthy 1s; }

start() {
    local home
    begin_start "$(render_yml; echo "heap: $OPENSEARCH_HEAP")" "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT" ||
        return 0
    ensure_test_user
    chmod 755 "$RUN_ROOT" "$DIR"
    home=$(home_dir)
    write_config "$home"
    mkdir -p "$DIR/data" "$DIR/logs" "$DIR/run"
    [[ $(id -u) -ne 0 ]] || chown -R "$TEST_USER:" "$DIR/config" "$DIR/data" "$DIR/logs" "$DIR/run"
    rm -f "$PIDFILE"
    local as=()
    [[ $(id -u) -ne 0 ]] || as=(runuser -u "$TEST_USER" --)
    setsid nohup "${as[@]}" env OPENSEARCH_JAVA_HOME="$(java_home)" OPENSEARCH_PATH_CONF="$DIR/config" \
        OPENSEARCH_JAVA_OPTS="-Xms$OPENSEARCH_HEAP -Xmx$OPENSEARCH_HEAP" TMPDIR="$DIR/run" \
        "$home/bin/opensearch" -p "$PIDFILE" >"$LOGFILE" 2>&1 </dev/null 9>&- &
    echo $! >"$LAUNCHER_PID"
    wait_started "OpenSearch not healthy" "$OPENSEARCH_START_TIMEOUT" 0.5 "$LOGFILE" healthy 1s
    log "OpenSearch $OPENSEARCH_VERSION ready on $URL in $(elapsed_since "$START_T0")s (rss $(rss_kb "$PIDFILE") KiB, heap $OPENSEARCH_HEAP, write queue $OPENSEARCH_WRITE_QUEUE)"
    print_env
}

# The launcher script starts the JVM, which writes PIDFILE: either may be the one alive.
running() { pid_alive "$LAUNCHER_PID" || pid_alive "$PIDFILE"; }

stop() {
    stop_pid "$PIDFILE" 30
    stop_pid "$LAUNCHER_PID" 5
}

kill9() {
    kill9_pid "$PIDFILE"
    stop_pid "$LAUNCHER_PID" 5
}

service_main "start|stop|status|restart|kill9|clean|env|install" "${1:-}"
