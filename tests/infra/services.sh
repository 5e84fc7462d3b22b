#!/usr/bin/env bash
# Start/stop several e2e services at once, in parallel (warm start ~ the slowest one).
#
# usage: services.sh start|stop|status|kill9|clean [kafka] [opensearch] [s3]   (default: all three)
SVC=services
source "$(dirname "$0")/lib.sh"

cmd=${1:-}
[[ $cmd =~ ^(start|stop|status|kill9|clean)$ ]] || { echo "usage: $0 start|stop|status|kill9|clean [kafka] [opensearch] [s3]" >&2; exit 2; }
shift
names=("$@")
((${#names[@]})) || names=(kafka opensearch s3)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
t0=$(date +%s%N)
pids=()
for n in "${names[@]}"; do
    [[ -x $INFRA_DIR/$n.sh ]] || die "no such service: $n"
    "$INFRA_DIR/$n.sh" "$cmd" >"$out/$n.env" 2>"$out/$n.err" &
    pids+=($!)
done
rc=0
for i in "${!names[@]}"; do
    if wait "${pids[$i]}"; then
        cat "$out/${names[$i]}.err" >&2
    else
        rc=1
        cat "$out/${names[$i]}.err" >&2
        log "${names[$i]} $cmd FAILED"
    fi
    cat "$out/${names[$i]}.env"
done
log "$cmd ${names[*]}: $( ((rc)) && echo failed || echo ok) in $(elapsed_since "$t0")s"
exit $rc
