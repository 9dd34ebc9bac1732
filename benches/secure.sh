#!/usr/bin/env bash
# The cost of request signing and of TLS (issue 8): runs benches/compare.sh on W2 (sync, 64 senders,
# 1 KiB) and W3 (async, 1 KiB, in-flight budget 1024) against four brokers in turn, each started
# fresh by compare.sh in a ROCKETMQ_DIR of its own and stopped before the next:
#   plain     scripts/rocketmq-local start                  (reference)  target/rocketmq-bench-plain
#   auth      scripts/rocketmq-local start --auth           (ACL 2.0)    target/rocketmq-bench-auth
#   tls       scripts/rocketmq-local start --tls            (TLS)        target/rocketmq-bench-tls
#   auth+tls  scripts/rocketmq-local start --auth --tls                  target/rocketmq-bench-authtls
# ours vs the Java client configured the same way (same user, same trust and client certificate;
# see compare.sh --auth/--tls), alternating runs, medians; then writes (or replaces) the
# "Secured clusters (issue 8)" section of BENCHMARKS.md and the "secured" key of benchmarks.json,
# leaving the rest of both files as they are.
#
# Usage: benches/secure.sh [options]
#   --configs C1,C2,...    which configurations, in this order (default plain,auth,tls,auth+tls)
#   --auth-user USER:SECRET  the signing user of both clients (default alice:alice-secret-1: the
#                          script's Normal user, granted Pub on the bench topic; rocketmq:12345678 is
#                          the super user: signed and authenticated, never authorized)
#   --workloads, --count, --scale, --repeat, --async-inflight, --warmup, --no-baseline:
#                          passed to compare.sh (defaults here: --workloads W2,W3 --repeat 3
#                          --warmup 100000; messages per run: compare.sh's, 300000 for W2 and W3)
#   --out-dir DIR          where BENCHMARKS.md and benchmarks.json are (default: the repo root)
#
# Duration on the 2-core test machine: about 11 min per workload at 300000 messages per run and
# --repeat 3 (so ~22 min with the defaults), ~10 min for W2+W3 with --scale 0.3 (90000). Short runs
# flatter ours: the Java client's JIT warm-up falls into their 10-s measuring window. Each run
# replaces the whole section; to show several runs side by side (e.g. W2 and W3 run separately), call
#   python3 benches/compare.py secure-section --md BENCHMARKS.md --json benchmarks.json \
#     --command "<cmd 1>" --command "<cmd 2>" <fragments of run 1> <fragments of run 2>
# with the fragments each run leaves in target/rocketmq-bench-secure/<time>/ (blocks in that order).
#
# Environment: as compare.sh (ROCKETMQ_NAMESRV_PORT 27876, ROCKETMQ_BROKER_PORT 28911, BENCH_TOPIC,
# JAVA, MVN, ...). ROCKETMQ_DIR is set per configuration. The RocketMQ jars are resolved once (by the
# first configuration) and hard-linked into the other dirs.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIGS="plain,auth,tls,auth+tls"
AUTH_USER="alice:alice-secret-1"
OUT_DIR="$REPO"
PASS=()
HAVE_WORKLOADS=0
HAVE_REPEAT=0
HAVE_WARMUP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --configs) [ $# -ge 2 ] || { echo "secure.sh: $1 needs a value" >&2; exit 2; }; CONFIGS=$2; shift 2 ;;
    --auth-user) [ $# -ge 2 ] || { echo "secure.sh: $1 needs a value" >&2; exit 2; }; AUTH_USER=$2; shift 2 ;;
    --out-dir) [ $# -ge 2 ] || { echo "secure.sh: $1 needs a value" >&2; exit 2; }; OUT_DIR=$2; shift 2 ;;
    --workloads|--count|--scale|--repeat|--async-inflight|--warmup)
      [ $# -ge 2 ] || { echo "secure.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in --workloads) HAVE_WORKLOADS=1 ;; --repeat) HAVE_REPEAT=1 ;; --warmup) HAVE_WARMUP=1 ;; esac
      PASS+=("$1" "$2"); shift 2 ;;
    --no-baseline) PASS+=("$1"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "secure.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$HAVE_WORKLOADS" = 1 ] || PASS+=(--workloads W2,W3)
[ "$HAVE_REPEAT" = 1 ] || PASS+=(--repeat 3)
[ "$HAVE_WARMUP" = 1 ] || PASS+=(--warmup 100000)
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

say() { echo "secure.sh: $*"; }
T0=$SECONDS
STAMP=$(date -u +%Y%m%d-%H%M%S)
FRAG_DIR="$REPO/target/rocketmq-bench-secure/$STAMP"
mkdir -p "$FRAG_DIR"
COMMAND="benches/secure.sh"
[ "$CONFIGS" = "plain,auth,tls,auth+tls" ] || COMMAND+=" --configs $CONFIGS"
[ "$AUTH_USER" = "alice:alice-secret-1" ] || COMMAND+=" --auth-user ${AUTH_USER%%:*}:..."
COMMAND+=" ${PASS[*]}"

# a complete lib/ of an earlier bench dir, hard-linked into a new one (saves a Maven resolution)
seed_lib() {
  local dir=$1 src
  [ -f "$dir/lib/.complete" ] && return 0
  for src in "$REPO"/target/rocketmq-bench*/lib; do
    [ -f "$src/.complete" ] || continue
    [ "$src" = "$dir/lib" ] && continue
    mkdir -p "$dir"
    rm -rf "$dir/lib"
    cp -al "$src" "$dir/lib" 2>/dev/null || cp -a "$src" "$dir/lib"
    say "jars: linked $src into $dir/lib"
    return 0
  done
}

FRAGS=()
FAILED=()
IFS=, read -r -a CFG_LIST <<<"$CONFIGS"
for cfg in "${CFG_LIST[@]}"; do
  case "$cfg" in
    plain) opts=(); dir=plain ;;
    auth) opts=(--auth --auth-user "$AUTH_USER"); dir=auth ;;
    tls) opts=(--tls); dir=tls ;;
    auth+tls|authtls) opts=(--auth --tls --auth-user "$AUTH_USER"); dir=authtls ;;
    *) echo "secure.sh: unknown configuration $cfg (plain, auth, tls, auth+tls)" >&2; exit 2 ;;
  esac
  export ROCKETMQ_DIR="$REPO/target/rocketmq-bench-$dir"
  seed_lib "$ROCKETMQ_DIR"
  frag="$FRAG_DIR/$dir.json"
  say "=== $cfg: compare.sh ${opts[*]} ${PASS[*]} (ROCKETMQ_DIR=$ROCKETMQ_DIR)"
  if "$REPO/benches/compare.sh" "${opts[@]}" --no-bare --java-sync-tool javabench --result-json "$frag" "${PASS[@]}" \
     && [ -f "$frag" ]; then
    FRAGS+=("$frag")
  else
    say "$cfg: compare.sh failed (see above); going on with the next configuration"
    FAILED+=("$cfg")
  fi
done

[ "${#FRAGS[@]}" -gt 0 ] || { echo "secure.sh: no configuration produced results" >&2; exit 1; }
python3 "$REPO/benches/compare.py" secure-section --md "$OUT_DIR/BENCHMARKS.md" --json "$OUT_DIR/benchmarks.json" \
  --command "$COMMAND" "${FRAGS[@]}"
say "fragments in $FRAG_DIR; done in $((SECONDS - T0)) s"
if [ "${#FAILED[@]}" -gt 0 ]; then
  say "FAILED configurations: ${FAILED[*]}"
  exit 1
fi
