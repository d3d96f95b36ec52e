#!/usr/bin/env python3
"""Whole-process timings of a fresh refresh + one download: update-client against
python-tuf's ngclient and tough, on repositories python-tuf writes, served on
127.0.0.1. Clients alternate within each run; medians of wall time, CPU time
(user + system) and peak RSS are printed with ratios to update-client.

Usage: python3 bench/client_refresh.py [--sizes 1000,10000,100000] [--runs 5]
Needs cargo and python3 with venv; creates target/bench-venv and target/bench-repos.
"""
import argparse
import hashlib
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from functools import partial

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TARGET = os.path.join(ROOT, "target")
# The peers (tests/peers/tough: tough and `measure`) build in their own target directory.
PEERS = os.path.join(TARGET, "peers")
VENV = os.path.join(TARGET, "bench-venv")
PY = os.path.join(VENV, "bin", "python")
BIG = 64 << 20


def ensure_venv():
    if not os.path.exists(os.path.join(VENV, ".ready")):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([PY, "-m", "pip", "install", "-q", "-r", os.path.join(ROOT, "scripts/requirements.txt")], check=True)
        open(os.path.join(VENV, ".ready"), "w").close()


def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "client-std", "--bin", "update-client"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "--target-dir", PEERS], cwd=os.path.join(ROOT, "tests", "peers", "tough"), check=True)


GENERATOR = r'''
import hashlib, os, sys
from datetime import datetime, timedelta, timezone
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (DelegatedRole, Delegations, Metadata, MetaFile, Root, Snapshot,
    TargetFile, Targets, Timestamp)
from tuf.api.serialization.json import JSONSerializer

out, n, layout, big = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
md, td = os.path.join(out, "metadata"), os.path.join(out, "targets")
os.makedirs(md); os.makedirs(td)
keys = {r: CryptoSigner.generate_ecdsa() for r in ["root", "timestamp", "snapshot", "targets", "bins"]}
root = Metadata(Root(expires=expires, consistent_snapshot=True))
for r in ["root", "timestamp", "snapshot", "targets"]:
    root.signed.add_key(keys[r].public_key, r)
top = Metadata(Targets(expires=expires))
roles = {"targets": top}
if layout == "bins":
    top.signed.delegations = Delegations(keys={keys["bins"].public_key.keyid: keys["bins"].public_key}, roles={})
    for i in range(256):
        name = f"bin-{i:02x}"
        top.signed.delegations.roles[name] = DelegatedRole(name, [keys["bins"].public_key.keyid], 1, False,
                                                           path_hash_prefixes=[f"{i:02x}"])
        roles[name] = Metadata(Targets(expires=expires))
def add(path, data, write):
    tf = TargetFile.from_data(path, data, ["sha256"])
    role = "targets" if layout == "flat" else "bin-" + hashlib.sha256(path.encode()).hexdigest()[:2]
    roles[role].signed.targets[path] = tf
    if write:
        b = path
        p = os.path.join(td, tf.hashes["sha256"] + "." + b)
        with open(p, "wb") as f:
            f.write(data)
for i in range(n):
    add(f"file-{i:06}.txt", f"target {i}\n".encode(), i == n // 2)
add("firmware.bin", os.urandom(big), True)
snapshot = Metadata(Snapshot(expires=expires))
for name, md_ in roles.items():
    md_.sign(keys["targets"] if name == "targets" else keys["bins"])
    data = md_.to_bytes(JSONSerializer(compact=True))
    with open(os.path.join(md, f"1.{name}.json"), "wb") as f:
        f.write(data)
    snapshot.signed.meta[f"{name}.json"] = MetaFile(1, length=len(data))
snapshot.sign(keys["snapshot"])
data = snapshot.to_bytes(JSONSerializer(compact=True))
with open(os.path.join(md, "1.snapshot.json"), "wb") as f:
    f.write(data)
timestamp = Metadata(Timestamp(expires=expires, snapshot_meta=MetaFile(1, length=len(data))))
timestamp.sign(keys["timestamp"])
with open(os.path.join(md, "timestamp.json"), "wb") as f:
    f.write(timestamp.to_bytes(JSONSerializer(compact=True)))
root.sign(keys["root"])
with open(os.path.join(md, "1.root.json"), "wb") as f:
    f.write(root.to_bytes(JSONSerializer()))
'''


def make_repo(n, layout):
    out = os.path.join(TARGET, "bench-repos", f"{layout}-{n}-v2")
    if os.path.exists(os.path.join(out, ".ready")):
        return out
    shutil.rmtree(out, ignore_errors=True)
    t = time.time()
    subprocess.run([PY, "-c", GENERATOR, out, str(n), layout, str(BIG)], check=True)
    open(os.path.join(out, ".ready"), "w").close()
    print(f"  generated {layout}-{n} in {time.time() - t:.1f} s", file=sys.stderr)
    return out


class Quiet(http.server.SimpleHTTPRequestHandler):
    # HTTP/1.1 keep-alive with TCP_NODELAY: no client pays for the server's quirks
    # (over HTTP/1.0, tough's reqwest waits about 100 ms on every request).
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on small writes

    def log_message(self, *args):
        pass


def serve(directory):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=directory))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


MEASURE = os.path.join(PEERS, "release", "measure")


def measure(cmd):
    """Wall seconds, CPU seconds and peak RSS (MiB) of one whole process, measured by a
    small parent (a child forked from Python would carry Python's peak RSS across exec)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run([MEASURE] + cmd, stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        lines = err.read().decode(errors="replace").splitlines()
        if proc.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): " + "\n".join(lines[-30:]))
        wall, cpu, max_kib = lines[-1].split()
    return float(wall), float(cpu), int(max_kib) / 1024


def clients(url, root, target):
    update_client = os.path.join(TARGET, "release", "update-client")
    tough = os.path.join(PEERS, "release", "tough-client")
    ngclient = os.path.join(ROOT, "bench", "ngclient_download.py")
    murl, turl = url + "metadata/", url + "targets/"

    def fresh():
        work = tempfile.mkdtemp(prefix="bench-")
        md, td = os.path.join(work, "md"), os.path.join(work, "td")
        os.makedirs(md)
        os.makedirs(td)
        shutil.copy(root, os.path.join(md, "root.json"))
        return work, md, td

    return {
        "update-client": lambda md, td: [update_client, "--metadata-url", murl, "--metadata-dir", md, "--target-name",
                                         target, "--target-dir", td, "--target-base-url", turl, "download"],
        "python-tuf": lambda md, td: [PY, ngclient, md, murl, turl, target, td],
        "tough": lambda md, td: [tough, root, murl, turl, target, td],
        # tough sleeps its retry backoff before every first attempt; without that sleep:
        "tough-nosleep": lambda md, td: ["env", "TOUGH_BACKOFF_MS=0", tough, root, murl, turl, target, td],
    }, fresh


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ensure_venv()
    build()
    cases = []
    for n in [int(s) for s in args.sizes.split(",")]:
        for layout in ["flat", "bins"]:
            cases.append((f"{n} {layout}", make_repo(n, layout), f"file-{n // 2:06}.txt"))
    first = cases[0][1]
    cases.append(("64 MiB target", first, "firmware.bin"))
    print(f"{'case':<16} {'client':<14} {'wall s':>8} {'cpu s':>8} {'rss MiB':>8}   vs update-client (wall, cpu, rss)")
    for label, repo, target in cases:
        server, url = serve(repo)
        commands, fresh = clients(url, os.path.join(repo, "metadata", "1.root.json"), target)
        results = {name: [] for name in commands}
        names = list(commands)
        for run in range(args.runs):
            for name in names[run % len(names):] + names[:run % len(names)]:
                work, md, td = fresh()
                results[name].append(measure(commands[name](md, td)))
                shutil.rmtree(work)
        server.shutdown()
        medians = {n: [statistics.median(r[i] for r in results[n]) for i in range(3)] for n in names}
        base = medians["update-client"]
        for name in names:
            m = medians[name]
            ratio = "" if name == "update-client" else f"   {m[0] / base[0]:.1f}x, {m[1] / base[1]:.1f}x, {m[2] / base[2]:.1f}x"
            print(f"{label:<16} {name:<14} {m[0]:>8.3f} {m[1]:>8.3f} {m[2]:>8.1f}{ratio}", flush=True)


if __name__ == "__main__":
    main()
