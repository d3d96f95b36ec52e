//! # Integrating the secondary into an MCU firmware
//!
//! This is the path from a board to an ECU that a primary updates. The worked examples
//! are in `embedded/qemu-firmware` (Cortex-M4 under QEMU, both run by `scripts/qemu-test`):
//!
//! - `src/bin/uart_secondary.rs`: a full-verification secondary provisioned from a
//!   factory block, serving the protocol over the board's UART. QEMU joins the UART to a
//!   host TCP port, and the real `update-client primary` and director update it end to
//!   end (`tests/qemu_vehicle.rs`): trial, self-confirmation, a refused rollback.
//! - `src/main.rs`: the same library driven by a script of five boots with built-in
//!   metadata. It reverts an unconfirmed trial, confirms a good one and prints the
//!   instruction counts quoted below.
//!
//! ## Features
//!
//! | build | `Cargo.toml` |
//! |---|---|
//! | bare metal (Cortex-M, RISC-V, ...) | `client-embedded = { default-features = false, features = ["rustcrypto"] }` |
//! | host tools and tests | the default `ring` backend; `sim` adds the simulated flash and `ecu-sim` |
//!
//! The crate is `no_std` and needs `alloc` (a global allocator): metadata is parsed into
//! a value tree. It builds with Debian's `rustc-web` 1.85 for `thumbv7em-none-eabihf`
//! (`-Zbuild-std=core,alloc`; see `scripts/check-no-std`). Signatures: Ed25519
//! (ed25519-dalek, strict) and ECDSA P-256 (p256); RSA is host-only.
//!
//! ## Flash layout
//!
//! [`Layout::contiguous`](crate::Layout::contiguous)`(base, erase_size, slot_len,
//! state_len, metadata_len, full_verification)` places, back to back and rounded up to
//! whole erase sectors:
//!
//! - two image slots of `slot_len` (A and B; the running one is never written);
//! - two state banks of `state_len` holding the boot-state log (64-byte records, at
//!   least 64 per bank; one 4 KiB sector each is enough);
//! - two copies of `metadata_len` for each kept role: the director's root and targets,
//!   and with `full_verification` also the image repository's root, timestamp,
//!   snapshot and top-level targets. `metadata_len` must hold the largest such file.
//!
//! [`Layout::with_factory`](crate::Layout::with_factory)`(erase_size, len)` adds the
//! factory region after them: write-protect it on the device (the MCU's flash protection
//! unit, or a separate part). Its image boots only when no slot can, never becomes a
//! slot's image, and never lowers the anti-rollback floors.
//!
//! For a non-contiguous map, fill a [`Layout`](crate::Layout)'s public regions by hand:
//! `Device::open` and `Device::provision` check it against the flash and refuse
//! overlaps and geometries it cannot write power-cut safely. The UART example uses
//! `Layout::contiguous(0, 4096, 64 * 1024, 4096, 8 * 1024, true)`: 128 KiB of slots, 8
//! KiB of state, 96 KiB of metadata (six roles, two copies each). The scripted firmware
//! uses `Layout::contiguous(0, 4096, 32 * 1024, 4096, 8 * 1024, false)`.
//!
//! ## Memory (measured on the QEMU Cortex-M4, `scripts/qemu-test`)
//!
//! | what | figure |
//! |---|---|
//! | `.text` + `.rodata` of the scripted firmware | 167,304 + 87,712 bytes |
//! | `.text` + `.rodata` of the UART example (protocol, full verification, encrypted images) | 187,092 + 23,524 bytes |
//! | of which encrypted images (X25519, HKDF, AES-KW, AES-CTR, the chunk index) | 19,016 bytes of `.text` |
//! | the same with the littlefs store | 202,484 + 23,724 bytes |
//! | peak stack verifying director targets | 21,628 bytes |
//! | peak stack / heap of a whole encrypted full-verification update over the UART | 21,676 / 19,107 bytes (littlefs: 22,588 stack) |
//! | unwrapping an image's content key (X25519 + HKDF + AES-KW) | 2.06 M instructions, 14,612 bytes of stack |
//! | decrypting an image (AES-128-CTR, software AES) | 177 instructions per byte |
//! | peak heap, director targets listing 1 / 20 ECUs | 6,148 / 15,459 bytes |
//! | instructions to verify director targets (1 / 20 ECUs, Ed25519) | 2.42 M / 3.83 M |
//!
//! Buffers come from the caller: a `scratch` slice at least as large as the largest
//! metadata file (the firmware uses 8 KiB), and for the byte protocol a frame buffer
//! as large as the largest frame (the largest metadata file or image chunk plus 9 bytes).
//! Nothing in the flash path allocates.
//!
//! ## What the bootloader calls, and what the application calls
//!
//! - Bootloader, at every reset: [`Device::open`](crate::Device::open), then
//!   [`Device::boot_with`](crate::Device::boot_with) with the reset cause and the
//!   recovery pin, which answers [`BootDecision::Boot`](crate::BootDecision)`{ slot,
//!   trial }` (jump to that slot), `Factory` (start the factory image) or `Recovery`
//!   (start the recovery loader). The decision table is in [`boot`](crate::boot): a
//!   trial gets three runs (the [`BootPolicy`](crate::BootPolicy)), an active image that
//!   faults five resets in a row before it says healthy is marked failed, then the other
//!   slot, the factory image and the recovery loader follow.
//! - Application: [`Secondary::open`](crate::Secondary::open) over the same device, then
//!   [`Secondary::confirm`](crate::Secondary::confirm) once the new image knows it is
//!   healthy (its own self-test: peripherals up, the main loop running), and
//!   [`Device::healthy`](crate::Device::healthy) at every start once it runs well. An
//!   image that never confirms is reverted after its trial runs, and the next version
//!   report says so. [`Device::request_recovery`](crate::Device::request_recovery) sends
//!   the next reset to the recovery loader.
//! - Encrypted images: give the secondary its X25519 decryption key with
//!   [`Secondary::with_decryption_key`](crate::Secondary::with_decryption_key)`(key,
//!   required)`; with `required`, an unencrypted image is refused. The ciphertext is
//!   decrypted on its way into the slot; no secret is ever written to flash.
//! - Update cycle (driven by the primary): `start_cycle`, `put_time` (the director's
//!   time attestation: the only way the trusted time moves), `put_root` for each newer
//!   root, for full verification `put_image_*` and `put_image_delegation`, then
//!   `put_targets`, for an encrypted image with a chunk index `put_chunk_index`, then
//!   `begin_image`, `put_chunk`..., `activate` (which resets into the trial).
//!   `begin_image` returns the offset to send from: above 0 when an install of the same
//!   image was cut by a power loss (progress is recorded per sector, at least 4 KiB
//!   apart; what the slot kept is hashed again, and the key is unwrapped again).
//!
//! ## Factory provisioning
//!
//! 1. Program the factory image into slot A and call
//!    [`Device::provision`](crate::Device::provision) with its length, SHA-256 and
//!    release counter ([`FactoryImage`](crate::FactoryImage)).
//! 2. [`Secondary::provision_root`](crate::Secondary::provision_root) stores the
//!    director root (`director root DIR` prints it); for full verification also
//!    [`Secondary::provision_image_root`](crate::Secondary::provision_image_root). Each
//!    is checked to be signed by its own threshold before it is kept.
//! 3. The ECU key: a 32-byte Ed25519 seed in the MCU's protected storage (OTP, a secure
//!    element, read-protected flash), opened with
//!    [`Ed25519EcuKey::from_seed`](crate::Ed25519EcuKey::from_seed), or your own
//!    [`EcuKey`](crate::EcuKey) over a hardware key. Register its public key
//!    (`public_key()`, TUF key JSON) with the director with the ECU's serial and
//!    hardware id (`director register ... --ecu SERIAL:HWID:KEY.json`).
//!
//! 4. The factory region: program the factory image into it and call
//!    [`Secondary::provision_factory`](crate::Secondary::provision_factory) with the image
//!    repository's metadata at the line ([`FactoryProof`](crate::FactoryProof)): the
//!    image is recorded only if the repository's `recovery` role (delegated by its
//!    top-level targets, e.g. `repo-tool delegate repo --name recovery --paths
//!    'recovery/*/*'`) lists it for this hardware, and the region holds exactly its
//!    bytes. A device whose slots start empty is provisioned with
//!    [`Device::provision_blank_in`](crate::Device::provision_blank_in): its first boot
//!    runs the factory image.
//!
//! ## Recovery and offline updates
//!
//! When no slot can boot, [`Device::boot_with`](crate::Device::boot_with) answers
//! `Factory` (or `Recovery` without a factory image, or when the pin is held or
//! [`Device::request_recovery`](crate::Device::request_recovery) was called). Either
//! serves the same protocol over its secondary channel: an offline bundle's metadata
//! arrives as `PutOffline` (checked against the director root, the floors, the newest
//! bundle accepted and the time floor, by [`Secondary::put_offline`](crate::Secondary::put_offline)),
//! then the image as in an online update, into the staging slot only; an upload cut short
//! resumes from its offset, and the image runs as a trial only once everything verified.
//!
//! The UART example takes all of this from a block the end-of-line programmer writes into
//! reserved flash (`src/provisioning.rs`: VIN, serial, hardware id, key seed, roots,
//! factory image; QEMU's `-device loader` plays the programmer). Nothing of it can be
//! written over the protocol.
//!
//! ## Feeding the protocol from a UART or CAN-TP
//!
//! The primary speaks [`protocol`](crate::protocol): length-prefixed, CRC-closed frames,
//! the same bytes on TCP, UART or CAN-TP. Per received byte slice:
//!
//! ```text
//! let (used, frame) = framer.push(&bytes);          // protocol::Framer over your buffer
//! if let Some(Ok((kind, payload))) = frame {
//!     let response = match Request::decode(kind, payload) {
//!         Ok(request) => protocol::serve(&mut secondary, request, &mut scratch),
//!         Err(_) => Response::Refused(AttackCode::MALFORMED), // a frame of no known request
//!     };
//!     response.encode(&mut out);                     // write `out` to the UART
//! }
//! // feed &bytes[used..] again until empty
//! ```
//!
//! `ecu-sim` (`client_embedded::ecu_sim`, host only) is exactly this loop over TCP, and
//! `uart_secondary` over a polled UART. A `Response::Resetting` answer means: flush the
//! UART, then reset into the trial.
//!
//! A serial line has no connection that ends when the primary vanishes mid-frame: the
//! rest of that frame never comes, and the next primary's bytes would be read as its
//! tail. Drop the partial frame after a silence ([`Framer::in_frame`](crate::protocol::Framer::in_frame),
//! [`Framer::discard`](crate::protocol::Framer::discard); the example waits one second),
//! as serial protocols such as Modbus RTU do. A frame whose CRC fails gets no answer.
//!
//! ## Which storage
//!
//! The image slots are always raw flash (the bootloader reads and hashes them in
//! place). The boot state and the trusted metadata go to a [`Store`](crate::Store):
//!
//! - [`RawStore`](crate::RawStore), the default: the boot-state log and two copies of
//!   each metadata role in regions of the NOR flash ([`Layout::contiguous`](crate::Layout::contiguous)).
//!   No file system code, every record one aligned write, wear spread by the log's two
//!   banks. Pick it unless the ECU already has a file system.
//! - `littlefs::LittleFs<START, BLOCKS, FULL>` (feature
//!   `littlefs`): files under `uptane/` in a littlefs partition of the same flash,
//!   beside the application's own files; with [`Layout::slots_only`](crate::Layout::slots_only)
//!   for the slots and `Device::provision_in` / `Device::open_in`. Pick it when the
//!   firmware already keeps a littlefs partition and has no flash to set aside for the
//!   raw regions. It costs littlefs's C code (15.7 KiB more `.text` in the UART example)
//!   and a C toolchain for the target (arm-none-eabi-gcc with newlib, libclang for the
//!   bindings); each change rewrites a small file and renames it, which littlefs commits
//!   atomically. The erase size must be a multiple of 256 bytes.
//!
//! Both are tested the same way: power cut before and torn inside every flash
//! operation of a verified update, its trial, confirmation and a revert
//! (`tests/power_cuts_secondary.rs`: 100 operations with the raw store, 172 with
//! littlefs), and both run in the UART example under QEMU (`scripts/qemu-test`).
