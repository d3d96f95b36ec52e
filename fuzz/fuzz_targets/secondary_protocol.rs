//! The secondary's protocol decoder on arbitrary bytes, fed in arbitrary pieces: never
//! a panic, and every frame it accepts decodes to a request or a typed error.
#![no_main]

use client_embedded::protocol::{Framer, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else { return };
    let mut buffer = [0u8; 512];
    let mut framer = Framer::new(&mut buffer);
    for piece in bytes.chunks(usize::from(split).max(1)) {
        let mut rest = piece;
        while !rest.is_empty() {
            let (used, frame) = framer.push(rest);
            rest = &rest[used..];
            if let Some(Ok((kind, payload))) = frame {
                if let Ok(request) = Request::decode(kind, payload) {
                    let mut again = Vec::new();
                    request.encode(&mut again);
                    assert_eq!(&again[5..again.len() - 4], payload, "re-encoding gives the same payload");
                }
            }
        }
    }
});
