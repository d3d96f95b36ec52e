//! Shared by the secondary and protocol tests: a director built with the repository
//! simulator, and a provisioned ECU on a simulated flash.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use client_embedded::sim::SimFlash;
use client_embedded::{BootDecision, Device, EcuKey, Ed25519EcuKey, FactoryImage, ImageInfo, Layout, Secondary};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::{EcuSerial, EcuVersionReport, HardwareId, Vin};
use metadata_schemas::{Envelope, RoleName};
use repo_simulator::RepoSim;
use threshold_keys::{RoleAuthority, check_threshold};
use update_verifier::Limits;
use update_verifier::uptane::EcuIdentity;

pub type Flash = SimFlash<8, 4096>;
pub type Ecu = Secondary<Flash, Ed25519EcuKey>;

pub const FACTORY: &[u8] = b"factory image of the brake controller";
pub const SEED: [u8; 32] = [7; 32];

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T12:00:00Z").unwrap().with_timezone(&Utc)
}

pub fn identity() -> EcuIdentity {
    EcuIdentity {
        vin: Vin::new("VIN0001").unwrap(),
        serial: EcuSerial::new("brake-ecu-1").unwrap(),
        hardware_id: HardwareId::new("brake-hw-a").unwrap(),
    }
}

pub fn layout() -> Layout {
    Layout::contiguous(0, 4096, 1088 * 1024, 4096, 16384, false)
}

pub fn object(pairs: Vec<(&'static str, Value<'static>)>) -> Value<'static> {
    let mut o = Object::new();
    for (k, v) in pairs {
        o.insert(k, v);
    }
    Value::Object(o)
}

/// A director that assigns images to the brake ECU of vehicle VIN0001 and signs time
/// attestations with the time key its root names.
pub struct Director {
    pub sim: RepoSim,
    pub time_key: threshold_keys::KeyFileSigner,
}

impl Director {
    pub fn new() -> Director {
        let mut sim = RepoSim::new(now());
        let time_key = sim.add_time_key();
        let targets = sim.targets.get_mut(&RoleName::targets()).unwrap();
        targets.unknown.0.insert("custom", object(vec![("vin", Value::string("VIN0001"))]));
        Director { sim, time_key }
    }

    /// A time attestation of `time` carrying `nonces`, signed with `key`.
    pub fn attest_with(key: &threshold_keys::KeyFileSigner, time: DateTime<Utc>, nonces: &[u64]) -> Vec<u8> {
        let attestation = metadata_schemas::uptane::TimeAttestation {
            time: metadata_schemas::UtcTime::new(time),
            nonces: nonces.to_vec(),
            unknown: Default::default(),
        };
        RepoSim::sign_with(&attestation, &[key])
    }

    /// A time attestation of `time` for `nonces`, signed by this director's time key.
    pub fn attest(&self, time: DateTime<Utc>, nonces: &[u64]) -> Vec<u8> {
        Self::attest_with(&self.time_key, time, nonces)
    }

    pub fn root(&self) -> Vec<u8> {
        self.sim.file("1.root.json")
    }

    /// Assigns `image` to `ecu` on `hw` with release counter `counter`; the new
    /// targets metadata.
    pub fn assign(&mut self, image: &[u8], ecu: &str, hw: &str, counter: u64) -> Vec<u8> {
        self.publish_only(image, (ecu, hw, counter), None)
    }

    /// New targets listing only `image` for the ECU, with an encryption block if given.
    fn publish_only(
        &mut self,
        image: &[u8],
        (ecu, hw, counter): (&str, &str, u64),
        encryption: Option<Value<'static>>,
    ) -> Vec<u8> {
        let role = RoleName::targets();
        self.sim.targets.get_mut(&role).unwrap().targets.clear();
        let mut custom = vec![
            ("ecu_identifier", Value::string(ecu.to_string())),
            ("hardware_identifier", Value::string(hw.to_string())),
            ("release_counter", Value::unsigned(counter)),
        ];
        custom.extend(encryption.map(|block| ("encryption", block)));
        self.sim.add_target(&role, &format!("brake/fw-{counter}.bin"), image, Some(object(custom)));
        self.sim.touch(&role);
        self.sim.publish();
        self.targets()
    }

    /// Assigns `image` to `ecu` encrypted (AES-128-CTR) with a key wrapped for the ECU
    /// decryption key `ecu_public`, bound to `bound_ecu` (the ECU itself, unless a test
    /// copies another ECU's entry); the new targets and the ciphertext.
    pub fn assign_encrypted(
        &mut self,
        image: &[u8],
        entry: (&str, &str, u64),
        ecu_public: &[u8; 32],
        bound_ecu: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        let (targets, ciphertext, _) = self.encrypted_entry(image, entry, ecu_public, bound_ecu, None);
        (targets, ciphertext)
    }

    /// The same with a chunk index of `chunk_size`-byte chunks: the targets, the
    /// ciphertext and the index.
    pub fn assign_encrypted_chunked(
        &mut self,
        image: &[u8],
        entry: (&str, &str, u64),
        ecu_public: &[u8; 32],
        chunk_size: u32,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        self.encrypted_entry(image, entry, ecu_public, entry.0, Some(chunk_size))
    }

    fn encrypted_entry(
        &mut self,
        image: &[u8],
        (ecu, hw, counter): (&str, &str, u64),
        ecu_public: &[u8; 32],
        bound_ecu: &str,
        chunk_size: Option<u32>,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        use metadata_schemas::uptane::{ContentAlgorithm, EncryptedContent, EncryptionBlock, KeyAlgorithm};
        let path = format!("brake/fw-{counter}.bin");
        let (cek, iv) = (image_crypto::ContentKey::from_bytes([counter as u8 ^ 0x5A; 16]), [counter as u8; 16]);
        let sha256 = threshold_keys::digest::sha256(image);
        let binding = image_crypto::Binding {
            ecu_identifier: bound_ecu,
            filename: &path,
            plaintext_sha256: &sha256,
            release_counter: counter,
            content_alg: image_crypto::CONTENT_ALG,
            iv: &iv,
        };
        let wrapped = image_crypto::wrap(ecu_public, &cek, &binding, [counter as u8 + 1; 32]).unwrap();
        let mut ciphertext = image.to_vec();
        image_crypto::ContentCipher::new(&cek, &iv).apply(&mut ciphertext);
        let hash = threshold_keys::digest::sha256(&ciphertext);
        let index: Vec<u8> = match chunk_size {
            Some(size) => ciphertext.chunks(size as usize).flat_map(threshold_keys::digest::sha256).collect(),
            None => Vec::new(),
        };
        let chunks = chunk_size.map(|size| metadata_schemas::uptane::ChunkIndex {
            size,
            index: metadata_schemas::uptane::IndexFile {
                filename: format!("{path}.{ecu}.idx").as_str().into(),
                length: index.len() as u64,
                hashes: metadata_schemas::Hashes::new(vec![metadata_schemas::Digest::Sha256(
                    threshold_keys::digest::sha256(&index),
                )])
                .unwrap(),
                unknown: Default::default(),
            },
            unknown: Default::default(),
        });
        let block = EncryptionBlock {
            content: EncryptedContent {
                alg: ContentAlgorithm::Aes128Ctr,
                iv,
                filename: format!("{path}.{ecu}.enc").as_str().into(),
                length: ciphertext.len() as u64,
                hashes: metadata_schemas::Hashes::new(vec![metadata_schemas::Digest::Sha256(hash)]).unwrap(),
                unknown: Default::default(),
            },
            key: metadata_schemas::uptane::WrappedContentKey {
                alg: KeyAlgorithm::X25519HkdfSha256A128Kw,
                ecu_key_id: image_crypto::key_id(ecu_public),
                epk: wrapped.epk,
                wrapped_cek: wrapped.wrapped_cek,
                unknown: Default::default(),
            },
            chunks,
            unknown: Default::default(),
        };
        let block = metadata_schemas::Encode::encode(&block).to_owned_value();
        (self.publish_only(image, (ecu, hw, counter), Some(block)), ciphertext, index)
    }

    pub fn targets(&self) -> Vec<u8> {
        let version = self.sim.targets[&RoleName::targets()].common.version;
        self.sim.file(&RoleName::targets().versioned_file_name(version))
    }
}

pub fn factory_info() -> ImageInfo {
    ImageInfo {
        length: FACTORY.len() as u32,
        sha256: threshold_keys::digest::sha256(FACTORY),
        release_counter: 1,
        targets_version: 0,
    }
}

/// A provisioned ECU running the factory image, trusting `director`'s root.
pub fn provisioned(director: &Director) -> Ecu {
    let mut flash = Flash::new(layout().end() as usize / 4096);
    flash.program(0, FACTORY);
    let factory = FactoryImage { info: factory_info(), name: b"brake/factory.bin" };
    let mut device = Device::provision(flash, layout(), factory).unwrap();
    Ecu::provision_root(&mut device, &identity(), &director.root(), &mut vec![0; 16384]).unwrap();
    boot(device.into_flash())
}

/// A reset: the bootloader decides, then the application opens the secondary.
pub fn boot(flash: Flash) -> Ecu {
    let mut device = Device::open(flash, layout()).unwrap();
    assert!(matches!(device.boot(&mut [0u8; 256]).unwrap(), BootDecision::Boot { .. }));
    Secondary::open(device, identity(), Ed25519EcuKey::from_seed(&SEED), Limits::default())
}

pub fn reset(ecu: Ecu) -> Ecu {
    boot(ecu.into_device().into_flash())
}

/// The running image's bytes.
pub fn running_image(ecu: &mut Ecu) -> Vec<u8> {
    let device = ecu.device();
    let slot = device.running().unwrap();
    let info = device.state().slot(slot).info.unwrap();
    let start = layout().slots[slot.index()].start as usize;
    device.flash().bytes()[start..start + info.length as usize].to_vec()
}

/// The report, after checking its signature with the ECU key.
pub fn report(ecu: &mut Ecu) -> EcuVersionReport {
    let bytes = ecu.version_report().unwrap();
    let envelope = Envelope::parse(&bytes).unwrap();
    let key = Ed25519EcuKey::from_seed(&SEED);
    let keys = [(key.key_id().clone(), key.public_key().clone())].into_iter().collect();
    let authority = RoleAuthority {
        keys: &keys,
        keyids: &[key.key_id().clone()],
        threshold: metadata_schemas::Threshold::new(1).unwrap(),
    };
    let report = check_threshold(authority, &envelope.signatures, &envelope.canonical_signed());
    assert!(report.is_met(), "the version report verifies with the ECU key");
    envelope.decode_signed().unwrap()
}

/// The nonce of a signed version report (as the director reads it).
pub fn nonce_of(report: &[u8]) -> u64 {
    let report: EcuVersionReport = Envelope::parse(report).unwrap().decode_signed().unwrap();
    report.nonce.expect("a nonce")
}
