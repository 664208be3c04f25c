"""bench/hostile.py - helpers shared by the hostile-client and soak benchmarks
(bench/slowhttp_run, bench/bodies_run, bench/soak): starting a pinned server,
sampling its RSS and descriptors from /proc, a steady-rate probe client, and
the least-squares fit. Standard library only; loopback only.
"""
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
OUT = os.path.join(ROOT, "build", "bench")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_listening(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen on %d" % port)


def rel(path):
    return os.path.relpath(path, ROOT) if path.startswith(ROOT) else path


class Server:
    """A gort sample on CPU 0 at GOMAXPROCS=1 (or as given), stderr to a log file."""

    def __init__(self, name, bin_dir, gomaxprocs=1, cpu="0", extra=(), log_name=None):
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.cmd = ["taskset", "-c", cpu, os.path.join(bin_dir, name), "--addr", self.addr] + list(extra)
        self.shown = "GOMAXPROCS=%d %s" % (gomaxprocs, " ".join(rel(c) for c in self.cmd).replace(self.addr, "$ADDR"))
        os.makedirs(OUT, exist_ok=True)
        self.log_path = os.path.join(OUT, (log_name or name) + ".log")
        self.log_file = open(self.log_path, "w")
        env = dict(os.environ, GOMAXPROCS=str(gomaxprocs))
        log("+ " + " ".join(self.cmd) + "   (GOMAXPROCS=%d, stderr -> %s)" % (gomaxprocs, rel(self.log_path)))
        self.proc = subprocess.Popen(self.cmd, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid  # taskset execs the server: same pid
        wait_listening(self.port, self.proc)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM (graceful, 10 s at most in http_server), then SIGKILL. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def socket_queues(port):
    """(sockets, Recv-Q bytes, Send-Q bytes) summed over the established TCP
    sockets whose local port is `port` (the server's side): the kernel memory
    a server holds for its clients, which VmRSS does not show."""
    try:
        out = subprocess.run(["ss", "-tnH", "state", "established", "( sport = :%d )" % port],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    n = rq = sq = 0
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0].isdigit() and f[1].isdigit():
            n, rq, sq = n + 1, rq + int(f[0]), sq + int(f[1])
    return n, rq, sq


class Sampler(threading.Thread):
    """Samples a pid's VmRSS (KiB), open descriptors and CPU seconds every
    `interval` s; with `port`, also the server sockets' kernel queues (ss)
    every `ss_every` samples."""

    def __init__(self, pid, interval, t0=None, port=None, ss_every=4):
        super().__init__(daemon=True)
        self.pid, self.interval, self.port, self.ss_every = pid, interval, port, ss_every
        self.t0 = t0 if t0 is not None else time.monotonic()
        self.samples = []  # (t, rss_kib, fds, cpu_s)
        self.queues = []  # (t, sockets, recv_q_bytes, send_q_bytes)
        self.stop_ev = threading.Event()

    def sample(self):
        r, n, c = rss_kib(self.pid), fd_count(self.pid), cpu_seconds(self.pid)
        if r is not None:
            self.samples.append((time.monotonic() - self.t0, r, n, c))

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            self.sample()
            if self.port is not None and i % self.ss_every == 0:
                q = socket_queues(self.port)
                if q is not None:
                    self.queues.append((time.monotonic() - self.t0,) + q)
            i += 1
            self.stop_ev.wait(self.interval)

    def peak_queues_mib(self):
        """The highest Recv-Q and Send-Q sums seen, MiB."""
        return (max((q[2] for q in self.queues), default=0) / 2**20,
                max((q[3] for q in self.queues), default=0) / 2**20)

    def stop(self):
        self.stop_ev.set()
        self.join()
        self.sample()

    def peak_rss(self, t_from=None, t_to=None):
        xs = [s[1] for s in self.samples if (t_from is None or s[0] >= t_from) and (t_to is None or s[0] <= t_to)]
        return max(xs) if xs else None

    def peak_fds(self):
        xs = [s[2] for s in self.samples if s[2] is not None]
        return max(xs) if xs else None


def percentile(xs, q):
    """Nearest-rank percentile (q in 0..100) of a list; NaN when empty."""
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(-(-q * len(xs) // 100)) - 1))
    return xs[k]


class Probe(threading.Thread):
    """The normal client: GET `path` at a steady `rate` per second until stopped.

    kind "new": a new connection per request (connect, request, response,
    close), the latency counts the connect. kind "keepalive": one persistent
    connection, reopened after a failure. A request fails when it is not
    answered 200 with the expected body within `timeout` seconds; a failed
    request is not in the latency figures. Requests are scheduled on a fixed
    grid (t0 + i/rate): a slow answer delays the next ones, which then go out
    back to back, so latency is measured against the request's own send time.
    """

    def __init__(self, port, kind, rate, path="/healthz", body=b"ok\n", timeout=5.0, t0=None):
        super().__init__(daemon=True)
        self.port, self.kind, self.rate, self.path, self.body, self.timeout = port, kind, rate, path, body, timeout
        self.t0 = t0 if t0 is not None else time.monotonic()
        self.results = []  # (t_sent, latency_ms or None, error or None)
        self.stop_ev = threading.Event()
        self.conn = None

    def one(self):
        if self.kind == "new" or self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", self.path, headers={"Connection": "close"} if self.kind == "new" else {})
            resp = self.conn.getresponse()
            data = resp.read()
            if resp.status != 200 or data != self.body:
                raise RuntimeError("status %d body %r" % (resp.status, data[:40]))
            if self.kind == "new" or resp.will_close:
                self.conn.close()
                self.conn = None
            return None
        except Exception as e:  # noqa: BLE001 - any failure counts
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
            self.conn = None
            return "%s: %s" % (type(e).__name__, e)

    def run(self):
        i = 0
        start = time.monotonic()
        while not self.stop_ev.is_set():
            due = start + i / self.rate
            now = time.monotonic()
            if due > now and self.stop_ev.wait(due - now):
                break
            sent = time.monotonic()
            err = self.one()
            lat = (time.monotonic() - sent) * 1e3
            self.results.append((sent - self.t0, None if err else lat, err))
            i += 1

    def stop(self):
        self.stop_ev.set()
        self.join(timeout=self.timeout + 2)
        if self.conn is not None:
            self.conn.close()

    def summary(self, t_from=None, t_to=None):
        rs = [r for r in self.results if (t_from is None or r[0] >= t_from) and (t_to is None or r[0] <= t_to)]
        lats = [r[1] for r in rs if r[1] is not None]
        errs = [r[2] for r in rs if r[2] is not None]
        return {"requests": len(rs), "failures": len(errs), "p50_ms": percentile(lats, 50),
                "p99_ms": percentile(lats, 99), "max_ms": max(lats) if lats else float("nan"),
                "error_samples": sorted(set(errs))[:5]}


def linfit(ts, ys):
    """Least squares y = a + b t; returns (a, b)."""
    n = len(ts)
    if n < 2:
        return (ys[0] if ys else float("nan")), float("nan")
    mt, my = statistics.fmean(ts), statistics.fmean(ys)
    sxx = sum((t - mt) ** 2 for t in ts)
    if sxx == 0:
        return my, float("nan")
    b = sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / sxx
    return my - b * mt, b


def shown_argv(argv, script):
    """The command without where its output went (--out/--json FILE)."""
    shown, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--out", "--json"):
            skip = True
            continue
        shown.append(a)
    return " ".join([script] + shown)


def write_outputs(args, table, data):
    print(table)
    if getattr(args, "out", None):
        with open(args.out, "w") as f:
            f.write(table + "\n")
    if getattr(args, "json", None):
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1, default=lambda o: None)


def nan_to_none(x):
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [nan_to_none(v) for v in x]
    return x


def pin_self(cpu):
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass
