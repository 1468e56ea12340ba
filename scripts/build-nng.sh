#!/usr/bin/env bash
# build-nng.sh OUTDIR: fetch Debian bookworm's nng 1.5.2 source package, apply
# SystemK's fix for the listener bug (upstream #1518, see ../shared/NOTES.md), and
# build a static libnng.a into OUTDIR/install. Idempotent: a finished build is reused.
#
# apt is used with a project-private configuration so that the machine's own
# apt sources are never touched.
set -euo pipefail
out=$(mkdir -p "$1" && cd "$1" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
patch_file="$here/third_party/nng-1.5.2-ipc-listener-fix.patch"
stamp="$out/install/.systemk-built"
[ -f "$patch_file" ] || { echo "build-nng: missing $patch_file" >&2; exit 1; }
sum=$(cat "$patch_file" "$0" | sha256sum)   # a changed patch or flag rebuilds
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    exit 0
fi
rm -rf "$out/src" "$out/build" "$out/install"
mkdir -p "$out/apt/lists/partial" "$out/apt/sources" "$out/src"

tarball=$(ls "$out"/dl/nng_1.5.2.orig.tar.gz 2>/dev/null || true)
if [ -z "$tarball" ]; then
    sys=/etc/apt/sources.list.d/debian.sources
    if [ -f "$sys" ]; then
        sed 's/^Types:.*/Types: deb-src/' "$sys" > "$out/apt/sources/debian.sources"
    else
        printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
            > "$out/apt/sources/debian.sources"
    fi
    opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$out/apt/sources"
          -o "Dir::State::Lists=$out/apt/lists" -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq
    mkdir -p "$out/dl"
    (cd "$out/dl" && apt-get "${opts[@]}" source --download-only -qq nng=1.5.2-2)
    tarball="$out/dl/nng_1.5.2.orig.tar.gz"
fi
tar -xzf "$tarball" -C "$out/src" --strip-components=1
patch -d "$out/src" -p1 < "$patch_file"
# Transports: IPC only; the others (and the HTTP code WebSocket needs) were
# linked in through nng's transport table: 80 KB of text in every daemon,
# resident in each.  Threads: SystemK uses only IPC, so one resolver thread (not 4); two taskq
# threads and one expiry thread, not two and one per CPU: each daemon is a
# small server, and every thread costs its stack and malloc arena pages.
cmake -S "$out/src" -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
    -DNNG_RESOLV_CONCURRENCY=1 -DNNG_NUM_TASKQ_THREADS=2 \
    -DNNG_TRANSPORT_INPROC=OFF -DNNG_TRANSPORT_TCP=OFF -DNNG_TRANSPORT_TLS=OFF \
    -DNNG_TRANSPORT_WS=OFF -DNNG_TRANSPORT_WSS=OFF -DNNG_ENABLE_HTTP=OFF \
    -DCMAKE_C_FLAGS="-DNNG_EXPIRE_THREADS=1 -ffunction-sections -fdata-sections" \
    -DNNG_TESTS=OFF -DNNG_TOOLS=OFF -DNNG_ENABLE_NNGCAT=OFF -DNNG_ENABLE_TLS=OFF \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DCMAKE_INSTALL_PREFIX="$out/install" -DCMAKE_INSTALL_LIBDIR=lib > "$out/cmake.log" 2>&1
cmake --build "$out/build" -j"$(nproc)" > "$out/build.log" 2>&1
cmake --install "$out/build" > /dev/null
echo "$sum" > "$stamp"
