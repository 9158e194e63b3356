#!/usr/bin/env bash
# A local single-node Elasticsearch for tests and development, without Docker.
#
# Elastic's download site is not reachable from CI, but Maven Central serves the
# "integ-test-zip" distribution (no bundled JDK, no optional modules such as
# analysis-common, painless, reindex or ingest). This script fetches it with Maven
# (cached in the local Maven repository), unpacks it once, and runs one node per port
# as an unprivileged user (Elasticsearch refuses to run as root).
#
# Usage: scripts/elasticsearch.sh [start|stop|status|url]
#
# Environment (all optional):
#   MISINFO_ES_VERSION   distribution version (default 8.19.21: the newest integ-test-zip
#                        on Maven Central; no 9.x integ-test-zip is published there)
#   MISINFO_ES_DIR       where the distribution is unpacked (default <repo>/.es)
#   MISINFO_ES_NODE_DIR  this node's config/data/logs (default $MISINFO_ES_DIR/node-<port>)
#   MISINFO_ES_PORT      HTTP port (default 9200); the transport port is port+100
#   MISINFO_ES_HEAP      JVM heap (default 512m)
#   MISINFO_ES_RUN_USER  unprivileged user that runs the node when started as root
#                        (default misinfo-es, created if missing)
#   MISINFO_ES_TIMEOUT   seconds to wait for yellow health (default 180)
#   ES_JAVA_HOME         JDK to use (default: the newest JDK >= 21 under /usr/lib/jvm,
#                        then >= 17)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${MISINFO_ES_VERSION:-8.19.21}"
ES_DIR="${MISINFO_ES_DIR:-$REPO_ROOT/.es}"
PORT="${MISINFO_ES_PORT:-9200}"
NODE_DIR="${MISINFO_ES_NODE_DIR:-$ES_DIR/node-$PORT}"
HEAP="${MISINFO_ES_HEAP:-512m}"
RUN_USER="${MISINFO_ES_RUN_USER:-misinfo-es}"
TIMEOUT="${MISINFO_ES_TIMEOUT:-180}"
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$VERSION:zip"
M2_REPO="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
ZIP="$M2_REPO/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$VERSION/elasticsearch-$VERSION.zip"
DIST="$ES_DIR/elasticsearch-$VERSION"
PID_FILE="$NODE_DIR/elasticsearch.pid"
URL="http://127.0.0.1:$PORT"

log() { echo "elasticsearch.sh: $*" >&2; }
die() { log "$*"; exit 1; }

java_major() {
    # Prints the major version of the JDK at $1 (e.g. 25), or nothing.
    "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1
}

find_java() {
    if [[ -n "${ES_JAVA_HOME:-}" ]]; then
        echo "$ES_JAVA_HOME"
        return
    fi
    local need=17 best="" best_major=0 jdk major
    [[ "${VERSION%%.*}" -ge 9 ]] && need=21
    for jdk in /usr/lib/jvm/*/; do
        jdk="${jdk%/}"
        [[ -x "$jdk/bin/java" && ! -L "$jdk" ]] || continue
        major="$(java_major "$jdk")"
        [[ -n "$major" ]] || continue
        if ((major >= need && major > best_major)); then
            best="$jdk"
            best_major="$major"
        fi
    done
    [[ -n "$best" ]] || die "no JDK >= $need under /usr/lib/jvm; set ES_JAVA_HOME"
    echo "$best"
}

fetch() {
    if [[ ! -f "$ZIP" ]]; then
        command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
        log "fetching $ARTIFACT from Maven Central"
        mvn -q dependency:get -Dartifact="$ARTIFACT" -Dtransitive=false >&2 \
            || die "could not fetch $ARTIFACT"
    fi
    if [[ ! -x "$DIST/bin/elasticsearch" ]]; then
        log "unpacking to $DIST"
        mkdir -p "$ES_DIR"
        local tmp
        tmp="$(mktemp -d "$ES_DIR/unpack.XXXXXX")"
        unzip -q "$ZIP" -d "$tmp"
        mv "$tmp/elasticsearch-$VERSION" "$DIST"
        rmdir "$tmp"
    fi
}

ensure_user() {
    # Echoes the user that runs the node: the caller unless the caller is root.
    if [[ "$(id -u)" -ne 0 ]]; then
        id -un
        return
    fi
    if ! id "$RUN_USER" >/dev/null 2>&1; then
        log "creating user $RUN_USER"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_USER"
    fi
    echo "$RUN_USER"
}

write_config() {
    mkdir -p "$NODE_DIR/data" "$NODE_DIR/logs"
    if [[ ! -d "$NODE_DIR/config" ]]; then
        cp -r "$DIST/config" "$NODE_DIR/config"
    fi
    cat >"$NODE_DIR/config/elasticsearch.yml" <<EOF
# Written by scripts/elasticsearch.sh: a throwaway single node for tests.
cluster.name: misinfo-test-$PORT
node.name: misinfo-node-$PORT
path.data: $NODE_DIR/data
path.logs: $NODE_DIR/logs
discovery.type: single-node
network.host: 127.0.0.1
http.port: $PORT
transport.port: $((PORT + 100))
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
}

is_running() {
    [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

wait_healthy() {
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! is_running; then
            log "node is not running"
            return 1
        fi
        if curl -fsS "$URL/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    log "no yellow health within ${TIMEOUT}s"
    return 1
}

start() {
    if is_running; then
        log "already running (pid $(cat "$PID_FILE"))"
        wait_healthy
        echo "$URL"
        return
    fi
    if curl -fsS "$URL" >/dev/null 2>&1; then
        die "something else already answers on $URL"
    fi
    fetch
    write_config
    local user java
    user="$(ensure_user)"
    java="$(find_java)"
    chown -R "$user" "$NODE_DIR" "$DIST" 2>/dev/null || true
    # The run user must be able to reach and write the node dir (parents need o+x).
    if [[ "$user" != "$(id -un)" ]] && ! runuser -u "$user" -- test -w "$NODE_DIR/data"; then
        die "$user cannot write $NODE_DIR/data (check the permissions of its parents)"
    fi
    rm -f "$PID_FILE"
    log "starting $VERSION on $URL (java: $java, heap: $HEAP, node dir: $NODE_DIR)"
    local cmd=(env "ES_JAVA_HOME=$java" "ES_PATH_CONF=$NODE_DIR/config"
        "ES_JAVA_OPTS=-Xms$HEAP -Xmx$HEAP ${MISINFO_ES_EXTRA_JAVA_OPTS:-}"
        "$DIST/bin/elasticsearch" -d -p "$PID_FILE")
    # The daemon echoes its startup log on stdout until it detaches: keep that in a file.
    local console="$NODE_DIR/logs/console.out"
    if [[ "$user" != "$(id -un)" ]]; then
        runuser -u "$user" -- "${cmd[@]}" >"$console" 2>&1 || true
    else
        "${cmd[@]}" >"$console" 2>&1 || true
    fi
    if ! wait_healthy; then
        grep -E "ERROR|Exception" "$console" | head -n 20 >&2 || true
        die "start failed; see $NODE_DIR/logs"
    fi
    echo "$URL"
}

stop() {
    if ! is_running; then
        log "not running"
        return 0
    fi
    local pid
    pid="$(cat "$PID_FILE")"
    kill "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "pid $pid did not stop in 60s; killing"
            kill -9 "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
    rm -f "$PID_FILE"
    log "stopped (pid $pid)"
}

status() {
    if is_running; then
        local health
        health="$(curl -fsS "$URL/_cluster/health" 2>/dev/null || echo '{"status":"unreachable"}')"
        printf "running pid %s %s %s\n" "$(cat "$PID_FILE")" "$URL" "$health"
    else
        echo "stopped"
        return 3
    fi
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
status) status ;;
url) echo "$URL" ;;
fetch) fetch ;;
*) die "usage: $0 [start|stop|status|url|fetch]" ;;
esac
