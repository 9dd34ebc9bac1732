#!/usr/bin/env python3
"""Run actix-rocketmq's benchmark tool, the Java benchmark producers and the official Go client's
benchmark (benches/go) alternately against one running broker (plus the bare pipelined sender,
benches/bare_sender.rs, on W1, W3, W4 and W6), measure each client process from outside, write
BENCHMARKS.md and benchmarks.json. Normally started by benches/compare.sh (which starts the broker
and builds).

Workloads: W1 sync, 1 sender, 128 B; W2 sync, 64 senders, 1 KiB; W3 async, 1 KiB; W4 batches of
32 x 128 B, 64 senders; W5 one-way, 64 senders, 1 KiB; W6 async, 1 KiB, auto-batching on (ours
`--auto-batch`, Java `setAutoBatch(true)`; the same --batch-max-delay-ms / --batch-max-bytes /
--total-batch-max-bytes to both, by default the Java 5.3.3 client's defaults 10 ms, 32 KiB, 32 MiB).

Java side: the official `org.apache.rocketmq.example.benchmark.Producer` (W1, W2) and
`BatchProducer` (W4); for W3 (async), W5 (one-way) and W6 (async, auto-batching)
benches/java/JavaBench.java on the same client: the official async mode floods without a bound on a
small machine (every send fails) and there is no official one-way or auto-batching tool.

Go side (--go-bin, built by compare.sh from benches/go): github.com/apache/rocketmq-client-go/v2 on
W1-W5 (SendSync, SendAsync with 1024 messages in flight at most, SendSync of 32 messages,
SendOneWay); it has no auto-batching (W6: n/a). It prints a BENCH_JSON line like ours.

Repetitions (--repeat, default 3): per workload, repetition r runs ours, bare, Java, Go in that
order when r is odd (1st, 3rd, ...) and Go, Java, bare, ours when it is even, so no client always
runs first. Reported per client: the median msgs/s over its runs and the min-max; the other
columns come from its median run (the run whose msgs/s is the median; with an even number of runs
the faster of the two middle ones). Ratios are of the medians.

W5 (one-way) is judged by what the broker stored: while a one-way run goes on, the topic's queue
max offsets are read from the broker every 50 ms (GET_TOPIC_STATS_INFO, --broker-addr), from when
the count has been still for 0.5 s before the client starts until it is still again after it exits;
"stored msgs/s" = messages stored during the run / the time from the first to the last increase of
the stored count (each end taken midway between the two polls around it). The ratio table uses the
median stored msgs/s for W5. Without --broker-addr (or when the broker cannot be asked directly,
e.g. TLS or ACL) only the count is taken, with `admin topicStatus` before and after.

Per run, from outside the client process: CPU seconds (user + system of all its threads, from
wait4's rusage when it exits) and peak RSS (VmHWM, polled). Throughput and latency come
from each tool's own output: ours prints a BENCH_JSON line, Java prints `[Complete] ... Send TPS`
(Producer and JavaBench, which also prints a JAVA_BENCH_JSON line) or per-second `Send MPS` lines
(BatchProducer, which never stops by itself); bare_sender prints a BENCH_JSON line.

Throughput is compared on the same footing for all: messages/s over the last <= 10 one-second
snapshots of the run (the Java tool's own method; our tool and the Go benchmark compute the same
`window_tps`).

Secured brokers (issue 8, run by benches/secure.sh through compare.sh --auth/--tls): --access-key/
--secret-key sign both clients' requests as the same user (ours: --access-key/--secret-key; Java:
JavaBench's AclClientRPCHook), --tls-dir DIR (scripts/rocketmq-local's tls/) makes both use TLS
with the same trust (ca.pem) and client certificate (client.pem/client.key; Java: setUseTLS(true)
and -Dtls.enable=true -Dtls.config.file=DIR/tls.properties). --java-sync-tool javabench runs W1/W2's
Java side with `JavaBench --mode sync` instead of the official Producer (whose -a true signs as a
hard-coded user). --result-json FILE writes this run's results there instead of BENCHMARKS.md; then
`compare.py secure-section --md BENCHMARKS.md --json benchmarks.json FRAGMENT...` writes (or
replaces) the "Secured clusters (issue 8)" section of BENCHMARKS.md and the "secured" key of
benchmarks.json from such fragments, leaving the rest of both files as they are. The secured runs
compare ours and Java only (compare.sh skips Go and bare there).

The generated text names no machine paths: log directories are shown as
`$ROCKETMQ_DIR/bench-logs/<time>` (or relative to the repository when they are in its target/).
"""
import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

WORKLOADS = {
    # id: (description, ours args, java class, java args, default count)
    # java class: an official benchmark class (org.apache.rocketmq.example.benchmark.*), "JavaBench"
    # (benches/java/JavaBench.java), or None (no Java tool).
    "W1": ("sync, 1 sender, 128 B", ["--mode", "sync", "-w", "1", "-s", "128"],
           "Producer", ["-w", "1", "-s", "128"], 50000),
    "W2": ("sync, 64 concurrent senders, 1 KiB", ["--mode", "sync", "-w", "64", "-s", "1024"],
           "Producer", ["-w", "64", "-s", "1024"], 300000),
    "W3": ("async, 1 KiB", ["--mode", "async", "-s", "1024"],
           "JavaBench", ["--mode", "async", "-s", "1024"], 300000),
    "W4": ("batches of 32 x 128 B, 64 senders", ["--mode", "batch", "--batch-size", "32", "-w", "64", "-s", "128"],
           "BatchProducer", ["-b", "32", "-w", "64", "-s", "128"], 2000000),
    "W5": ("one-way, 64 senders, 1 KiB", ["--mode", "oneway", "-w", "64", "-s", "1024", "--linger", "3000"],
           "JavaBench", ["--mode", "oneway", "-w", "64", "-s", "1024", "--linger", "3000"], 500000),
    # + the auto-batching settings (auto_batch_flags), the same for both
    "W6": ("async, 1 KiB, auto-batching on", ["--mode", "async", "-s", "1024", "--auto-batch"],
           "JavaBench", ["--mode", "async", "-s", "1024", "--auto-batch"], 1000000),
}
DEFAULT_WORKLOADS = "W1,W2,W3,W4,W5,W6"

# The official Go client's benchmark (benches/go/main.go), same flags as ours; None = no such send.
GO = {
    "W1": ["--mode", "sync", "-w", "1", "-s", "128"],
    "W2": ["--mode", "sync", "-w", "64", "-s", "1024"],
    "W3": ["--mode", "async", "-s", "1024"],
    "W4": ["--mode", "batch", "--batch-size", "32", "-w", "64", "-s", "128"],
    "W5": ["--mode", "oneway", "-w", "64", "-s", "1024", "--linger", "3000"],
    "W6": None,
}
GO_NO_TOOL = {"W6": "rocketmq-client-go has no auto-batching"}

# Targets (issue 12): ours/Java and ours/Go msgs/s (W5: stored msgs/s), medians.
JAVA_TARGET = 2.0
GO_TARGET = 1.5

# W6: the Java 5.3.3 client's auto-batching defaults (ProduceAccumulator: holdMs, holdSize,
# totalHoldSize), passed explicitly to both clients unless set otherwise (0 = not passed).
AUTO_BATCH_DEFAULTS = {"batch_max_delay_ms": 10, "batch_max_bytes": 32 * 1024, "total_batch_max_bytes": 32 * 1024 * 1024}

POLL_S = 0.05  # broker offset polling interval around one-way runs

# The bare pipelined sender (benches/bare_sender.rs: one connection, prebuilt frames, no actors)
# against the same broker, as the upper bound of W1, W3, W4 and W6. Its window matches ours: W1
# one request in flight (one sync sender), W3 1024 single messages in flight (our async in-flight
# budget), W4 64 batch requests in flight (our 64 senders with one batch each), W6 32 batches of
# 32 x 1 KiB in flight (1024 messages: our in-flight budget, which gathered messages count in).
# Its rate over Java's is the most any client could reach against Java on this broker.
BARE = {
    "W1": ["-s", "128", "--inflight", "1"],
    "W3": ["-s", "1024", "--inflight", "1024"],
    "W4": ["-s", "128", "--batch", "32", "--inflight", "64"],
    "W6": ["-s", "1024", "--batch", "32", "--inflight", "32"],
}
BARE_TARGET = 0.9  # the bar: ours >= 0.9x the bare sender

JAVA_OPTS = [
    "-server", "-Xms1g", "-Xmx1g", "-Xmn256m", "-XX:MetaspaceSize=128m", "-XX:MaxMetaspaceSize=320m",
    "-XX:+UseG1GC", "-XX:-OmitStackTraceInFastThrow", "-XX:+PerfDisableSharedMem",
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
    "-Drmq.logback.configurationFile=rmq.client.logback.xml",
    "-Dorg.apache.rocketmq.client.sendSmartMsg=true",
]

NA_NOT_YET = "n/a (not yet)"
CLIENT_NAMES = {"ours": "ours", "java": "Java", "go": "Go", "bare": "bare"}

# The section of BENCHMARKS.md written by `compare.py secure-section` (benches/secure.sh); a full
# compare.sh run that rewrites BENCHMARKS.md keeps it (and benchmarks.json's "secured" key).
SECURE_BEGIN = "<!-- secured-clusters: begin (benches/secure.sh) -->"
SECURE_END = "<!-- secured-clusters: end -->"
SECURE_TARGET = 1.5  # issue 8: ours/Java msgs/s >= 1.5x with auth, TLS, and both


def ours_security_flags(args):
    """Our tool's flags for a secured broker: sign as the user, TLS with the instance's CA and
    client certificate."""
    f = []
    if args.access_key:
        f += ["--access-key", args.access_key, "--secret-key", args.secret_key]
    if args.tls_dir:
        d = args.tls_dir
        f += ["--tls-ca", os.path.join(d, "ca.pem"), "--tls-cert", os.path.join(d, "client.pem"),
              "--tls-key", os.path.join(d, "client.key")]
    return f


def java_tls_opts(args):
    """JVM options of a Java client for a TLS broker (as scripts/rocketmq-local's admin): the
    client's TlsHelper reads trust + client certificate from tls.properties."""
    if not args.tls_dir:
        return []
    return ["-Dtls.enable=true", "-Dtls.test.mode.enable=false",
            f"-Dtls.config.file={os.path.join(args.tls_dir, 'tls.properties')}"]


def java_bench_security_flags(args):
    f = []
    if args.access_key:
        f += ["--access-key", args.access_key, "--secret-key", args.secret_key]
    if args.tls_dir:
        f += ["--tls"]
    return f


def java_tool(args, wid):
    """(class, flags) of the Java side of a workload: the table's, or JavaBench --mode sync for the
    sync workloads with --java-sync-tool javabench."""
    _, _, cls, jflags, _ = WORKLOADS[wid]
    if cls == "Producer" and args.java_sync_tool == "javabench":
        return "JavaBench", ["--mode", "sync"] + list(jflags)
    return cls, list(jflags)


def log(msg):
    print(f"compare: {msg}", flush=True)


def clk_tck():
    return os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime + stime of a live process (all threads), seconds; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / clk_tck()
    except (OSError, IndexError, ValueError):
        return None


def proc_hwm_mb(pid):
    """VmHWM of a live process in MB; None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        pass
    return None


def run_measured(cmd, timeout, log_path, env=None, stop_when=None):
    """Runs cmd; returns dict(rc, wall_s, cpu_s, peak_rss_mb, output, cpu_samples).

    stop_when(output_so_far, elapsed) -> True makes us SIGTERM the process (BatchProducer runs
    forever). CPU comes from wait4's rusage of the child. Peak RSS is VmHWM polled every 0.1 s
    (wait4's ru_maxrss is not usable: Linux carries the forking Python's RSS over the exec).
    """
    t0 = time.monotonic()
    out_f = open(log_path, "w+")
    p = subprocess.Popen(cmd, stdout=out_f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    samples = []  # (elapsed, cpu) every 0.5 s, for steady-state windows
    killed = None
    status, rusage = None, None
    hwm = 0.0
    tick = 0
    # Reap with wait4 only (never Popen.poll/wait): its rusage is the child's CPU.
    while True:
        time.sleep(0.1)
        tick += 1
        el = time.monotonic() - t0
        h = proc_hwm_mb(p.pid)
        if h is not None:
            hwm = max(hwm, h)
        pid, st, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            status, rusage = st, ru
            break
        if tick % 5:
            continue
        c = proc_cpu(p.pid)
        if c is not None:
            samples.append((el, c))
        if stop_when is not None:
            out_f.flush()
            with open(log_path) as f:
                text = f.read()
            if stop_when(text, el):
                killed = "stopped"
                break
        if el > timeout:
            killed = "timeout"
            break
    if rusage is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 30
        while rusage is None:
            pid, st, ru = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                status, rusage = st, ru
            elif time.monotonic() > deadline:
                os.killpg(p.pid, signal.SIGKILL)
                _, status, rusage = os.wait4(p.pid, 0)
            else:
                time.sleep(0.1)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    out_f.close()
    with open(log_path) as f:
        output = f.read()
    return {
        "rc": p.returncode,
        "killed": killed,
        "wall_s": round(wall, 3),
        "cpu_s": round(rusage.ru_utime + rusage.ru_stime, 3),
        "peak_rss_mb": round(hwm, 1),
        "output": output,
        "cpu_samples": samples,
    }


def parse_bench_json(output):
    for line in reversed(output.splitlines()):
        if line.startswith("BENCH_JSON "):
            try:
                return json.loads(line[len("BENCH_JSON "):])
            except ValueError:
                return None
    return None


COMPLETE_RE = re.compile(
    r"\[Complete\] Send Total: (\d+) \| Send TPS: (\d+) \| Max RT\(ms\): (\d+) \| Average RT\(ms\):\s*([\d.]+) "
    r"\| Send Failed: (\d+) \| Response Failed: (\d+)")
COMPLETE_SHORT_RE = re.compile(r"\[Complete\] Send Total: (\d+) Send Failed: (\d+) Response Failed: (\d+)")
LINE_RE = re.compile(
    r"Current Time: .*? \| Send TPS: (\d+) \| Max RT\(ms\): (\d+) \| Average RT\(ms\):\s*([\d.]+|NaN) "
    r"\| Send Failed: (\d+) \| Response Failed: (\d+)")
BATCH_RE = re.compile(
    r"Send TPS: (\d+) \| Send MPS: (\d+) \| Max RT\(ms\): (\d+) \| Average RT\(ms\):\s*([\d.]+) \| "
    r"Average Message RT\(ms\):\s*([\d.]+) \| Send Failed: (\d+) \| Send Message Failed: (\d+)")


def stored_messages(args):
    """Sum of the topic's queue max offsets (admin topicStatus), or None."""
    if not args.admin:
        return None
    try:
        r = subprocess.run([args.admin, "admin", "topicStatus", "-t", args.topic], capture_output=True, text=True,
                           timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    total, seen = 0, False
    for line in r.stdout.splitlines():
        f = line.split()
        # "#Broker Name  #QID  #Min Offset  #Max Offset  #Last Updated"
        if len(f) >= 4 and f[1].isdigit() and f[2].isdigit() and f[3].isdigit():
            total += int(f[3])
            seen = True
    return total if seen else None


class BrokerOffsets:
    """The topic's stored message count (sum of its queues' max offsets) read straight from the
    broker: GET_TOPIC_STATS_INFO (request code 202) over one plain TCP connection, JSON headers.
    For brokers that want TLS or signed requests it fails, and the caller falls back to
    `admin topicStatus`."""

    def __init__(self, addr, topic):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.topic = topic
        self.opaque = 0

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise OSError("broker closed the connection")
            buf += chunk
        return buf

    def count(self):
        self.opaque += 1
        header = json.dumps({"code": 202, "language": "PYTHON", "version": 0, "opaque": self.opaque, "flag": 0,
                             "extFields": {"topic": self.topic}}).encode()
        self.sock.sendall(struct.pack(">ii", 4 + len(header), len(header)) + header)
        (length,) = struct.unpack(">i", self._read(4))
        data = self._read(length)
        (mark,) = struct.unpack(">i", data[:4])
        hlen = mark & 0xFFFFFF
        if mark >> 24 != 0:
            raise OSError("the broker answered with a non-JSON header")
        head = json.loads(data[4:4 + hlen])
        if head.get("code") != 0:
            raise OSError(f"GET_TOPIC_STATS_INFO: code {head.get('code')} {head.get('remark', '')}")
        offsets = re.findall(rb'"maxOffset":(\d+)', data[4 + hlen:])
        if not offsets:
            raise OSError("GET_TOPIC_STATS_INFO: no queue offsets in the answer")
        return sum(int(x) for x in offsets)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class StoredPoller:
    """Polls BrokerOffsets.count every POLL_S s in a thread while a one-way run goes on."""

    def __init__(self, offsets):
        self.offsets = offsets
        self.samples = []  # (monotonic time, stored count)
        self.error = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        self.samples.append((time.monotonic(), self.offsets.count()))

    def _run(self):
        while not self._stop.is_set():
            try:
                self.sample()
            except (OSError, ValueError) as e:
                self.error = str(e)
                return
            self._stop.wait(POLL_S)

    def settle(self, quiet=0.5, timeout=20.0):
        """Samples every 0.1 s until the count has not changed for `quiet` s (the broker dispatches
        stored messages to its queues asynchronously; after a fast run that can lag by tens of
        thousands of messages), at most `timeout` s."""
        deadline = time.monotonic() + timeout
        self.sample()
        since = self.samples[-1][0]
        while time.monotonic() < deadline:
            time.sleep(0.1)
            prev = self.samples[-1][1]
            self.sample()
            if self.samples[-1][1] != prev:
                since = self.samples[-1][0]
            elif self.samples[-1][0] - since >= quiet:
                break

    def start(self):
        self.settle()
        self.samples = self.samples[-1:]  # the count before the run
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()


def storing_window(samples):
    """(stored, start, end) from (time, count) samples: the messages stored between the first and
    the last sample, and the times of the first and the last increase of the count, each taken
    midway between the two samples around it (the polling interval is the uncertainty)."""
    if len(samples) < 2:
        return None, None, None
    before, after = samples[0][1], samples[-1][1]
    stored = after - before
    if stored <= 0:
        return max(stored, 0), None, None
    i = next(k for k, (_, c) in enumerate(samples) if c > before)
    j = next(k for k, (_, c) in enumerate(samples) if c >= after)
    start = (samples[i - 1][0] + samples[i][0]) / 2.0
    end = (samples[j - 1][0] + samples[j][0]) / 2.0
    return stored, start, max(end, start + POLL_S)


def run_counting_stored(args, cmd, log_path, oneway, **kw):
    """run_measured; around a one-way run also what the broker stored meanwhile (m["stored"]) and,
    when the broker can be polled directly, the storing window and rate (m["stored_window_s"],
    m["stored_per_s"])."""
    if not oneway:
        return run_measured(cmd, args.run_timeout, log_path, **kw)
    poller = None
    if args.broker_addr:
        try:
            poller = StoredPoller(BrokerOffsets(args.broker_addr, args.topic))
            poller.start()
        except (OSError, ValueError) as e:
            log(f"cannot read the topic's offsets from {args.broker_addr} ({e}); counting with admin topicStatus")
            if poller is not None:
                poller.offsets.close()
            poller = None
    before = stored_messages(args) if poller is None else None
    t_start = time.monotonic()
    m = run_measured(cmd, args.run_timeout, log_path, **kw)
    t_exit = time.monotonic()
    time.sleep(1.0)
    if poller is not None:
        poller.stop()
        try:
            # until the broker's queues stop growing (its dispatch may lag behind the run)
            poller.settle()
        except (OSError, ValueError) as e:
            poller.error = poller.error or str(e)
        poller.offsets.close()
        stored = start = end = None
        if poller.error:
            log(f"polling the broker's offsets failed: {poller.error}; nothing counted for this run")
            m["stored_error"] = poller.error
        else:
            stored, start, end = storing_window(poller.samples)
        if stored is not None:
            m["stored"] = stored
        if start is not None:
            m["stored_window_s"] = round(end - start, 3)
            m["stored_per_s"] = round(stored / (end - start), 1)
            # when the storing began after the process started, and ended after it exited
            m["stored_from_s"] = round(start - t_start, 3)
            m["stored_until_exit_s"] = round(end - t_exit, 3)
    elif before is not None:
        after = stored_messages(args)
        if after is not None:
            m["stored"] = after - before
    return m


def add_stored(res, m, handed, to_what):
    """Copies a one-way run's stored count (and rate) into its result, with the note."""
    if "stored" not in m:
        return
    res["stored_by_broker"] = m["stored"]
    for k in ("stored_window_s", "stored_per_s", "stored_from_s", "stored_until_exit_s"):
        if k in m:
            res[k] = m[k]
    rate = (f", {m['stored_per_s']:,.0f} stored msgs/s over {m['stored_window_s']:.2f} s of storing"
            if "stored_per_s" in m else "")
    res["note"] = (f"one-way: {handed:,} messages handed to {to_what}, {m['stored']:,} stored by the broker{rate} "
                   f"(a one-way request gets no answer; a busy broker drops it); msgs/s counts hand-offs")


def rep_tag(args):
    """Log-name suffix of the current repetition (-r1, -r2, ...) when there are several."""
    return f"-r{args.rep + 1}" if getattr(args, "repeat", 1) > 1 and getattr(args, "rep", None) is not None else ""


def first_errors(output):
    """The tools' `first error: ...` lines (ours prints one per kind, JavaBench the first)."""
    return [l[len("first error: "):].strip() for l in output.splitlines() if l.startswith("first error: ")][:3]


def auto_batch_flags(args):
    """The auto-batching settings of W6, the same flags for ours and JavaBench (0 = not passed:
    the client's own default)."""
    f = []
    for flag, key in (("--batch-max-delay-ms", "batch_max_delay_ms"), ("--batch-max-bytes", "batch_max_bytes"),
                      ("--total-batch-max-bytes", "total_batch_max_bytes")):
        v = getattr(args, key)
        if v:
            f += [flag, str(v)]
    return f


def workload_extra(args, wid):
    """Flags every client of an async workload gets on top of the table's: the in-flight budget
    (W3, W6) and the auto-batching settings (W6)."""
    f = []
    if wid in ("W3", "W6") and args.async_inflight:
        f += ["--inflight", str(args.async_inflight)]
    if wid == "W6":
        f += auto_batch_flags(args)
    return f


def usage_error(output):
    """The first line of a command-line parser's complaint (clap: `error: ...`), or ""."""
    for line in output.splitlines():
        if line.startswith("error:"):
            return line.strip()
    return ""


def json_tool_run(args, who, wid, cmd, count, log_dir):
    """A run of a tool that prints a BENCH_JSON line (ours, the Go benchmark)."""
    log(f"{wid} {who}: {' '.join(cmd[1:])}")
    m = run_counting_stored(args, cmd, os.path.join(log_dir, f"{wid}-{who}{rep_tag(args)}.log"), "oneway" in cmd)
    j = parse_bench_json(m["output"])
    res = {"client": who, "cmd": cmd, "rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
           "peak_rss_mb": m["peak_rss_mb"], "messages": count}
    if first_errors(m["output"]):
        res["first_errors"] = first_errors(m["output"])
    if j is None:
        if who == "ours" and m["rc"] == 2:
            # exit status 2 without a result: the tool refused the flags (a send it does not have yet)
            why = usage_error(m["output"])
            res.update(status="not_available",
                       note=f"our tool refused the workload's flags (exit 2{': ' + why if why else ''})")
            return res
        res.update(status="error", error=f"no BENCH_JSON (exit {m['rc']})")
        return res
    res["tool"] = j
    # The tool reads its own VmHWM at the very end; the poll may miss the last 0.1 s.
    res["peak_rss_mb"] = max(res["peak_rss_mb"] or 0.0, j.get("peak_rss_mb") or 0.0)
    if j.get("status") == "not_available" or (who == "ours" and m["rc"] == 2):
        res["status"] = "not_available"
        return res
    msgs = j.get("messages", 0)
    add_stored(res, m, msgs, "the connection" if who == "ours" else "SendOneWay")
    res.update(
        status="ok" if msgs > 0 else "error",
        messages=msgs,
        msgs_per_s=j.get("window_tps") or j.get("msgs_per_s"),
        msgs_per_s_total=j.get("msgs_per_s"),
        elapsed_s=j.get("elapsed_s"),
        avg_rt_ms=j.get("avg_rt_ms"), p50_ms=j.get("p50_ms"), p99_ms=j.get("p99_ms"), max_rt_ms=j.get("max_rt_ms"),
        failed=j.get("send_failed", 0) + j.get("response_failed", 0),
        cpu_ms_per_1000=round(m["cpu_s"] * 1000.0 / (msgs / 1000.0), 3) if msgs else None,
    )
    return res


def ours_run(args, wid, count, log_dir):
    flags = WORKLOADS[wid][1]
    cmd = ([args.ours_bin, "-n", args.namesrv, "-t", args.topic, "-q", str(count), "--report-interval", "1000"]
           + flags + workload_extra(args, wid) + ours_security_flags(args))
    return json_tool_run(args, "ours", wid, cmd, count, log_dir)


def go_run(args, wid, count, log_dir):
    """The official Go client (benches/go), where it has the workload's kind of send."""
    flags = GO.get(wid)
    if flags is None:
        return {"client": "go", "status": "no_tool", "note": GO_NO_TOOL.get(wid, "no Go tool for this workload")}
    cmd = ([args.go_bin, "-n", args.namesrv, "-t", args.topic, "-q", str(count), "--report-interval", "1000"]
           + flags + workload_extra(args, wid))
    return json_tool_run(args, "go", wid, cmd, count, log_dir)


def java_cmd(args, cls, tail):
    """The java command line for an official benchmark class or JavaBench."""
    if cls == "JavaBench":
        main, cp = "JavaBench", f"{args.java_cp}:{args.java_bench_dir}"
        tail = tail + java_bench_security_flags(args)
    else:
        main, cp = f"org.apache.rocketmq.example.benchmark.{cls}", args.java_cp
    return main, ([args.java] + JAVA_OPTS + java_tls_opts(args) + [f"-Duser.home={args.java_home_dir}", "-cp", cp, main]
                  + tail)


def parse_java_bench_json(output):
    for line in reversed(output.splitlines()):
        if line.startswith("JAVA_BENCH_JSON "):
            try:
                return json.loads(line[len("JAVA_BENCH_JSON "):])
            except ValueError:
                return None
    return None


def java_run(args, wid, count, log_dir):
    cls, jflags = java_tool(args, wid)
    if cls is None:
        return {"client": "java", "status": "no_tool", "note": "no Java tool for this workload"}
    if cls == "JavaBench" and not args.java_bench_dir:
        return {"client": "java", "status": "no_tool", "note": "JavaBench not built (no --java-bench-dir)"}
    if cls != "JavaBench" and args.access_key:
        return {"client": "java", "status": "no_tool",
                "note": f"the official {cls} cannot sign as {args.access_key} (use --java-sync-tool javabench)"}
    if cls == "JavaBench":
        jflags += workload_extra(args, wid)
    main, cmd = java_cmd(args, cls, ["-n", args.namesrv, "-t", args.topic, "-ri", "1000"] + jflags)
    # The Java Producer's async mode (-y true) cannot be run with -q: its sender thread only queues
    # the sends, and main prints [Complete] and shuts the producer down before the callbacks come
    # (it reports 0 sent). BatchProducer has no message limit at all. Both are therefore run
    # without a limit, for --java-batch-seconds after their first report line (they report once
    # they have 10 one-second snapshots), and read from their last report.
    forever = cls == "BatchProducer" or "-y" in jflags
    stop_when = None
    if not forever:
        cmd += ["-q", str(count)]
    else:
        first = {}
        marker = "Send MPS" if cls == "BatchProducer" else "Current Time:"

        def stop_when(text, el):
            if marker in text and "t" not in first:
                first["t"] = el
            return "t" in first and el - first["t"] >= args.java_batch_seconds
    log(f"{wid} java: {main} {' '.join(cmd[cmd.index(main) + 1:])}")
    m = run_counting_stored(args, cmd, os.path.join(log_dir, f"{wid}-java{rep_tag(args)}.log"), "oneway" in jflags,
                            stop_when=stop_when)
    res = {"client": "java", "cmd": cmd, "rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
           "peak_rss_mb": m["peak_rss_mb"], "class": cls}
    out = m["output"]
    if first_errors(out):
        res["first_errors"] = first_errors(out)
    if not forever:
        mc = COMPLETE_RE.search(out)
        ms = COMPLETE_SHORT_RE.search(out)
        if mc:
            total, tps, max_rt, avg_rt, sf, rf = mc.groups()
            res.update(status="ok", messages=int(total), msgs_per_s=float(tps), avg_rt_ms=float(avg_rt),
                       max_rt_ms=float(max_rt), failed=int(sf) + int(rf))
        elif ms:
            total, sf, rf = ms.groups()
            res.update(status="ok", messages=int(total), msgs_per_s=None, failed=int(sf) + int(rf),
                       note="run too short for the Java tool's TPS window")
        else:
            res.update(status="error", error=f"no [Complete] line (exit {m['rc']}, see log)")
            return res
        ok_msgs = res["messages"] - res.get("failed", 0)
        res["cpu_ms_per_1000"] = round(m["cpu_s"] * 1000.0 / (ok_msgs / 1000.0), 3) if ok_msgs > 0 else None
        if cls == "JavaBench":
            jb = parse_java_bench_json(out)
            if jb is not None:
                res["tool"] = jb
                res["msgs_per_s_total"] = jb.get("msgs_per_s")
                res["elapsed_s"] = jb.get("elapsed_s")
                if res.get("msgs_per_s") is None:
                    res["msgs_per_s"] = jb.get("window_tps")
            if "did not return within" in out:
                res["shutdown_timed_out"] = True
            if "stored" in m:
                add_stored(res, m, ok_msgs, "sendOneway")
                if res.get("shutdown_timed_out"):
                    res["note"] += ("; producer.shutdown() did not return within 10 s (the client's netty event "
                                    "loop was blocked in invokeOnewayImpl waiting for one-way permits), so the "
                                    "process exited without it")
        if ok_msgs <= 0:
            res["status"] = "error"
            res["error"] = f"no send succeeded ({res.get('failed', 0):,} failed, see the log)"
    elif cls == "Producer":
        lines = LINE_RE.findall(out)
        if not lines:
            res.update(status="error", error=f"no report line (exit {m['rc']}, killed={m['killed']})")
            return res
        tps, max_rt, avg_rt, sf, rf = lines[-1]
        res.update(status="ok", msgs_per_s=float(tps), avg_rt_ms=None if avg_rt == "NaN" else float(avg_rt),
                   max_rt_ms=float(max_rt), failed=int(sf) + int(rf), messages=None)
        steady_cpu(res, m, float(tps))
        if float(tps) == 0:
            res["note"] = (f"no send succeeded in its last report window ({res['failed']:,} failed sends so far; "
                           "see the log)")
    else:
        lines = BATCH_RE.findall(out)
        if not lines:
            res.update(status="error", error=f"no 'Send MPS' line (exit {m['rc']}, killed={m['killed']})")
            return res
        tps, mps, max_rt, avg_rt, avg_msg_rt, sf, smf = lines[-1]
        res.update(status="ok", msgs_per_s=float(mps), requests_per_s=float(tps), avg_rt_ms=float(avg_rt),
                   max_rt_ms=float(max_rt), failed=int(smf))
        steady_cpu(res, m, float(mps))
        res["messages"] = None
    return res


def bare_run(args, wid, count, log_dir):
    """benches/bare_sender.rs with the window of BARE[wid]; its numbers are over the whole run
    (messages / time from the first write to the last reply), CPU and RSS from outside."""
    cmd = [args.bare_bin, "--namesrv", args.namesrv, "-t", args.topic, "-n", str(count)] + BARE[wid]
    if wid == "W3" and args.async_inflight:
        cmd[cmd.index("--inflight") + 1] = str(args.async_inflight)
    log(f"{wid} bare: {' '.join(cmd[1:])}")
    m = run_measured(cmd, args.run_timeout, os.path.join(log_dir, f"{wid}-bare{rep_tag(args)}.log"))
    res = {"client": "bare", "cmd": cmd, "rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
           "peak_rss_mb": m["peak_rss_mb"]}
    j = parse_bench_json(m["output"])
    if j is None:
        res.update(status="error", error=f"no BENCH_JSON (exit {m['rc']})")
        return res
    res["tool"] = j
    res["peak_rss_mb"] = max(res["peak_rss_mb"] or 0.0, j.get("peak_rss_mb") or 0.0)
    ok = j.get("ok", 0)
    res.update(status="ok" if ok > 0 else "error", messages=ok, msgs_per_s=j.get("msgs_per_s"),
               msgs_per_s_total=j.get("msgs_per_s"), p50_ms=j.get("p50_ms"), p99_ms=j.get("p99_ms"),
               max_rt_ms=j.get("max_ms"), inflight=j.get("inflight"),
               failed=j.get("failed_requests", 0) * max(j.get("batch") or 1, 1),
               cpu_ms_per_1000=round(m["cpu_s"] * 1000.0 / (ok / 1000.0), 3) if ok else None)
    return res


def steady_cpu(res, m, rate):
    """CPU per 1000 messages over the steady window a run-forever tool's last line describes (its
    last 10 s), from the 0.5-s CPU samples; JVM start-up is outside that window."""
    s = m["cpu_samples"]
    if len(s) >= 2 and rate > 0:
        end_t, end_c = s[-1]
        start = min(s, key=lambda x: abs(x[0] - (end_t - 10.0)))
        dt, dc = end_t - start[0], end_c - start[1]
        if dt > 1.0:
            res["cpu_net_ms_per_1000"] = round(dc * 1000.0 / (rate * dt / 1000.0), 3)
    res["note"] = ("no message limit: stopped after its first reports; msgs/s and RT from its last 10-s report, "
                   "CPU per message over the same steady window (start-up excluded, so only the 'net' column)")


def baselines(args):
    """CPU of a 1-message run of each client: process start-up, producer start/shutdown, exit."""
    base = {}
    cmd = ([args.ours_bin, "-n", args.namesrv, "-t", args.topic, "-q", "1", "--mode", "sync", "-w", "1"]
           + ours_security_flags(args))
    m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-ours.log"))
    base["ours"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], "rc": m["rc"]}
    if any(java_tool(args, w)[0] in ("Producer", "BatchProducer") for w in args.workloads):
        _, cmd = java_cmd(args, "Producer", ["-n", args.namesrv, "-t", args.topic, "-w", "1", "-q", "1"])
        m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-java.log"))
        base["java"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], "rc": m["rc"]}
    if args.java_bench_dir:
        _, cmd = java_cmd(args, "JavaBench", ["-n", args.namesrv, "-t", args.topic, "--mode", "async", "-q", "1"])
        m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-java-bench.log"))
        base["java_bench"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"],
                              "rc": m["rc"]}
    if args.go_bin and any(GO.get(w) for w in args.workloads):
        cmd = [args.go_bin, "-n", args.namesrv, "-t", args.topic, "-q", "1", "--mode", "sync", "-w", "1"]
        m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-go.log"))
        base["go"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], "rc": m["rc"]}
    for who, b in base.items():
        log(f"baseline {who} (1 message): CPU {b['cpu_s']:.2f} s, wall {b['wall_s']:.1f} s, RSS {b['peak_rss_mb']} MB")
    return base


def add_net_cpu(res, base):
    """CPU per 1000 messages with the client's 1-message baseline subtracted."""
    if res.get("status") != "ok" or "cpu_net_ms_per_1000" in res or not base:
        return
    msgs = res.get("messages")
    if msgs and res.get("failed"):
        msgs -= res["failed"]
    if msgs and msgs > 1:
        res["cpu_net_ms_per_1000"] = round(max(res["cpu_s"] - base["cpu_s"], 0.0) * 1000.0 / ((msgs - 1) / 1000.0), 3)


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return f"{v:,.{nd}f}"


def cell(res, key, nd=1):
    st = res.get("status")
    if st == "not_available":
        return NA_NOT_YET
    if st == "no_tool":
        return "n/a (no tool)"
    if st != "ok":
        return "error"
    return fmt(res.get(key), nd)


def ratio(a, b, key):
    if a.get("status") != "ok" or b.get("status") != "ok" or not a.get("msgs_per_s") or not b.get("msgs_per_s"):
        return "n/a"
    x, y = a.get(key), b.get(key)
    if not x or not y:
        return "n/a"
    return f"{x / y:.2f}x"


def median_run(runs):
    ok = [r for r in runs if r.get("status") == "ok" and r.get("msgs_per_s")]
    if not ok:
        return runs[0]
    ok.sort(key=lambda r: r["msgs_per_s"])
    return ok[len(ok) // 2]


def spread(runs, key="msgs_per_s"):
    """{median, min, max, n} of `key` over the successful runs, or None."""
    vals = [r[key] for r in runs if r.get("status") == "ok" and r.get(key)]
    if not vals:
        return None
    return {"median": round(statistics.median(vals), 1), "min": min(vals), "max": max(vals), "n": len(vals)}


def versions(args):
    def sh(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return (r.stdout.strip() + "\n" + r.stderr.strip()).strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    java_v = sh([args.java, "-version"]).splitlines()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
        "rustc": sh(["rustc", "--version"]), "java": java_v[0] if java_v else "?",
        "rocketmq_broker": args.rocketmq_version, "java_client": f"rocketmq-client {args.rocketmq_version}",
        "java_benchmark": args.example_jar_desc,
    }


def pct(a, b):
    return f"{100.0 * a / b:.0f} %" if a is not None and b else "n/a"


def shown_log_dir(path):
    """A log directory as BENCHMARKS.md names it: relative to the repository when it is in a
    target/rocketmq-bench* dir, else `$ROCKETMQ_DIR/bench-logs/<time>`; never a machine path."""
    m = re.search(r"(?:^|/)(target/rocketmq-bench[^/]*/bench-logs/[^/]+)/?$", path or "")
    if m:
        return m.group(1)
    return f"$ROCKETMQ_DIR/bench-logs/{os.path.basename(os.path.normpath(path or '?'))}"


def scrub_paths(text):
    """Machine paths of log directories in an older generated text, as shown_log_dir shows them."""
    return re.sub(r"/[^\s`'\",]*/(target/rocketmq-bench[^/\s`'\",]*/bench-logs/[^/\s`'\",]+)", r"\1", text)


def client_label(who, res):
    if who == "java":
        return "Java (JavaBench)" if res.get("class") == "JavaBench" else "Java"
    return CLIENT_NAMES[who]


def judged_key(wid):
    """What a workload's targets are judged by: stored msgs/s for one-way (W5), else msgs/s."""
    return "stored_per_s" if wid == "W5" else "msgs_per_s"


def spread_cell(runs, res, key, nd=0):
    """median (min-max) of `key` over the runs; the status text when there is no number."""
    sp = spread(runs, key)
    if sp is None:
        return cell(res, key, nd) if res.get("status") != "ok" else "n/a"
    t = fmt(sp["median"], nd)
    if sp["n"] > 1:
        t += f" ({fmt(sp['min'], nd)}-{fmt(sp['max'], nd)})"
    return t


def median_ratio(a_runs, b_runs, key):
    sa, sb = spread(a_runs, key), spread(b_runs, key)
    if not sa or not sb or not sb["median"]:
        return None
    return sa["median"] / sb["median"]


def per_rep_ratios(a_runs, b_runs, key):
    """The ratio within each repetition (the i-th runs of both clients ran in the same one)."""
    out = []
    for a, b in zip(a_runs, b_runs):
        if a.get("status") == "ok" and b.get("status") == "ok" and a.get(key) and b.get(key):
            out.append(a[key] / b[key])
    return out


def write_reports(args, results, ver, base):
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    has_go = bool(args.go_bin)
    whos = ("ours", "java", "go") if has_go else ("ours", "java")
    base_names = {"ours": "ours", "java": "Java Producer", "java_bench": "JavaBench", "go": "Go"}
    base_text = ", ".join(f"{base_names.get(w, w)} {b['cpu_s']:.2f} CPU s" for w, b in base.items()) \
        if base else "no baseline run"
    batch_settings = {k: getattr(args, k) or None for k in AUTO_BATCH_DEFAULTS}
    data = {"date": date, "machine": ver, "baselines": base, "namesrv": args.namesrv, "topic": args.topic,
            "counts": {w: args.count_for(w) for w in args.workloads}, "repeat": args.repeat,
            "bare_target": BARE_TARGET, "java_target": JAVA_TARGET, "go_target": GO_TARGET,
            "auto_batch": batch_settings, "async_inflight": args.async_inflight or 1024,
            "go_client": args.go_desc if has_go else None,
            "definitions": {
                "msgs_per_s": "messages per second over the last <= 10 one-second snapshots of a run (window_tps)",
                "median": "median over the runs of a client; the other numbers of a client come from its median run",
                "stored_per_s": "W5: messages the broker stored during the run (sum of the topic's queue max offsets, "
                                f"polled every {POLL_S * 1000:.0f} ms) / time from the first to the last increase",
            },
            "workloads": []}
    rows, targets, res_ratios, bare_rows, stored_rows = [], [], [], [], []
    for wid in args.workloads:
        r = results[wid]
        runs = {w: r.get(f"{w}_runs", []) for w in whos}
        med = {w: r.get(w, {"status": "no_tool"}) for w in whos}
        bare = r.get("bare")
        entry = {"id": wid, "description": WORKLOADS[wid][0], "judged_by": judged_key(wid)}
        for w in whos:
            entry[w] = med[w]
            entry[f"{w}_runs"] = runs[w]
        entry["summary"] = {w: {k: spread(runs[w], k) for k in ("msgs_per_s", "stored_per_s") if spread(runs[w], k)}
                            for w in whos}
        if bare is not None:
            entry.update(bare=bare, bare_runs=r["bare_runs"])
        data["workloads"].append(entry)

        # main table: one row per client
        desc = f"{wid} {WORKLOADS[wid][0]}" + (" (msgs/s = hand-offs)" if wid == "W5" else "")
        for w in whos:
            res = med[w]
            rows.append(f"| {desc} | {client_label(w, res)} | {spread_cell(runs[w], res, 'msgs_per_s')} | "
                        f"{cell(res, 'avg_rt_ms', 3)} | {cell(res, 'p50_ms', 3)} | {cell(res, 'p99_ms', 3)} | "
                        f"{cell(res, 'cpu_ms_per_1000', 1)} | {cell(res, 'cpu_net_ms_per_1000', 1)} | "
                        f"{cell(res, 'peak_rss_mb', 1)} |")
            desc = ""

        # targets: ratios of the medians of what the workload is judged by
        key = judged_key(wid)
        judged = "stored msgs/s" if key == "stored_per_s" else "msgs/s"
        tcells = [f"{wid}", judged] + [spread_cell(runs[w], med[w], key) if runs[w] or w == "ours" else "n/a"
                                        for w in whos]
        for other, target in (("java", JAVA_TARGET), ("go", GO_TARGET)):
            if other not in whos:
                continue
            x = median_ratio(runs["ours"], runs[other], key)
            reps = per_rep_ratios(runs["ours"], runs[other], key)
            entry[f"ours_over_{other}"] = round(x, 3) if x is not None else None
            entry[f"ours_over_{other}_runs"] = [round(v, 3) for v in reps]
            if x is None:
                tcells += ["n/a", "n/a", "n/a"]
            else:
                tcells += [f"{x:.2f}x", "yes" if x >= target else "**no**",
                           " / ".join(f"{v:.2f}" for v in reps) if reps else "n/a"]
        targets.append("| " + " | ".join(tcells) + " |")

        # client resources, of the median runs
        rcells = [wid]
        for other in whos[1:]:
            rcells += [ratio(med["ours"], med[other], "cpu_ms_per_1000"), ratio(med["ours"], med[other], "cpu_net_ms_per_1000"),
                       ratio(med["ours"], med[other], "peak_rss_mb")]
        res_ratios.append("| " + " | ".join(rcells) + " |")

        ours = med["ours"]
        if bare is not None:
            rb = "n/a"
            met = "n/a"
            if ours.get("status") == "ok" and bare.get("status") == "ok" and ours.get("msgs_per_s_total") \
                    and bare.get("msgs_per_s_total"):
                x = ours["msgs_per_s_total"] / bare["msgs_per_s_total"]
                entry["ours_over_bare"] = round(x, 3)
                rb = f"{x:.2f}x"
                # each repetition's pair (bare ran right after/before ours in the same repetition)
                pairs = per_rep_ratios(r["ours_runs"], r["bare_runs"], "msgs_per_s_total")
                entry["ours_over_bare_runs"] = [round(p, 3) for p in pairs]
                if len(pairs) > 1:
                    rb += f" (runs {min(pairs):.2f}-{max(pairs):.2f}x)"
                met = "yes" if x >= BARE_TARGET else "**no**"
            # The ceiling of ours/Java: what the bare sender did against Java's rate of the main table.
            java = med.get("java")
            ceiling = "n/a"
            if java and java.get("status") == "ok" and java.get("msgs_per_s") and bare.get("msgs_per_s_total"):
                entry["bare_over_java"] = round(bare["msgs_per_s_total"] / java["msgs_per_s"], 3)
                ceiling = f"{entry['bare_over_java']:.2f}x"
            bare_rows.append(
                f"| {wid} {WORKLOADS[wid][0]} | {bare.get('inflight') or '?'} | {cell(ours, 'msgs_per_s_total', 0)} | "
                f"{cell(bare, 'msgs_per_s_total', 0)} | {rb} | {met} | {ceiling} | {cell(ours, 'p50_ms', 3)} / {cell(ours, 'p99_ms', 3)} | "
                f"{cell(bare, 'p50_ms', 3)} / {cell(bare, 'p99_ms', 3)} | {cell(ours, 'cpu_ms_per_1000', 2)} | "
                f"{cell(bare, 'cpu_ms_per_1000', 2)} |")
        for w in whos:
            counted = [x for x in runs[w] if "stored_by_broker" in x]
            if not counted:
                continue
            # the run with the median stored msgs/s (or, without rates, the median run)
            rated = sorted((x for x in counted if x.get("stored_per_s")), key=lambda x: x["stored_per_s"])
            res = rated[len(rated) // 2] if rated else med[w]
            handed = res.get("messages")
            if w == "java" and handed is not None:
                handed -= res.get("failed", 0)
            window = f"{res['stored_window_s']:.2f}" if res.get("stored_window_s") else "n/a"
            stored_rows.append(f"| {wid} | {client_label(w, res)} | {fmt(handed, 0)} | {fmt(res.get('stored_by_broker'), 0)} | "
                               f"{pct(res.get('stored_by_broker'), handed)} | {window} | "
                               f"{spread_cell(runs[w], res, 'stored_per_s')} |")
    notes = []
    for wid in args.workloads:
        for who in whos + ("bare",):
            res = results[wid].get(who)
            if res is None:
                continue
            if res.get("note"):
                notes.append(f"* {wid} {client_label(who, res)}: {res['note']}.")
            if res.get("error"):
                notes.append(f"* {wid} {client_label(who, res)}: {res['error']}.")
            if res.get("status") == "ok" and res.get("failed") and "failed sends" not in res.get("note", ""):
                notes.append(f"* {wid} {client_label(who, res)}: {res['failed']:,} failed sends.")
            # the other runs' failures (the median run's are above)
            for k, run in enumerate(results[wid].get(f"{who}_runs", []), 1):
                if run is res:
                    continue
                if run.get("status") == "error":
                    notes.append(f"* {wid} {client_label(who, run)}, run {k}: {run.get('error') or 'error'}.")
                elif run.get("status") == "ok" and run.get("failed"):
                    notes.append(f"* {wid} {client_label(who, run)}, run {k}: {run['failed']:,} failed sends.")
    inflight_text = f"`--inflight {args.async_inflight}`" if args.async_inflight else "the crate default, 1024 messages"
    java_tools_text = ("(W4) and `benches/java/JavaBench.java` on the same classpath (W1, W2, W3, W5, W6)"
                       if args.java_sync_tool == "javabench" else
                       "(W1, W2, W4) and `benches/java/JavaBench.java` on the same classpath (W3, W5, W6)")
    sync_tool_text = ("`JavaBench --mode sync` (`-w` threads calling `send(msg)`, as the official Producer's sync loop)"
                      if args.java_sync_tool == "javabench" else "`org.apache.rocketmq.example.benchmark.Producer`")
    bare_inflight = args.async_inflight or 1024
    bare_md = bare_bullet = ""
    if bare_rows:
        bare_bullet = (f"* ours/bare: `bare_sender` ran right after ours (right before it in reversed repetitions) on\n"
                       f"  W1, W3, W4 and W6 with a window like ours (W1 one request in flight, our one sync sender; W3 "
                       f"{bare_inflight} single 1 KiB messages in flight, our in-flight budget;\n  W4 64 requests of "
                       f"32 x 128 B, our 64 batch senders; W6 32 requests of 32 x 1 KiB, the {bare_inflight} messages "
                       f"our budget lets gather and fly) and the same message counts; the table shows the median runs.\n"
                       f"  bare/Java divides the bare sender's rate by Java's msgs/s of the main table: the most any client "
                       f"could reach against Java here, the ceiling of ours/Java.\n")
        bare_md = f"""
Against the bare pipelined sender (`benches/bare_sender.rs`: one connection, prebuilt frames, no
actors; the upper bound for a client on this machine), run next to ours against the same broker.
Both rates are over the whole run (all messages / time from the first send to the last reply), not the
10-s window above, because the bare sender reports only that. Target: ours >= {BARE_TARGET}x bare.

| Workload | bare window (requests in flight) | ours msgs/s | bare msgs/s | ours/bare | >= {BARE_TARGET}x | bare/Java | ours p50 / p99 (ms) | bare p50 / p99 (ms) | ours CPU ms / 1000 | bare CPU ms / 1000 |
|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|---:|
{chr(10).join(bare_rows)}
"""
    stored_md = ""
    if stored_rows:
        stored_md = f"""
One-way sends get no answer, so the msgs/s of the main table count hand-offs to the client library.
What the broker stored (sum of the topic's queue max offsets, read from the broker every
{POLL_S * 1000:.0f} ms during the run; counts and storing time of the run with the median stored msgs/s):

| Workload | Client | messages handed off | stored by the broker | stored | storing time (s) | stored msgs/s median (min-max) |
|---|---|---:|---:|---:|---:|---:|
{chr(10).join(stored_rows)}
"""
    t_head = "| Workload | judged by | ours | Java |" + (" Go |" if has_go else "") \
        + f" ours/Java | >= {JAVA_TARGET}x | ours/Java per repetition |" \
        + (f" ours/Go | >= {GO_TARGET}x | ours/Go per repetition |" if has_go else "")
    t_sep = "|---|---|---:|---:|" + ("---:|" if has_go else "") + "---:|:-:|---:|" + ("---:|:-:|---:|" if has_go else "")
    res_head = "| Workload | CPU per msg ours/Java | same, net of start-up | RSS ours/Java |"
    res_sep = "|---|---:|---:|---:|"
    if has_go:
        res_head += " CPU per msg ours/Go | same, net of start-up | RSS ours/Go |"
        res_sep += "---:|---:|---:|"
    ab = batch_settings
    ab_text = ", ".join(t for t in (
        f"`--batch-max-delay-ms {ab['batch_max_delay_ms']}`" if ab["batch_max_delay_ms"] else "",
        f"`--batch-max-bytes {ab['batch_max_bytes']}`" if ab["batch_max_bytes"] else "",
        f"`--total-batch-max-bytes {ab['total_batch_max_bytes']}`" if ab["total_batch_max_bytes"] else "") if t)
    ab_text = (f"both with {ab_text} (the Java 5.3.3 client's defaults are 10 ms, 32768 and 33554432)" if ab_text
               else "each with its own defaults (Java 5.3.3: 10 ms, 32 KiB, 32 MiB)")
    go_versions = f"; Go client: {args.go_desc}" if has_go else ""
    command = args.command or "benches/compare.sh"
    go_bullet = ""
    if has_go:
        go_bullet = f"""* Go: `benches/go` on {args.go_desc}, the same flags as ours: W1/W2 `-w` goroutines calling
  `SendSync`; W3 one goroutine calling `SendAsync` with at most {bare_inflight} messages awaiting their callback
  (a semaphore in the benchmark: the Go client has no async back-pressure; every `SendAsync` starts a
  goroutine that writes and waits); W4 64 goroutines calling `SendSync` with 32 messages; W5 64 goroutines
  calling `SendOneWay` (returns once the frame is written to the connection), then the same 3-s linger.
  Group `benchmark_producer`, compression off, 2 retries (Java's default; the Go client's is 3), round-robin
  queues, its logging at `error`. It cannot match two things: it always sends JSON request headers (its
  codec choice is internal; ours and Java send ROCKETMQ binary headers), and it has no auto-batching (W6 n/a).
  Its p50/p99 come from a log-linear histogram (1/64 resolution); msgs/s is the same 10-s window.
"""
    md = f"""# Benchmarks: actix-rocketmq vs the Java{' and Go' if has_go else ''} RocketMQ clients

Generated by `{command}` on {date}.
The clients ran one after the other against the same local single-node RocketMQ {args.rocketmq_version} broker
(name server `{args.namesrv}`, topic `{args.topic}` with 8 queues, ASYNC_FLUSH), on the same machine as the
broker, one client process at a time: {args.repeat} run{'s' if args.repeat != 1 else ''} per client and workload, in alternating order
(ours, bare, Java{', Go' if has_go else ''} in the 1st, 3rd, ... repetition, reversed in the 2nd, 4th, ...).

Machine: {ver['cpu']}, {ver['cores']} cores, {ver['memory']}, Linux {ver['kernel']}.
Versions: {ver['rustc']}; {ver['java']}; Java client rocketmq-client {args.rocketmq_version}; Java tools: {ver['java_benchmark']}
{java_tools_text}{go_versions}.

msgs/s is the median over the runs, with the slowest and fastest run in parentheses; the other
columns are those of the client's median run (the run with the median msgs/s; of two middle runs
the faster).

| Workload | Client | msgs/s median (min-max) | avg RT (ms) | p50 (ms) | p99 (ms) | CPU ms / 1000 msgs | same, net of start-up | peak RSS (MB) |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Targets: ours/Java >= {JAVA_TARGET}x{f' and ours/Go >= {GO_TARGET}x' if has_go else ''}, ratios of the medians; W5 (one-way) is judged
by the messages the broker stored per second (below), the others by msgs/s. "per repetition" = the
ratio within each repetition (the clients ran back to back).

{t_head}
{t_sep}
{chr(10).join(targets)}

Client resources (of the median runs):

{res_head}
{res_sep}
{chr(10).join(res_ratios)}
{bare_md}{stored_md}
Messages per run: {', '.join(f'{w} {args.count_for(w):,}' for w in args.workloads)}; the broker was first warmed up with
{args.warmup:,} unmeasured messages (our tool, sync).

How it was measured:
* msgs/s: messages per second over the last <= 10 one-second snapshots of the run, the Java tools' own
  method (their `[Complete] ... Send TPS`); ours and the Go benchmark compute the same window (`window_tps`
  in benchmarks.json, next to `msgs_per_s_total` = all messages / time from first send to last result;
  JavaBench prints both too).
* W5 stored msgs/s: the messages the broker stored during the run divided by the storing time. Stored =
  the growth of the topic's queue max offsets (summed), read from the broker with GET_TOPIC_STATS_INFO
  every {POLL_S * 1000:.0f} ms from just before the client starts (once the count has been still for 0.5 s: the
  broker adds stored messages to its queues asynchronously, behind the previous run) until it is still
  again, at least 1 s after the client exits. Storing time = from the first increase of the count to the
  last one, each end taken midway between the two polls around it (so within {POLL_S * 1000:.0f} ms). Messages a
  client still writes during its 3-s linger count, and so does the time they take; the linger itself, JVM
  or process start-up and the shutdown do not.
* RT: per request, send call to result. The Java tools report only the average and the maximum, so p50/p99
  are ours and Go's only (ours: HdrHistogram, microsecond resolution).
* CPU and RSS: measured from outside, for the whole client process: user + system CPU of all its
  threads from `wait4`, peak RSS = VmHWM polled every 0.1 s (ours and Go: or the tool's own end-of-run
  VmHWM if higher). "CPU ms / 1000 msgs" = process CPU ms / (messages sent / 1000), start-up included (JVM
  start and JIT weigh heavily on short Java runs). "net of start-up" subtracts the CPU of a 1-message run
  of the same client ({base_text}). Java: `{' '.join(JAVA_OPTS[:6])}` (the heap of the official
  `runclass.sh`, G1 because JDK 17 has no CMS).
* W1, W2 (sync): {sync_tool_text}. W4: `BatchProducer` (`-b 32`), which has
  no message limit: it runs until {args.java_batch_seconds:g} s after its first report line (the tool reports once it
  has 10 one-second snapshots), is read from its last report, and its CPU is the steady-state CPU over
  that report's 10-s window (so only the "net" column).
* W3 (async): ours is one sender firing `SendAsync` (callback send), waiting only for admission by the
  producer's in-flight budget ({inflight_text}). Java is `JavaBench --mode async`: one thread calling
  `send(msg, SendCallback)` with the client's own async back-pressure on
  (`setEnableBackpressureForAsyncMode(true)`, `setBackPressureForAsyncSendNum({bare_inflight})`,
  `setBackPressureForAsyncSendSize(100 MiB)`: the permits are taken in `send` and given back before the
  callback runs), until every message has had its callback. The official `Producer -y true` is not used:
  its only bound is "pause while > 10000 tasks wait in the async executor", with which it floods this
  2-core machine until every send times out, and with `-q` it exits before its callbacks arrive.
* W5 (one-way): ours is 64 workers awaiting the one-way send (resolved once the frame is handed to the
  connection). Java is `JavaBench --mode oneway`: 64 threads calling `sendOneway` (there is no official
  one-way tool). All wait 3 s before shutting down (not timed) so queued frames can reach the broker.
  In the 5.3.3 client `sendOneway` only queues the write as a task on the channel's netty event loop
  (the one-way permit is taken there), so its hand-off rate has no back-pressure; see the stored counts.
* W6 (async, auto-batching on): W3 with the client gathering messages into batch requests by itself,
  {ab_text}.
  Ours: `--mode async -s 1024 --auto-batch` and those flags, the same in-flight budget as W3.
  Java: `JavaBench --mode async --auto-batch`, i.e. W3's program with `producer.setAutoBatch(true)` and
  `batchMaxDelayMs` / `batchMaxBytes` / `totalBatchMaxBytes` set to those values: its `ProduceAccumulator`
  sends a batch once its bodies exceed batchMaxBytes (from the sending thread) or once it is
  batchMaxDelayMs old (a guard thread, every batchMaxDelayMs / 2), and sends a message unbatched while
  totalBatchMaxBytes of bodies are held or awaiting their batch's answer; the async back-pressure
  ({bare_inflight}) then counts batch requests, not messages.
{go_bullet}{bare_bullet}* "n/a (not yet)": actix-rocketmq does not offer that kind of send yet (the tool exits with status 2, or
  refuses the workload's flags); "n/a (no tool)": the client has no such send.

{chr(10).join(notes) if notes else ''}

Raw data: `benchmarks.json` (every run, the commands, the tools' own numbers); logs under
`{shown_log_dir(args.log_dir)}`.
"""
    md_path = os.path.join(args.out_dir, "BENCHMARKS.md")
    json_path = os.path.join(args.out_dir, "benchmarks.json")
    # keep the secured-clusters section (benches/secure.sh) of the previous files
    old_section = scrub_paths(extract_section(read_text(md_path)))
    if old_section:
        md = md.rstrip("\n") + "\n\n" + old_section + "\n"
    try:
        with open(json_path) as f:
            old = json.load(f)
        if isinstance(old, dict) and "secured" in old:
            data["secured"] = old["secured"]
    except (OSError, ValueError):
        pass
    with open(md_path, "w") as f:
        f.write(md)
    for w in data["workloads"]:
        for k in ("ours_runs", "java_runs", "go_runs", "bare_runs"):
            for run in w.get(k, []):
                run.pop("output", None)
    with open(json_path, "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    log(f"wrote {os.path.join(args.out_dir, 'BENCHMARKS.md')} and benchmarks.json")
    print(md)


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def extract_section(text):
    """The secured-clusters section (markers included) of a BENCHMARKS.md text, or ""."""
    i, j = text.find(SECURE_BEGIN), text.find(SECURE_END)
    if i < 0 or j < i:
        return ""
    return text[i:j + len(SECURE_END)]


def strip_outputs(runs):
    for run in runs:
        run.pop("output", None)
    return runs


def write_fragment(args, results, ver, base):
    """This configuration's results as JSON, for `compare.py secure-section`."""
    frag = {
        "config": args.config_label or "?", "broker_options": args.broker_options,
        "auth_user": args.access_key or None, "tls": bool(args.tls_dir),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": ver, "baselines": base,
        "namesrv": args.namesrv, "topic": args.topic, "repeat": args.repeat, "warmup": args.warmup,
        "async_inflight": args.async_inflight or 1024, "java_sync_tool": args.java_sync_tool,
        "counts": {w: args.count_for(w) for w in args.workloads}, "log_dir": args.log_dir, "workloads": [],
    }
    for wid in args.workloads:
        r = results[wid]
        frag["workloads"].append({
            "id": wid, "description": WORKLOADS[wid][0], "ours": r["ours"], "java": r["java"],
            "ours_runs": strip_outputs(r["ours_runs"]), "java_runs": strip_outputs(r["java_runs"]),
        })
    os.makedirs(os.path.dirname(os.path.abspath(args.result_json)), exist_ok=True)
    with open(args.result_json, "w") as f:
        json.dump(frag, f, indent=2, default=str)
        f.write("\n")
    log(f"wrote {args.result_json}")


CONFIG_TEXT = {
    "plain": "no authentication, no TLS (the reference)",
    "auth": "ACL 2.0 on the broker (`--auth`): every broker request signed",
    "tls": "TLS enforcing on name server and broker (`--tls`), the broker requiring a client certificate",
    "auth+tls": "both (`--auth --tls`)",
}


def secure_section(argv):
    """Writes the "Secured clusters (issue 8)" section of BENCHMARKS.md and the "secured" key of
    benchmarks.json from compare.py --result-json fragments (one per broker configuration and
    run; fragments with different message counts are shown as separate blocks)."""
    ap = argparse.ArgumentParser(prog="compare.py secure-section")
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", action="append", default=[],
                    help="the command(s) that produced the fragments (repeatable)")
    ap.add_argument("fragments", nargs="+")
    a = ap.parse_args(argv)
    frags = []
    for p in a.fragments:
        with open(p) as f:
            frags.append(json.load(f))
    commands = a.command or ["benches/secure.sh"]

    def ok(res):
        return res.get("status") == "ok" and res.get("msgs_per_s")

    def runs_ratio(w):
        # the i-th runs of ours and Java belong to the same repetition (run back to back)
        xs = [o["msgs_per_s"] / j["msgs_per_s"] for o, j in zip(w["ours_runs"], w["java_runs"]) if ok(o) and ok(j)]
        return " / ".join(f"{x:.2f}" for x in xs) if xs else "n/a"

    def failed(runs):
        vals = [r.get("failed") for r in runs if r.get("status") == "ok"]
        errs = sum(1 for r in runs if r.get("status") != "ok")
        t = f"{sum(v or 0 for v in vals):,}"
        return t + (f" (+{errs} run errors)" if errs else "")

    def num(res, key, nd=0):
        return fmt(res.get(key), nd) if res.get("status") == "ok" else "error"

    def counts_text(f):
        return ", ".join(f"{w} {c:,}" for w, c in f["counts"].items())

    # blocks: fragments with the same message counts and repetitions, in order of appearance
    groups = {}
    for f in frags:
        groups.setdefault((counts_text(f), f["repeat"], f["warmup"]), []).append(f)

    verdicts_all = {}
    blocks = []
    overview_cols = []  # (column title, {config: ratio})
    for (ctext, repeat, warmup), fl in groups.items():
        plain = next((f for f in fl if f["config"] == "plain"), None)
        wids = [w["id"] for w in fl[0]["workloads"]]
        thr_rows, cpu_rows, verdicts, notes = [], [], {}, []
        for f in fl:
            cfg = f["config"]
            for w in f["workloads"]:
                o, j = w["ours"], w["java"]
                rr = "n/a"
                met = "n/a"
                if ok(o) and ok(j):
                    x = o["msgs_per_s"] / j["msgs_per_s"]
                    rr = f"{x:.2f}x"
                    met = "yes" if x >= SECURE_TARGET else "**no**"
                    verdicts[(cfg, w["id"])] = x
                    verdicts_all[f"{cfg} {w['id']} ({ctext})"] = round(x, 3)
                if cfg == "plain" and met != "n/a":
                    met = f"({met})"
                thr_rows.append(
                    f"| {cfg} | {w['id']} | {num(o, 'msgs_per_s')} | {num(j, 'msgs_per_s')} | {rr} | {met} | {runs_ratio(w)} | "
                    f"{num(o, 'p50_ms', 3)} / {num(o, 'p99_ms', 3)} | {num(o, 'avg_rt_ms', 3)} / {num(j, 'avg_rt_ms', 3)} | "
                    f"{failed(w['ours_runs'])} / {failed(w['java_runs'])} |")
                cpu_rows.append(
                    f"| {cfg} | {w['id']} | {num(o, 'cpu_ms_per_1000', 1)} | {num(o, 'cpu_net_ms_per_1000', 1)} | "
                    f"{num(j, 'cpu_ms_per_1000', 1)} | {num(j, 'cpu_net_ms_per_1000', 1)} | {ratio(o, j, 'cpu_ms_per_1000')} | "
                    f"{ratio(o, j, 'cpu_net_ms_per_1000')} | {num(o, 'peak_rss_mb', 1)} / {num(j, 'peak_rss_mb', 1)} |")
                for who, runs in (("ours", w["ours_runs"]), ("Java", w["java_runs"])):
                    for k, res in enumerate(runs, 1):
                        if res.get("error"):
                            notes.append(f"* {cfg} {w['id']} {who}, run {k}: {res['error']}.")
                        if res.get("note") and res.get("status") != "ok":
                            notes.append(f"* {cfg} {w['id']} {who}, run {k}: {res['note']}.")
                        if res.get("failed"):
                            notes.append(f"* {cfg} {w['id']} {who}, run {k}: {res['failed']:,} failed send{'s' if res['failed'] != 1 else ''}"
                                         + (f"; first error: `{res['first_errors'][0]}`" if res.get("first_errors") else "")
                                         + ".")
        for wid in wids:
            n = fl[0]["counts"].get(wid)
            overview_cols.append((f"{wid}, {n:,} msgs/run x {repeat}, {warmup // 1000:,}k warm-up",
                                  {c: x for (c, w_), x in verdicts.items() if w_ == wid}))
        secured = [k for k in verdicts if k[0] != "plain"]
        missed = [k for k in secured if verdicts[k] < SECURE_TARGET]
        if secured:
            summary = (f"Target ours/Java >= {SECURE_TARGET}x: held in {len(secured) - len(missed)} of {len(secured)} "
                       f"secured cells" + (f"; missed in {', '.join(f'{c} {w} ({verdicts[(c, w)]:.2f}x)' for c, w in missed)}."
                                           if missed else "."))
        else:
            summary = "No secured configuration produced a comparable pair of results."
        dates = sorted(f["date"] for f in fl)
        blk = ""
        if len(groups) > 1:
            cs = set(fl[0]["counts"].values())
            blk += (f"### {', '.join(wids)}, {cs.pop():,} messages per run, {warmup:,} warm-up messages\n\n" if len(cs) == 1
                    else f"### {ctext} messages per run, {warmup:,} warm-up messages\n\n")
        blk += (f"Messages per run: {ctext}; {repeat} run{'s' if repeat != 1 else ''} per client and workload; "
                f"{warmup:,} warm-up messages; "
                f"{dates[0]} to {dates[-1]}.\n\n{summary}\n")
        blk += f"""
| Config | Workload | ours msgs/s | Java msgs/s | ours/Java | >= {SECURE_TARGET}x | ours/Java per run | ours p50 / p99 (ms) | avg RT ours / Java (ms) | failed sends ours / Java (all runs) |
|---|---|---:|---:|---:|:-:|---:|---:|---:|---:|
{chr(10).join(thr_rows)}

Client CPU per message (of the median runs above; "net" subtracts the CPU of a 1-message run of the
same client in the same configuration: process start-up, producer start and, with TLS, the handshakes):

| Config | Workload | ours CPU ms / 1000 msgs | ours net | Java CPU ms / 1000 msgs | Java net | CPU ours/Java | net ours/Java | peak RSS ours / Java (MB) |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(cpu_rows)}
"""
        others = [f for f in fl if f["config"] != "plain"]
        if plain and others:
            pw = {w["id"]: w for w in plain["workloads"]}
            cost_rows = []
            for wid in wids:
                for who in ("ours", "java"):
                    p = pw.get(wid, {}).get(who, {})
                    cells = []
                    for f in others:
                        w = next((x for x in f["workloads"] if x["id"] == wid), None)
                        res = w[who] if w else {}
                        t = "n/a"
                        if ok(res) and ok(p):
                            d = 100.0 * (res["msgs_per_s"] / p["msgs_per_s"] - 1.0)
                            t = f"{res['msgs_per_s']:,.0f} ({d:+.0f} %)"
                        if res.get("cpu_net_ms_per_1000") is not None and p.get("cpu_net_ms_per_1000") is not None:
                            dc = res["cpu_net_ms_per_1000"] - p["cpu_net_ms_per_1000"]
                            t += f"; {res['cpu_net_ms_per_1000']:.1f} ({dc:+.1f})"
                        cells.append(t)
                    base_t = f"{p['msgs_per_s']:,.0f}" if ok(p) else "n/a"
                    if p.get("cpu_net_ms_per_1000") is not None:
                        base_t += f"; {p['cpu_net_ms_per_1000']:.1f}"
                    cost_rows.append(f"| {wid} | {'ours' if who == 'ours' else 'Java'} | {base_t} | "
                                     + " | ".join(cells) + " |")
            blk += f"""
Cost against the plain broker of the same run: median msgs/s (change) ; net CPU ms per 1000 msgs (change):

| Workload | Client | plain | {' | '.join(f['config'] for f in others)} |
|---|---|---:|{'---:|' * len(others)}
{chr(10).join(cost_rows)}
"""
        if notes:
            blk += "\n" + "\n".join(notes) + "\n"
        blocks.append(blk)

    def cfg_line(f):
        c = f["config"]
        t = CONFIG_TEXT.get(c, c)
        if f.get("auth_user"):
            t += f"; both clients sign as `{f['auth_user']}`"
        start = ("scripts/rocketmq-local start " + (f.get("broker_options") or "")).strip()
        return f"* {c}: {t} (`{start}`)"

    seen, cfg_lines = set(), []
    for f in frags:
        if f["config"] not in seen:
            seen.add(f["config"])
            cfg_lines.append(cfg_line(f))
    first = frags[0]
    auth_f = next((f for f in frags if f.get("auth_user")), None)
    user_text = ""
    if auth_f:
        u = auth_f["auth_user"]
        kind = ("the super user (no authorization check, still authenticated: every request signed and verified)"
                if u == "rocketmq" else
                f"a Normal user, authorized by ACL: the script's `Pub,Sub` on `Group:*` plus `Pub` on "
                f"`Topic:{auth_f['topic']}` granted by compare.sh (`admin createAcl`), so the broker authenticates "
                f"and authorizes every send")
        user_text = (f"\nSigning: user `{u}`, {kind}. Ours: `--access-key {u} --secret-key ...`; Java: "
                     f"`new DefaultMQProducer(group, new AclClientRPCHook(new SessionCredentials(\"{u}\", ...)))` "
                     f"(`JavaBench --access-key`). The official `Producer -a true` is not usable for this: it signs as a "
                     f"hard-coded `rocketmq2`/`12345678` (`example.benchmark.AclClient`).\n")
    tls_text = ("\nTLS: both clients trust the instance's `tls/ca.pem` (server certificate verified, valid for "
                "127.0.0.1) and present `tls/client.pem` / `client.key` (the broker requires it). Ours: `--tls-ca ca.pem "
                "--tls-cert client.pem --tls-key client.key` (rustls); Java: `producer.setUseTLS(true)` with "
                "`-Dtls.enable=true -Dtls.test.mode.enable=false -Dtls.config.file=tls/tls.properties` "
                "(netty's JDK SSL provider; the same file as the script's admin tool).\n"
                if any(f.get("tls") for f in frags) else "")
    cmd_text = " and ".join(f"`{c}`" for c in commands)
    overview = ""
    if len(groups) > 1:
        cfgs = []
        for f in frags:
            if f["config"] not in cfgs:
                cfgs.append(f["config"])
        rows = []
        n_cells = n_held = 0
        for c in cfgs:
            cells = []
            for _, vals in overview_cols:
                x = vals.get(c)
                if x is None:
                    cells.append("")
                    continue
                t = f"{x:.2f}x"
                if c != "plain":
                    n_cells += 1
                    n_held += x >= SECURE_TARGET
                    if x < SECURE_TARGET:
                        t += " **no**"
                cells.append(t)
            rows.append(f"| {c} | " + " | ".join(cells) + " |")
        overview = f"""Overview: median ours/Java msgs/s per run set (each column is one `secure.sh` run with its own
brokers; "**no**" = below the {SECURE_TARGET}x target; plain = reference). Held in {n_held} of {n_cells} secured cells.

| Config | {' | '.join(t for t, _ in overview_cols)} |
|---|{'---:|' * len(overview_cols)}
{chr(10).join(rows)}

Run length matters for the Java client: its JIT is still warming up during the first seconds, and a
short run's 10-s measuring window includes them, so short runs flatter ours. The runs with the most
messages per run (the same count as the main table above) are the ones to judge by.

"""
    # Hand-written notes (the criterion numbers of the signer, what the misses show) live in benches/secure-notes.md.
    signing_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "secure-notes.md")
    signing_text = read_text(signing_path) if os.path.exists(signing_path) else ""
    sec = f"""{SECURE_BEGIN}
## Secured clusters (issue 8): the cost of request signing and TLS

Generated by {cmd_text}. Each configuration got a broker of its own (`scripts/rocketmq-local start`
with the options below, own `ROCKETMQ_DIR`, same ports, stopped before the next), topic `{first['topic']}`
with 8 queues; on it the workloads ran alternately ours / Java (ours first in odd repetitions, Java
first in even ones; median by msgs/s), after unmeasured warm-up messages (our tool, sync). The
configurations ran one after the other, so compare across configurations with the noise of this
shared 2-core machine in mind (the per-run ratios show it).

{chr(10).join(cfg_lines)}
{user_text}{tls_text}
Workloads: W2 = sync, 64 sender threads, 1 KiB bodies (Java: `JavaBench --mode sync -w 64`, the official
Producer's sync loop; used on the plain broker too so all rows compare the same tools); W3 = async, 1 KiB,
in-flight budget {first['async_inflight']} (ours: the producer's in-flight budget; Java: `JavaBench --mode async`
with the client's async back-pressure set to {first['async_inflight']} messages). msgs/s and CPU are measured as in
the tables above (last <= 10 one-second snapshots; CPU of the whole client process from `wait4`).

{overview}{chr(10).join(blocks)}
{signing_text}Raw data: the `secured` key of `benchmarks.json` (every run, its command line and the tools' own numbers);
logs in {', '.join(f"`{shown_log_dir(f['log_dir'])}`" for f in frags)}.
{SECURE_END}"""

    text = read_text(a.md)
    old = extract_section(text)
    if old:
        text = text.replace(old, sec)
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + sec + "\n"
    with open(a.md, "w") as f:
        f.write(text)
    try:
        with open(a.json) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            data = {"previous": data}
    except (OSError, ValueError):
        data = {}
    data["secured"] = {"commands": commands, "target": SECURE_TARGET, "configs": frags,
                       "ours_over_java": verdicts_all}
    with open(a.json, "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    log(f"wrote the secured-clusters section into {a.md} and the 'secured' key into {a.json}")
    print(sec)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namesrv", required=True)
    ap.add_argument("--topic", default="BenchCompare")
    ap.add_argument("--ours-bin", required=True, help="release build of examples/benchmark")
    ap.add_argument("--java", default="java")
    ap.add_argument("--admin", default="", help="scripts/rocketmq-local (for topicStatus around one-way runs)")
    ap.add_argument("--java-cp", required=True)
    ap.add_argument("--java-bench-dir", default="", help="classes of benches/java/JavaBench.java (W3, W5 Java)")
    ap.add_argument("--bare-bin", default="", help="build of benches/bare_sender.rs (ours/bare on W1, W3, W4, W6)")
    ap.add_argument("--java-home-dir", required=True, help="-Duser.home of the Java client (its logs)")
    ap.add_argument("--rocketmq-version", default="5.3.3")
    ap.add_argument("--example-jar-desc", default="rocketmq-example")
    ap.add_argument("--workloads", default=DEFAULT_WORKLOADS)
    ap.add_argument("--count", type=int, default=0, help="messages per run for every workload (0 = per-workload defaults)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the per-workload default counts")
    ap.add_argument("--repeat", type=int, default=3, help="runs per client and workload, alternating (median)")
    ap.add_argument("--async-inflight", type=int, default=0,
                    help="--inflight of every client in W3 and W6 (0 = each tool's default, 1024 in all)")
    ap.add_argument("--batch-max-delay-ms", type=int, default=AUTO_BATCH_DEFAULTS["batch_max_delay_ms"],
                    help="W6, both clients (0 = not passed: each client's default)")
    ap.add_argument("--batch-max-bytes", type=int, default=AUTO_BATCH_DEFAULTS["batch_max_bytes"],
                    help="W6, both clients (0 = not passed)")
    ap.add_argument("--total-batch-max-bytes", type=int, default=AUTO_BATCH_DEFAULTS["total_batch_max_bytes"],
                    help="W6, both clients (0 = not passed)")
    ap.add_argument("--go-bin", default="", help="build of benches/go (the official Go client's benchmark)")
    ap.add_argument("--go-desc", default="rocketmq-client-go", help="the Go client and toolchain versions (text)")
    ap.add_argument("--broker-addr", default="",
                    help="host:port of the broker, to poll the topic's offsets during one-way runs (W5 stored msgs/s)")
    ap.add_argument("--command", default="", help="the command line to name in BENCHMARKS.md")
    ap.add_argument("--java-batch-seconds", type=float, default=5.0)
    ap.add_argument("--run-timeout", type=float, default=300.0)
    ap.add_argument("--warmup", type=int, default=200000, help="messages sent (unmeasured) before the runs")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the 1-message runs used for the 'net of start-up' CPU column")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--access-key", default="", help="sign both clients' requests as this user (with --secret-key)")
    ap.add_argument("--secret-key", default="")
    ap.add_argument("--tls-dir", default="",
                    help="TLS for both clients with DIR/ca.pem, DIR/client.pem + client.key (Java: DIR/tls.properties)")
    ap.add_argument("--java-sync-tool", choices=("producer", "javabench"), default="producer",
                    help="Java side of W1/W2: the official Producer or JavaBench --mode sync (forced with --access-key)")
    ap.add_argument("--config-label", default="", help="name of this broker configuration (--result-json)")
    ap.add_argument("--broker-options", default="", help="the scripts/rocketmq-local start options used (--result-json)")
    ap.add_argument("--result-json", default="",
                    help="write this run's results to FILE (for `compare.py secure-section`) instead of BENCHMARKS.md")
    args = ap.parse_args()
    if bool(args.access_key) != bool(args.secret_key):
        ap.error("--access-key and --secret-key go together")
    if args.access_key:
        args.java_sync_tool = "javabench"
    if args.result_json:
        args.go_bin = ""  # a fragment holds ours and Java only
    if args.access_key or args.tls_dir:
        # secured brokers: ours vs Java only (the Go benchmark signs and trusts nothing); the offsets
        # are counted with the admin tool, which is set up for them
        args.go_bin = ""
        args.broker_addr = ""
    args.workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    for w in args.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    args.count_for = lambda w: args.count if args.count > 0 else max(1, int(WORKLOADS[w][4] * args.scale))
    os.makedirs(args.log_dir, exist_ok=True)
    os.makedirs(args.java_home_dir, exist_ok=True)

    if args.warmup > 0:
        # A fresh broker's JIT is cold: whichever client ran first would pay for it.
        cmd = ([args.ours_bin, "-n", args.namesrv, "-t", args.topic, "-q", str(args.warmup),
                "--mode", "sync", "-w", "64", "-s", "1024"] + ours_security_flags(args))
        log(f"warming the broker up: {args.warmup} messages with our tool (not measured)")
        m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "warmup.log"))
        if m["rc"] != 0:
            log(f"warm-up exited with {m['rc']} (see {args.log_dir}/warmup.log)")
    base = baselines(args) if args.baseline else {}
    results = {}
    for wid in args.workloads:
        count = args.count_for(wid)
        ours_runs, java_runs, bare_runs, go_runs = [], [], [], []
        with_bare = bool(args.bare_bin) and wid in BARE
        for rep in range(args.repeat):
            args.rep = rep
            # bare next to ours: the same broker state for the ours/bare ratio; the order reversed
            # in every other repetition
            order = ("ours", "bare", "java", "go") if rep % 2 == 0 else ("go", "java", "bare", "ours")
            for who in order:
                if who == "ours":
                    r = ours_run(args, wid, count, args.log_dir)
                    ours_runs.append(r)
                    add_net_cpu(r, base.get("ours"))
                elif who == "bare":
                    if not with_bare:
                        continue
                    r = bare_run(args, wid, count, args.log_dir)
                    bare_runs.append(r)
                elif who == "go":
                    if not args.go_bin:
                        continue
                    r = go_run(args, wid, count, args.log_dir)
                    go_runs.append(r)
                    add_net_cpu(r, base.get("go"))
                    if r.get("status") == "no_tool":
                        continue
                else:
                    r = java_run(args, wid, count, args.log_dir)
                    java_runs.append(r)
                    add_net_cpu(r, base.get("java_bench" if r.get("class") == "JavaBench" else "java"))
                log(f"{wid} {who}: status {r.get('status')}, msgs/s {fmt(r.get('msgs_per_s'), 0)}, "
                    f"CPU ms/1000 {fmt(r.get('cpu_ms_per_1000'))} (net {fmt(r.get('cpu_net_ms_per_1000'))}), "
                    f"RSS {fmt(r.get('peak_rss_mb'))} MB")
        results[wid] = {"ours": median_run(ours_runs), "java": median_run(java_runs),
                        "ours_runs": ours_runs, "java_runs": java_runs}
        if go_runs:
            results[wid]["go"] = median_run(go_runs)
            results[wid]["go_runs"] = go_runs
        if bare_runs:
            results[wid]["bare"] = median_run(bare_runs)
            results[wid]["bare_runs"] = bare_runs
    if args.result_json:
        write_fragment(args, results, versions(args), base)
    else:
        write_reports(args, results, versions(args), base)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "secure-section":
        sys.exit(secure_section(sys.argv[2:]))
    sys.exit(main())
