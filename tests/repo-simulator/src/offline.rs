//! Offline bundles for tests: a director root that names an offline key, and offline
//! snapshot and targets signed by whichever key a test picks.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use metadata_schemas::json::{Object, Value};
use metadata_schemas::uptane::{EcuSerial, HardwareId, OFFLINE_ROLE_FIELD, OfflineCustom, Vin};
use metadata_schemas::{
    CommonFields, Encode, Hashes, MetaFile, RoleKeys, Snapshot, TargetFile, TargetPath, Targets, Threshold,
    UnknownFields, UtcTime, Version,
};
use threshold_keys::{KeyFileSigner, Signer, digest};

use crate::{RepoSim, new_key};

impl RepoSim {
    /// Adds an offline-updates key to the current root, named by its
    /// `x-offline-updates`, and publishes that root again under its version; the signer.
    pub fn add_offline_key(&mut self) -> KeyFileSigner {
        let key = new_key();
        self.root.keys.insert(key.key_id().clone(), key.public_key().clone());
        let role = RoleKeys {
            keyids: vec![key.key_id().clone()],
            threshold: Threshold::new(1).expect("1"),
            unknown: UnknownFields::default(),
        };
        self.root.unknown.0.insert(OFFLINE_ROLE_FIELD, role.encode().into_owned());
        let bytes = self.sign(&metadata_schemas::RoleName::root(), &self.root);
        self.files.insert(format!("{}.root.json", self.root.common.version), bytes);
        key
    }
}

/// One image of a bundle.
#[derive(Clone, Debug)]
pub struct OfflineImage {
    /// Its target path.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The hardware it is for.
    pub hardware: Vec<String>,
    /// Its release counter.
    pub release_counter: u64,
}

/// What an offline bundle's metadata says.
#[derive(Clone, Debug)]
pub struct OfflineSpec {
    /// Offline snapshot and targets version.
    pub version: u64,
    /// When it was issued.
    pub issued: DateTime<Utc>,
    /// When it expires.
    pub expires: DateTime<Utc>,
    /// Its images.
    pub images: Vec<OfflineImage>,
    /// The vehicle allow-list.
    pub allowed_vins: Option<Vec<String>>,
    /// The ECU allow-list.
    pub allowed_ecus: Option<Vec<String>>,
}

impl OfflineSpec {
    /// Version 1, issued at `now`, a month valid, `image` for `hardware` at `counter`.
    pub fn new(now: DateTime<Utc>, path: &str, image: &[u8], hardware: &str, counter: u64) -> Self {
        OfflineSpec {
            version: 1,
            issued: now,
            expires: now + Duration::days(30),
            images: vec![OfflineImage {
                path: path.into(),
                bytes: image.to_vec(),
                hardware: vec![hardware.into()],
                release_counter: counter,
            }],
            allowed_vins: None,
            allowed_ecus: None,
        }
    }

    /// The offline snapshot and offline targets, signed by `signer`.
    pub fn sign(&self, signer: &KeyFileSigner) -> (Vec<u8>, Vec<u8>) {
        let version = Version::new(self.version).expect("version >= 1");
        let common = CommonFields::new(version, UtcTime::new(self.expires));
        let mut targets = Targets::new(common.clone());
        for image in &self.images {
            let hashes = Hashes::new(vec![digest::digest(metadata_schemas::HashAlgorithm::Sha256, &image.bytes)]);
            let mut file = TargetFile::new(image.bytes.len() as u64, hashes.expect("one hash"));
            let mut custom = Object::new();
            let hardware = image.hardware.iter().map(|h| Value::string(h.clone())).collect();
            custom.insert("hardware_identifiers", Value::Array(hardware));
            custom.insert("release_counter", Value::unsigned(image.release_counter));
            file.custom = Some(Value::Object(custom));
            targets.targets.insert(TargetPath::new(image.path.as_str()), file);
        }
        let custom = OfflineCustom {
            name: format!("bundle-{}", self.version),
            issued: UtcTime::new(self.issued),
            allowed_vins: self
                .allowed_vins
                .as_ref()
                .map(|v| v.iter().map(|s| Vin::new(s.as_str()).expect("vin")).collect()),
            allowed_ecu_identifiers: self
                .allowed_ecus
                .as_ref()
                .map(|v| v.iter().map(|s| EcuSerial::new(s.as_str()).expect("serial")).collect()),
            install_order: self
                .images
                .iter()
                .flat_map(|i| &i.hardware)
                .map(|h| HardwareId::new(h.as_str()).expect("hw"))
                .collect(),
            unknown: UnknownFields::default(),
        };
        targets.unknown.0.insert("custom", custom.encode().into_owned());
        let targets = RepoSim::sign_with(&targets, &[signer]);
        let meta = BTreeMap::from([("targets.json".to_string(), MetaFile::new(version))]);
        let snapshot = Snapshot { common, meta, unknown: UnknownFields::default() };
        (RepoSim::sign_with(&snapshot, &[signer]), targets)
    }
}
