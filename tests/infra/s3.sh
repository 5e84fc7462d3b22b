#!/usr/bin/env bash
# S3-compatible server on loopback that verifies SigV4 signatures, for e2e tests.
#
# MinIO built from the Go module proxy (cached binary); if it cannot be built,
# s3proxy (jar-with-dependencies from Maven Central) with aws-v2-or-v4 auth.
# `start` on a running server whose settings differ from the requested ones restarts it.
#
# usage: s3.sh start|stop|status|restart|kill9|clean|env|install
#        s3.sh mb BUCKET | put BUCKET KEY FILE | get BUCKET KEY [OUT] | ls BUCKET
SVC=s3
source "$(dirname "$0")/lib.sh"

S3_PORT=${S3_PORT:-19000}
S3_CONSOLE_PORT=${S3_CONSOLE_PORT:-$((S3_PORT + 1))}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-siemproc-test}
S3_SECRET_KEY=${S3_SECRET_KEY:-siemproc-test-secret}
S3_REGION=${S3_REGION:-us-east-1}
S3_IMPL=${S3_IMPL:-auto}                     # auto | minio | s3proxy
# MinIO publishes no semver tags, so the proxy knows it by pseudo-version only.
MINIO_VERSION=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
S3PROXY_VERSION=${S3PROXY_VERSION:-4.1.0}
S3_START_TIMEOUT=${S3_START_TIMEOUT:-60}
S3_BUILD_TIMEOUT=${S3_BUILD_TIMEOUT:-1800}

DIR=$RUN_ROOT/s3
PIDFILE=$DIR/s3.pid
STOP_TIMEOUT=20
LOGFILE=$DIR/server.log
MINIO_BIN=$CACHE/bin/minio-$MINIO_VERSION
S3PROXY_JAR=$CACHE/s3proxy/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT S3_ACCESS_KEY S3_SECRET_KEY S3_REGION

build_minio() {
    [[ -x $MINIO_BIN ]] && return 0
    # A failed build is not retried for a day (each try costs minutes).
    if [[ -n $(find "$MINIO_BIN.failed" -mmin -1440 2>/dev/null) ]]; then
        log "MinIO build failed earlier (marker $MINIO_BIN.failed)"; return 1
    fi
    command -v go >/dev/null || { log "go not found"; return 1; }
    local t0 gobin=$CACHE/go/bin-build
    t0=$(date +%s%N)
    log "building MinIO $MINIO_VERSION with $(go env GOVERSION) (first time: several minutes)"
    rm -rf "$gobin"
    if ! (
        export GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/pkg/mod GOCACHE=$CACHE/go/build-cache
        export GOBIN=$gobin GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0
        timeout "$S3_BUILD_TIMEOUT" go install "github.com/minio/minio@$MINIO_VERSION"
    ) >"$CACHE/minio-build.log" 2>&1; then
        log "MinIO build failed (see $CACHE/minio-build.log); retried after a day or when $MINIO_BIN.failed is deleted"
        tail -5 "$CACHE/minio-build.log" >&2 || true
        mkdir -p "$CACHE/bin" && touch "$MINIO_BIN.failed"
        return 1
    fi
    mkdir -p "$CACHE/bin"
    mv "$gobin/minio" "$MINIO_BIN"
    # The ~1 GB build cache is no use once the binary exists; the module cache is
    # kept for a version bump.
    rm -rf "$CACHE/go/build-cache" "$gobin"
    log "MinIO built in $(elapsed_since "$t0")s"
}

fetch_s3proxy() {
    [[ -s $S3PROXY_JAR ]] && return 0
    log "fetching s3proxy $S3PROXY_VERSION from Maven Central"
    mvn_copy_artifact "org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies" "$CACHE/s3proxy"
    [[ -s $S3PROXY_JAR ]] || die "s3proxy jar missing after download"
}

# impl: which server to run, installing it if needed.
install() {
    case $S3_IMPL in
        minio) with_lock minio build_minio || die "MinIO build failed"; echo minio ;;
        s3proxy) with_lock s3proxy fetch_s3proxy; echo s3proxy ;;
        auto)
            if with_lock minio build_minio; then echo minio
            else log "falling back to s3proxy"; with_lock s3proxy fetch_s3proxy; echo s3proxy; fi ;;
        *) die "S3_IMPL must be auto, minio or s3proxy" ;;
    esac
}

print_env() {
    echo "S3_ENDPOINT=$S3_ENDPOINT"
    echo "S3_ACCESS_KEY=$S3_ACCESS_KEY"
    echo "S3_SECRET_KEY=$S3_SECRET_KEY"
    echo "S3_REGION=$S3_REGION"
    echo "S3_IMPL=$(cat "$DIR/impl" 2>/dev/null || echo "$S3_IMPL")"
    echo "S3_PID=$(cat "$PIDFILE" 2>/dev/null || true)"
}

ready() {
    # MinIO has a health endpoint; s3proxy answers 403 to an anonymous listing.
    local code
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$S3_ENDPOINT/minio/health/live" || true)
    [[ $(cat "$DIR/impl") == minio ]] && { [[ $code == 200 ]]; return; }
    [[ $code =~ ^[2-5][0-9][0-9]$ ]]
}

start() {
    begin_start "$S3_IMPL $S3_PORT $S3_CONSOLE_PORT $S3_ACCESS_KEY $S3_SECRET_KEY $S3_REGION" "$S3_PORT" || return 0
    local impl=$INSTALLED
    # Each server has its own on-disk layout, so s3proxy gets a dir of its own.
    local data=$DIR/data
    [[ $impl == minio ]] || data=$DIR/data-$impl
    mkdir -p "$data"
    echo "$impl" >"$DIR/impl"
    if [[ $impl == minio ]]; then
        require_port_free "$S3_CONSOLE_PORT"
        MINIO_ROOT_USER=$S3_ACCESS_KEY MINIO_ROOT_PASSWORD=$S3_SECRET_KEY \
            MINIO_REGION=$S3_REGION MINIO_BROWSER=off MINIO_UPDATE=off \
            MINIO_CI_CD=1 GOMAXPROCS=${S3_GOMAXPROCS:-2} \
            setsid nohup "$MINIO_BIN" server --quiet --anonymous \
            --address "127.0.0.1:$S3_PORT" --console-address "127.0.0.1:$S3_CONSOLE_PORT" \
            "$data" >"$LOGFILE" 2>&1 </dev/null 9>&- &
    else
        cat >"$DIR/s3proxy.conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY
s3proxy.credential=$S3_SECRET_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$data
jclouds.regions=$S3_REGION
EOF
        setsid nohup "$(java_home)/bin/java" -Xmx256m -jar "$S3PROXY_JAR" \
            --properties "$DIR/s3proxy.conf" >"$LOGFILE" 2>&1 </dev/null 9>&- &
    fi
    echo $! >"$PIDFILE"
    wait_started "$impl not ready" "$S3_START_TIMEOUT" 0.25 "$LOGFILE" ready
    log "$impl ready on $S3_ENDPOINT in $(elapsed_since "$START_T0")s (rss $(rss_kb "$PIDFILE") KiB)"
    log "credentials: access key $S3_ACCESS_KEY, secret $S3_SECRET_KEY, region $S3_REGION"
    print_env
}

s3cli() { python3 "$INFRA_DIR/s3cli.py" "$@"; }

case ${1:-} in
    mb | put | get | ls) s3cli "$@" ;;
    *) service_main "start|stop|status|restart|kill9|clean|env|install|mb|put|get|ls" "${1:-}" ;;
esac
