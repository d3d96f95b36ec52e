//! TUF 5.7.3: target content is checked for length and every known hash as it
//! streams, and a download that runs past the listed length stops at once.

use metadata_schemas::{Digest, HashAlgorithm, Hashes, TargetFile, TargetPath};
use threshold_keys::digest::digest;
use update_verifier::{Error, TargetVerifier};

const CONTENT: &[u8] = b"the exact bytes of the target";

fn listed(hashes: Vec<Digest>) -> (TargetPath, TargetFile) {
    (TargetPath::new("dir/fw.bin"), TargetFile::new(CONTENT.len() as u64, Hashes::new(hashes).unwrap()))
}

fn both() -> (TargetPath, TargetFile) {
    listed(vec![digest(HashAlgorithm::Sha256, CONTENT), digest(HashAlgorithm::Sha512, CONTENT)])
}

fn feed(verifier: &mut TargetVerifier, data: &[u8]) -> Result<(), Error> {
    data.chunks(5).try_for_each(|chunk| verifier.update(chunk))
}

#[test]
fn tuf_5_7_3_matching_content_verifies_in_any_chunking() {
    let (path, file) = both();
    for chunk in [1, 3, 64] {
        let mut v = TargetVerifier::new(&path, &file).unwrap();
        CONTENT.chunks(chunk).for_each(|c| v.update(c).unwrap());
        v.finish().unwrap();
    }
}

#[test]
fn endless_data_stops_at_the_first_byte_past_the_listed_length() {
    let (path, file) = both();
    let mut v = TargetVerifier::new(&path, &file).unwrap();
    feed(&mut v, CONTENT).unwrap();
    assert_eq!(v.remaining(), 0);
    let err = v.update(b"x").unwrap_err();
    assert_eq!(err, Error::TargetTooLong { path, length: CONTENT.len() as u64 });
}

#[test]
fn short_content_is_refused() {
    let (path, file) = both();
    let mut v = TargetVerifier::new(&path, &file).unwrap();
    feed(&mut v, &CONTENT[..10]).unwrap();
    assert!(matches!(v.finish(), Err(Error::TargetTooShort { received: 10, .. })));
}

#[test]
fn every_listed_hash_must_match() {
    // sha256 right, sha512 of other bytes: still refused.
    let (path, file) = listed(vec![digest(HashAlgorithm::Sha256, CONTENT), digest(HashAlgorithm::Sha512, b"other")]);
    let mut v = TargetVerifier::new(&path, &file).unwrap();
    feed(&mut v, CONTENT).unwrap();
    assert_eq!(v.finish().unwrap_err(), Error::TargetHashMismatch { path, algorithm: HashAlgorithm::Sha512 });
}

#[test]
fn tampered_content_of_the_right_length_is_refused() {
    let (path, file) = both();
    let mut tampered = CONTENT.to_vec();
    tampered[3] ^= 1;
    let mut v = TargetVerifier::new(&path, &file).unwrap();
    feed(&mut v, &tampered).unwrap();
    assert!(matches!(v.finish(), Err(Error::TargetHashMismatch { .. })));
}

#[test]
fn a_target_with_only_unknown_hash_algorithms_cannot_be_verified() {
    let value = metadata_schemas::json::parse(br#"{"length": 3, "hashes": {"sha3-256": "abcd"}}"#).unwrap();
    let file: TargetFile = metadata_schemas::Decode::decode(&value).unwrap();
    let err = TargetVerifier::new(&TargetPath::new("x"), &file).unwrap_err();
    assert_eq!(err, Error::NoKnownHash { path: TargetPath::new("x") });
}
