#!/usr/bin/env python3
"""The kernel's share of creating a repository of N small targets: the system calls
the tools cannot avoid, made with nothing else around them, timed as CPU time (user +
system) of this process. It puts bench/repo_tool.py's "create" figures beside their
floor.

  read       open, read and close each of the N source files (every tool does)
  store      create each file once, under its SHA-256 (repo-tool's content store;
             python-tuf writes its published copies this way)
  link       hard-link each stored file to its consistent-snapshot name (repo-tool's
             publish; python-tuf has no separate store, so no second name)

Usage: python3 bench/file_floor.py SRC_DIR WORK_DIR     (SRC_DIR as bench/repo_tool.py makes it)
"""
import hashlib
import os
import resource
import sys


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def timed(label, work):
    user0, system0 = cpu()
    work()
    user1, system1 = cpu()
    print(f"{label:<8} user {user1 - user0:6.2f} s  system {system1 - system0:6.2f} s")
    return (user1 - user0) + (system1 - system0)


def main():
    src, work = sys.argv[1], sys.argv[2]
    names = sorted(n for n in os.listdir(src) if n != "image.bin")
    contents = []
    store = os.path.join(work, "store")
    out = os.path.join(work, "out", "targets")
    os.makedirs(out)

    def read():
        for name in names:
            with open(os.path.join(src, name), "rb") as f:
                contents.append(f.read())

    digests = []

    def write():
        for data in contents:
            digest = hashlib.sha256(data).hexdigest()
            directory = os.path.join(store, digest[:2])
            os.makedirs(directory, exist_ok=True)
            fd = os.open(os.path.join(directory, digest), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
            digests.append(digest)

    def link():
        for name, digest in zip(names, digests):
            os.link(os.path.join(store, digest[:2], digest), os.path.join(out, f"{digest}.{name}"))

    total = sum(timed(label, step) for label, step in [("read", read), ("store", write), ("link", link)])
    print(f"{len(names)} files: {total:.2f} s CPU in all")


if __name__ == "__main__":
    main()
