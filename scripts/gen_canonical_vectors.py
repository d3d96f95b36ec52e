#!/usr/bin/env python3
"""Generates testdata/canonical-json/vectors.json with securesystemslib's encoder.

Each vector is an input document (hex bytes) and what securesystemslib makes of it:
the canonical bytes (hex), or the error Python raised. Our encoder must produce the
same bytes, and refuse what Python refuses. A few inputs Python accepts are refused by
us on purpose (duplicate keys, NaN); they are marked "strict".

Run: python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements.txt
     .venv/bin/python scripts/gen_canonical_vectors.py
"""
import json
import os
import sys

import securesystemslib
from securesystemslib.formats import encode_canonical

CASES = [
    # name, input text (str, encoded as UTF-8) or bytes, strict-reason (we refuse on purpose)
    ("empty-object", "{}"),
    ("empty-array", "[]"),
    ("empty-string", '""'),
    ("zero", "0"),
    ("negative-zero", "-0"),
    ("integers", "[1, -1, 123456789, -987654321]"),
    ("u64-max", "18446744073709551615"),
    ("u64-max-plus-one", "18446744073709551616"),
    ("i64-min", "-9223372036854775808"),
    ("i64-min-minus-one", "-9223372036854775809"),
    ("googol", "1" + "0" * 100),
    ("negative-big", "-" + "9" * 60),
    ("literals", "[true, false, null]"),
    ("whitespace", ' \t\r\n{ "a" : [ 1 , 2 ] , "b" :\n{ } }\n '),
    ("key-order-ascii", '{"b":1,"a":2,"A":3,"_":4,"z":6,"aa":7,"":8,"B":9,"0":10}'),
    ("key-order-non-ascii", '{"é":1,"e":2,"ｦ":3,"😀":4,"\\uffff":5,"z":6}'),
    ("key-order-bmp-vs-astral", '{"\\ud83d\\ude00":1,"\\uff61":2}'),
    ("escaped-quote-backslash", r'"a\"b\\c"'),
    ("escaped-solidus", r'"a\/b"'),
    ("escaped-controls", r'"\u0000\u0001\b\f\n\r\t\u001f"'),
    ("raw-del", '"\x7f"'),
    ("escaped-del", r'"\u007f"'),
    ("non-ascii-raw", '"grüße, 日本, Ω"'),
    ("non-ascii-escaped", r'"gr\u00fc\u00dfe, \u65e5\u672c, \u03a9"'),
    ("nfc", '"\u00e9"'),
    ("nfd-not-normalized", '"e\u0301"'),
    ("surrogate-pair-escaped", r'"\ud83d\ude00"'),
    ("astral-raw", '"😀 \U0010ffff"'),
    ("line-separators", r'"\u2028\u2029"'),
    ("bom-inside-string", r'"\ufeffx"'),
    ("quote-in-key", r'{"a\"b":1,"a\\b":2}'),
    ("nested-empty", '{"a":{},"b":[],"c":[{}],"d":[[]],"e":{"f":{}}}'),
    ("deep-nesting", "[" * 40 + "1" + "]" * 40),
    ("deep-objects", '{"a":' * 30 + "0" + "}" * 30),
    ("mixed-array", '[1,"two",{"three":3},[4],null,true]'),
    (
        "tuf-root-signed",
        json.dumps(
            {
                "_type": "root",
                "spec_version": "1.0.31",
                "version": 1,
                "expires": "2030-01-01T00:00:00Z",
                "consistent_snapshot": True,
                "keys": {
                    "9f3c": {
                        "keytype": "ecdsa",
                        "scheme": "ecdsa-sha2-nistp256",
                        "keyval": {"public": "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"},
                    }
                },
                "roles": {"root": {"keyids": ["9f3c"], "threshold": 1}},
                "x-unknown": {"z": [3, 2, 1], "a": None},
            },
            indent=1,
        ),
    ),
    # Python refuses these: so must we.
    ("float", "1.0"),
    ("float-exponent", "1e5"),
    ("float-in-object", '{"a": 0.5}'),
    ("lone-high-surrogate", r'"\ud800"'),
    ("lone-low-surrogate", r'"\udc00x"'),
    ("trailing-comma-array", "[1,]"),
    ("trailing-comma-object", '{"a":1,}'),
    ("leading-zero", "01"),
    ("raw-control-in-string", '"a\x01b"'),
    ("raw-newline-in-string", '"a\nb"'),
    ("invalid-utf8", b'"\xff"'),
    ("truncated", '{"a": [1, 2'),
    ("trailing-data", "{} {}"),
    ("single-quotes", "{'a': 1}"),
    ("bom-before-document", "\ufeff{}"),
    ("too-many-digits", "1" * 4301),
    # Python accepts these; we refuse them on purpose.
    ("duplicate-key", '{"a":1,"a":2}', "duplicate keys are ambiguous: parsers disagree on which wins"),
    ("nan", "NaN", "not JSON (RFC 8259), and floats are not allowed"),
    ("infinity", "[Infinity]", "not JSON (RFC 8259), and floats are not allowed"),
]


def vector(name, text, strict=None):
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    entry = {"name": name, "input_hex": raw.hex()}
    try:
        obj = json.loads(raw.decode("utf-8"))
        canonical = encode_canonical(obj).encode("utf-8")
        entry["canonical_hex"] = canonical.hex()
    except (ValueError, UnicodeError, securesystemslib.exceptions.FormatError) as e:
        entry["python_error"] = f"{type(e).__name__}: {e}"[:200]
    if strict:
        entry["strict"] = strict
    return entry


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "testdata", "canonical-json", "vectors.json")
    vectors = [vector(*case) for case in CASES]
    doc = {
        "generator": f"securesystemslib {securesystemslib.__version__} encode_canonical, Python {sys.version.split()[0]}",
        "vectors": vectors,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
