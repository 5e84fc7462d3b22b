# shellcheck shell=bash
# Shared helpers for the tests/infra service scripts. Sourced, never executed.
#
# Owns: the cache dir (downloads, built binaries, venv), the run dir (data, logs,
# pid files), pid-file based process control, bounded waits, Maven downloads and
# the commands every service script has (service_main).
# Never: touches anything outside those two dirs except creating the unprivileged
# test user (OpenSearch refuses to run as root).

set -euo pipefail

# shellcheck disable=SC2034  # used by the scripts that source this file
INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${SIEMPROC_TEST_CACHE:-$HOME/.cache/siemproc-test}
RUN_ROOT=${SIEMPROC_TEST_RUN:-/tmp/siemproc-test-run}
TEST_USER=${SIEMPROC_TEST_USER:-siemproc-test}
mkdir -p "$CACHE" "$RUN_ROOT"

for _cmd in curl flock python3 java; do
    command -v "$_cmd" >/dev/null || { echo "tests/infra: $_cmd not found (apt-get install it)" >&2; exit 1; }
done
unset _cmd

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "${SVC:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# alive PID: the process exists and is more than a zombie waiting to be reaped
# (our servers are reparented to init, which may reap late). A zombie leader with
# threads still exiting counts as alive: they hold its sockets until they are gone.
alive() {
    local stat tasks
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} == Z ]] || return 0
    tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    ((tasks > 1))
}

# pid_alive PIDFILE: true when the pid in PIDFILE names a live process.
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"
}

# stop_pid PIDFILE TIMEOUT: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL.
stop_pid() {
    local pidfile=$1 timeout=${2:-30} pid i
    if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return 0; fi
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 5; i++)); do
        alive "$pid" || { rm -f "$pidfile"; return 0; }
        sleep 0.2
    done
    log "pid $pid did not exit after ${timeout}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || log "pid $pid still present after SIGKILL"
    rm -f "$pidfile"
}

# kill9_pid PIDFILE: crash the process (fault tests); data is left as is.
kill9_pid() {
    local pid
    if ! pid_alive "$1"; then rm -f "$1"; return 0; fi
    pid=$(<"$1")
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_gone "$pid" 10 || log "pid $pid still present after SIGKILL"
    rm -f "$1"
}

wait_pid_gone() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        alive "$1" || return 0
        sleep 0.2
    done
    return 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_port_free PORT: refuse to start over a port someone else holds.
require_port_free() {
    if port_open "$1"; then
        die "127.0.0.1:$1 is already in use by another process (set the *_PORT env var to move)"
    fi
}

# lock_run_dir DIR: one start/stop/restart at a time per service, held until the
# script exits (fd 9). Servers are launched with 9>&- so they don't inherit it.
lock_run_dir() {
    mkdir -p "$1"
    exec 9>"$1/.lock"
    flock -w 900 9 || die "another start/stop of $SVC has held $1/.lock for 15 minutes"
}

# rss_kb PIDFILE: resident set size of the process, in KiB.
rss_kb() {
    pid_alive "$1" || { echo 0; return; }
    awk '/^VmRSS:/ {print $2}' "/proc/$(<"$1")/status"
}

# with_lock NAME CMD...: serialise installs so parallel callers don't race.
with_lock() {
    local name=$1; shift
    exec {lockfd}>"$CACHE/.lock-$name"
    flock -w 1800 "$lockfd" || die "timed out waiting for lock $name"
    "$@"
    local rc=$?
    exec {lockfd}>&-
    return $rc
}

# mvn_cmd ARGS...: Maven with its local repository inside the cache dir.
mvn_cmd() {
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    local out=$CACHE/mvn-last.log
    if ! timeout "${SIEMPROC_DOWNLOAD_TIMEOUT:-900}" \
        mvn -B -Dstyle.color=never -Dmaven.repo.local="$CACHE/m2" \
        -Daether.connector.http.retryHandler.count=3 "$@" >"$out" 2>&1; then
        grep -E 'ERROR|BUILD' "$out" | head -20 >&2
        die "mvn failed (full output: $out)"
    fi
}

MVN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# mvn_copy_artifact GROUP:ARTIFACT:VERSION[:PACKAGING[:CLASSIFIER]] DEST_DIR
mvn_copy_artifact() {
    mkdir -p "$2"
    mvn_cmd "$MVN_DEP_PLUGIN:copy" -Dartifact="$1" -DoutputDirectory="$2" \
        -Dmdep.overWriteReleases=false
}

# java_home: the JDK the scripts run services with.
java_home() {
    if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then echo "$JAVA_HOME"; return; fi
    command -v java >/dev/null || die "java not found (apt-get install openjdk-17-jdk-headless)"
    dirname "$(dirname "$(readlink -f "$(command -v java)")")"
}

# ensure_test_user: the unprivileged account services that refuse root run as.
ensure_test_user() {
    [[ $(id -u) -eq 0 ]] || return 0
    id -u "$TEST_USER" >/dev/null 2>&1 && return 0
    log "creating system user $TEST_USER"
    useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$TEST_USER" 2>/dev/null ||
        id -u "$TEST_USER" >/dev/null 2>&1 || die "useradd $TEST_USER failed"
}

# elapsed_since START_EPOCH_NS: seconds with one decimal.
elapsed_since() { awk -v s="$1" -v e="$(date +%s%N)" 'BEGIN {printf "%.1f", (e - s) / 1e9}'; }

# ---- the commands of a service script (kafka.sh, opensearch.sh, s3.sh) --------
# The script sets DIR, PIDFILE and LOGFILE (the server's output) and defines
# start, ready, print_env and install; stop, kill9 and running below serve
# unless it defines its own after sourcing.
# shellcheck disable=SC2153  # PIDFILE, DIR and LOGFILE are set by the service script

stop() { stop_pid "$PIDFILE" "${STOP_TIMEOUT:-30}"; }
kill9() { kill9_pid "$PIDFILE"; }
running() { pid_alive "$PIDFILE"; }

# wait_started WHAT TIMEOUT INTERVAL LOG CHECK...: during start, run CHECK every
# INTERVAL seconds until it succeeds. The server exiting meanwhile fails the start
# with the tail of LOGFILE; TIMEOUT seconds passing stops it and fails the start
# ("WHAT after TIMEOUTs") with the tail of LOG (LOGFILE, or what CHECK wrote).
wait_started() {
    local what=$1 timeout=$2 interval=$3 why=$4 deadline=$((SECONDS + $2))
    shift 4
    until "$@"; do
        running || { tail -30 "$LOGFILE" >&2; die "$SVC exited during start (log: $LOGFILE)"; }
        ((SECONDS < deadline)) || { tail -30 "$why" >&2; stop; die "$what after ${timeout}s"; }
        sleep "$interval"
    done
}

# already_running WANT: true, with the env printed, when the service runs with
# the settings WANT (what its start wrote to $DIR/applied); one running with
# other settings is stopped.
already_running() {
    pid_alive "$PIDFILE" || return 1
    if [[ $1 == "$(cat "$DIR/applied" 2>/dev/null)" ]]; then
        log "already running"; print_env; return 0
    fi
    log "running with other settings: restarting"
    stop
    return 1
}

# begin_start WANT PORT...: the first steps of every start. False, with the env
# printed, when the service already runs with the settings WANT; else it is
# installed (install's output in INSTALLED), the ports are free, and WANT is
# recorded in $DIR/applied. START_T0: when the start began (elapsed_since).
# shellcheck disable=SC2034  # START_T0 and INSTALLED are for the service script
begin_start() {
    START_T0=$(date +%s%N)
    already_running "$1" && return 1
    INSTALLED=$(install) || die "install failed"
    local want=$1 port
    shift
    for port; do require_port_free "$port"; done
    mkdir -p "$DIR"
    echo "$want" >"$DIR/applied"
}

# status: 0 with the env when the process is alive and ready, 3 when not.
status() {
    if pid_alive "$PIDFILE" && ready; then
        log "running, rss $(rss_kb "$PIDFILE") KiB"; print_env; return 0
    fi
    log "not running"; return 3
}

# service_main USAGE CMD: one of the commands all services share; for any
# other CMD, "usage: SCRIPT USAGE" and exit 2.
service_main() {
    local usage=$1 cmd=${2:-}
    case $cmd in
        start | stop | kill9 | restart | clean) lock_run_dir "$DIR" ;;
    esac
    case $cmd in
        start) start ;;
        stop) stop; log "stopped" ;;
        kill9) kill9; log "killed (SIGKILL)" ;;
        restart) stop; start ;;
        status) status ;;
        clean) stop; rm -rf "$DIR"; log "stopped and wiped $DIR" ;;
        env) print_env ;;
        install) install >/dev/null ;;
        *) echo "usage: $0 $usage" >&2; exit 2 ;;
    esac
}
