#!/usr/bin/env python3
"""Whole-process timings of repository creation: repo-tool against python-tuf's
Metadata API (bench/python_tuf_repo.py) and tuftool, side by side in one run.

Work per tool and size N:
  create   a repository of N small targets plus one 64 MiB file, signed and published
           in the consistent-snapshot layout (repo-tool: init, targets add, publish)
  add one  one more target, then new targets, snapshot and timestamp, published
           (repo-tool: targets add, which signs all three, then publish; repo-tool+agent:
           the same with the key files held by `repo-tool agent`, its signing CPU counted)

Tools alternate within each run, each in fresh directories; nothing is deleted until
the end, because ext4 makes creating files slow for minutes after a mass deletion and
that would penalise whichever tool ran next. Medians of wall time, CPU time (user +
system) and peak RSS (the largest of a phase's processes), with ratios to repo-tool.

Usage: python3 bench/repo_tool.py [--sizes 10000,100000] [--runs 3] [--tools repo-tool,repo-tool+agent,python-tuf,tuftool]
                                  [--tuftool-max 10000] [--timeout 600]
Needs cargo and python3 with venv (target/bench-venv); tuftool from
`cargo install tuftool --locked` on PATH, else it is left out.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TARGET = os.path.join(ROOT, "target")
# The peers (tests/peers/tough: tough and `measure`) build in their own target directory.
PEERS = os.path.join(TARGET, "peers")
VENV = os.path.join(TARGET, "bench-venv")
PY = os.path.join(VENV, "bin", "python")
REPO_TOOL = os.path.join(TARGET, "release", "repo-tool")
MEASURE = os.path.join(PEERS, "release", "measure")
BIG = 64 << 20
PASSPHRASE = "benchmark passphrase"


def ensure_tools():
    if not os.path.exists(os.path.join(VENV, ".ready")):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([PY, "-m", "pip", "install", "-q", "-r", os.path.join(ROOT, "scripts/requirements.txt")], check=True)
        open(os.path.join(VENV, ".ready"), "w").close()
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "-p", "repo-tool"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-q", "--target-dir", PEERS, "--bin", "measure"], cwd=os.path.join(ROOT, "tests", "peers", "tough"), check=True)


def make_sources(base, n):
    """N small files of distinct content plus the 64 MiB image, and one file to add later."""
    src = os.path.join(base, f"src-{n}")
    if not os.path.exists(src + ".done"):  # the marker lives beside the tree: it is no target
        os.makedirs(src, exist_ok=True)
        for i in range(n):
            with open(os.path.join(src, f"file-{i:07d}.txt"), "w") as f:
                f.write(f"target {i}\n")
        with open(os.path.join(src, "image.bin"), "wb") as f:
            f.write(os.urandom(BIG))
        open(src + ".done", "w").close()
    new = os.path.join(base, "new")
    os.makedirs(new, exist_ok=True)
    with open(os.path.join(new, "added.txt"), "w") as f:
        f.write("one more target\n")
    return src, new


TIMEOUT = [600]


def measure(cmd, cwd, env=None):
    """(wall, cpu, rss_kib) of one process; raises with its stderr if it fails."""
    try:
        result = subprocess.run([MEASURE, *cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT[0])
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{os.path.basename(cmd[0])}: still running after {TIMEOUT[0]} s, stopped")
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    wall, cpu, rss = result.stderr.strip().splitlines()[-1].split()
    return float(wall), float(cpu), int(rss)


def phase(steps, cwd, env=None):
    """Sums wall and CPU over a phase's processes; the largest peak RSS."""
    figures = [measure(step, cwd, env) for step in steps]
    return sum(f[0] for f in figures), sum(f[1] for f in figures), max(f[2] for f in figures)


def run_repo_tool(work, src, new):
    env = dict(os.environ, REPO_TOOL_PASSPHRASE=PASSPHRASE)
    create = phase([[REPO_TOOL, "init", "repo"], [REPO_TOOL, "targets", "add", "repo", src], [REPO_TOOL, "publish", "repo", "out"]], work, env)
    add = phase(
        [[REPO_TOOL, "targets", "add", "repo", os.path.join(new, "added.txt")], [REPO_TOOL, "publish", "repo", "out"]],
        work,
        env,
    )
    return create, add


def cpu_seconds(pid):
    """User + system CPU time a running process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_repo_tool_agent(work, src, new):
    """repo-tool with its online key files held by `repo-tool agent`, as a signing
    server keeps them: the agent starts (and decrypts the keys) before "add one", and
    the CPU time it spends signing is added to that phase's."""
    env = dict(os.environ, REPO_TOOL_PASSPHRASE=PASSPHRASE)
    create = phase([[REPO_TOOL, "init", "repo"], [REPO_TOOL, "targets", "add", "repo", src], [REPO_TOOL, "publish", "repo", "out"]], work, env)
    socket_dir = os.path.join(work, "agent")
    os.makedirs(socket_dir, mode=0o700)
    socket = os.path.join(socket_dir, "agent.sock")
    keys = sorted(os.path.join("repo", "keys", k) for k in os.listdir(os.path.join(work, "repo", "keys")) if k.endswith(".pem"))
    agent = subprocess.Popen([REPO_TOOL, "agent", "--socket", socket, "--lifetime", "30m", *keys], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if not agent.stdout.readline().startswith("REPO_TOOL_AGENT="):
            raise RuntimeError("repo-tool agent did not start")
        before = cpu_seconds(agent.pid)
        signing = {k: v for k, v in env.items() if k != "REPO_TOOL_PASSPHRASE"}
        signing["REPO_TOOL_AGENT"] = socket
        add = phase(
            [[REPO_TOOL, "targets", "add", "repo", os.path.join(new, "added.txt")], [REPO_TOOL, "publish", "repo", "out"]],
            work,
            signing,
        )
        add = (add[0], add[1] + cpu_seconds(agent.pid) - before, add[2])
    finally:
        agent.terminate()
        agent.wait()
    return create, add


def run_python_tuf(work, src, new):
    env = dict(os.environ, PASSPHRASE=PASSPHRASE)
    script = os.path.join(ROOT, "bench", "python_tuf_repo.py")
    create = phase([[PY, script, "create", ".", src]], work, env)
    add = phase([[PY, script, "add", ".", os.path.join(new, "added.txt")]], work, env)
    return create, add


def run_tuftool(work, src, new):
    tuftool = shutil.which("tuftool")
    expiry = ["--targets-expires", "in 3 weeks", "--snapshot-expires", "in 1 week", "--timestamp-expires", "in 1 day"]
    setup = [["tuftool", "root", "init", "root.json"], ["tuftool", "root", "expire", "root.json", "in 52 weeks"]]
    for role in ["root", "targets", "snapshot", "timestamp"]:
        setup.append(["tuftool", "root", "set-threshold", "root.json", role, "1"])
    setup.append([tuftool, "root", "gen-rsa-key", "root.json", "key.pem", "--role", "root"])
    for role in ["targets", "snapshot", "timestamp"]:
        setup.append([tuftool, "root", "add-key", "root.json", "--key", "key.pem", "--role", role])
    setup.append([tuftool, "root", "sign", "root.json", "--key", "key.pem"])
    versions = lambda v: ["--targets-version", v, "--snapshot-version", v, "--timestamp-version", v]
    create_cmd = [tuftool, "create", "--root", "root.json", "--key", "key.pem", "--add-targets", src, "--outdir", "out"]
    create = phase([*setup, create_cmd + expiry + versions("1")], work)
    update = [tuftool, "update", "--root", "root.json", "--key", "key.pem", "--add-targets", new, "--outdir", "out2"]
    update += ["--metadata-url", "file://" + os.path.join(work, "out", "metadata")]
    add = phase([update + expiry + versions("2")], work)
    return create, add


TOOLS = {"repo-tool": run_repo_tool, "repo-tool+agent": run_repo_tool_agent, "python-tuf": run_python_tuf, "tuftool": run_tuftool}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tools", default="repo-tool,repo-tool+agent,python-tuf,tuftool")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one command may take")
    parser.add_argument("--tuftool-max", type=int, default=10000, help="largest size for tuftool (it grows quadratically)")
    parser.add_argument("--work", help="scratch directory (default: a temporary one, deleted at the end)")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t != "tuftool" or shutil.which("tuftool")]
    TIMEOUT[0] = args.timeout
    ensure_tools()
    base = args.work or tempfile.mkdtemp(prefix="repo-tool-bench-", dir=TARGET)
    try:
        for n in [int(s) for s in args.sizes.split(",")]:
            src, new = make_sources(base, n)
            figures = {t: {"create": [], "add one": []} for t in tools}
            for run in range(args.runs):
                for tool in tools:
                    if tool == "tuftool" and n > args.tuftool_max:
                        continue
                    work = os.path.join(base, f"{n}-{run}-{tool}")
                    os.makedirs(work)
                    try:
                        create, add = TOOLS[tool](work, src, new)
                    except RuntimeError as e:
                        print(f"{tool} at {n}: {str(e).splitlines()[-1]}", file=sys.stderr)
                        continue
                    figures[tool]["create"].append(create)
                    figures[tool]["add one"].append(add)
            report(n, figures)
    finally:
        if not args.work:
            shutil.rmtree(base, ignore_errors=True)


def report(n, figures):
    print(f"\n{n} small targets + one 64 MiB target")
    print(f"{'phase':<9} {'tool':<15} {'runs':>4} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9} {'wall vs repo-tool':>18}")
    for phase_name in ["create", "add one"]:
        base = figures.get("repo-tool", {}).get(phase_name)
        base_wall = statistics.median(f[0] for f in base) if base else None
        for tool, phases in figures.items():
            rows = phases[phase_name]
            if not rows:
                print(f"{phase_name:<9} {tool:<15} {'-':>4}  (failed or not run)")
                continue
            wall = statistics.median(r[0] for r in rows)
            cpu = statistics.median(r[1] for r in rows)
            rss = statistics.median(r[2] for r in rows) / 1024
            ratio = f"{wall / base_wall:.1f}x" if base_wall else "-"
            print(f"{phase_name:<9} {tool:<15} {len(rows):>4} {wall:>8.2f} {cpu:>8.2f} {rss:>9.1f} {ratio:>18}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
