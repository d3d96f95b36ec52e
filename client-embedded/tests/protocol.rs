//! The primary <-> secondary protocol: a whole update as frames, fed to the secondary
//! in pieces of every size; corrupted and oversized frames are refused and the stream
//! recovers.

mod common;

use client_embedded::protocol::{FrameError, Framer, Request, Response, serve};
use common::*;
use metadata_schemas::uptane::AttackCode;

/// Sends `request` through a framer in pieces of `piece` bytes; the decoded response.
fn exchange(ecu: &mut Ecu, framer: &mut Framer<'_>, request: Request<'_>, piece: usize) -> Response {
    let mut wire = Vec::new();
    request.encode(&mut wire);
    let mut scratch = vec![0u8; 16384];
    let mut answer = None;
    for chunk in wire.chunks(piece) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let (used, frame) = framer.push(rest);
            rest = &rest[used..];
            if let Some(frame) = frame {
                let (kind, payload) = frame.expect("a whole frame");
                let request = Request::decode(kind, payload).expect("a known request");
                let response = serve(ecu, request, &mut scratch);
                let mut out = Vec::new();
                response.encode(&mut out);
                let mut buffer = vec![0u8; 4096];
                let mut primary = Framer::new(&mut buffer);
                let (_, back) = primary.push(&out);
                let (kind, payload) = back.expect("a whole response").expect("valid");
                answer = Some(Response::decode(kind, payload).expect("a known response"));
            }
        }
    }
    answer.expect("one response per request")
}

#[test]
fn a_whole_update_travels_as_frames_in_pieces_of_any_size() {
    for piece in [1, 3, 64, 1 << 20] {
        let mut director = Director::new();
        let mut ecu = provisioned(&director);
        let image: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let targets = director.assign(&image, "brake-ecu-1", "brake-hw-a", 2);
        let mut buffer = vec![0u8; 32 * 1024];
        let mut framer = Framer::new(&mut buffer);
        let info = exchange(&mut ecu, &mut framer, Request::GetInfo, piece);
        assert_eq!(info, Response::Info(b"brake-ecu-1\nbrake-hw-a\nbrake/factory.bin".to_vec()));
        let now = now().timestamp() as u64;
        assert_eq!(exchange(&mut ecu, &mut framer, Request::StartCycle(now), piece), Response::Ok);
        let versions = exchange(&mut ecu, &mut framer, Request::GetRootVersions, piece);
        assert_eq!(versions, Response::RootVersions { director: 1, images: 0 });
        let assigned = exchange(&mut ecu, &mut framer, Request::PutTargets(&targets), piece);
        assert_eq!(assigned, Response::Assigned(Some(3000)));
        assert_eq!(exchange(&mut ecu, &mut framer, Request::BeginImage, piece), Response::Ok);
        for chunk in image.chunks(700) {
            assert_eq!(exchange(&mut ecu, &mut framer, Request::ImageChunk(chunk), piece), Response::Ok);
        }
        assert_eq!(exchange(&mut ecu, &mut framer, Request::Activate, piece), Response::Resetting);
        let mut ecu = reset(ecu);
        let mut framer = Framer::new(&mut buffer);
        assert_eq!(exchange(&mut ecu, &mut framer, Request::Confirm, piece), Response::Ok);
        let Response::VersionReport(bytes) = exchange(&mut ecu, &mut framer, Request::GetVersionReport, piece) else {
            panic!("a version report")
        };
        assert!(String::from_utf8(bytes).unwrap().contains("brake/fw-2.bin"));
    }
}

#[test]
fn refusals_answer_with_the_attack_code() {
    let mut director = Director::new();
    let mut ecu = provisioned(&director);
    let targets = director.assign(b"image", "brake-ecu-1", "brake-hw-a", 2);
    let mut buffer = vec![0u8; 32 * 1024];
    let mut framer = Framer::new(&mut buffer);
    assert_eq!(
        exchange(&mut ecu, &mut framer, Request::BeginImage, 7),
        Response::Refused(AttackCode::WRONG_TARGET),
        "no image assigned yet"
    );
    let mut forged = targets.clone();
    let at = forged.len() / 2;
    forged[at] ^= 0x20;
    assert_eq!(exchange(&mut ecu, &mut framer, Request::StartCycle(now().timestamp() as u64), 7), Response::Ok);
    let answer = exchange(&mut ecu, &mut framer, Request::PutTargets(&forged), 7);
    assert!(matches!(answer, Response::Refused(code) if code != AttackCode::NONE), "{answer:?}");
}

#[test]
fn corrupted_and_oversized_frames_are_errors_and_the_stream_recovers() {
    let mut buffer = vec![0u8; 64];
    let mut framer = Framer::new(&mut buffer);
    let mut wire = Vec::new();
    Request::StartCycle(42).encode(&mut wire);
    let mut bad = wire.clone();
    bad[6] ^= 1;
    assert_eq!(framer.push(&bad).1, Some(Err(FrameError::BadCrc)));
    let (_, frame) = framer.push(&wire);
    let (kind, payload) = frame.unwrap().unwrap();
    assert_eq!(Request::decode(kind, payload), Ok(Request::StartCycle(42)));
    let mut big = Vec::new();
    Request::PutTargets(&[0u8; 100]).encode(&mut big);
    assert_eq!(framer.push(&big[..10]).1, Some(Err(FrameError::TooLong(100))));
    assert_eq!(Request::decode(0x7F, &[]), Err(FrameError::Malformed));
    assert_eq!(Request::decode(0x03, &[1, 2, 3]), Err(FrameError::Malformed), "a time is eight bytes");
}

#[test]
fn every_request_with_a_payload_round_trips_and_a_short_delegation_frame_is_malformed() {
    let requests = [
        Request::PutTime(b"attestation"),
        Request::PutImageDelegation { role: "bins-a", bytes: b"{\"signed\":{}}" },
        Request::PutImageDelegation { role: "", bytes: b"" },
        Request::PutOffline { snapshot: b"{\"signed\":{}}", targets: b"targets" },
        Request::PutOffline { snapshot: b"", targets: b"" },
    ];
    for request in requests {
        let mut wire = Vec::new();
        request.encode(&mut wire);
        let mut buffer = vec![0u8; 1024];
        let mut framer = Framer::new(&mut buffer);
        let (_, frame) = framer.push(&wire);
        let (kind, payload) = frame.expect("a whole frame").unwrap();
        assert_eq!(Request::decode(kind, payload).unwrap(), request);
    }
    // A role length past the payload's end.
    let mut wire = Vec::new();
    client_embedded::protocol::encode_frame(0x10, &[200, 0, b'x'], &mut wire);
    let mut buffer = vec![0u8; 1024];
    let mut framer = Framer::new(&mut buffer);
    let (kind, payload) = framer.push(&wire).1.unwrap().unwrap();
    assert!(Request::decode(kind, payload).is_err());
    // An offline snapshot length past the payload's end.
    assert!(Request::decode(0x13, &[9, 0, 0, 0, b'x']).is_err());
    assert!(Request::decode(0x13, &[9, 0]).is_err());
}

#[test]
fn a_frame_cut_short_on_a_serial_line_is_discarded_and_the_next_frame_reads_clean() {
    let mut buffer = vec![0u8; 256];
    let mut framer = Framer::new(&mut buffer);
    let mut first = Vec::new();
    Request::PutTargets(&[7u8; 40]).encode(&mut first);
    // The sender vanished mid-frame; the receiver holds part of it.
    assert_eq!(framer.push(&first[..20]).1, None);
    assert!(framer.in_frame());
    // Without a resync the next frame would be read as the rest of the first.
    framer.discard();
    assert!(!framer.in_frame());
    let mut next = Vec::new();
    Request::StartCycle(42).encode(&mut next);
    let (kind, payload) = framer.push(&next).1.unwrap().unwrap();
    assert_eq!(Request::decode(kind, payload), Ok(Request::StartCycle(42)));
}
