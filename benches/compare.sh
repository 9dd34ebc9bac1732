#!/usr/bin/env bash
# Compare actix-rocketmq's benchmark tool (examples/benchmark) with the Java client's benchmark
# producers (the official Producer/BatchProducer, and benches/java/JavaBench.java for async,
# one-way and auto-batching), with the official Go client (benches/go, W1-W5) and with the bare
# pipelined sender (benches/bare_sender.rs, W1, W3, W4 and W6) against one local RocketMQ broker, and write
# BENCHMARKS.md + benchmarks.json.
#
# Usage: benches/compare.sh [options]
#   --workloads W1,W2,...  which workloads (default W1,W2,W3,W4,W5,W6):
#                            W1 sync, 1 sender, 128 B      W2 sync, 64 senders, 1 KiB
#                            W3 async, 1 KiB                W4 batches of 32 x 128 B, 64 senders
#                            W5 one-way, 64 senders, 1 KiB  W6 async, 1 KiB, auto-batching on
#   --count N              messages per run for every workload (default: per workload: W1 50k,
#                          W2 300k, W3 300k, W4 2M, W5 500k, W6 1M)
#   --scale F              multiply the default counts (e.g. 0.1 for a smoke run, 5 for a long one)
#   --repeat R             runs per client and workload (default 3), alternating: ours, bare, Java,
#                          Go in odd repetitions, the reverse in even ones. Reported: the median
#                          msgs/s and the min-max per client; ratios of the medians. The full
#                          default run (R=3, all workloads, all clients) takes about 25 minutes on
#                          the 2-core test machine.
#   --async-inflight N     W3/W6 in-flight budget of ours, JavaBench's back-pressure, the Go
#                          benchmark's bound and bare_sender's window (default 1024, the crate default)
#   --batch-max-delay-ms N, --batch-max-bytes N, --total-batch-max-bytes N
#                          W6's auto-batching settings, passed to ours and JavaBench alike (default:
#                          the Java 5.3.3 client's defaults 10, 32768, 33554432; 0 = not passed, each
#                          client's own default)
#   --no-go                leave the Go client out (else a missing `go` is an error)
#   --java-batch-seconds S how long Java's BatchProducer (no message limit) runs after its first report (5)
#   --warmup N             unmeasured messages sent first, to warm the broker's JIT (default 200000)
#   --no-baseline          skip the 1-message runs behind the "net of start-up" CPU column
#   --no-bare              skip the bare_sender runs (the ours/bare table)
#   --out-dir DIR          where BENCHMARKS.md and benchmarks.json go (default: the repo root)
#   --keep-broker          leave the broker running at the end (otherwise its store is deleted
#                          once it stops; a started broker begins with an empty store)
#
# Secured brokers (issue 8; benches/secure.sh runs plain / auth / tls / auth+tls with these):
#   --auth                 start the broker with `scripts/rocketmq-local start --auth` (ACL 2.0) and sign
#                          both clients' requests as --auth-user
#   --auth-user USER:SECRET  the signing user (default alice:alice-secret-1, the script's Normal user,
#                          granted Pub on the bench topic here with `admin createAcl`; rocketmq:12345678 =
#                          the super user, authenticated but never authorized)
#   --tls                  start it with --tls (TLS enforcing, the broker requiring a client
#                          certificate); both clients trust $ROCKETMQ_DIR/tls/ca.pem and present its
#                          client.pem/client.key
#   --java-sync-tool T     Java side of W1/W2: producer (the official Producer, default) or javabench
#                          (benches/java/JavaBench.java --mode sync; forced with --auth: the official
#                          Producer's -a true signs as a hard-coded user)
#   --result-json FILE     write the results there (for `compare.py secure-section`) instead of
#                          BENCHMARKS.md / benchmarks.json
#   With --result-json the Go client is left out (the fragments hold ours and Java).
#   With --auth or --tls the bare_sender and Go runs are skipped (ours vs Java only) and the default
#   ROCKETMQ_DIR is <repo>/target/rocketmq-bench-{auth,tls,authtls} (a secured dir remembers its
#   options; a running instance with other options is refused).
#
# Environment: ROCKETMQ_DIR (default <repo>/target/rocketmq-bench), ROCKETMQ_NAMESRV_PORT (27876),
# ROCKETMQ_BROKER_PORT (28911), BENCH_TOPIC (BenchCompare), JAVA, JAVAC, MVN, GO, CARGO_TARGET_DIR.
#
# Steps: start the broker once with scripts/rocketmq-local (own dir and ports; a watchdog stops it
# if this script dies), create the topic with 8 queues, build our tool and bare_sender in release,
# make sure the Java benchmark classes are on the classpath, compile benches/java/JavaBench.java
# (javac, into $ROCKETMQ_DIR/java-bench), build benches/go (`go build`, its go.mod/go.sum, into
# $ROCKETMQ_DIR/go-bench), run benches/compare.py, stop the broker (trap). Logs of every run:
# $ROCKETMQ_DIR/bench-logs/<time>/.
#
# Smoke test (about 2 minutes once built; writes nothing into the repository but target/):
#   benches/compare.sh --scale 0.02 --repeat 1 --warmup 20000 --out-dir /tmp/bench-smoke
#
# The Java benchmark classes: Maven Central has no rocketmq-example 5.3.3; when the pom's version
# is missing there, rocketmq-example 5.5.0 is fetched alone (no dependencies) and run on the
# 5.3.3 client classpath; its benchmark Producer/BatchProducer are the same code as 5.3.3's.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROCKETMQ_NAMESRV_PORT="${ROCKETMQ_NAMESRV_PORT:-27876}"
export ROCKETMQ_BROKER_PORT="${ROCKETMQ_BROKER_PORT:-28911}"
TOPIC="${BENCH_TOPIC:-BenchCompare}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"
LOCAL="$REPO/scripts/rocketmq-local"
NAMESRV="127.0.0.1:$ROCKETMQ_NAMESRV_PORT"
FALLBACK_EXAMPLE_VERSION=5.5.0

OUT_DIR="$REPO"
KEEP_BROKER=0
NO_BARE=0
NO_GO=0
AUTH=0
TLS=0
AUTH_USER="alice:alice-secret-1"
JAVA_SYNC_TOOL=producer
RESULT_JSON=""
WORKLOADS="W1,W2,W3,W4,W5,W6"
PY_ARGS=()
SHOWN=()  # the options to name in BENCHMARKS.md (no paths)
while [ $# -gt 0 ]; do
  case "$1" in
    --auth) AUTH=1; shift ;;
    --tls) TLS=1; shift ;;
    --auth-user) [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }; AUTH_USER=$2; shift 2 ;;
    --java-sync-tool) [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }; JAVA_SYNC_TOOL=$2; shift 2 ;;
    --result-json) [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }; RESULT_JSON=$2; shift 2 ;;
    --workloads)
      [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }
      WORKLOADS=$2; PY_ARGS+=("$1" "$2"); SHOWN+=("$1" "$2"); shift 2 ;;
    --count|--scale|--repeat|--async-inflight|--java-batch-seconds|--warmup|--batch-max-delay-ms|--batch-max-bytes|--total-batch-max-bytes)
      [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }
      PY_ARGS+=("$1" "$2"); SHOWN+=("$1" "$2"); shift 2 ;;
    --out-dir) [ $# -ge 2 ] || { echo "compare.sh: --out-dir needs a value" >&2; exit 2; }; OUT_DIR=$2; shift 2 ;;
    --no-baseline) PY_ARGS+=("$1"); SHOWN+=("$1"); shift ;;
    --no-bare) NO_BARE=1; SHOWN+=("$1"); shift ;;
    --no-go) NO_GO=1; SHOWN+=("$1"); shift ;;
    --keep-broker) KEEP_BROKER=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
case "$JAVA_SYNC_TOOL" in producer|javabench) ;; *) echo "compare.sh: --java-sync-tool is producer or javabench" >&2; exit 2 ;; esac
case "$AUTH_USER" in ?*:?*) ;; *) echo "compare.sh: --auth-user is USER:SECRET" >&2; exit 2 ;; esac
START_OPTS=()
SUFFIX=""
[ "$AUTH" = 1 ] && { START_OPTS+=(--auth); SUFFIX+=auth; JAVA_SYNC_TOOL=javabench; }
[ "$TLS" = 1 ] && { START_OPTS+=(--tls); SUFFIX+=tls; }
[ -n "$SUFFIX" ] && { NO_BARE=1; NO_GO=1; }
# --result-json fragments (benches/secure.sh) carry ours and Java only
[ -n "$RESULT_JSON" ] && NO_GO=1
# the Go client has W1-W5 only
case ",$(echo "$WORKLOADS" | tr '[:lower:]' '[:upper:]')," in *,W[1-5],*) ;; *) NO_GO=1 ;; esac
GO="${GO:-go}"
if [ "$NO_GO" = 0 ] && ! command -v "$GO" >/dev/null 2>&1; then
  echo "compare.sh: Go not found ('$GO'): the official Go client's benchmark (benches/go) needs Go 1.22 or later; pass --no-go to leave the Go client out" >&2
  exit 1
fi
export ROCKETMQ_DIR="${ROCKETMQ_DIR:-$REPO/target/rocketmq-bench${SUFFIX:+-$SUFFIX}}"
case "$ROCKETMQ_DIR" in "$REPO"/target/rocketmq-it*) echo "compare.sh: $ROCKETMQ_DIR belongs to the test suite" >&2; exit 2 ;; esac
[ -n "$RESULT_JSON" ] && case "$RESULT_JSON" in /*) ;; *) RESULT_JSON="$PWD/$RESULT_JSON" ;; esac

say() { echo "compare.sh: $*"; }
T0=$SECONDS

# --- broker -------------------------------------------------------------------------------------
WE_STARTED=0
cleanup() {
  local rc=$?
  if [ "$WE_STARTED" = 1 ] && [ "$KEEP_BROKER" = 0 ]; then
    say "stopping the broker ($ROCKETMQ_DIR)"
    "$LOCAL" stop || true
    # A full run writes tens of GB of commit log; a broker on a nearly full disk refuses
    # sends (and cleans files while it runs), which would skew the next run.
    rm -rf "$ROCKETMQ_DIR/store"
  fi
  say "done in $((SECONDS - T0)) s (exit $rc)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if "$LOCAL" status >/dev/null 2>&1; then
  have="auth=$(grep -qx 'auth=1' "$ROCKETMQ_DIR/conf/options" 2>/dev/null && echo 1 || echo 0) tls=$(grep -qx 'tls=1' "$ROCKETMQ_DIR/conf/options" 2>/dev/null && echo 1 || echo 0)"
  [ "$have" = "auth=$AUTH tls=$TLS" ] || { echo "compare.sh: the broker running in $ROCKETMQ_DIR has $have, asked for auth=$AUTH tls=$TLS: stop it first" >&2; exit 1; }
  say "broker already running in $ROCKETMQ_DIR: using it (left running)"
else
  WE_STARTED=1
  # Start from an empty store (what earlier runs left is of no use).
  rm -rf "$ROCKETMQ_DIR/store"
  "$LOCAL" start "${START_OPTS[@]}" --watch-pid $$
fi
say "creating topic $TOPIC (8 queues)"
"$LOCAL" admin updateTopic -c DefaultCluster -t "$TOPIC" -r 8 -w 8 >"$ROCKETMQ_DIR/logs/update-topic.log" 2>&1 \
  || { cat "$ROCKETMQ_DIR/logs/update-topic.log" >&2; exit 1; }
grep -q "success" "$ROCKETMQ_DIR/logs/update-topic.log" || { cat "$ROCKETMQ_DIR/logs/update-topic.log" >&2; echo "compare.sh: updateTopic failed" >&2; exit 1; }
SEC_ARGS=()
if [ "$AUTH" = 1 ]; then
  AUTH_NAME=${AUTH_USER%%:*}
  if [ "$AUTH_NAME" != rocketmq ]; then
    # the script's users may publish to AuthTopic only: let this one publish to the bench topic
    say "granting User:$AUTH_NAME Pub on Topic:$TOPIC"
    "$LOCAL" admin createAcl -b "127.0.0.1:$ROCKETMQ_BROKER_PORT" -s "User:$AUTH_NAME" -r "Topic:$TOPIC" -a Pub -d Allow \
      >"$ROCKETMQ_DIR/logs/create-acl.log" 2>&1 || true
    grep -q "success" "$ROCKETMQ_DIR/logs/create-acl.log" \
      || { cat "$ROCKETMQ_DIR/logs/create-acl.log" >&2; echo "compare.sh: createAcl failed" >&2; exit 1; }
  fi
  SEC_ARGS+=(--access-key "$AUTH_NAME" --secret-key "${AUTH_USER#*:}")
fi
[ "$TLS" = 1 ] && SEC_ARGS+=(--tls-dir "$ROCKETMQ_DIR/tls")

# --- our tool -----------------------------------------------------------------------------------
say "building examples/benchmark (release)"
(cd "$REPO" && cargo build --release --quiet --example benchmark)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$REPO/$TARGET_DIR" ;; esac
OURS="$TARGET_DIR/release/examples/benchmark"
[ -x "$OURS" ] || { echo "compare.sh: $OURS not built" >&2; exit 1; }
BARE_ARGS=()
if [ "$NO_BARE" = 0 ]; then
  say "building benches/bare_sender (bench profile)"
  BARE=$(cd "$REPO" && cargo bench --quiet --bench bare_sender --no-run --message-format=json | python3 -c '
import json, sys
exe = ""
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "bare_sender" and m.get("executable"):
        exe = m["executable"]
print(exe)')
  [ -n "$BARE" ] && [ -x "$BARE" ] || { echo "compare.sh: bare_sender not built (cargo bench --bench bare_sender --no-run)" >&2; exit 1; }
  BARE_ARGS=(--bare-bin "$BARE")
fi

# --- the Java benchmark classes -----------------------------------------------------------------
RMQ_VERSION=$(sed -n 's:.*<rocketmq.version>\(.*\)</rocketmq.version>.*:\1:p' "$REPO/scripts/rocketmq/pom.xml" | head -n1)
has_class() { python3 - "$1" <<'EOF'
import sys, zipfile
try:
    sys.exit(0 if "org/apache/rocketmq/example/benchmark/Producer.class" in zipfile.ZipFile(sys.argv[1]).namelist() else 1)
except Exception:
    sys.exit(1)
EOF
}
# Only W1, W4 and W2 with the official Producer need the rocketmq-example jar.
NEED_EXAMPLE=0
case ",$WORKLOADS," in *,W1,*|*,w1,*|*,W4,*|*,w4,*) NEED_EXAMPLE=1 ;; esac
case ",$WORKLOADS," in *,W2,*|*,w2,*) [ "$JAVA_SYNC_TOOL" = producer ] && NEED_EXAMPLE=1 ;; esac
EXAMPLE_JAR=""
for j in "$ROCKETMQ_DIR"/lib/rocketmq-example-*.jar "$ROCKETMQ_DIR"/example-lib/rocketmq-example-*.jar; do
  [ -f "$j" ] && has_class "$j" && { EXAMPLE_JAR=$j; break; }
done
if [ -z "$EXAMPLE_JAR" ] && [ "$NEED_EXAMPLE" = 1 ]; then
  mkdir -p "$ROCKETMQ_DIR/example-lib"
  for v in "$RMQ_VERSION" "$FALLBACK_EXAMPLE_VERSION"; do
    say "fetching org.apache.rocketmq:rocketmq-example:$v (the jar alone) with Maven"
    if (cd "$ROCKETMQ_DIR/example-lib" && "$MVN" -B -q \
          org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
          "-Dartifact=org.apache.rocketmq:rocketmq-example:$v:jar" -DoutputDirectory=. \
          >"$ROCKETMQ_DIR/logs/mvn-example.log" 2>&1 </dev/null) \
       && has_class "$ROCKETMQ_DIR/example-lib/rocketmq-example-$v.jar"; then
      EXAMPLE_JAR="$ROCKETMQ_DIR/example-lib/rocketmq-example-$v.jar"
      break
    fi
  done
fi
if [ -n "$EXAMPLE_JAR" ]; then
  EXAMPLE_DESC="$(basename "$EXAMPLE_JAR" .jar) on the rocketmq-client $RMQ_VERSION classpath"
  EXAMPLE_CP=":$EXAMPLE_JAR"
  say "Java benchmark: $EXAMPLE_DESC"
else
  [ "$NEED_EXAMPLE" = 0 ] || { echo "compare.sh: no rocketmq-example jar (see $ROCKETMQ_DIR/logs/mvn-example.log)" >&2; exit 1; }
  EXAMPLE_DESC="benches/java/JavaBench.java on the rocketmq-client $RMQ_VERSION classpath"
  EXAMPLE_CP=""
fi

# --- JavaBench (W3 async with back-pressure, W5 one-way) -----------------------------------------
JAVAC="${JAVAC:-$(dirname "$(command -v "$JAVA")")/javac}"
[ -x "$JAVAC" ] || JAVAC=javac
JAVA_BENCH_DIR="$ROCKETMQ_DIR/java-bench"
say "compiling benches/java/JavaBench.java into $JAVA_BENCH_DIR"
rm -rf "$JAVA_BENCH_DIR" && mkdir -p "$JAVA_BENCH_DIR"
"$JAVAC" -nowarn -d "$JAVA_BENCH_DIR" -cp "$ROCKETMQ_DIR/lib/*" "$REPO/benches/java/JavaBench.java" \
  || { echo "compare.sh: javac failed on benches/java/JavaBench.java" >&2; exit 1; }

# --- the Go client's benchmark (benches/go) -----------------------------------------------------------
GO_ARGS=()
if [ "$NO_GO" = 0 ]; then
  GO_BENCH="$ROCKETMQ_DIR/go-bench/gobench"
  say "building benches/go (go build) into $ROCKETMQ_DIR/go-bench"
  mkdir -p "$ROCKETMQ_DIR/go-bench"
  (cd "$REPO/benches/go" && GOFLAGS=-mod=readonly "$GO" build -o "$GO_BENCH" .) \
    || { echo "compare.sh: go build failed in benches/go (or pass --no-go)" >&2; exit 1; }
  GO_CLIENT=$(cd "$REPO/benches/go" && GOFLAGS=-mod=readonly "$GO" list -m -f '{{.Path}} {{.Version}}' github.com/apache/rocketmq-client-go/v2)
  GO_ARGS=(--go-bin "$GO_BENCH" --go-desc "$GO_CLIENT ($("$GO" env GOVERSION))")
fi

# --- run ----------------------------------------------------------------------------------------
LOG_DIR="$ROCKETMQ_DIR/bench-logs/$(date -u +%Y%m%d-%H%M%S)"
RESULT_ARGS=()
if [ -n "$RESULT_JSON" ]; then
  LABEL=plain
  [ "$AUTH$TLS" = 10 ] && LABEL=auth
  [ "$AUTH$TLS" = 01 ] && LABEL=tls
  [ "$AUTH$TLS" = 11 ] && LABEL=auth+tls
  RESULT_ARGS=(--result-json "$RESULT_JSON" --config-label "$LABEL" "--broker-options=${START_OPTS[*]}")
fi
python3 "$REPO/benches/compare.py" \
  --namesrv "$NAMESRV" --topic "$TOPIC" --ours-bin "$OURS" \
  --java "$JAVA" --admin "$LOCAL" --java-cp "$ROCKETMQ_DIR/lib/*$EXAMPLE_CP" --java-home-dir "$ROCKETMQ_DIR/home-client" \
  --java-bench-dir "$JAVA_BENCH_DIR" "${BARE_ARGS[@]}" "${GO_ARGS[@]}" \
  --broker-addr "127.0.0.1:$ROCKETMQ_BROKER_PORT" --command "benches/compare.sh${SHOWN[*]:+ ${SHOWN[*]}}" \
  --rocketmq-version "$RMQ_VERSION" --example-jar-desc "$EXAMPLE_DESC" --java-sync-tool "$JAVA_SYNC_TOOL" \
  --out-dir "$OUT_DIR" --log-dir "$LOG_DIR" "${SEC_ARGS[@]}" "${RESULT_ARGS[@]}" "${PY_ARGS[@]}"
