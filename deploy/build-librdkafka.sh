#!/usr/bin/env bash
# Build the librdkafka siemproc links, from Debian trixie's source package
# (upstream 2.8.0, the orig tarball verified by sha256), and install it into
# PREFIX. Debian 12 ships librdkafka 2.0.2, which cannot log in with SCRAM to
# Kafka 4.x brokers (confluentinc/librdkafka#4895, fixed in 2.6.1).
#
#   deploy/build-librdkafka.sh [PREFIX]
#
# PREFIX: the argument, else $SIEMPROC_RDKAFKA_PREFIX, else
#   /opt/siemproc/librdkafka-2.8.0              when /opt/siemproc is writable (root, CI, Docker),
#   ${XDG_CACHE_HOME:-~/.cache}/siemproc/librdkafka-2.8.0   otherwise (a developer without root).
# Without an argument or variable, an install already in either place is used
# as it is. CMake looks in the same places (cache variable SIEMPROC_RDKAFKA_PREFIX).
#
# Done when PREFIX holds the stamp file .siemproc-librdkafka with this exact
# version, tarball digest and feature set: then the script exits at once.
# Features: SSL (OpenSSL), SASL PLAIN/SCRAM/OAUTHBEARER, zlib, zstd when
# libzstd-dev is installed, builtin lz4, libcurl (OIDC; siemproc links libcurl
# anyway); no GSSAPI (Cyrus SASL). Only the static C library is installed
# (librdkafka.a, its headers, rdkafka-static.pc): no shared library, C++
# binding, examples or tests. Installation is staged and moved into place,
# so PREFIX is either complete or absent.
#
# Environment: LIBRDKAFKA_TARBALL=FILE uses a local copy of the tarball
# (still verified); DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Needs: curl, a C compiler, make, pkg-config, libssl-dev, zlib1g-dev,
# libcurl4-openssl-dev (deploy/install-deps.sh installs them).
set -euo pipefail

VERSION=2.8.0
SHA256=5bd1c46f63265f31c6bfcedcde78703f77d28238eadf23821c2b43fc30be3e25
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
URL=$MIRROR/pool/main/libr/librdkafka/librdkafka_${VERSION}.orig.tar.gz
STAMP_FILE=.siemproc-librdkafka

say() { echo "build-librdkafka: $*" >&2; }
die() { say "error: $*"; exit 1; }

# The nearest existing ancestor of $1 is writable: we could create $1.
can_create() {
    local d=$1
    while [ ! -e "$d" ]; do d=$(dirname "$d"); done
    [ -d "$d" ] && [ -w "$d" ]
}

have_zstd() { pkg-config --exists libzstd 2>/dev/null; }
features() { echo "static ssl zlib lz4-builtin curl zstd=$(have_zstd && echo yes || echo no)"; }

stamp_line() { echo "librdkafka $VERSION sha256:$SHA256 features: $(features)"; }
is_done() { [ -f "$1/$STAMP_FILE" ] && [ "$(cat "$1/$STAMP_FILE")" = "$(stamp_line)" ]; }

choose_prefix() {
    local system=/opt/siemproc/librdkafka-$VERSION
    local user=${XDG_CACHE_HOME:-$HOME/.cache}/siemproc/librdkafka-$VERSION
    if [ -n "${1:-}" ]; then echo "$1"; return; fi
    if [ -n "${SIEMPROC_RDKAFKA_PREFIX:-}" ]; then echo "$SIEMPROC_RDKAFKA_PREFIX"; return; fi
    for p in "$system" "$user"; do
        if is_done "$p"; then echo "$p"; return; fi
    done
    if can_create "$system"; then echo "$system"; else echo "$user"; fi
}

fetch_tarball() {
    local out=$1
    if [ -n "${LIBRDKAFKA_TARBALL:-}" ]; then
        cp "$LIBRDKAFKA_TARBALL" "$out"
    else
        say "downloading $URL"
        curl -fsSL --retry 5 --retry-delay 3 --retry-connrefused --connect-timeout 20 --max-time 600 \
             -o "$out" "$URL" || die "download failed: $URL"
    fi
    local got
    got=$(sha256sum "$out" | cut -d' ' -f1)
    [ "$got" = "$SHA256" ] || die "sha256 mismatch for librdkafka_${VERSION}.orig.tar.gz: got $got, want $SHA256"
}

# Only the static library: siemproc links librdkafka.a, so its binaries do
# not depend on the loader finding the right librdkafka.so.
install_static() {
    local src=$1 dest=$2
    install -d "$dest/include/librdkafka" "$dest/lib/pkgconfig"
    install -m 0644 "$src/rdkafka.h" "$src/rdkafka_mock.h" "$dest/include/librdkafka/"
    install -m 0644 "$src/librdkafka.a" "$dest/lib/"
    install -m 0644 "$src/rdkafka-static.pc" "$dest/lib/pkgconfig/"
}

build_and_install() {
    local prefix=$1 work=$2
    fetch_tarball "$work/src.tar.gz"
    tar -xzf "$work/src.tar.gz" -C "$work"
    local src=$work/librdkafka-$VERSION
    local args=(--prefix="$prefix" --no-download --disable-gssapi --enable-ssl --enable-zlib --disable-lz4-ext
                --enable-curl)
    if have_zstd; then args+=(--enable-zstd); else args+=(--disable-zstd); fi
    say "configuring: ${args[*]}"
    (cd "$src" && ./configure "${args[@]}") >"$work/configure.log" 2>&1 ||
        { tail -n 40 "$work/configure.log" >&2; die "configure failed (log above)"; }
    say "compiling (make -j$(nproc), static C library only)"
    make -C "$src/src" -j"$(nproc)" librdkafka.a rdkafka-static.pc >"$work/make.log" 2>&1 ||
        { tail -n 40 "$work/make.log" >&2; die "make failed (log above)"; }
    # Staged next to PREFIX, then moved into place: PREFIX is complete or absent.
    local stage
    stage=$(mktemp -d "$(dirname "$prefix")/.librdkafka-stage.XXXXXX")
    chmod 0755 "$stage"
    install_static "$src/src" "$stage"
    stamp_line >"$stage/$STAMP_FILE"
    rm -rf "$prefix"
    mv "$stage" "$prefix"
}

main() {
    local prefix
    prefix=$(choose_prefix "${1:-}")
    case "$prefix" in
        /*) ;;
        *) die "PREFIX must be an absolute path: $prefix" ;;
    esac
    [[ "$prefix" != *[[:space:]]* ]] || die "PREFIX must not contain spaces: $prefix"
    if is_done "$prefix"; then
        say "librdkafka $VERSION already in $prefix"
        return 0
    fi
    mkdir -p "$(dirname "$prefix")"
    # One build at a time per PREFIX (parallel CI jobs on one machine).
    exec 9>"$prefix.lock"
    command -v flock >/dev/null && flock 9
    if is_done "$prefix"; then
        say "librdkafka $VERSION already in $prefix"
        return 0
    fi
    say "building librdkafka $VERSION into $prefix"
    local t0=$SECONDS
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/siemproc-librdkafka.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
    build_and_install "$prefix" "$WORK"
    say "librdkafka $VERSION installed in $prefix ($((SECONDS - t0)) s)"
}

main "$@"
