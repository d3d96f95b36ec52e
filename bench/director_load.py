#!/usr/bin/env python3
"""Load on the director: simulated vehicles of three ECUs check in (PUT a manifest with
four signatures, GET timestamp, GET snapshot and targets when they changed) against a
director on 127.0.0.1, with SQLite and with PostgreSQL (a server this script starts
from Debian's binaries, as the tests do). Reports sustained check-ins per second and
p50/p99 latency at full speed, p99 at a fixed 1,000 check-ins per second, and the
director's peak RSS with 1,000 and with 10,000 vehicles registered and checking in;
then the same with a rollout active (every vehicle offered a brake image from a
repo-tool image repository before the clock starts, rollouts evaluated every second),
so each check-in also moves the vehicle's standing in the rollout.

Usage: python3 bench/director_load.py [--seconds 20] [--backends sqlite,postgres]
The load generator runs on the same machine: it signs every manifest before the clock
starts, but its HTTP work still shares the cores with the director.
"""
import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DIRECTOR = os.path.join(ROOT, "target", "release", "director")
REPO_TOOL = os.path.join(ROOT, "target", "release", "repo-tool")
LOAD = os.path.join(ROOT, "bench", "director-load", "target", "release", "director-load")


def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "director", "-p", "repo-tool"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=os.path.join(ROOT, "bench", "director-load"), check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(command):
    if os.getuid() == 0:
        return ["runuser", "-u", "postgres", "--", "sh", "-c", command]
    return ["sh", "-c", command]


class Postgres:
    def __init__(self, base):
        self.bin = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        self.dir = os.path.join(base, "pg")
        os.makedirs(self.dir)
        if os.getuid() == 0:
            shutil.chown(base, "postgres")
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        subprocess.run(as_postgres(f"{self.bin}/initdb -D {self.dir}/data -A trust -U postgres >/dev/null"), check=True)
        subprocess.run(as_postgres(f"{self.bin}/pg_ctl -D {self.dir}/data -w -l {self.dir}/log -o '-k {self.dir} -p {self.port} -h 127.0.0.1' start >/dev/null"), check=True)

    def database(self, name):
        subprocess.run(as_postgres(f"{self.bin}/createdb -h 127.0.0.1 -p {self.port} -U postgres {name}"), check=True)
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self):
        subprocess.run(as_postgres(f"{self.bin}/pg_ctl -D {self.dir}/data -m fast stop >/dev/null"), check=False)


def image_repository(base):
    """A repo-tool image repository publishing brake/fw-2.bin: (published dir, its root)."""
    env = dict(os.environ, REPO_TOOL_PASSPHRASE="bench")
    repo, published = os.path.join(base, "images"), os.path.join(base, "published")
    image = os.path.join(base, "brake-2.bin")
    with open(image, "wb") as f:
        f.write(b"brake firmware 2\n" + os.urandom(200_000))
    run = lambda *args: subprocess.run([REPO_TOOL, *args], check=True, capture_output=True, env=env, cwd=base)
    run("init", repo)
    run("targets", "add", repo, image, "--path", "brake/fw-2.bin", "--hardware-id", "brake-hw", "--release-counter", "2")
    run("publish", repo, published)
    return published, os.path.join(published, "metadata", "1.root.json")


class Director:
    def __init__(self, base, database_url=None, images=None):
        self.data = os.path.join(base, f"director-{free_port()}")
        port = free_port()
        args = [DIRECTOR, "init", self.data, "--listen", f"127.0.0.1:{port}"]
        if database_url:
            args += ["--database-url", database_url]
        if images:
            args += ["--image-repo", images[0], "--image-root", images[1]]
        out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
        self.admin = next(l.split(": ", 1)[1] for l in out.splitlines() if l.startswith("administrator token"))
        self.url = f"http://127.0.0.1:{port}"
        config_path = os.path.join(self.data, "director.json")
        with open(config_path) as f:
            config = json.load(f)
        config["rollout_interval_secs"] = 1  # evaluations run during the load, as a busy fleet's would
        # Each simulated vehicle checks in several times a second, far above a real one, and
        # one token registers them all: the rate limits (10/s a device, 50/s an
        # administrator) would answer 429, so they are lifted for the load.
        for rate in ("device_rate", "admin_rate"):
            config.setdefault("limits", {})[rate] = {"per_second": 1_000_000, "burst": 1_000_000}
        with open(config_path, "w") as f:
            json.dump(config, f)
        self.process = subprocess.Popen([DIRECTOR, "serve", "--data", self.data], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        self.process.stdout.readline()

    def peak_rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.process.terminate()
        self.process.wait()


def load(director, vehicles, seconds, rate=0, concurrency=64, rollout=False):
    args = [LOAD, director.url, director.admin, str(vehicles), str(seconds), str(rate), str(concurrency)]
    if rollout:
        args.append("brake/fw-2.bin")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    build()
    base = tempfile.mkdtemp(prefix="director-load-")
    images = image_repository(base)
    postgres = None
    try:
        print(f"{'backend':<9} {'run':<34} {'check-ins/s':>11} {'p50 ms':>7} {'p99 ms':>7} {'failed':>6} {'peak RSS MiB':>12}")
        for backend in args.backends.split(","):
            url = None
            if backend == "postgres":
                postgres = postgres or Postgres(base)
            runs = [(1000, 0, False, "1,000 vehicles, full speed"), (1000, 1000, False, "1,000 vehicles, 1,000/s"),
                    (10000, 0, False, "10,000 vehicles, full speed"),
                    (1000, 0, True, "1,000, full speed, rollout on"), (1000, 1000, True, "1,000, 1,000/s, rollout on")]
            for vehicles, rate, rollout, label in runs:
                if backend == "postgres":
                    url = postgres.database(f"d{free_port()}")
                director = Director(base, url, images)
                try:
                    result = load(director, vehicles, args.seconds, rate, rollout=rollout)
                    rss = director.peak_rss_mib()
                finally:
                    director.stop()
                print(f"{backend:<9} {label:<34} {result['per_second']:>11.0f} {result['p50_ms']:>7.1f} {result['p99_ms']:>7.1f} {result['failed']:>6} {rss:>12.1f}")
                sys.stdout.flush()
    finally:
        if postgres:
            postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
