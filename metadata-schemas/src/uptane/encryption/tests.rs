extern crate std;

use alloc::format;
use alloc::string::{String, ToString};

use super::*;
use crate::json;

/// The design's example, with real-looking values.
fn block_json(content_alg: &str, extra: &str) -> String {
    format!(
        r#"{{"version": 1{extra},
            "content": {{"alg": "{content_alg}", "iv": "{iv}", "filename": "brake/fw-2.bin.brake-1.enc",
                        "length": 262144, "hashes": {{"sha256": "{h}"}}, "x-note": "kept"}},
            "key": {{"alg": "x25519-hkdf-sha256-a128kw", "ecu_key_id": "{h}", "epk": "{h}", "wrapped_cek": "{w}"}},
            "chunks": {{"size": 4096, "hash_alg": "sha256",
                       "index": {{"filename": "brake/fw-2.bin.brake-1.idx", "length": 2048, "hashes": {{"sha256": "{h}"}}}}}}}}"#,
        iv = "ab".repeat(16),
        h = "cd".repeat(32),
        w = "ef".repeat(24),
    )
}

fn decode(text: &str) -> Result<EncryptionBlock, String> {
    let value = json::parse(text.as_bytes()).map_err(|e| format!("{e:?}"))?;
    EncryptionBlock::decode(&value).map_err(|e| e.to_string())
}

#[test]
fn the_designs_block_decodes_and_re_encodes_to_the_same_canonical_bytes() {
    let text = block_json("aes-128-ctr", r#", "x-future": true"#);
    let block = decode(&text).unwrap();
    assert_eq!(block.content.alg, ContentAlgorithm::Aes128Ctr);
    assert_eq!(block.content.iv, [0xAB; 16]);
    assert_eq!(block.content.length, 262144);
    assert_eq!(block.key.wrapped_cek, [0xEF; 24]);
    assert_eq!(block.chunks.as_ref().unwrap().size, 4096);
    let value = json::parse(text.as_bytes()).unwrap();
    assert_eq!(json::to_canonical(&block.encode()), json::to_canonical(&value), "unknown fields are kept");
}

#[test]
fn an_unknown_algorithm_is_refused_by_name() {
    let error = decode(&block_json("aes-128-cbc", "")).unwrap_err();
    assert!(error.contains("content.alg") && error.contains("aes-128-ctr"), "{error}");
    let text = block_json("aes-128-ctr", "").replace("x25519-hkdf-sha256-a128kw", "rsa-oaep");
    assert!(decode(&text).unwrap_err().contains("key.alg"));
}

#[test]
fn a_later_version_and_malformed_fields_are_refused() {
    let later = block_json("aes-128-ctr", "").replacen(r#""version": 1"#, r#""version": 2"#, 1);
    assert!(decode(&later).unwrap_err().contains("version"));
    let short_iv = block_json("aes-128-ctr", "").replace(&"ab".repeat(16), &"ab".repeat(15));
    assert!(decode(&short_iv).unwrap_err().contains("content.iv"));
    let upper = block_json("aes-128-ctr", "").replace(&"ef".repeat(24), &"EF".repeat(24));
    assert!(decode(&upper).unwrap_err().contains("key.wrapped_cek"));
    for size in ["0", "4095", "2097152"] {
        let text = block_json("aes-128-ctr", "").replace(r#""size": 4096"#, &format!(r#""size": {size}"#));
        assert!(decode(&text).unwrap_err().contains("chunks.size"), "size {size}");
    }
    let md5 = block_json("aes-128-ctr", "").replace(r#""hash_alg": "sha256""#, r#""hash_alg": "md5""#);
    assert!(decode(&md5).unwrap_err().contains("chunks.hash_alg"));
    let missing = block_json("aes-128-ctr", "").replace(r#""epk""#, r#""e_p_k""#);
    assert!(decode(&missing).unwrap_err().contains("key.epk: missing"), "{}", decode(&missing).unwrap_err());
}

#[test]
fn chunks_are_optional() {
    let text = block_json("aes-128-ctr", "");
    // Everything before "chunks", closed.
    let at = text.find(r#""chunks""#).unwrap();
    let without = format!("{}}}", text[..at].trim_end().trim_end_matches(','));
    assert!(decode(&without).unwrap().chunks.is_none(), "{without}");
}
