#!/usr/bin/env bash
# Compare actix-rocketmq's benchmark tool (examples/benchmark) with the Java client's benchmark
# producers (the official Producer/BatchProducer, and benches/java/JavaBench.java for async and
# one-way) and with the bare pipelined sender (benches/bare_sender.rs, W3 and W4) against one
# local RocketMQ broker, and write BENCHMARKS.md + benchmarks.json.
#
# Usage: benches/compare.sh [options]
#   --workloads W1,W2,...  which workloads (default W1,W2,W3,W4,W5):
#                            W1 sync, 1 sender, 128 B      W2 sync, 64 senders, 1 KiB
#                            W3 async, 1 KiB                W4 batches of 32 x 128 B, 64 senders
#                            W5 one-way, 64 senders, 1 KiB
#   --count N              messages per run for every workload (default: per workload, sized so the
#                          whole script takes about 5 minutes: W1 50k, W2 300k, W3 300k, W4 2M, W5 500k)
#   --scale F              multiply the default counts (e.g. 0.1 for a smoke run, 5 for a long one)
#   --repeat R             runs per client and workload, alternating (default 1; median reported)
#   --async-inflight N     W3 in-flight budget of ours, JavaBench's back-pressure and bare_sender's
#                          window (default 1024, the crate default)
#   --java-batch-seconds S how long Java's BatchProducer (no message limit) runs after its first report (5)
#   --warmup N             unmeasured messages sent first, to warm the broker's JIT (default 200000)
#   --no-baseline          skip the 1-message runs behind the "net of start-up" CPU column
#   --no-bare              skip the bare_sender runs (the ours/bare table)
#   --out-dir DIR          where BENCHMARKS.md and benchmarks.json go (default: the repo root)
#   --keep-broker          leave the broker running at the end
#
# Environment: ROCKETMQ_DIR (default <repo>/target/rocketmq-bench), ROCKETMQ_NAMESRV_PORT (27876),
# ROCKETMQ_BROKER_PORT (28911), BENCH_TOPIC (BenchCompare), JAVA, JAVAC, MVN, CARGO_TARGET_DIR.
#
# Steps: start the broker once with scripts/rocketmq-local (own dir and ports; a watchdog stops it
# if this script dies), create the topic with 8 queues, build our tool and bare_sender in release,
# make sure the Java benchmark classes are on the classpath, compile benches/java/JavaBench.java
# (javac, into $ROCKETMQ_DIR/java-bench), run benches/compare.py, stop the broker (trap).
#
# The Java benchmark classes: Maven Central has no rocketmq-example 5.3.3; when the pom's version
# is missing there, rocketmq-example 5.5.0 is fetched alone (no dependencies) and run on the
# 5.3.3 client classpath; its benchmark Producer/BatchProducer are the same code as 5.3.3's.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROCKETMQ_DIR="${ROCKETMQ_DIR:-$REPO/target/rocketmq-bench}"
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
PY_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --workloads|--count|--scale|--repeat|--async-inflight|--java-batch-seconds|--warmup)
      [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value" >&2; exit 2; }
      PY_ARGS+=("$1" "$2"); shift 2 ;;
    --out-dir) [ $# -ge 2 ] || { echo "compare.sh: --out-dir needs a value" >&2; exit 2; }; OUT_DIR=$2; shift 2 ;;
    --no-baseline) PY_ARGS+=("$1"); shift ;;
    --no-bare) NO_BARE=1; shift ;;
    --keep-broker) KEEP_BROKER=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

say() { echo "compare.sh: $*"; }
T0=$SECONDS

# --- broker -------------------------------------------------------------------------------------
WE_STARTED=0
cleanup() {
  local rc=$?
  if [ "$WE_STARTED" = 1 ] && [ "$KEEP_BROKER" = 0 ]; then
    say "stopping the broker ($ROCKETMQ_DIR)"
    "$LOCAL" stop || true
  fi
  say "done in $((SECONDS - T0)) s (exit $rc)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if "$LOCAL" status >/dev/null 2>&1; then
  say "broker already running in $ROCKETMQ_DIR: using it (left running)"
else
  WE_STARTED=1
  "$LOCAL" start --watch-pid $$
fi
say "creating topic $TOPIC (8 queues)"
"$LOCAL" admin updateTopic -c DefaultCluster -t "$TOPIC" -r 8 -w 8 >"$ROCKETMQ_DIR/logs/update-topic.log" 2>&1 \
  || { cat "$ROCKETMQ_DIR/logs/update-topic.log" >&2; exit 1; }

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
EXAMPLE_JAR=""
for j in "$ROCKETMQ_DIR"/lib/rocketmq-example-*.jar "$ROCKETMQ_DIR"/example-lib/rocketmq-example-*.jar; do
  [ -f "$j" ] && has_class "$j" && { EXAMPLE_JAR=$j; break; }
done
if [ -z "$EXAMPLE_JAR" ]; then
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
[ -n "$EXAMPLE_JAR" ] || { echo "compare.sh: no rocketmq-example jar (see $ROCKETMQ_DIR/logs/mvn-example.log)" >&2; exit 1; }
EXAMPLE_DESC="$(basename "$EXAMPLE_JAR" .jar) on the rocketmq-client $RMQ_VERSION classpath"
say "Java benchmark: $EXAMPLE_DESC"

# --- JavaBench (W3 async with back-pressure, W5 one-way) -----------------------------------------
JAVAC="${JAVAC:-$(dirname "$(command -v "$JAVA")")/javac}"
[ -x "$JAVAC" ] || JAVAC=javac
JAVA_BENCH_DIR="$ROCKETMQ_DIR/java-bench"
say "compiling benches/java/JavaBench.java into $JAVA_BENCH_DIR"
rm -rf "$JAVA_BENCH_DIR" && mkdir -p "$JAVA_BENCH_DIR"
"$JAVAC" -nowarn -d "$JAVA_BENCH_DIR" -cp "$ROCKETMQ_DIR/lib/*" "$REPO/benches/java/JavaBench.java" \
  || { echo "compare.sh: javac failed on benches/java/JavaBench.java" >&2; exit 1; }

# --- run ----------------------------------------------------------------------------------------
LOG_DIR="$ROCKETMQ_DIR/bench-logs/$(date -u +%Y%m%d-%H%M%S)"
python3 "$REPO/benches/compare.py" \
  --namesrv "$NAMESRV" --topic "$TOPIC" --ours-bin "$OURS" \
  --java "$JAVA" --admin "$LOCAL" --java-cp "$ROCKETMQ_DIR/lib/*:$EXAMPLE_JAR" --java-home-dir "$ROCKETMQ_DIR/home-client" \
  --java-bench-dir "$JAVA_BENCH_DIR" "${BARE_ARGS[@]}" \
  --rocketmq-version "$RMQ_VERSION" --example-jar-desc "$EXAMPLE_DESC" \
  --out-dir "$OUT_DIR" --log-dir "$LOG_DIR" "${PY_ARGS[@]}"
