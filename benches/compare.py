#!/usr/bin/env python3
"""Run actix-rocketmq's benchmark tool and the Java benchmark producers alternately against one
running broker (plus the bare pipelined sender, benches/bare_sender.rs, on W3 and W4), measure each
client process from outside, write BENCHMARKS.md and benchmarks.json. Normally started by
benches/compare.sh (which starts the broker and builds).

Java side: the official `org.apache.rocketmq.example.benchmark.Producer` (W1, W2) and
`BatchProducer` (W4); for W3 (async) and W5 (one-way) benches/java/JavaBench.java on the same
client: the official async mode floods without a bound on a small machine (every send fails) and
there is no official one-way tool.

Per run, from outside the client process: CPU seconds (user + system of all its threads, from
wait4's rusage when it exits) and peak RSS (VmHWM, polled). Throughput and latency come
from each tool's own output: ours prints a BENCH_JSON line, Java prints `[Complete] ... Send TPS`
(Producer and JavaBench, which also prints a JAVA_BENCH_JSON line) or per-second `Send MPS` lines
(BatchProducer, which never stops by itself); bare_sender prints a BENCH_JSON line.

Throughput is compared on the same footing for both: messages/s over the last <= 10 one-second
snapshots of the run (the Java tool's own method; our tool computes the same `window_tps`).
"""
import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
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
}

# The bare pipelined sender (benches/bare_sender.rs: one connection, prebuilt frames, no actors)
# against the same broker, as the upper bound of W3 and W4. Its window matches ours: W3 1024
# single messages in flight (our async in-flight budget), W4 64 batch requests in flight (our 64
# senders with one batch each).
BARE = {
    "W3": ["-s", "1024", "--inflight", "1024"],
    "W4": ["-s", "128", "--batch", "32", "--inflight", "64"],
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


def run_counting_stored(args, cmd, log_path, oneway, **kw):
    """run_measured; around a one-way run also what the broker stored meanwhile (m["stored"])."""
    before = stored_messages(args) if oneway else None
    m = run_measured(cmd, args.run_timeout, log_path, **kw)
    if before is not None:
        time.sleep(1.0)
        after = stored_messages(args)
        if after is not None:
            m["stored"] = after - before
    return m


def stored_note(handed, stored, to_what):
    return (f"one-way: {handed:,} messages handed to {to_what}, {stored:,} stored by the broker "
            f"(a one-way request gets no answer; a busy broker drops it); msgs/s counts hand-offs")


def ours_run(args, wid, count, log_dir):
    desc, flags, _, _, _ = WORKLOADS[wid]
    cmd = [args.ours_bin, "-n", args.namesrv, "-t", args.topic, "-q", str(count), "--report-interval", "1000"] + flags
    if wid == "W3" and args.async_inflight:
        cmd += ["--inflight", str(args.async_inflight)]
    log(f"{wid} ours: {' '.join(cmd[1:])}")
    m = run_counting_stored(args, cmd, os.path.join(log_dir, f"{wid}-ours.log"), "oneway" in flags)
    j = parse_bench_json(m["output"])
    res = {"client": "ours", "cmd": cmd, "rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
           "peak_rss_mb": m["peak_rss_mb"], "messages": count}
    if j is None:
        res.update(status="error", error=f"no BENCH_JSON (exit {m['rc']})")
        return res
    res["tool"] = j
    # The tool reads its own VmHWM at the very end; the poll may miss the last 0.1 s.
    res["peak_rss_mb"] = max(res["peak_rss_mb"] or 0.0, j.get("peak_rss_mb") or 0.0)
    if j.get("status") == "not_available" or m["rc"] == 2:
        res["status"] = "not_available"
        return res
    msgs = j.get("messages", 0)
    if "stored" in m:
        res["stored_by_broker"] = m["stored"]
        res["note"] = stored_note(msgs, m["stored"], "the connection")
    res.update(
        status="ok" if msgs > 0 else "error",
        messages=msgs,
        msgs_per_s=j.get("window_tps") or j.get("msgs_per_s"),
        msgs_per_s_total=j.get("msgs_per_s"),
        avg_rt_ms=j.get("avg_rt_ms"), p50_ms=j.get("p50_ms"), p99_ms=j.get("p99_ms"), max_rt_ms=j.get("max_rt_ms"),
        failed=j.get("send_failed", 0) + j.get("response_failed", 0),
        cpu_ms_per_1000=round(m["cpu_s"] * 1000.0 / (msgs / 1000.0), 3) if msgs else None,
    )
    return res


def java_cmd(args, cls, tail):
    """The java command line for an official benchmark class or JavaBench."""
    if cls == "JavaBench":
        main, cp = "JavaBench", f"{args.java_cp}:{args.java_bench_dir}"
    else:
        main, cp = f"org.apache.rocketmq.example.benchmark.{cls}", args.java_cp
    return main, [args.java] + JAVA_OPTS + [f"-Duser.home={args.java_home_dir}", "-cp", cp, main] + tail


def parse_java_bench_json(output):
    for line in reversed(output.splitlines()):
        if line.startswith("JAVA_BENCH_JSON "):
            try:
                return json.loads(line[len("JAVA_BENCH_JSON "):])
            except ValueError:
                return None
    return None


def java_run(args, wid, count, log_dir):
    desc, _, cls, jflags, _ = WORKLOADS[wid]
    if cls is None:
        return {"client": "java", "status": "no_tool", "note": "no Java tool for this workload"}
    if cls == "JavaBench" and not args.java_bench_dir:
        return {"client": "java", "status": "no_tool", "note": "JavaBench not built (no --java-bench-dir)"}
    jflags = list(jflags)
    if cls == "JavaBench" and "async" in jflags and args.async_inflight:
        jflags += ["--inflight", str(args.async_inflight)]
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
    m = run_counting_stored(args, cmd, os.path.join(log_dir, f"{wid}-java.log"), "oneway" in jflags,
                            stop_when=stop_when)
    res = {"client": "java", "cmd": cmd, "rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
           "peak_rss_mb": m["peak_rss_mb"], "class": cls}
    out = m["output"]
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
                if res.get("msgs_per_s") is None:
                    res["msgs_per_s"] = jb.get("window_tps")
            if "did not return within" in out:
                res["shutdown_timed_out"] = True
            if "stored" in m:
                res["stored_by_broker"] = m["stored"]
                res["note"] = stored_note(ok_msgs, m["stored"], "sendOneway")
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
    m = run_measured(cmd, args.run_timeout, os.path.join(log_dir, f"{wid}-bare.log"))
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
    cmd = [args.ours_bin, "-n", args.namesrv, "-t", args.topic, "-q", "1", "--mode", "sync", "-w", "1"]
    m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-ours.log"))
    base["ours"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], "rc": m["rc"]}
    cmd = ([args.java] + JAVA_OPTS + [f"-Duser.home={args.java_home_dir}", "-cp", args.java_cp,
           "org.apache.rocketmq.example.benchmark.Producer", "-n", args.namesrv, "-t", args.topic,
           "-w", "1", "-q", "1"])
    m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-java.log"))
    base["java"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"], "rc": m["rc"]}
    if args.java_bench_dir:
        _, cmd = java_cmd(args, "JavaBench", ["-n", args.namesrv, "-t", args.topic, "--mode", "async", "-q", "1"])
        m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "baseline-java-bench.log"))
        base["java_bench"] = {"cpu_s": m["cpu_s"], "wall_s": m["wall_s"], "peak_rss_mb": m["peak_rss_mb"],
                              "rc": m["rc"]}
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


def write_reports(args, results, ver, base):
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    base_names = {"ours": "ours", "java": "Java Producer", "java_bench": "JavaBench"}
    base_text = ", ".join(f"{base_names.get(w, w)} {b['cpu_s']:.2f} CPU s" for w, b in base.items()) \
        if base else "no baseline run"
    data = {"date": date, "machine": ver, "baselines": base, "namesrv": args.namesrv, "topic": args.topic,
            "counts": {w: args.count_for(w) for w in args.workloads}, "repeat": args.repeat,
            "bare_target": BARE_TARGET, "workloads": []}
    rows, ratios, bare_rows, stored_rows = [], [], [], []
    for wid in args.workloads:
        r = results[wid]
        ours, java, bare = r["ours"], r["java"], r.get("bare")
        entry = {"id": wid, "description": WORKLOADS[wid][0], "ours": ours, "java": java,
                 "ours_runs": r["ours_runs"], "java_runs": r["java_runs"]}
        if bare is not None:
            entry.update(bare=bare, bare_runs=r["bare_runs"])
        data["workloads"].append(entry)
        desc = f"{wid} {WORKLOADS[wid][0]}"
        for who, res in (("ours", ours), ("Java" if java.get("class") != "JavaBench" else "Java (JavaBench)", java)):
            rows.append(f"| {desc} | {who} | {cell(res, 'msgs_per_s', 0)} | {cell(res, 'avg_rt_ms', 3)} | "
                        f"{cell(res, 'p50_ms', 3)} | {cell(res, 'p99_ms', 3)} | {cell(res, 'cpu_ms_per_1000', 1)} | "
                        f"{cell(res, 'cpu_net_ms_per_1000', 1)} | {cell(res, 'peak_rss_mb', 1)} |")
            desc = ""
        handoffs = " (hand-offs; see stored)" if "stored_by_broker" in ours or "stored_by_broker" in java else ""
        ratios.append(f"| {wid} | {ratio(ours, java, 'msgs_per_s')}{handoffs if ratio(ours, java, 'msgs_per_s') != 'n/a' else ''} | "
                      f"{ratio(ours, java, 'cpu_ms_per_1000')} | "
                      f"{ratio(ours, java, 'cpu_net_ms_per_1000')} | {ratio(ours, java, 'peak_rss_mb')} |")
        if bare is not None:
            rb = "n/a"
            met = "n/a"
            if ours.get("status") == "ok" and bare.get("status") == "ok" and ours.get("msgs_per_s_total") \
                    and bare.get("msgs_per_s_total"):
                x = ours["msgs_per_s_total"] / bare["msgs_per_s_total"]
                entry["ours_over_bare"] = round(x, 3)
                rb = f"{x:.2f}x"
                # each repetition's pair (bare ran right after/before ours in the same repetition)
                pairs = [o["msgs_per_s_total"] / b["msgs_per_s_total"]
                         for o, b in zip(r["ours_runs"], r["bare_runs"])
                         if o.get("status") == "ok" and b.get("status") == "ok"
                         and o.get("msgs_per_s_total") and b.get("msgs_per_s_total")]
                entry["ours_over_bare_runs"] = [round(p, 3) for p in pairs]
                if len(pairs) > 1:
                    rb += f" (runs {min(pairs):.2f}-{max(pairs):.2f}x)"
                met = "yes" if x >= BARE_TARGET else "**no**"
            bare_rows.append(
                f"| {wid} {WORKLOADS[wid][0]} | {bare.get('inflight') or '?'} | {cell(ours, 'msgs_per_s_total', 0)} | "
                f"{cell(bare, 'msgs_per_s_total', 0)} | {rb} | {met} | {cell(ours, 'p50_ms', 3)} / {cell(ours, 'p99_ms', 3)} | "
                f"{cell(bare, 'p50_ms', 3)} / {cell(bare, 'p99_ms', 3)} | {cell(ours, 'cpu_ms_per_1000', 2)} | "
                f"{cell(bare, 'cpu_ms_per_1000', 2)} |")
        for who, res in (("ours", ours), ("Java (JavaBench)", java)):
            if "stored_by_broker" in res:
                handed = res.get("messages")
                if who != "ours" and handed is not None:
                    handed -= res.get("failed", 0)
                stored_rows.append(f"| {wid} | {who} | {fmt(handed, 0)} | {fmt(res['stored_by_broker'], 0)} | "
                                   f"{pct(res['stored_by_broker'], handed)} |")
    notes = []
    for wid in args.workloads:
        for who in ("ours", "java", "bare"):
            res = results[wid].get(who)
            if res is None:
                continue
            if res.get("note"):
                notes.append(f"* {wid} {who}: {res['note']}.")
            if res.get("error"):
                notes.append(f"* {wid} {who}: {res['error']}.")
            if res.get("status") == "ok" and res.get("failed") and "failed sends" not in res.get("note", ""):
                notes.append(f"* {wid} {who}: {res['failed']:,} failed sends.")
    inflight_text = f"`--inflight {args.async_inflight}`" if args.async_inflight else "the crate default, 1024 messages"
    bare_inflight = args.async_inflight or 1024
    bare_md = bare_bullet = ""
    if bare_rows:
        bare_bullet = (f"* ours/bare: `bare_sender` ran right after ours on W3 and W4 with a window like ours\n"
                       f"  (W3 {bare_inflight} single 1 KiB messages in flight, our in-flight budget; W4 64 requests "
                       f"of 32 x 128 B,\n  our 64 batch senders) and the same message counts.\n")
        bare_md = f"""
Against the bare pipelined sender (`benches/bare_sender.rs`: one connection, prebuilt frames, no
actors; the upper bound for a client on this machine), run right after ours against the same broker.
Both rates are over the whole run (all messages / time from the first send to the last reply), not the
10-s window above, because the bare sender reports only that. Target: ours >= {BARE_TARGET}x bare.

| Workload | bare window (requests in flight) | ours msgs/s | bare msgs/s | ours/bare | >= {BARE_TARGET}x | ours p50 / p99 (ms) | bare p50 / p99 (ms) | ours CPU ms / 1000 | bare CPU ms / 1000 |
|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|
{chr(10).join(bare_rows)}
"""
    stored_md = ""
    if stored_rows:
        stored_md = f"""
One-way sends get no answer, so the msgs/s above count hand-offs to the client library; what the
broker actually stored (sum of the topic's queue offsets before and after the run):

| Workload | Client | messages handed off | stored by the broker | stored |
|---|---|---:|---:|---:|
{chr(10).join(stored_rows)}
"""
    md = f"""# Benchmarks: actix-rocketmq vs the Java RocketMQ client

Generated by `benches/compare.sh` on {date}. The clients ran one after the other against the same local
single-node RocketMQ {args.rocketmq_version} broker (name server `{args.namesrv}`, topic `{args.topic}` with 8 queues,
ASYNC_FLUSH), on the same machine as the broker, one client process at a time.

Machine: {ver['cpu']}, {ver['cores']} cores, {ver['memory']}, Linux {ver['kernel']}.
Versions: {ver['rustc']}; {ver['java']}; Java client rocketmq-client {args.rocketmq_version}; Java tools: {ver['java_benchmark']}
(W1, W2, W4) and `benches/java/JavaBench.java` on the same classpath (W3, W5).

| Workload | Client | msgs/s | avg RT (ms) | p50 (ms) | p99 (ms) | CPU ms / 1000 msgs | same, net of start-up | peak RSS (MB) |
|---|---|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

| Workload | msgs/s ours/Java | CPU per msg ours/Java | same, net of start-up | RSS ours/Java |
|---|---:|---:|---:|---:|
{chr(10).join(ratios)}
{bare_md}{stored_md}
Messages per run: {', '.join(f'{w} {args.count_for(w):,}' for w in args.workloads)}; runs per client and workload: {args.repeat}
(median by msgs/s when more than one); the broker was first warmed up with {args.warmup:,} unmeasured messages.

How it was measured:
* msgs/s: messages per second over the last <= 10 one-second snapshots of the run, the Java tools' own
  method (their `[Complete] ... Send TPS`); ours computes the same window (`window_tps` in benchmarks.json,
  next to `msgs_per_s_total` = all messages / time from first send to last result; JavaBench prints both too).
* RT: per request, send call to result. The Java tools report only the average and the maximum, so p50/p99
  are ours only (HdrHistogram, microsecond resolution).
* CPU and RSS: measured from outside, for the whole client process: user + system CPU of all its
  threads from `wait4`, peak RSS = VmHWM polled every 0.1 s (ours: or its own end-of-run VmHWM if
  higher). "CPU ms / 1000 msgs" = process CPU ms / (messages sent / 1000), start-up included (JVM start
  and JIT weigh heavily on short Java runs). "net of start-up" subtracts the CPU of a 1-message run of
  the same client ({base_text}). Java: `{' '.join(JAVA_OPTS[:6])}` (the heap of the official
  `runclass.sh`, G1 because JDK 17 has no CMS).
* W1, W2 (sync): `org.apache.rocketmq.example.benchmark.Producer`. W4: `BatchProducer` (`-b 32`), which has
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
  one-way tool). Both wait 3 s before shutting down (not timed) so queued frames can reach the broker.
  In the 5.3.3 client `sendOneway` only queues the write as a task on the channel's netty event loop
  (the one-way permit is taken there), so its hand-off rate has no back-pressure; see the stored counts.
{bare_bullet}* "n/a (not yet)": actix-rocketmq does not offer that kind of send yet (the tool exits with status 2).

{chr(10).join(notes) if notes else ''}

Raw data: `benchmarks.json` (every run, the commands, the tools' own numbers); logs in `{args.log_dir}`.
"""
    with open(os.path.join(args.out_dir, "BENCHMARKS.md"), "w") as f:
        f.write(md)
    for w in data["workloads"]:
        for k in ("ours_runs", "java_runs", "bare_runs"):
            for run in w.get(k, []):
                run.pop("output", None)
    with open(os.path.join(args.out_dir, "benchmarks.json"), "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.write("\n")
    log(f"wrote {os.path.join(args.out_dir, 'BENCHMARKS.md')} and benchmarks.json")
    print(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--namesrv", required=True)
    ap.add_argument("--topic", default="BenchCompare")
    ap.add_argument("--ours-bin", required=True, help="release build of examples/benchmark")
    ap.add_argument("--java", default="java")
    ap.add_argument("--admin", default="", help="scripts/rocketmq-local (for topicStatus around one-way runs)")
    ap.add_argument("--java-cp", required=True)
    ap.add_argument("--java-bench-dir", default="", help="classes of benches/java/JavaBench.java (W3, W5 Java)")
    ap.add_argument("--bare-bin", default="", help="build of benches/bare_sender.rs (ours/bare on W3, W4)")
    ap.add_argument("--java-home-dir", required=True, help="-Duser.home of the Java client (its logs)")
    ap.add_argument("--rocketmq-version", default="5.3.3")
    ap.add_argument("--example-jar-desc", default="rocketmq-example")
    ap.add_argument("--workloads", default="W1,W2,W3,W4,W5")
    ap.add_argument("--count", type=int, default=0, help="messages per run for every workload (0 = per-workload defaults)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the per-workload default counts")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--async-inflight", type=int, default=0, help="our --inflight in W3 (0 = the tool's default)")
    ap.add_argument("--java-batch-seconds", type=float, default=5.0)
    ap.add_argument("--run-timeout", type=float, default=300.0)
    ap.add_argument("--warmup", type=int, default=200000, help="messages sent (unmeasured) before the runs")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the 1-message runs used for the 'net of start-up' CPU column")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--log-dir", required=True)
    args = ap.parse_args()
    args.workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    for w in args.workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w}")
    args.count_for = lambda w: args.count if args.count > 0 else max(1, int(WORKLOADS[w][4] * args.scale))
    os.makedirs(args.log_dir, exist_ok=True)
    os.makedirs(args.java_home_dir, exist_ok=True)

    if args.warmup > 0:
        # A fresh broker's JIT is cold: whichever client ran first would pay for it.
        cmd = [args.ours_bin, "-n", args.namesrv, "-t", args.topic, "-q", str(args.warmup),
               "--mode", "sync", "-w", "64", "-s", "1024"]
        log(f"warming the broker up: {args.warmup} messages with our tool (not measured)")
        m = run_measured(cmd, args.run_timeout, os.path.join(args.log_dir, "warmup.log"))
        if m["rc"] != 0:
            log(f"warm-up exited with {m['rc']} (see {args.log_dir}/warmup.log)")
    base = baselines(args) if args.baseline else {}
    results = {}
    for wid in args.workloads:
        count = args.count_for(wid)
        ours_runs, java_runs, bare_runs = [], [], []
        with_bare = bool(args.bare_bin) and wid in BARE
        for rep in range(args.repeat):
            # bare next to ours: the same broker state for the ours/bare ratio
            order = ("ours", "bare", "java") if rep % 2 == 0 else ("java", "bare", "ours")
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
                else:
                    r = java_run(args, wid, count, args.log_dir)
                    java_runs.append(r)
                    add_net_cpu(r, base.get("java_bench" if r.get("class") == "JavaBench" else "java"))
                log(f"{wid} {who}: status {r.get('status')}, msgs/s {fmt(r.get('msgs_per_s'), 0)}, "
                    f"CPU ms/1000 {fmt(r.get('cpu_ms_per_1000'))} (net {fmt(r.get('cpu_net_ms_per_1000'))}), "
                    f"RSS {fmt(r.get('peak_rss_mb'))} MB")
        results[wid] = {"ours": median_run(ours_runs), "java": median_run(java_runs),
                        "ours_runs": ours_runs, "java_runs": java_runs}
        if bare_runs:
            results[wid]["bare"] = median_run(bare_runs)
            results[wid]["bare_runs"] = bare_runs
    write_reports(args, results, versions(args), base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
