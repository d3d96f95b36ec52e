#!/usr/bin/env python3
"""The python-tuf side of bench/repo_tool.py: the work `repo-tool init`, `targets add`
and `publish` do, written against python-tuf's Metadata API the way its examples do.

  python_tuf_repo.py create WORK SRC       # keys, every file under SRC as a target, publish
  python_tuf_repo.py add WORK FILE         # one more target, new targets/snapshot/timestamp

WORK gets `keys/` (PKCS#8 PEM encrypted with $PASSPHRASE, as repo-tool keeps its key
files) and `out/`, the consistent-snapshot layout a client fetches: metadata/N.role.json
and targets/<sha256>.<name>, the way python-tuf's own repository examples publish.
"""
import hashlib
import os
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

ROLES = ["root", "targets", "snapshot", "timestamp"]
PASSPHRASE = os.environ.get("PASSPHRASE", "x").encode()
SERIALIZER = JSONSerializer(compact=False)


def expires(days):
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=days)


def save_key(work, role, signer):
    pem = signer._private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE),
    )
    with open(os.path.join(work, "keys", role + ".pem"), "wb") as f:
        f.write(pem)


def load_key(work, role, public_key):
    with open(os.path.join(work, "keys", role + ".pem"), "rb") as f:
        private = serialization.load_pem_private_key(f.read(), PASSPHRASE)
    return CryptoSigner(private, public_key)


def write(out, name, md):
    md.to_file(os.path.join(out, "metadata", name), SERIALIZER)


def add_target(out, targets, path, data):
    """Lists one file and places its bytes under the consistent-snapshot name."""
    target = TargetFile.from_data(path, data, ["sha256"])
    targets.targets[path] = target
    digest = target.hashes["sha256"]
    directory, name = os.path.split(path)
    destination = os.path.join(out, "targets", directory, f"{digest}.{name}")
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    with open(destination, "wb") as f:
        f.write(data)


def snapshot_and_timestamp(out, signers, targets_md, snapshot_version, timestamp_version):
    snapshot = Metadata(Snapshot(version=snapshot_version, expires=expires(7)))
    snapshot.signed.meta["targets.json"] = MetaFile(version=targets_md.signed.version)
    snapshot.sign(signers["snapshot"])
    write(out, f"{snapshot_version}.snapshot.json", snapshot)
    raw = open(os.path.join(out, "metadata", f"{snapshot_version}.snapshot.json"), "rb").read()
    timestamp = Metadata(Timestamp(version=timestamp_version, expires=expires(1)))
    timestamp.signed.snapshot_meta = MetaFile(
        version=snapshot_version, length=len(raw), hashes={"sha256": hashlib.sha256(raw).hexdigest()}
    )
    timestamp.sign(signers["timestamp"])
    write(out, "timestamp.json", timestamp)


def create(work, src):
    out = os.path.join(work, "out")
    for d in ("keys", "out/metadata", "out/targets"):
        os.makedirs(os.path.join(work, d))
    signers = {role: CryptoSigner.generate_ed25519() for role in ROLES}
    for role, signer in signers.items():
        save_key(work, role, signer)
    root = Metadata(Root(expires=expires(365), consistent_snapshot=True))
    for role in ROLES:
        root.signed.add_key(signers[role].public_key, role)
    root.sign(signers["root"])
    write(out, "1.root.json", root)

    targets = Metadata(Targets(expires=expires(90)))
    for directory, _, names in os.walk(src):
        for name in sorted(names):
            full = os.path.join(directory, name)
            with open(full, "rb") as f:
                add_target(out, targets.signed, os.path.relpath(full, src), f.read())
    targets.sign(signers["targets"])
    write(out, "1.targets.json", targets)
    snapshot_and_timestamp(out, signers, targets, 1, 1)


def add(work, file):
    out = os.path.join(work, "out")
    metadata = os.path.join(out, "metadata")
    root = Metadata.from_file(os.path.join(metadata, "1.root.json"))
    timestamp = Metadata.from_file(os.path.join(metadata, "timestamp.json"))
    snapshot_version = timestamp.signed.snapshot_meta.version
    snapshot = Metadata.from_file(os.path.join(metadata, f"{snapshot_version}.snapshot.json"))
    targets_version = snapshot.signed.meta["targets.json"].version
    targets = Metadata.from_file(os.path.join(metadata, f"{targets_version}.targets.json"))
    signers = {}
    for role in ("targets", "snapshot", "timestamp"):
        keyid = root.signed.roles[role].keyids[0]
        signers[role] = load_key(work, role, root.signed.keys[keyid])
    with open(file, "rb") as f:
        add_target(out, targets.signed, os.path.basename(file), f.read())
    targets.signed.version += 1
    targets.signatures.clear()
    targets.sign(signers["targets"])
    write(out, f"{targets.signed.version}.targets.json", targets)
    snapshot_and_timestamp(out, signers, targets, snapshot_version + 1, timestamp.signed.version + 1)


if __name__ == "__main__":
    command, work = sys.argv[1], sys.argv[2]
    if command == "create":
        create(work, sys.argv[3])
    elif command == "add":
        add(work, sys.argv[3])
    else:
        sys.exit(f"unknown command {command}")
