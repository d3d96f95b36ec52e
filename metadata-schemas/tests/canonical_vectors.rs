//! Canonical JSON against securesystemslib: the vectors in
//! testdata/canonical-json/vectors.json were produced by `encode_canonical` (see
//! scripts/gen_canonical_vectors.py). Same bytes where Python succeeds; an error where
//! Python fails or where we refuse on purpose.

use metadata_schemas::json;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn canonical_json_is_byte_identical_to_securesystemslib() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/canonical-json/vectors.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 50, "the vector file looks truncated");
    let mut checked = 0;
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let input = hex(v["input_hex"].as_str().unwrap());
        let ours = json::parse(&input).map(|value| json::to_canonical(&value));
        match (v.get("canonical_hex"), v.get("strict")) {
            (Some(expected), None) => {
                let ours = ours.unwrap_or_else(|e| panic!("{name}: Python encodes it, we fail: {e}"));
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&hex(expected.as_str().unwrap())),
                    "{name}"
                );
                assert_eq!(ours, hex(expected.as_str().unwrap()), "{name}");
            }
            _ => assert!(ours.is_err(), "{name}: expected a refusal, got {:?}", ours.map(String::from_utf8)),
        }
        checked += 1;
    }
    assert_eq!(checked, vectors.len());
}

#[test]
fn canonical_output_parses_back_to_the_same_value() {
    let input = br#"{"b": [1, {"y": "\u00e9\"\\"}], "a": -5, "c": 123456789012345678901234567890}"#;
    let value = json::parse(input).unwrap();
    let canonical = json::to_canonical(&value);
    assert_eq!(json::parse(&canonical).unwrap(), value);
    assert_eq!(json::to_canonical(&json::parse(&canonical).unwrap()), canonical);
}

#[test]
fn pretty_output_is_valid_json_even_with_control_characters() {
    let value = json::parse(br#"{"k": "line\nbreak\u0001", "e": {}, "l": []}"#).unwrap();
    let pretty = json::to_pretty(&value);
    let reparsed: serde_json::Value = serde_json::from_slice(&pretty).unwrap();
    assert_eq!(reparsed["k"], "line\nbreak\u{1}");
    assert_eq!(json::parse(&pretty).unwrap(), value);
}
