# shellcheck shell=bash
# The `cluster` commands of scripts/rocketmq-local (sourced by it; see its usage header):
# 2 name servers + 2 brokers (one cluster, DefaultCluster) on 127.0.0.1, one sub-directory of
# ROCKETMQ_DIR per node. Uses the helpers of the main script (take_lock, pid_of, proc_alive,
# launch_jvm, stop_pid, kill_pid, fail, exited, tail_logs, ensure_lib, broker_conf_settings ...).

CLUSTER_NAMESRVS=(namesrv-1 namesrv-2)
CLUSTER_BROKERS=(broker-a broker-b)
CLUSTER_NODES=("${CLUSTER_NAMESRVS[@]}" "${CLUSTER_BROKERS[@]}")
CL_SETTINGS="$RMQ_DIR/cluster.settings"       # ports and flush type of the last `cluster start`
CL_WATCH_PIDS="$RMQ_DIR/cluster-watch.pids"
# A name server restarted on its own learns the brokers from their periodic registration
# (every 30 s on 5.3.3): how long `start-node namesrv-N` waits for it.
CL_NS_REJOIN_TIMEOUT=40

# ---------------------------------------------------------------------------------------------
# settings: CL_NS_PORT (namesrv-1; namesrv-2 is +1), CL_BROKER_PORT (broker-a; broker-b is +10),
# CL_FLUSH, and what follows from them

cl_settings_apply() {
  case "$CL_NS_PORT$CL_BROKER_PORT" in
    *[!0-9]*|'') err "ROCKETMQ_CLUSTER_NAMESRV_PORT / ROCKETMQ_CLUSTER_BROKER_PORT must be numbers"; exit 2 ;;
  esac
  case "$CL_FLUSH" in
    SYNC_FLUSH|ASYNC_FLUSH) ;;
    *) err "ROCKETMQ_CLUSTER_FLUSH must be SYNC_FLUSH or ASYNC_FLUSH (got '$CL_FLUSH')"; exit 2 ;;
  esac
  CL_NS_PORT=$((10#$CL_NS_PORT)); CL_BROKER_PORT=$((10#$CL_BROKER_PORT))
  if [ "$CL_NS_PORT" -lt 1 ] || [ "$CL_NS_PORT" -gt 65534 ] || [ "$CL_BROKER_PORT" -lt 3 ] \
     || [ "$CL_BROKER_PORT" -gt 65524 ]; then
    err "cluster ports out of range: name servers $CL_NS_PORT,+1; brokers $CL_BROKER_PORT-2..+11"; exit 2
  fi
  local all; all=$(cl_all_ports | tr ' ' '\n' | sort -n)
  if [ -n "$(uniq -d <<<"$all")" ]; then
    err "cluster ports overlap: name servers use $CL_NS_PORT and $((CL_NS_PORT + 1)), broker-a $((CL_BROKER_PORT - 2)), $CL_BROKER_PORT, $((CL_BROKER_PORT + 1)), broker-b the same +10"
    exit 2
  fi
  CL_NAMESRV_ADDR="$HOST:$CL_NS_PORT;$HOST:$((CL_NS_PORT + 1))"
  CL_BROKER_ADDRS="$HOST:$CL_BROKER_PORT,$HOST:$((CL_BROKER_PORT + 10))"
}

# the settings asked for by the environment (cluster start)
cl_settings_from_env() {
  CL_NS_PORT="${ROCKETMQ_CLUSTER_NAMESRV_PORT:-9876}"
  CL_BROKER_PORT="${ROCKETMQ_CLUSTER_BROKER_PORT:-10911}"
  CL_FLUSH="${ROCKETMQ_CLUSTER_FLUSH:-ASYNC_FLUSH}"
  cl_settings_apply
}

# the settings recorded by the last cluster start in this dir (all other commands), else the
# environment's
cl_settings_load() {
  if [ -f "$CL_SETTINGS" ]; then
    CL_NS_PORT=$(sed -n 's/^namesrv_port=//p' "$CL_SETTINGS")
    CL_BROKER_PORT=$(sed -n 's/^broker_port=//p' "$CL_SETTINGS")
    CL_FLUSH=$(sed -n 's/^flush=//p' "$CL_SETTINGS")
    cl_settings_apply
  else
    cl_settings_from_env
  fi
}

cl_settings_text() { echo "name servers $CL_NS_PORT/$((CL_NS_PORT + 1)), brokers $CL_BROKER_PORT/$((CL_BROKER_PORT + 10)), $CL_FLUSH"; }

# ---------------------------------------------------------------------------------------------
# nodes

cl_check_name() {
  case "${1:-}" in
    namesrv-1|namesrv-2|broker-a|broker-b) ;;
    '') err "cluster: missing node name (namesrv-1, namesrv-2, broker-a, broker-b)"; exit 2 ;;
    *) err "cluster: unknown node '$1' (namesrv-1, namesrv-2, broker-a, broker-b)"; exit 2 ;;
  esac
}
cl_kind() { case "$1" in namesrv-*) echo namesrv ;; *) echo broker ;; esac; }
cl_port() {
  case "$1" in
    namesrv-1) echo "$CL_NS_PORT" ;;
    namesrv-2) echo "$((CL_NS_PORT + 1))" ;;
    broker-a)  echo "$CL_BROKER_PORT" ;;
    broker-b)  echo "$((CL_BROKER_PORT + 10))" ;;
  esac
}
cl_addr() { echo "$HOST:$(cl_port "$1")"; }
# every port a node listens on (a broker: fast remoting port-2, port, HA port+1)
cl_ports() {
  local p; p=$(cl_port "$1")
  if [ "$(cl_kind "$1")" = namesrv ]; then echo "$p"; else echo "$((p - 2)) $p $((p + 1))"; fi
}
cl_all_ports() { local n; for n in "${CLUSTER_NODES[@]}"; do cl_ports "$n"; done | tr '\n' ' '; }
cl_dir()  { echo "$RMQ_DIR/$1"; }
cl_conf() { echo "$RMQ_DIR/$1/conf/$(cl_kind "$1").conf"; }
cl_out()  { echo "$RMQ_DIR/$1/logs/$1.out"; }
# the JVM pid of a node (pid file $RMQ_DIR/NAME.pid, command line holding the node's conf path)
cl_pid()  { pid_of "$1" "$(cl_conf "$1")"; }
cl_watchdog_pid() { pid_of cluster-watchdog "cluster __watchdog"; }
pid_frozen() {
  local state
  state=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
  [ "$state" = T ] || [ "$state" = t ]
}
# cl_logs NAME: the log files of a node, for tail_logs
cl_logs() {
  local d; d="$(cl_dir "$1")/home/logs/rocketmqlogs"
  cl_out "$1"
  if [ "$(cl_kind "$1")" = namesrv ]; then printf '%s\n' "$d/namesrv.log" "$d/namesrv_default.log"
  else printf '%s\n' "$d/broker.log" "$d/broker_default.log" "$d/store.log"; fi
}
# cl_fail REASON NODE...: fail with the tails of these nodes' logs
cl_fail() {
  local reason=$1; shift
  local logs=() n f
  for n in "$@"; do while IFS= read -r f; do logs+=("$f"); done < <(cl_logs "$n"); done
  fail "$reason" "${logs[@]}"
}

# cl_up KIND...: the nodes of these kinds (namesrv, broker) that run and are not frozen
cl_up() {
  local k n pid
  for k in "$@"; do
    for n in "${CLUSTER_NODES[@]}"; do
      [ "$(cl_kind "$n")" = "$k" ] || continue
      pid=$(cl_pid "$n") || continue
      pid_frozen "$pid" || echo "$n"
    done
  done
}

# ---------------------------------------------------------------------------------------------
# probes (scripts/rocketmq/probe.py, route of TBW102)

# ns_answers ADDR: the name server answers at all (any response code)
ns_answers() { local rc=0; python3 "$PROBE" "$1" -q --timeout 1 || rc=$?; [ "$rc" != 2 ]; }
# ns_route ADDR: the broker addresses the TBW102 route on ADDR lists, one a line (nothing when
# the topic has no route); status 2 when the name server does not answer
ns_route() {
  local out rc=0
  out=$(python3 "$PROBE" "$1" -q --timeout 1 --print-body 2>/dev/null) || rc=$?
  [ "$rc" != 2 ] || return 2
  [ "$rc" = 0 ] || return 0
  python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
addrs = [a for bd in r.get("brokerDatas") or [] for a in (bd.get("brokerAddrs") or {}).values()]
for a in sorted(addrs):
    print(a)' <<<"$out"
}
# ns_lists NS_ADDR BROKER_ADDR: the route on NS_ADDR lists BROKER_ADDR (among others)
ns_lists() { local l; l=$(ns_route "$1") || return 1; grep -qxF -- "$2" <<<"$l"; }
# ns_lists_both NS_ADDR: the route on NS_ADDR lists exactly broker-a and broker-b
ns_lists_both() {
  python3 "$PROBE" "$1" -q --timeout 1 --expect-broker "$(cl_addr broker-a)" --expect-broker "$(cl_addr broker-b)"
}
# cl_all_ready: all four run (none frozen) and each name server lists both brokers
cl_all_ready() {
  local n pid
  for n in "${CLUSTER_NODES[@]}"; do
    pid=$(cl_pid "$n") || return 1
    ! pid_frozen "$pid" || return 1
  done
  for n in "${CLUSTER_NAMESRVS[@]}"; do ns_lists_both "$(cl_addr "$n")" || return 1; done
}

# cl_wait_unlisted BROKER SECONDS: wait until no answering name server lists the broker;
# status 1 (and which name servers still list it on stdout) if some still do after SECONDS
cl_wait_unlisted() {
  local b=$1 secs=$2 addr ns still i
  addr=$(cl_addr "$b")
  for ((i = 0; i < secs * 5; i++)); do
    still=""
    for ns in $(cl_up namesrv); do ns_lists "$(cl_addr "$ns")" "$addr" && still+=" $ns"; done
    [ -n "$still" ] || return 0
    sleep 0.2
  done
  echo "${still# }"
  return 1
}

# cl_check_bind NAME...: the remoting ports of these nodes are bound to 127.0.0.1 only
# (bindAddress took; the HA port listenPort+1 is RocketMQ's own listener, bound to every address)
cl_check_bind() {
  command -v ss >/dev/null 2>&1 || return 0
  local n p out bad="" ports
  for n in "$@"; do
    ports=$(cl_port "$n")
    [ "$(cl_kind "$n")" = namesrv ] || ports="$ports $((ports - 2))"
    for p in $ports; do
      out=$(ss -Htln "sport = :$p" 2>/dev/null | awk '{print $4}')
      if [ -z "$out" ]; then bad+=" nothing listens on :$p ($n);"; continue; fi
      if echo "$out" | grep -qvE "^(\[::ffff:)?$HOST\]?:$p\$"; then bad+=" :$p ($n) is bound to $(echo $out);"; fi
    done
  done
  [ -z "$bad" ] || cl_fail "unexpected listeners:$bad" "$@"
}

# ---------------------------------------------------------------------------------------------
# conf, launch, stop

# jars: hard-link the single instance's complete lib/ when it has the same pom and version (the
# cluster always runs the pom's: RMQ_VERSION; saves Maven's copy), then ensure_lib as usual
cl_ensure_lib() {
  local src="$REPO_ROOT/target/rocketmq-local/lib" stamp
  if [ ! -f "$LIB/.complete" ] && [ -f "$src/.complete" ] && [ "$src" != "$LIB" ]; then
    stamp=$(lib_stamp "$RMQ_VERSION")
    if [ "$(cat "$src/.complete")" = "$stamp" ]; then
      rm -rf "$LIB.tmp"
      if cp -al "$src" "$LIB.tmp" 2>/dev/null || { rm -rf "$LIB.tmp"; cp -a "$src" "$LIB.tmp"; }; then
        rm -rf "$LIB"; mv "$LIB.tmp" "$LIB"
        say "jars linked from $src" >&2
      else
        rm -rf "$LIB.tmp"
      fi
    fi
  fi
  ensure_lib
}

cl_write_conf() {
  local n d
  mkdir -p "$LOGS"
  for n in "${CLUSTER_NODES[@]}"; do
    d=$(cl_dir "$n")
    mkdir -p "$d/conf" "$d/logs" "$d/home"
  done
  for n in "${CLUSTER_NAMESRVS[@]}"; do
    cat >"$(cl_conf "$n")" <<EOF
# written by scripts/rocketmq-local cluster ($n)
listenPort=$(cl_port "$n")
bindAddress=$HOST
# The name server's own remoting client otherwise probes <first non-loopback IP>:<port> every
# few seconds (NamesrvController.start registers NetworkUtil.getLocalAddress() as a name server).
scanAvailableNameSrv=false
EOF
  done
  for n in "${CLUSTER_BROKERS[@]}"; do
    d=$(cl_dir "$n")
    mkdir -p "$d/store"
    cat >"$(cl_conf "$n")" <<EOF
# written by scripts/rocketmq-local cluster ($n)
brokerClusterName=DefaultCluster
brokerName=$n
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=$CL_FLUSH
namesrvAddr=$CL_NAMESRV_ADDR
brokerIP1=$HOST
brokerIP2=$HOST
listenPort=$(cl_port "$n")
bindAddress=$HOST
storePathRootDir=$d/store
storePathCommitLog=$d/store/commitlog
EOF
    broker_conf_settings >>"$(cl_conf "$n")"
  done
  printf 'namesrv_port=%s\nbroker_port=%s\nflush=%s\n' "$CL_NS_PORT" "$CL_BROKER_PORT" "$CL_FLUSH" >"$CL_SETTINGS"
}

cl_launch() {
  local n=$1 d; d=$(cl_dir "$n")
  if [ "$(cl_kind "$n")" = namesrv ]; then
    launch_jvm "$RMQ_DIR/$n.pid" "$(cl_out "$n")" "$d/home" "$d" "$NAMESRV_CLASS" -Xms128m -Xmx128m \
        -Drmq.logback.configurationFile=rmq.namesrv.logback.xml -- -c "$(cl_conf "$n")"
  else
    launch_jvm "$RMQ_DIR/$n.pid" "$(cl_out "$n")" "$d/home" "$d" "$BROKER_CLASS" -Xms384m -Xmx384m \
        -XX:MaxDirectMemorySize=384m -Drmq.logback.configurationFile=rmq.broker.logback.xml \
        -- -c "$(cl_conf "$n")"
  fi
}

# cl_stop_nodes NAME...: TERM (and CONT for a frozen one) to all at once, wait up to
# STOP_TIMEOUT s, then KILL what is left
cl_stop_nodes() {
  local n pid t0=$SECONDS i left names=() pids=()
  for n in "$@"; do
    if pid=$(cl_pid "$n"); then
      kill -TERM "$pid" 2>/dev/null || true
      kill -CONT "$pid" 2>/dev/null || true   # a frozen JVM acts on TERM only once resumed
      names+=("$n"); pids+=("$pid")
    fi
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  local done_=() ; for i in "${!pids[@]}"; do done_[i]=0; done
  while :; do
    left=0
    for i in "${!pids[@]}"; do
      [ "${done_[i]}" = 0 ] || continue
      if proc_alive "${pids[i]}"; then left=1
      else done_[i]=1; say "${names[i]} (pid ${pids[i]}) stopped in $((SECONDS - t0)) s"; fi
    done
    [ $left = 1 ] || break
    if [ $((SECONDS - t0)) -ge "$STOP_TIMEOUT" ]; then
      for i in "${!pids[@]}"; do
        [ "${done_[i]}" = 0 ] || continue
        err "${names[i]} (pid ${pids[i]}) did not stop within $STOP_TIMEOUT s: KILL"
        kill -KILL "${pids[i]}" 2>/dev/null || true
      done
      for ((i = 0; i < 50; i++)); do
        left=0
        for pid in "${pids[@]}"; do proc_alive "$pid" && left=1; done
        [ $left = 1 ] || break
        sleep 0.1
      done
      break
    fi
    sleep 0.1
  done
  for n in "$@"; do cl_pid "$n" >/dev/null || rm -f "$RMQ_DIR/$n.pid"; done
}

# stop everything: watchdog, brokers (together), then name servers (together); then check that
# none of the cluster's ports is still open
cl_stop_all() {
  local pid p i busy
  if pid=$(cl_watchdog_pid) && [ "$pid" != "$PPID" ] && [ "$pid" != "$$" ]; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$RMQ_DIR/cluster-watchdog.pid" "$CL_WATCH_PIDS"
  # brokers first: a broker unregisters from the name servers while shutting down
  cl_stop_nodes "${CLUSTER_BROKERS[@]}"
  cl_stop_nodes "${CLUSTER_NAMESRVS[@]}"
  for ((i = 0; i < 50; i++)); do
    busy=""
    for p in $(cl_all_ports); do port_busy "$p" && busy+=" $p"; done
    [ -n "$busy" ] || return 0
    sleep 0.1
  done
  err "note: port(s)$busy on $HOST still open after the cluster stopped (not ours?)"
}

# fail clean-up of start-node: kill the node it launched (never the others, never the watchdog)
cl_fail_node() {
  local pid
  if pid=$(cl_pid "$CL_FAIL_NODE"); then kill_pid "$CL_FAIL_NODE" "$pid" || true; fi
  rm -f "$RMQ_DIR/$CL_FAIL_NODE.pid"
}

cl_add_watch() {
  local pid=$1
  proc_alive "$pid" || fail "--watch-pid $pid: no such process"
  echo "$pid" >>"$CL_WATCH_PIDS"
  if ! cl_watchdog_pid >/dev/null; then
    mkdir -p "$LOGS"
    env -u ROCKETMQ_LOCAL_LOCKED ROCKETMQ_DIR="$RMQ_DIR" setsid "$SELF" cluster __watchdog \
        </dev/null >>"$LOGS/watchdog.log" 2>&1 9>&- &
    echo $! >"$RMQ_DIR/cluster-watchdog.pid"
    disown $! 2>/dev/null || true
  fi
  say "watchdog (pid $(cat "$RMQ_DIR/cluster-watchdog.pid")) stops this cluster when pid(s) $(tr '\n' ' ' <"$CL_WATCH_PIDS")are gone"
}

# ---------------------------------------------------------------------------------------------
# commands

cl_cmd_start() {
  local watch_pid=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --watch-pid) [ $# -ge 2 ] || { err "--watch-pid needs a PID"; exit 2; }; watch_pid=$2; shift 2 ;;
      --watch-pid=*) watch_pid=${1#*=}; shift ;;
      *) err "cluster start: unknown argument '$1'"; exit 2 ;;
    esac
  done
  case "$watch_pid" in *[!0-9]*) err "--watch-pid: not a pid: $watch_pid"; exit 2 ;; esac
  if [ -n "$watch_pid" ] && ! proc_alive "$watch_pid"; then err "--watch-pid $watch_pid: no such process"; exit 2; fi
  command -v python3 >/dev/null 2>&1 || { err "ERROR: python3 not found (needed for the readiness probe)"; exit 1; }
  take_lock
  CL_STARTED=()
  STOP_ON_FAIL=cl_fail_start
  trap 'fail "interrupted"' INT TERM

  # what runs now, with the settings it was started with
  cl_settings_load
  local have n pid running=() stopped=() frozen="" mute="" pids=""
  have=$(cl_settings_text)
  for n in "${CLUSTER_NODES[@]}"; do
    if pid=$(cl_pid "$n"); then
      running+=("$n")
      pid_frozen "$pid" && frozen+=" $n"
    else
      stopped+=("$n")
    fi
  done
  local keep=0   # 1: start only the stopped nodes, keep the running ones (and the watchdog)
  if [ ${#running[@]} -gt 0 ]; then
    cl_settings_from_env
    if [ "$(cl_settings_text)" != "$have" ]; then
      err "ERROR: $RMQ_DIR runs (part of) a cluster with $have, not $(cl_settings_text): run cluster stop first"
      exit 1
    fi
    if [ ${#stopped[@]} = 0 ] && cl_all_ready; then
      for n in "${CLUSTER_NODES[@]}"; do pids+=" $n=$(cl_pid "$n")"; done
      say "cluster already running in $RMQ_DIR ($have; pids$pids)"
      cl_watch_again "$watch_pid"
      echo "BROKER_ADDRS=$CL_BROKER_ADDRS"
      echo "NAMESRV_ADDR=$CL_NAMESRV_ADDR"
      return 0
    fi
    for n in "${running[@]}"; do
      [ "$(cl_kind "$n")" = namesrv ] || continue
      case " $frozen " in *" $n "*) continue ;; esac
      ns_answers "$(cl_addr "$n")" || mute+=" $n"
    done
    if [ -z "$frozen" ] && [ -z "$mute" ] && [ ${#stopped[@]} -gt 0 ]; then
      keep=1
    else
      local st=""
      for n in "${CLUSTER_NODES[@]}"; do st+=" $n:$(cl_state_word "$n")"; done
      [ -z "$mute" ] || st+="; not answering:$mute"
      err "the cluster in $RMQ_DIR is not ready ($st): restarting all of it"
      cl_stop_all >/dev/null 2>&1 || true
    fi
  elif cl_watchdog_pid >/dev/null; then
    cl_stop_all >/dev/null 2>&1 || true   # a watchdog left over from a cluster stopped by hand
  fi
  cl_settings_from_env
  local todo=("${CLUSTER_NODES[@]}")
  if [ $keep = 1 ]; then
    todo=("${stopped[@]}")
    say "cluster in $RMQ_DIR: ${running[*]} running; starting ${todo[*]}"
  else
    rm -f "$RMQ_DIR"/{namesrv-1,namesrv-2,broker-a,broker-b,cluster-watchdog}.pid "$CL_WATCH_PIDS"
  fi

  command -v "$JAVA" >/dev/null 2>&1 || fail "java ('$JAVA') not found on PATH (RocketMQ 5.3.3 needs Java 8+; tested with 17)"
  local p
  for n in "${todo[@]}"; do
    for p in $(cl_ports "$n"); do
      if port_busy "$p"; then
        fail "port $p on $HOST ($n) is already in use (another broker? set ROCKETMQ_CLUSTER_NAMESRV_PORT / ROCKETMQ_CLUSTER_BROKER_PORT, or stop it)"
      fi
    done
  done
  if [ $keep = 1 ]; then
    ensure_lib
    for n in "${todo[@]}"; do
      [ -f "$(cl_conf "$n")" ] || fail "no $(cl_conf "$n") (run cluster stop, then cluster start)"
    done
  else
    cl_ensure_lib
    cl_write_conf
  fi

  local t0=$SECONDS deadline=$((SECONDS + START_TIMEOUT)) ok logs=() ns_todo=() br_todo=() still
  for n in "${todo[@]}"; do
    if [ "$(cl_kind "$n")" = namesrv ]; then ns_todo+=("$n"); else br_todo+=("$n"); fi
  done
  for n in "${ns_todo[@]}"; do cl_launch "$n"; CL_STARTED+=("$n"); done
  # The brokers register at boot and then only every 30 s: start them once the name servers answer.
  while :; do
    ok=1
    for n in "${ns_todo[@]}"; do
      pid=$(cat "$RMQ_DIR/$n.pid")
      proc_alive "$pid" || { mapfile -t logs < <(cl_logs "$n"); exited "$n" "$pid" "${logs[@]}"; }
      ns_answers "$(cl_addr "$n")" || ok=0
    done
    [ $ok = 0 ] || break
    [ $SECONDS -lt $deadline ] || cl_fail "${ns_todo[*]} did not answer within $START_TIMEOUT s" "${ns_todo[@]}"
    sleep 0.3
  done
  local t_ns=$((SECONDS - t0))
  for n in "${br_todo[@]}"; do
    # (kept name servers may still list the address of a previous process of this broker)
    if [ $keep = 1 ] && ! still=$(cl_wait_unlisted "$n" 10); then
      say "note: $still still list(s) $(cl_addr "$n"), but no $n of $RMQ_DIR runs: starting anyway" >&2
    fi
  done
  for n in "${br_todo[@]}"; do cl_launch "$n"; CL_STARTED+=("$n"); done
  while :; do
    ok=1
    for n in "${CLUSTER_NODES[@]}"; do
      case " ${CL_STARTED[*]} " in
        *" $n "*) pid=$(cat "$RMQ_DIR/$n.pid")
                  proc_alive "$pid" || { mapfile -t logs < <(cl_logs "$n"); exited "$n" "$pid" "${logs[@]}"; } ;;
        *) cl_pid "$n" >/dev/null || cl_fail "$n (kept running) exited while the cluster started" "$n" ;;
      esac
    done
    for n in "${br_todo[@]}"; do grep -q 'boot success' "$(cl_out "$n")" || ok=0; done
    if [ $ok = 1 ]; then
      for n in "${CLUSTER_NAMESRVS[@]}"; do ns_lists_both "$(cl_addr "$n")" || { ok=0; break; }; done
    fi
    [ $ok = 0 ] || break
    if [ $SECONDS -ge $deadline ]; then
      local why=""
      for n in "${br_todo[@]}"; do grep -q 'boot success' "$(cl_out "$n")" || why+=" $n has not logged 'boot success';"; done
      for n in "${CLUSTER_NAMESRVS[@]}"; do
        why+=" $n lists [$(ns_route "$(cl_addr "$n")" | tr '\n' ' ' | sed 's/ $//')];"
      done
      cl_fail "brokers not registered with both name servers within $START_TIMEOUT s:$why" "${CLUSTER_NODES[@]}"
    fi
    sleep 0.3
  done
  cl_check_bind "${todo[@]}"
  trap - INT TERM
  pids=""
  for n in "${CLUSTER_NODES[@]}"; do pids+=" $n=$(cl_pid "$n")"; done
  if [ $keep = 1 ]; then
    say "cluster ready in $((SECONDS - t0)) s (started ${todo[*]}; $(cl_settings_text); pids$pids; dir $RMQ_DIR)"
    cl_watch_again "$watch_pid"
  else
    say "cluster ready in $((SECONDS - t0)) s (name servers answered after ${t_ns} s; $(cl_settings_text); pids$pids; dir $RMQ_DIR)"
    [ -z "$watch_pid" ] || cl_add_watch "$watch_pid"
  fi
  echo "BROKER_ADDRS=$CL_BROKER_ADDRS"
  echo "NAMESRV_ADDR=$CL_NAMESRV_ADDR"
}

# --watch-pid on a cluster that was already running: join its watchdog, if it has one
cl_watch_again() {
  [ -n "$1" ] || return 0
  if cl_watchdog_pid >/dev/null; then cl_add_watch "$1"
  else say "started without --watch-pid: not adding a watchdog (stop it yourself)"; fi
}

# fail clean-up of cluster start: a fresh start stops everything; one that only started the
# stopped nodes kills those (never the nodes it found running, nor their watchdog)
cl_fail_start() {
  local n pid
  if [ ${#CL_STARTED[@]} = 4 ]; then cl_stop_all; return; fi
  for n in "${CL_STARTED[@]}"; do
    if pid=$(cl_pid "$n"); then kill_pid "$n" "$pid" || true; fi
    rm -f "$RMQ_DIR/$n.pid"
  done
}

cl_cmd_stop() {
  [ $# = 0 ] || { err "cluster stop: unknown argument '$1'"; exit 2; }
  take_lock
  cl_settings_load
  local n any=0
  for n in "${CLUSTER_NODES[@]}"; do cl_pid "$n" >/dev/null && any=1; done
  cl_watchdog_pid >/dev/null && any=1
  if [ $any = 0 ]; then
    rm -f "$RMQ_DIR"/{namesrv-1,namesrv-2,broker-a,broker-b,cluster-watchdog}.pid "$CL_WATCH_PIDS"
    say "cluster: not running ($RMQ_DIR)"
    return 0
  fi
  local t0=$SECONDS
  cl_stop_all
  say "cluster stopped in $((SECONDS - t0)) s"
}

# cl_state_word NAME: running | frozen | stopped
cl_state_word() {
  local pid
  if ! pid=$(cl_pid "$1"); then echo stopped
  elif pid_frozen "$pid"; then echo frozen
  else echo running; fi
}

cl_cmd_status() {
  [ $# = 0 ] || { err "cluster status: unknown argument '$1'"; exit 2; }
  cl_settings_load
  local n pid ok=0 route rc line
  for n in "${CLUSTER_NODES[@]}"; do
    if ! pid=$(cl_pid "$n"); then
      say "$n: stopped ($(cl_addr "$n"))"; ok=1; continue
    fi
    if pid_frozen "$pid"; then
      say "$n: frozen (pid $pid, $(cl_addr "$n"); SIGSTOPped: thaw-node $n)"; ok=1; continue
    fi
    line="$n: running (pid $pid, $(cl_addr "$n"))"
    if [ "$(cl_kind "$n")" = namesrv ]; then
      rc=0; route=$(ns_route "$(cl_addr "$n")") || rc=$?
      if [ $rc = 2 ]; then line+="; does not answer"; ok=1
      else
        line+="; TBW102 route lists [$(tr '\n' ' ' <<<"$route" | sed 's/ *$//')]"
        ns_lists_both "$(cl_addr "$n")" || ok=1
      fi
    fi
    say "$line"
  done
  if pid=$(cl_watchdog_pid); then say "watchdog: running (pid $pid, watching $(tr '\n' ' ' <"$CL_WATCH_PIDS" 2>/dev/null))"; fi
  return $ok
}

cl_cmd_pid() {
  cl_check_name "${1:-}"; [ $# = 1 ] || { err "cluster pid: one node name"; exit 2; }
  cl_pid "$1" || { err "$1: not running ($RMQ_DIR)"; exit 1; }
}

cl_cmd_stop_node() {
  local how=$1; shift
  cl_check_name "${1:-}"; [ $# = 1 ] || { err "cluster $how-node: one node name"; exit 2; }
  local n=$1 pid
  take_lock
  cl_settings_load
  if ! pid=$(cl_pid "$n"); then
    rm -f "$RMQ_DIR/$n.pid"
    say "$n: not running ($RMQ_DIR)"
    return 0
  fi
  if [ "$how" = kill ]; then
    kill_pid "$n" "$pid" || { err "ERROR: could not kill $n (pid $pid)"; exit 1; }
  else
    cl_stop_nodes "$n"
    ! cl_pid "$n" >/dev/null || { err "ERROR: could not stop $n (pid $pid)"; exit 1; }
  fi
  rm -f "$RMQ_DIR/$n.pid"
  # A name server drops a broker once the broker's connection closes (at once here): wait for
  # that, so that what follows does not see the old broker's route.
  if [ "$(cl_kind "$n")" = broker ]; then
    local still t0=$SECONDS
    if still=$(cl_wait_unlisted "$n" 10); then
      say "$n: no running name server lists $(cl_addr "$n") any more (after $((SECONDS - t0)) s)"
    else
      say "note: $still still list(s) $(cl_addr "$n") 10 s after $n went away"
    fi
  fi
}

cl_cmd_signal() {
  local what=$1; shift
  cl_check_name "${1:-}"; [ $# = 1 ] || { err "cluster $what-node: one node name"; exit 2; }
  local n=$1 pid i
  cl_settings_load
  pid=$(cl_pid "$n") || { err "$n: not running ($RMQ_DIR)"; exit 1; }
  if [ "$what" = freeze ]; then
    if pid_frozen "$pid"; then say "$n (pid $pid) is already frozen"; return 0; fi
    kill -STOP "$pid"
    for ((i = 0; i < 50; i++)); do pid_frozen "$pid" && { say "$n (pid $pid) frozen (SIGSTOP)"; return 0; }; sleep 0.1; done
    err "$n (pid $pid) not stopped 5 s after SIGSTOP"; exit 1
  else
    if ! pid_frozen "$pid"; then say "$n (pid $pid) is not frozen"; return 0; fi
    kill -CONT "$pid"
    for ((i = 0; i < 50; i++)); do pid_frozen "$pid" || { say "$n (pid $pid) thawed (SIGCONT)"; return 0; }; sleep 0.1; done
    err "$n (pid $pid) still stopped 5 s after SIGCONT"; exit 1
  fi
}

cl_cmd_start_node() {
  cl_check_name "${1:-}"; [ $# = 1 ] || { err "cluster start-node: one node name"; exit 2; }
  local n=$1 addr pid kind
  command -v python3 >/dev/null 2>&1 || { err "ERROR: python3 not found (needed for the readiness probe)"; exit 1; }
  take_lock
  CL_FAIL_NODE=$n
  STOP_ON_FAIL=cl_fail_node
  trap 'fail "interrupted"' INT TERM
  [ -f "$CL_SETTINGS" ] && [ -f "$(cl_conf "$n")" ] \
    || fail "no cluster conf in $RMQ_DIR (start-node restarts one node of a started cluster: use cluster start)"
  cl_settings_load
  addr=$(cl_addr "$n"); kind=$(cl_kind "$n")

  if pid=$(cl_pid "$n"); then
    ! pid_frozen "$pid" || fail "$n (pid $pid) is frozen by SIGSTOP: thaw-node $n, or stop-node $n first"
    if [ "$kind" = namesrv ]; then
      ns_answers "$addr" || fail "$n (pid $pid) runs but does not answer on $addr: stop-node $n first"
    else
      local ns
      for ns in $(cl_up namesrv); do
        ns_lists "$(cl_addr "$ns")" "$addr" || fail "$n (pid $pid) runs but $ns does not list it for TBW102: stop-node $n first"
      done
    fi
    say "$n already running in $RMQ_DIR (pid $pid on $addr)"
    echo "NODE_ADDR=$addr"
    return 0
  fi
  rm -f "$RMQ_DIR/$n.pid"
  command -v "$JAVA" >/dev/null 2>&1 || fail "java ('$JAVA') not found on PATH"
  local p
  for p in $(cl_ports "$n"); do
    if port_busy "$p"; then fail "port $p on $HOST is already in use, but $n of $RMQ_DIR does not run"; fi
  done
  ensure_lib
  if [ "$kind" = namesrv ]; then cl_start_namesrv "$n"; else cl_start_broker "$n"; fi
  trap - INT TERM
  echo "NODE_ADDR=$addr"
}

cl_start_namesrv() {
  local n=$1 addr pid pid_b logs=() t0=$SECONDS deadline=$((SECONDS + START_TIMEOUT)) t_up b missing frozen=""
  addr=$(cl_addr "$n")
  cl_launch "$n"
  pid=$(cat "$RMQ_DIR/$n.pid")
  while ! ns_answers "$addr"; do
    proc_alive "$pid" || { mapfile -t logs < <(cl_logs "$n"); exited "$n" "$pid" "${logs[@]}"; }
    [ $SECONDS -lt $deadline ] || cl_fail "$n did not answer on $addr within $START_TIMEOUT s" "$n"
    sleep 0.3
  done
  t_up=$((SECONDS - t0))
  say "$n answers on $addr after $t_up s; waiting (up to $CL_NS_REJOIN_TIMEOUT s) for the running brokers to register with it (they do every 30 s)"
  for b in "${CLUSTER_BROKERS[@]}"; do
    if pid_b=$(cl_pid "$b") && pid_frozen "$pid_b"; then frozen+=" $b"; fi
  done
  [ -z "$frozen" ] || say "note: not waiting for frozen broker(s):$frozen"
  deadline=$((SECONDS + CL_NS_REJOIN_TIMEOUT))
  while :; do
    missing=""
    for b in $(cl_up broker); do ns_lists "$addr" "$(cl_addr "$b")" || missing+=" $b"; done
    [ -n "$missing" ] || break
    proc_alive "$pid" || { mapfile -t logs < <(cl_logs "$n"); exited "$n" "$pid" "${logs[@]}"; }
    [ $SECONDS -lt $deadline ] || cl_fail "$n answers, but its TBW102 route does not list$missing $CL_NS_REJOIN_TIMEOUT s later" "$n"
    sleep 0.5
  done
  cl_check_bind "$n"
  say "$n ready in $((SECONDS - t0)) s (answered after $t_up s; route lists [$(ns_route "$addr" | tr '\n' ' ' | sed 's/ *$//')]): pid $pid on $addr"
}

cl_start_broker() {
  local n=$1 addr pid ns still stale="" t0 deadline listening=0 booted=0 missing up logs=()
  addr=$(cl_addr "$n")
  up=$(cl_up namesrv)
  [ -n "$up" ] || fail "no name server of the cluster runs (or all are frozen): start-node namesrv-1 first"
  # No process of this broker runs: a route listing its address is the previous process's (a
  # name server drops it once it notices the old connection closed). Give that 10 s to go, so
  # that the route awaited below is the new process's registration.
  if ! still=$(cl_wait_unlisted "$n" 10); then
    stale=" (note: $still still listed the previous $n when this one started)"
    say "note: $still still list(s) $addr, but no $n of $RMQ_DIR runs: starting anyway" >&2
  fi
  t0=$SECONDS; deadline=$((SECONDS + START_TIMEOUT))
  cl_launch "$n"
  pid=$(cat "$RMQ_DIR/$n.pid")
  while :; do
    # ready: this new process listens, has finished starting up ("boot success", logged after
    # its start-up registration attempt) and every running name server lists it
    [ $listening = 1 ] || { port_busy "$(cl_port "$n")" && listening=1; } || true
    [ $listening = 0 ] || [ $booted = 1 ] || { grep -q 'boot success' "$(cl_out "$n")" && booted=1; } || true
    if [ $booted = 1 ]; then
      missing=""
      up=$(cl_up namesrv)
      for ns in $up; do ns_lists "$(cl_addr "$ns")" "$addr" || missing+=" $ns"; done
      [ -z "$up" ] && missing=" (no name server runs)"
      [ -n "$missing" ] || break
    fi
    proc_alive "$pid" || { mapfile -t logs < <(cl_logs "$n"); exited "$n" "$pid" "${logs[@]}"; }
    if [ $SECONDS -ge $deadline ]; then
      local why="not accepting connections on $addr"
      [ $listening = 0 ] || why="no 'boot success' in $(cl_out "$n") (start-up not finished)"
      [ $booted = 0 ] || why="not listed for TBW102 by$missing"
      cl_fail "$n (pid $pid) not ready within $START_TIMEOUT s: $why$stale" "$n" $(cl_up namesrv)
    fi
    sleep 0.2
  done
  cl_check_bind "$n"
  say "$n ready in $((SECONDS - t0)) s: pid $pid on $addr, listed by $(echo $up)$stale"
}

cl_cmd_admin() {
  cl_settings_load
  ensure_lib
  local a has_n=0 ns="" n
  for a in "$@"; do [ "$a" = -n ] || [ "${a#--namesrvAddr}" != "$a" ] && has_n=1; done
  local extra=()
  if [ $# -gt 0 ] && [ $has_n = 0 ]; then
    for n in $(cl_up namesrv); do ns_answers "$(cl_addr "$n")" && { ns=$(cl_addr "$n"); break; }; done
    [ -n "$ns" ] || { err "cluster admin: no name server of $RMQ_DIR answers (give -n ADDR)"; exit 1; }
    extra=(-n "$ns")
  fi
  mkdir -p "$RMQ_DIR/admin"
  exec "$JAVA" "${JVM_BASE[@]}" "-Duser.home=$RMQ_DIR/admin" "-Drocketmq.home.dir=$RMQ_DIR/admin" -Xms64m -Xmx256m \
      -Drmq.logback.configurationFile=rmq.tools.logback.xml -cp "$LIB/*" "$ADMIN_CLASS" "$@" "${extra[@]}"
}

# Internal: detached watchdog. Polls the pids in cluster-watch.pids every second; once all are
# gone it stops the cluster. (`cluster stop` ends it.)
cl_cmd_watchdog() {
  unset ROCKETMQ_LOCAL_LOCKED
  echo $$ >"$RMQ_DIR/cluster-watchdog.pid"
  echo "$(date '+%F %T') cluster watchdog $$ up, watching $(tr '\n' ' ' <"$CL_WATCH_PIDS" 2>/dev/null)"
  cl_settings_load
  local p alive
  while sleep 1; do
    alive=0
    for p in $(cat "$CL_WATCH_PIDS" 2>/dev/null); do proc_alive "$p" && { alive=1; break; }; done
    [ $alive = 1 ] && continue
    take_lock   # a concurrent `cluster start --watch-pid` may have added a pid meanwhile: look again
    for p in $(cat "$CL_WATCH_PIDS" 2>/dev/null); do proc_alive "$p" && { alive=1; break; }; done
    if [ $alive = 1 ]; then flock -u 9; exec 9>&-; unset ROCKETMQ_LOCAL_LOCKED; continue; fi
    echo "$(date '+%F %T') watched pid(s) gone: stopping the cluster"
    cl_stop_all
    echo "$(date '+%F %T') cluster stopped; watchdog exits"
    exit 0
  done
}

cmd_cluster() {
  local sub=${1:-}
  [ $# = 0 ] || shift
  case "$sub" in
    start)       cl_cmd_start "$@" ;;
    stop)        cl_cmd_stop "$@" ;;
    status)      cl_cmd_status "$@" ;;
    pid)         cl_cmd_pid "$@" ;;
    stop-node)   cl_cmd_stop_node stop "$@" ;;
    kill-node)   cl_cmd_stop_node kill "$@" ;;
    start-node)  cl_cmd_start_node "$@" ;;
    freeze-node) cl_cmd_signal freeze "$@" ;;
    thaw-node)   cl_cmd_signal thaw "$@" ;;
    admin)       cl_cmd_admin "$@" ;;
    __watchdog)  cl_cmd_watchdog ;;
    *) err "cluster: unknown command '${sub}' (start, stop, status, stop-node, kill-node, start-node, freeze-node, thaw-node, pid, admin; run scripts/rocketmq-local without arguments for the usage)"; exit 2 ;;
  esac
}
