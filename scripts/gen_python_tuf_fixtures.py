#!/usr/bin/env python3
"""Generates the python-tuf repositories under testdata/python-tuf/ that our verifier
must accept. Each repository directory holds:

  metadata/   N.root.json, timestamp.json, V.snapshot.json, V.<role>.json (consistent snapshots)
  targets/    <dir>/<sha256>.<name> files, as python-tuf serves them
  fixture.json  what the tests expect: trusted root file, reference time, targets and the
                role that lists each

Times are fixed (expiry dates far in the future, roots of old versions already expired)
so the committed files verify at the reference time forever; keys are fresh each run.

Run: python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements.txt
     .venv/bin/python scripts/gen_python_tuf_fixtures.py
"""
import hashlib
import json
import os
import shutil
import sys
import urllib.parse
from datetime import datetime, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

OUT = os.path.join(os.path.dirname(__file__), "..", "testdata", "python-tuf")
if "--out" in sys.argv:
    OUT = sys.argv[sys.argv.index("--out") + 1]
REFERENCE_TIME = "2030-01-01T00:00:00Z"


def utc(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


EXPIRES = {
    "root": utc("2099-01-01T00:00:00Z"),
    "targets": utc("2098-01-01T00:00:00Z"),
    "delegated": utc("2098-06-01T00:00:00Z"),
    "snapshot": utc("2097-01-01T00:00:00Z"),
    "timestamp": utc("2096-01-01T00:00:00Z"),
}

GENERATORS = {
    "ecdsa": CryptoSigner.generate_ecdsa,
    "ed25519": CryptoSigner.generate_ed25519,
    "rsa": lambda: CryptoSigner.generate_rsa(size=2048),
}


class Repo:
    def __init__(self, name, keytype):
        self.name = name
        self.keytype = keytype
        self.dir = os.path.join(OUT, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "metadata"))
        os.makedirs(os.path.join(self.dir, "targets"))
        self.signers = {}
        self.root = Metadata(Root(expires=EXPIRES["root"], consistent_snapshot=True))
        for role in ["root", "timestamp", "snapshot", "targets"]:
            self.signers[role] = [self.new_key()]
            self.root.signed.add_key(self.signers[role][0].public_key, role)
        self.roots = []  # every published root version, signed
        self.targets = {"targets": Metadata(Targets(expires=EXPIRES["targets"]))}
        self.delegators = {}  # role -> delegating role
        self.expected_targets = {}

    def new_key(self, keytype=None):
        return GENERATORS[keytype or self.keytype]()

    def sign_root(self, signers):
        for signer in signers:
            self.root.sign(signer, append=True)
        self.roots.append(self.root.to_bytes(JSONSerializer()))

    def add_target(self, path, content, role="targets", custom=None):
        data = content.encode("utf-8") if isinstance(content, str) else content
        target = TargetFile.from_data(path, data, ["sha256", "sha512"])
        if custom is not None:
            target.unrecognized_fields["custom"] = custom
        self.targets[role].signed.targets[path] = target
        digest = hashlib.sha256(data).hexdigest()
        dirname, _, base = path.rpartition("/")
        out = os.path.join(self.dir, "targets", dirname, f"{digest}.{base}")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "wb") as f:
            f.write(data)
        self.expected_targets[path] = {"role": role, "length": len(data), "sha256": digest}

    def delegate(self, parent, name, paths=None, hash_prefixes=None, terminating=False, threshold=1, nkeys=1):
        parent_md = self.targets[parent].signed
        if parent_md.delegations is None:
            parent_md.delegations = Delegations(keys={}, roles={})
        signers = [self.new_key() for _ in range(nkeys)]
        role = DelegatedRole(
            name=name,
            keyids=[s.public_key.keyid for s in signers],
            threshold=threshold,
            terminating=terminating,
            paths=paths,
            path_hash_prefixes=hash_prefixes,
        )
        for s in signers:
            parent_md.delegations.keys[s.public_key.keyid] = s.public_key
        parent_md.delegations.roles[name] = role
        self.signers[name] = signers
        self.targets[name] = Metadata(Targets(expires=EXPIRES["delegated"]))
        self.delegators[name] = parent

    def succinct(self, parent, bit_length, prefix):
        signer = self.new_key()
        succinct = SuccinctRoles(
            keyids=[signer.public_key.keyid], threshold=1, bit_length=bit_length, name_prefix=prefix
        )
        self.targets[parent].signed.delegations = Delegations(
            keys={signer.public_key.keyid: signer.public_key}, succinct_roles=succinct
        )
        for name in succinct.get_roles():
            self.signers[name] = [signer]
            self.targets[name] = Metadata(Targets(expires=EXPIRES["delegated"]))
            self.delegators[name] = parent
        return succinct

    def write(self, file_name, data):
        with open(os.path.join(self.dir, "metadata", file_name), "wb") as f:
            f.write(data)

    def write_variants(self, timestamp):
        """Validly signed timestamps for attack tests: a newer one (to roll back from)
        and an expired one (freeze)."""
        variants = os.path.join(self.dir, "variants")
        os.makedirs(variants)
        for name, version, expires in [
            ("timestamp-v2.json", 2, EXPIRES["timestamp"]),
            ("timestamp-expired.json", 2, utc("2020-01-01T00:00:00Z")),
        ]:
            variant = Metadata(Timestamp(version=version, expires=expires, snapshot_meta=timestamp.signed.snapshot_meta))
            for signer in self.signers["timestamp"]:
                variant.sign(signer, append=True)
            with open(os.path.join(variants, name), "wb") as f:
                f.write(variant.to_bytes(JSONSerializer()))

    def publish(self, meta_lengths=False):
        if not self.roots:
            self.sign_root(self.signers["root"])
        for i, data in enumerate(self.roots, start=1):
            self.write(f"{i}.root.json", data)
        snapshot = Metadata(Snapshot(expires=EXPIRES["snapshot"]))
        for role, md in self.targets.items():
            for signer in self.signers[role]:
                md.sign(signer, append=True)
            data = md.to_bytes(JSONSerializer())
            self.write(f"{md.signed.version}.{urllib.parse.quote(role, safe='')}.json", data)
            meta = MetaFile(version=md.signed.version)
            if meta_lengths:
                meta = MetaFile.from_data(md.signed.version, data, ["sha256"])
            snapshot.signed.meta[f"{role}.json"] = meta
        for signer in self.signers["snapshot"]:
            snapshot.sign(signer, append=True)
        snapshot_bytes = snapshot.to_bytes(JSONSerializer())
        self.write(f"{snapshot.signed.version}.snapshot.json", snapshot_bytes)
        timestamp = Metadata(Timestamp(expires=EXPIRES["timestamp"]))
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        if meta_lengths:
            timestamp.signed.snapshot_meta = MetaFile.from_data(
                snapshot.signed.version, snapshot_bytes, ["sha256", "sha512"]
            )
        for signer in self.signers["timestamp"]:
            timestamp.sign(signer, append=True)
        self.write("timestamp.json", timestamp.to_bytes(JSONSerializer()))
        self.write_variants(timestamp)
        fixture = {
            "trusted_root": "metadata/1.root.json",
            "reference_time": REFERENCE_TIME,
            "root_versions": len(self.roots),
            "key_type": self.keytype,
            "delegators": self.delegators,
            "targets": self.expected_targets,
        }
        with open(os.path.join(self.dir, "fixture.json"), "w") as f:
            json.dump(fixture, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{self.name}: {len(self.roots)} root(s), {len(self.targets)} targets role(s), "
              f"{len(self.expected_targets)} target(s)")


def ecdsa_basic():
    repo = Repo("ecdsa-basic", "ecdsa")
    repo.add_target("file1.txt", "hello from python-tuf\n")
    repo.add_target("dir/file2.bin", bytes(range(256)) * 4)
    repo.add_target("a b/grüße.txt", "non-ASCII path\n", custom={"note": "é", "n": [1, 2]})
    repo.publish(meta_lengths=True)


def ed25519_delegations():
    repo = Repo("ed25519-delegations", "ed25519")
    repo.add_target("top.txt", "listed by targets\n")
    repo.delegate("targets", "role-a", paths=["a/*"])
    repo.delegate("targets", "role-b", paths=["*.bin", "b/*"], terminating=True, threshold=2, nkeys=3)
    repo.delegate("targets", "role-c", paths=["a/*", "c/*"])
    repo.delegate("targets", "role/with?chars", paths=["special/*"])
    repo.delegate("role-a", "role-a1", paths=["a/deep*"])
    repo.add_target("a/one.txt", "listed by role-a\n", role="role-a")
    repo.add_target("a/deep.txt", "listed by role-a1\n", role="role-a1")
    repo.add_target("c/three.txt", "listed by role-c\n", role="role-c")
    repo.add_target("x.bin", "listed by role-b\n", role="role-b")
    repo.add_target("b/y.txt", "listed by role-b too\n", role="role-b")
    repo.add_target("special/target.txt", "role name needs escaping\n", role="role/with?chars")
    repo.publish()


def rsa_hashed_bins():
    repo = Repo("rsa-hashed-bins", "rsa")
    prefixes = [f"{i:x}" for i in range(16)]
    for p in prefixes:
        repo.delegate("targets", f"bin-{p}", hash_prefixes=[p])
    for i in range(24):
        path = f"firmware/image-{i:02}.bin"
        digest = hashlib.sha256(path.encode()).hexdigest()
        repo.add_target(path, f"image {i}\n", role=f"bin-{digest[0]}")
    repo.publish()


def succinct_bins():
    repo = Repo("succinct-bins", "ecdsa")
    succinct = repo.succinct("targets", bit_length=3, prefix="bin")
    for i in range(20):
        path = f"pkg/{i}.tar"
        repo.add_target(path, f"package {i}\n", role=succinct.get_role_for_target(path))
    repo.publish()


def rotated_root():
    repo = Repo("rotated-root", "ecdsa")
    old = utc("2027-01-01T00:00:00Z")  # intermediate roots are expired at the reference time
    root = repo.root.signed
    k1 = repo.signers["root"][0]
    root.expires = old
    repo.sign_root([k1])  # v1: 1 of 1
    k2, k3 = repo.new_key("ed25519"), repo.new_key("rsa")
    for k in (k2, k3):
        root.add_key(k.public_key, "root")
    root.roles["root"].threshold = 2
    root.version = 2
    repo.sign_root([k1, k2])  # v2: 2 of {k1,k2,k3}; v1 needs k1
    k4 = repo.new_key("ecdsa")
    root.revoke_key(k3.public_key.keyid, "root")
    root.add_key(k4.public_key, "root")
    new_ts = repo.new_key("ed25519")
    root.revoke_key(repo.signers["timestamp"][0].public_key.keyid, "timestamp")
    root.add_key(new_ts.public_key, "timestamp")
    repo.signers["timestamp"] = [new_ts]
    root.version = 3
    repo.sign_root([k1, k2])  # v3: {k1,k2,k4}, timestamp key rotated
    k5 = repo.new_key("rsa")
    root.revoke_key(k1.public_key.keyid, "root")
    root.add_key(k5.public_key, "root")
    root.version = 4
    root.expires = EXPIRES["root"]
    repo.sign_root([k2, k4])  # v4: 2 of {k2,k4,k5}; v3 needs 2 of {k1,k2,k4}
    repo.add_target("after-rotation.txt", "signed under root v4\n")
    repo.publish()




def key_files():
    """Private keys as python-tuf users hold them (PKCS#8 PEM, plain and encrypted),
    with the public key entry and key id securesystemslib computes, and a signature."""
    from cryptography.hazmat.primitives import serialization

    if "--out" in sys.argv:
        return  # key files are fixtures for the repository's own tests only
    out = os.path.join(OUT, "..", "keys")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    passphrase = b"correct horse battery staple"
    index = {}
    for name, signer in [("ecdsa", CryptoSigner.generate_ecdsa()), ("ed25519", CryptoSigner.generate_ed25519())]:
        private = signer._private_key
        plain = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        encrypted = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )
        with open(os.path.join(out, f"{name}-plain.pem"), "wb") as f:
            f.write(plain)
        with open(os.path.join(out, f"{name}-encrypted.pem"), "wb") as f:
            f.write(encrypted)
        message = b"signed by python-tuf"
        index[name] = {
            "keyid": signer.public_key.keyid,
            "key": signer.public_key.to_dict(),
            "message_hex": message.hex(),
            "sig": signer.sign(message).signature,
        }
    with open(os.path.join(out, "keys.json"), "w") as f:
        json.dump({"passphrase": passphrase.decode(), "keys": index}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"keys: {sorted(index)}")


if __name__ == "__main__":
    shutil.rmtree(OUT, ignore_errors=True)
    ecdsa_basic()
    ed25519_delegations()
    rsa_hashed_bins()
    succinct_bins()
    rotated_root()
    key_files()
