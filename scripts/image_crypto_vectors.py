"""An independent implementation of image-crypto's scheme, with Python `cryptography`,
for the Rust tests to compare against (image-crypto/tests/python_vectors.rs).

Reads a JSON list of cases on stdin (hex strings and numbers), writes a JSON list of
{ecu_public, epk, wrapped_cek, ciphertext} on stdout.
"""
import json
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def prefixed(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def one(case):
    ecu = X25519PrivateKey.from_private_bytes(bytes.fromhex(case["ecu_secret"]))
    ephemeral = X25519PrivateKey.from_private_bytes(bytes.fromhex(case["ephemeral"]))
    ecu_public = ecu.public_key().public_bytes(*RAW)
    epk = ephemeral.public_key().public_bytes(*RAW)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(ecu_public))
    iv = bytes.fromhex(case["iv"])
    info = (b"uptane-image-key/v1\x00" + prefixed(case["ecu_identifier"]) + prefixed(case["filename"])
            + bytes.fromhex(case["sha256"]) + struct.pack(">Q", case["release_counter"])
            + prefixed(case["content_alg"]) + iv)
    kek = HKDF(algorithm=hashes.SHA256(), length=16, salt=epk + ecu_public, info=info).derive(shared)
    cek = bytes.fromhex(case["cek"])
    encryptor = Cipher(algorithms.AES(cek), modes.CTR(iv)).encryptor()
    ciphertext = encryptor.update(bytes.fromhex(case["plaintext"])) + encryptor.finalize()
    return {"ecu_public": ecu_public.hex(), "epk": epk.hex(), "wrapped_cek": aes_key_wrap(kek, cek).hex(),
            "ciphertext": ciphertext.hex()}


json.dump([one(case) for case in json.load(sys.stdin)], sys.stdout)
