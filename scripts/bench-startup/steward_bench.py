#!/usr/bin/env python3
"""Baseline: startup, RSS and idle CPU of Steward's window under Xvfb.

  python3 steward_bench.py startup N   -> N x (cold launch on a fresh home, warm launch on the same home)
  python3 steward_bench.py walk N      -> N x (launch, 30 s untouched, walk all views, RSS, idle Models, idle Endpoints)

Needs DISPLAY (Xvfb :99 -screen 0 1280x800x24), xdotool, /tmp/steward-rel. Writes JSON lines to stdout.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import xgrab

BIN = os.environ.get("STEWARD_BIN", "/tmp/steward-rel")
OUT = os.environ.get("STEWARD_BENCH_OUT", "/tmp/bench/out")
CLK = os.sysconf("SC_CLK_TCK")
NAV = {"Models": (74, 48), "Endpoints": (74, 79), "Fairness": (74, 110), "Audit": (74, 141), "Monitoring": (74, 172)}
ANALYSE = (188, 317)
TABLE = (396, 198, 860, 78)  # x, y, w, h of the three version rows on the Models view
NEUTRAL = (1279, 799)  # bottom-right corner: the status bar, nothing under it reacts to hover

os.makedirs(OUT, exist_ok=True)
scr = xgrab.Screen()


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def ticks(pid):
    s = open(f"/proc/{pid}/stat").read()
    f = s[s.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])  # utime (field 14) + stime (field 15)


def status(pid):
    d = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem", "Threads"):
            d[k] = v.strip()
    return d


def xvfb_pid():
    return int(open("/tmp/xvfb.pid").read())


def mouse(x, y, click=False):
    cmd = ["xdotool", "mousemove", str(x), str(y)]
    if click:
        cmd += ["click", "1"]
    subprocess.run(cmd, check=True)


def launch(home, tag):
    """Start the app through bash, which records `date +%s.%N` just before exec."""
    t0f = f"{OUT}/{tag}.t0"
    err = open(f"{OUT}/{tag}.stderr", "w")
    p = subprocess.Popen(
        ["bash", "-c", 'date +%s.%N > "$0"; exec "$1" --home "$2"', t0f, BIN, home],
        stdout=err, stderr=err)
    return p, t0f


def wait_table(t_content, deadline, sleep):
    """(time the Models view's versions table was seen drawn, time of the poll before), polling from
    the first frame (`t_content`; None: never drawn) until `deadline`."""
    last = t_content
    while t_content is not None and time.time() < deadline:
        a = time.time()
        ok, _ = xgrab.more_than(scr.grab(*TABLE), 10)
        b = time.time()
        if ok:
            return b, last
        last = a
        time.sleep(sleep)
    return None, None


def wait_first_frame(p, t0f, tag, timeout=30.0, sleep=0.010):
    """Poll: xdotool search (until it finds the window) + one root grab per loop, ~10 ms sleep between."""
    t_map = t_map_lo = t_content = t_content_lo = None
    last_map_check = last_grab = None
    polls = 0
    colours = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        polls += 1
        if t_map is None:
            a = time.time()
            r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^Steward$"],
                               capture_output=True, text=True)
            b = time.time()
            if r.returncode == 0 and r.stdout.strip():
                t_map, t_map_lo = b, last_map_check
            last_map_check = a
        a = time.time()
        raw = scr.grab()
        ok, k = xgrab.more_than(raw, 10)
        b = time.time()
        if ok and t_map is not None:
            t_content, t_content_lo, colours = b, last_grab, k
            with open(f"{OUT}/{tag}.first.bgrx", "wb") as fh:
                fh.write(raw)
            break
        last_grab = a
        if p.poll() is not None:
            raise RuntimeError(f"{tag}: app exited with {p.returncode}")
        time.sleep(sleep)
    # then: the Models view's versions table drawn (the first frame says "Connecting to local registry...")
    t_ready, t_ready_lo = wait_table(t_content, deadline, sleep)
    t0 = float(open(t0f).read())
    ms = lambda t: None if t is None else round((t - t0) * 1000, 1)
    return {
        "map_ms": ms(t_map), "map_lo_ms": ms(t_map_lo),
        "content_ms": ms(t_content), "content_lo_ms": ms(t_content_lo),
        "table_ms": ms(t_ready), "table_lo_ms": ms(t_ready_lo),
        "colours_sampled": colours, "polls": polls,
    }


def kill(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def cpu_window(pid, seconds=30, label=""):
    """% of one core over `seconds`, with per-second tick counts; the X server's ticks too."""
    xp = xvfb_pid()
    a, xa, ta = ticks(pid), ticks(xp), time.time()
    per_s = []
    prev = a
    for i in range(seconds):
        time.sleep(max(0.0, ta + i + 1 - time.time()))
        cur = ticks(pid)
        per_s.append(cur - prev)
        prev = cur
    b, xb, tb = ticks(pid), ticks(xp), time.time()
    wall = tb - ta
    return {
        "label": label, "wall_s": round(wall, 2), "ticks": b - a,
        "cpu_pct": round((b - a) / CLK / wall * 100, 2),
        "xvfb_ticks": xb - xa, "xvfb_cpu_pct": round((xb - xa) / CLK / wall * 100, 2),
        "per_second_ticks": per_s, "loadavg": loadavg(),
    }


def shot(tag):
    subprocess.run(["import", "-window", "root", f"{OUT}/{tag}.png"], check=True)


def cold_warm(n, prefix, measure, keys, before=lambda: None, extra=lambda p, home: {}):
    """N x (a cold launch on a fresh home, a warm one on the same home): `measure(p, t0f, tag)` gives a
    run's figures; the medians of `keys` per kind are printed after the runs."""
    res = []
    for i in range(n):
        home = tempfile.mkdtemp(prefix="steward-bench-")
        for kind in ("cold", "warm"):
            mouse(*NEUTRAL)
            time.sleep(1.0)
            before()
            tag = f"{prefix}{i}-{kind}"
            la = loadavg()
            p, t0f = launch(home, tag)
            r = measure(p, t0f, tag)
            r.update(run=i, kind=kind, loadavg_before=la, **extra(p, home))
            kill(p)
            print(json.dumps(r), flush=True)
            res.append(r)
            time.sleep(1.0)
    for kind in ("cold", "warm"):
        for key in keys:
            v = [r[key] for r in res if r["kind"] == kind]
            print(json.dumps({"summary": kind, "metric": key, "runs": v, "median": statistics.median(v)}), flush=True)


def startup(n):
    cold_warm(n, "startup", wait_first_frame, ("map_ms", "content_ms", "table_ms"),
              extra=lambda p, home: dict(home=home, pid=p.pid, **status(p.pid)))


def wait_analysis(timeout=60.0):
    """After clicking Analyse: done when the strip right of the button (spinner, 'Reading the logs...',
    Cancel) is uniform again and the 'Nothing analysed yet.' line has been replaced."""
    before = scr.grab(158, 342, 300, 20)
    t = time.time()
    while time.time() - t < timeout:
        strip = scr.grab(225, 305, 200, 25)
        busy, _ = xgrab.more_than(strip, 1)
        if not busy and scr.grab(158, 342, 300, 20) != before:
            return round(time.time() - t, 2)
        time.sleep(0.05)
    return None


def walk(n):
    for i in range(n):
        home = tempfile.mkdtemp(prefix="steward-bench-")
        tag = f"walk{i}"
        mouse(*NEUTRAL)
        time.sleep(1.0)
        la = loadavg()
        p, t0f = launch(home, tag)
        r = {"run": i, "home": home, "pid": p.pid, "loadavg_before": la}
        r["first_frame"] = wait_first_frame(p, t0f, tag)
        r["status_at_first_frame"] = status(p.pid)
        # 1. idle right after launch, nothing touched (window starts at first-frame detection)
        r["idle_after_launch"] = cpu_window(p.pid, 30, "after launch, untouched (Models)")
        r["status_after_idle"] = status(p.pid)
        # 2. walk every view, 5 s each
        views = {}
        for name in ("Models", "Endpoints", "Fairness", "Audit", "Monitoring"):
            mouse(*NAV[name], click=True)
            mouse(*NEUTRAL)
            if name == "Monitoring":
                time.sleep(1.0)
                mouse(*ANALYSE, click=True)
                mouse(*NEUTRAL)
                views["analysis_s"] = wait_analysis(60)
            time.sleep(5.0)
            views[name] = status(p.pid)
            shot(f"{tag}-{name}")
        r["walk"] = views
        r["status_after_walk"] = status(p.pid)
        # 3. idle on Models after the walk, then on Endpoints (5 s settle each)
        mouse(*NAV["Models"], click=True)
        mouse(*NEUTRAL)
        time.sleep(5.0)
        r["idle_models_after_walk"] = cpu_window(p.pid, 30, "Models after walk")
        shot(f"{tag}-Models-idle")
        mouse(*NAV["Endpoints"], click=True)
        mouse(*NEUTRAL)
        time.sleep(5.0)
        r["idle_endpoints"] = cpu_window(p.pid, 30, "Endpoints")
        shot(f"{tag}-Endpoints-idle")
        r["status_end"] = status(p.pid)
        kill(p)
        print(json.dumps(r), flush=True)
        time.sleep(1.0)


def wait_first_frame_events(p, t0f, tag, timeout=30.0, sleep=0.005):
    """Supplementary: MapNotify from X events (read each loop, so ~one loop late at most),
    content by root grabs only (no xdotool fork per loop)."""
    t_map = None
    t_content = t_content_lo = None
    last_grab = None
    polls = 0
    maps = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        polls += 1
        for (t, win, nm) in MW.drain():
            maps.append(nm)
            if nm == "Steward" and t_map is None:
                t_map = t
        a = time.time()
        raw = scr.grab()
        ok, k = xgrab.more_than(raw, 10)
        b = time.time()
        if ok:
            t_content, t_content_lo = b, last_grab
            break
        last_grab = a
        time.sleep(sleep)
    for (t, win, nm) in MW.drain():
        maps.append(nm)
        if nm == "Steward" and t_map is None:
            t_map = t
    t_ready, t_ready_lo = wait_table(t_content, deadline, sleep)
    t0 = float(open(t0f).read())
    ms = lambda t: None if t is None else round((t - t0) * 1000, 1)
    return {"map_event_ms": ms(t_map), "content_ms": ms(t_content), "content_lo_ms": ms(t_content_lo),
            "table_ms": ms(t_ready), "table_lo_ms": ms(t_ready_lo), "polls": polls, "mapped_windows": maps}


def startup_events(n):
    global MW
    MW = xgrab.MapWatcher()
    cold_warm(n, "ev", wait_first_frame_events, ("map_event_ms", "content_ms", "table_ms"), before=MW.drain)


if __name__ == "__main__":
    {"startup": startup, "startup-events": startup_events, "walk": walk}[sys.argv[1]](int(sys.argv[2]))
