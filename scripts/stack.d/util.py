"""Standard-library helpers for scripts/stack (run with the system python3, not a venv).

Subcommands:
  free-ports N                         print N distinct free 127.0.0.1 TCP ports
  spawn --log F --cwd D -- CMD...      start CMD as a new session/process-group leader; print "PID STARTTIME"
  starttime PID                        print the process start time (clock ticks since boot) from /proc
  http-ok URL                          exit 0 when GET URL answers 2xx
  wait-http URL SECONDS [--pid P]      wait until GET URL answers 2xx (fail early when process P dies)
  mlserver-settings FILE HTTP GRPC METRICS METRICS_DIR [PARALLEL_WORKERS]
  prometheus-config FILE TARGET
  mlflow-db TEMPLATE DEST              copy the empty MLflow database template (Default experiment dated now)
  check-infer MLSERVER_URL STATE       POST the example inputs to versions 1 and 2, compare with expected
  check-same-models SEED_JSON TRAINED_JSON
  wait-target PROM_URL JOB SECONDS     wait until /api/v1/targets shows the job's target "up"
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()


def starttime(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    return stat[stat.rindex(")") + 2 :].split()[19]


def spawn(argv):
    log = cwd = None
    while argv and argv[0] != "--":
        if argv[0] == "--log":
            log, argv = argv[1], argv[2:]
        elif argv[0] == "--cwd":
            cwd, argv = argv[1], argv[2:]
        else:
            sys.exit(f"spawn: unknown option {argv[0]}")
    cmd = argv[1:]
    with open(log, "ab") as out, open(os.devnull, "rb") as devnull:
        p = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=devnull,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # setsid(): own session and process group, pgid == pid
            close_fds=True,
        )
    print(p.pid, starttime(p.pid))


def get(url, timeout=5.0, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def http_ok(url):
    try:
        status, _ = get(url, timeout=3)
        return 200 <= status < 300
    except Exception:
        return False


def pid_alive(pid):
    if not pid or pid == "0":
        return True  # nothing to watch
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
        return st[st.rindex(")") + 2] != "Z"
    except OSError:
        return False


def wait_http(url, seconds, pid=None):
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        if http_ok(url):
            return 0
        if pid and not pid_alive(pid):
            print(f"process {pid} exited while waiting for {url}", file=sys.stderr)
            return 1
        time.sleep(0.25)
    print(f"timed out after {seconds} s waiting for {url}", file=sys.stderr)
    return 1


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)


def mlserver_settings(path, http, grpc, metrics, metrics_dir, workers="1"):
    write_json(
        path,
        {
            "debug": False,
            "host": "127.0.0.1",
            "http_port": int(http),
            "grpc_port": int(grpc),
            "metrics_port": int(metrics),
            "metrics_dir": metrics_dir,
            "parallel_workers": int(workers),
        },
    )


def prometheus_config(path, target):
    with open(path, "w") as f:
        f.write(
            "# written by scripts/stack\n"
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: mlserver\n"
            "    metrics_path: /metrics\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )


def mlflow_db(template, dest):
    """Copy the migrated empty MLflow database; the Default experiment is dated now."""
    import shutil
    import sqlite3

    shutil.copyfile(template, dest + ".tmp")
    now_ms = int(time.time() * 1000)
    with sqlite3.connect(dest + ".tmp") as c:
        c.execute("UPDATE experiments SET creation_time=?, last_update_time=? WHERE experiment_id=0",
                  (now_ms, now_ms))
    c.close()
    os.replace(dest + ".tmp", dest)


def check_infer(base, state):
    for v in ("1", "2"):
        with open(os.path.join(state, f"infer-example-v{v}.json"), "rb") as f:
            body = f.read()
        with open(os.path.join(state, f"infer-example-v{v}.expected.json")) as f:
            expected = json.load(f)
        url = f"{base}/v2/models/income-classifier/versions/{v}/infer"
        try:
            status, raw = get(url, timeout=30, data=body, headers={"Content-Type": "application/json"})
        except urllib.error.HTTPError as e:
            print(f"POST {url}: HTTP {e.code}: {e.read()[:500]!r}", file=sys.stderr)
            return 1
        resp = json.loads(raw)
        out = resp["outputs"][0]
        got = [int(x) for x in out["data"]]
        if resp.get("model_version") != v or got != expected["outputs"][0]["data"]:
            print(f"version {v}: unexpected answer {resp} (expected {expected})", file=sys.stderr)
            return 1
        print(f"infer v{v} ok: {got}", file=sys.stderr)
    return 0


def check_same_models(seed_path, trained_path):
    with open(seed_path) as f:
        seed = json.load(f)
    with open(trained_path) as f:
        trained = json.load(f)
    bad = 0
    for v, m in trained["versions"].items():
        s = seed["models"]["income-classifier"]["versions"][v]["metrics"]
        for k in ("accuracy", "precision", "recall", "roc_auc"):
            if abs(s[k] - m["metrics"][k]) > 1e-12:
                print(f"v{v} {k}: MLflow {s[k]} vs MLServer {m['metrics'][k]}", file=sys.stderr)
                bad = 1
    return bad


def wait_target(prom, job, seconds):
    deadline = time.monotonic() + float(seconds)
    last = None
    while time.monotonic() < deadline:
        try:
            _, raw = get(f"{prom}/api/v1/targets", timeout=3)
            targets = json.loads(raw)["data"]["activeTargets"]
            mine = [t for t in targets if t["labels"].get("job") == job]
            last = [(t["scrapeUrl"], t["health"], t.get("lastError")) for t in mine]
            if mine and all(t["health"] == "up" for t in mine):
                return 0
        except Exception as e:  # not up yet
            last = repr(e)
        time.sleep(0.25)
    print(f"timed out waiting for Prometheus target job={job} to be up; last seen: {last}", file=sys.stderr)
    return 1


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free-ports":
        free_ports(int(args[0]))
    elif cmd == "spawn":
        spawn(args)
    elif cmd == "starttime":
        print(starttime(args[0]))
    elif cmd == "http-ok":
        sys.exit(0 if http_ok(args[0]) else 1)
    elif cmd == "wait-http":
        pid = args[3] if len(args) > 3 and args[2] == "--pid" else None
        sys.exit(wait_http(args[0], args[1], pid))
    elif cmd == "mlserver-settings":
        mlserver_settings(*args)
    elif cmd == "prometheus-config":
        prometheus_config(*args)
    elif cmd == "mlflow-db":
        mlflow_db(*args)
    elif cmd == "check-infer":
        sys.exit(check_infer(*args))
    elif cmd == "check-same-models":
        sys.exit(check_same_models(*args))
    elif cmd == "wait-target":
        sys.exit(wait_target(*args))
    else:
        sys.exit(f"unknown helper command {cmd}")


if __name__ == "__main__":
    main()
