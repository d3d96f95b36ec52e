//! Typed decoding keeps everything that was signed: decoding a document and encoding
//! it again gives the same canonical bytes, unknown fields included.

use std::path::Path;

use metadata_schemas::{Decode, Encode, Envelope, Error, Root, Snapshot, Targets, Timestamp, json};

fn reencode<T: Decode + Encode + PartialEq + std::fmt::Debug>(envelope: &Envelope<'_>) -> Vec<u8> {
    let typed: T = envelope.decode_signed().unwrap();
    // The consuming decode (used by the verifier to save memory) gives the same value.
    assert_eq!(envelope.clone().into_decoded::<T>().unwrap(), typed);
    json::to_canonical(&typed.encode())
}

#[test]
fn every_python_tuf_document_round_trips_to_the_same_canonical_bytes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/python-tuf");
    let mut checked = 0;
    for repo in std::fs::read_dir(root).unwrap() {
        for file in std::fs::read_dir(repo.unwrap().path().join("metadata")).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            let envelope = Envelope::parse(&bytes).unwrap();
            let again = match envelope.signed_type() {
                Some("root") => reencode::<Root>(&envelope),
                Some("targets") => reencode::<Targets>(&envelope),
                Some("snapshot") => reencode::<Snapshot>(&envelope),
                Some("timestamp") => reencode::<Timestamp>(&envelope),
                other => panic!("unexpected type {other:?}"),
            };
            assert_eq!(String::from_utf8(again).unwrap(), String::from_utf8(envelope.canonical_signed()).unwrap());
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked}");
}

#[test]
fn unknown_fields_everywhere_survive_the_round_trip() {
    let text = br#"{"signatures": [{"keyid": "k", "sig": "00", "x-sig": 1}], "x-top": true, "signed": {
      "_type": "targets", "spec_version": "1.0.31", "version": 3, "expires": "2031-02-03T04:05:06Z",
      "x-role": {"nested": [1, "two"]},
      "targets": {"a/b.bin": {"length": 7, "hashes": {"sha256": "aa2fb5c1b8f8a4d7b2b8a1e0a1e1b0c0d0e0f0a0b0c0d0e0f0a0b0c0d0e0f0a0", "blake3": "xyz"},
                             "custom": {"anything": {"goes": null}}, "x-file": -12}},
      "delegations": {"keys": {"k1": {"keytype": "future", "scheme": "future-1", "keyval": {"x": "y"}, "x-key": 0}},
                      "roles": [{"name": "r", "keyids": ["k1"], "threshold": 1, "terminating": false,
                                 "paths": ["a/*"], "x-del": "kept"}], "x-dels": []}}}"#;
    let envelope = Envelope::parse(text).unwrap();
    let targets: Targets = envelope.decode_signed().unwrap();
    assert_eq!(json::to_canonical(&targets.encode()), envelope.canonical_signed());
    assert_eq!(envelope.signatures[0].unknown.get("x-sig").and_then(|v| v.as_u64()), Some(1));
}

#[test]
fn decode_errors_name_the_field() {
    let cases: &[(&[u8], &str)] = &[
        (br#"{"_type": "timestamp", "spec_version": "1.0", "version": 0, "expires": "2030-01-01T00:00:00Z", "meta": {}}"#,
         "version: out of range (allowed: 1 to 2^64-1)"),
        (br#"{"_type": "timestamp", "spec_version": "2.0.0", "version": 1, "expires": "2030-01-01T00:00:00Z", "meta": {}}"#,
         "spec_version: unsupported spec_version: only major version 1 is supported"),
        (br#"{"_type": "timestamp", "spec_version": "1.0", "version": 1, "expires": "2030-01-01 00:00:00", "meta": {}}"#,
         "expires: not a UTC time of the form YYYY-MM-DDTHH:MM:SSZ"),
        (br#"{"_type": "timestamp", "spec_version": "1.0", "version": 1, "expires": "2030-01-01T00:00:00Z", "meta": {}}"#,
         "meta[\"snapshot.json\"]: missing"),
        (br#"{"_type": "timestamp", "spec_version": "1.0", "version": 1, "expires": "2030-01-01T00:00:00Z",
             "meta": {"snapshot.json": {"version": 1, "hashes": {"sha256": "ABCD"}}}}"#,
         "meta[\"snapshot.json\"].hashes.sha256: digest is not lowercase hex of the algorithm's length"),
        (br#"{"_type": "timestamp", "spec_version": "1.0", "version": 1, "expires": "2030-01-01T00:00:00Z",
             "meta": {"snapshot.json": {"version": "1"}}}"#,
         "meta[\"snapshot.json\"].version: expected an integer, found a string"),
        (br#"{"_type": "root", "spec_version": "1.0", "version": 1, "expires": "2030-01-01T00:00:00Z", "meta": {}}"#,
         "_type: metadata type is \"root\", expected \"timestamp\""),
    ];
    for (input, expected) in cases {
        let value = json::parse(input).unwrap();
        let err = Timestamp::decode(&value).unwrap_err();
        assert_eq!(err.to_string(), *expected);
    }
}

#[test]
fn delegation_rules_are_enforced_when_decoding() {
    let base = |roles: &str| {
        format!(
            r#"{{"_type": "targets", "spec_version": "1.0", "version": 1, "expires": "2030-01-01T00:00:00Z",
                   "targets": {{}}, "delegations": {{"keys": {{}}, {roles}}}}}"#
        )
    };
    let cases = [
        (
            r#""roles": [{"name": "targets", "keyids": [], "threshold": 1, "terminating": false, "paths": []}]"#,
            "top-level role name",
        ),
        (
            r#""roles": [{"name": "a", "keyids": [], "threshold": 1, "terminating": false}]"#,
            "exactly one of paths and path_hash_prefixes",
        ),
        (
            r#""roles": [{"name": "a", "keyids": ["k", "k"], "threshold": 1, "terminating": false, "paths": []}]"#,
            "listed twice",
        ),
        (
            r#""roles": [{"name": "a", "keyids": [], "threshold": 1, "terminating": false, "paths": []},
                      {"name": "a", "keyids": [], "threshold": 1, "terminating": false, "paths": []}]"#,
            "listed twice",
        ),
        (
            r#""roles": [], "succinct_roles": {"keyids": [], "threshold": 1, "bit_length": 4, "name_prefix": "b"}"#,
            "exactly one of roles",
        ),
        (r#""succinct_roles": {"keyids": [], "threshold": 1, "bit_length": 33, "name_prefix": "b"}"#, "1 to 32"),
        (r#""roles": [{"name": "a", "keyids": [], "threshold": 0, "terminating": false, "paths": []}]"#, "threshold"),
    ];
    for (roles, expected) in cases {
        let text = base(roles);
        let value = json::parse(text.as_bytes()).unwrap();
        let err = Targets::decode(&value).unwrap_err().to_string();
        assert!(err.contains(expected), "{roles}: {err}");
    }
}

#[test]
fn duplicate_signature_key_ids_make_the_document_invalid() {
    let text = br#"{"signed": {}, "signatures": [{"keyid": "a", "sig": "00"}, {"keyid": "a", "sig": "11"}]}"#;
    let err = Envelope::parse(text).unwrap_err();
    assert!(matches!(err, Error::Decode(_)));
    assert_eq!(err.to_string(), "invalid metadata: signatures[1]: \"a\" is listed twice");
}

#[test]
fn target_paths_are_checked_where_they_become_file_names() {
    use metadata_schemas::{TargetPath, UnsafePath};
    let ok = TargetPath::new("dir/sub/file.bin");
    assert_eq!(ok.file_path_segments().unwrap(), ["dir", "sub", "file.bin"]);
    for (path, why) in [
        ("../etc/passwd", UnsafePath::DotSegment),
        ("a/../../b", UnsafePath::DotSegment),
        ("/etc/passwd", UnsafePath::Absolute),
        ("a//b", UnsafePath::EmptySegment),
        ("a/", UnsafePath::EmptySegment),
        ("a\\..\\b", UnsafePath::ForbiddenCharacter),
        ("a\0b", UnsafePath::ForbiddenCharacter),
        ("", UnsafePath::Empty),
    ] {
        assert_eq!(TargetPath::new(path).file_path_segments().unwrap_err(), why, "{path:?}");
    }
}

#[test]
fn role_file_names_are_percent_encoded_single_segments() {
    use metadata_schemas::RoleName;
    let cases = [
        ("targets", "targets.json"),
        ("a/b", "a%2Fb.json"),
        ("../x", "..%2Fx.json"),
        ("q?#%", "q%3F%23%25.json"),
        ("é", "%C3%A9.json"),
    ];
    for (name, file) in cases {
        assert_eq!(RoleName::new(name).unwrap().file_name(), file);
    }
}
