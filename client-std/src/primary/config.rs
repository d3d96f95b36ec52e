//! The primary's configuration file (JSON): who the vehicle is, where its director and
//! image repository are, its own key and image slots, and its secondaries.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// How to reach one secondary.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecondaryConfig {
    /// Its ECU serial.
    pub serial: String,
    /// `host:port` of its protocol endpoint (TCP).
    pub address: String,
    /// Whether it does full verification (it then gets the image repository's metadata).
    #[serde(default)]
    pub full_verification: bool,
}

/// The primary's own image: A/B slot files and the command that switches the boot slot.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OwnImageConfig {
    /// Slot A and slot B (files or partitions).
    pub slots: [PathBuf; 2],
    /// Run with the slot index (0 or 1) appended when the boot slot changes (for example
    /// a bootloader environment update).
    #[serde(default)]
    pub activate: Vec<String>,
    /// The target path and bytes of the image in slot A at first start.
    pub factory_name: String,
    /// A file whose content changes at every boot of the gateway (default
    /// `/proc/sys/kernel/random/boot_id`): a new image starts its trial only after a
    /// boot, and is confirmed only in that boot. `null` treats every start of the primary
    /// as a boot (for demonstrations and tests, where nothing reboots).
    #[serde(default = "default_boot_id")]
    pub boot_id: Option<PathBuf>,
    /// Run before a trial image is confirmed; exit status 0 means healthy. Unhealthy, the
    /// image stays unconfirmed and the next boot reverts it.
    #[serde(default)]
    pub health_check: Vec<String>,
    /// A file (mode 0600) holding the gateway's X25519 image decryption secret, 64 hex
    /// digits: its own images may then come encrypted for it. Its public half is
    /// announced in the primary's signed report.
    #[serde(default)]
    pub decryption_secret: Option<PathBuf>,
    /// Refuse an own image that comes without encryption (the twin of an ECU built to
    /// require it): a director that drops encryption is caught here.
    #[serde(default)]
    pub require_encryption: bool,
    /// Boots a trial image gets before an unconfirmed one is reverted (default 3).
    #[serde(default = "default_trial_attempts")]
    pub trial_attempts: u32,
    /// A read-only rescue slot, run when both slots are bad (RAUC's rescue slot): from it
    /// a current image is installed online or from an offline bundle.
    #[serde(default)]
    pub rescue: Option<RescueSlot>,
}

/// The rescue slot: a file or partition that holds a known image, never written.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RescueSlot {
    /// The slot (file or block device).
    pub slot: PathBuf,
    /// Its image's target path, for reports.
    pub name: String,
}

fn default_trial_attempts() -> u32 {
    3
}

fn default_boot_id() -> Option<PathBuf> {
    Some(PathBuf::from("/proc/sys/kernel/random/boot_id"))
}

/// Offline updates (USB stick, SD card): `update-client offline --bundle DIR`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OfflineConfig {
    /// Whether this vehicle takes offline bundles at all (off unless set).
    #[serde(default)]
    pub enabled: bool,
}

/// TLS for the director and the image repository.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrimaryTls {
    /// CA bundle to trust.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// Client certificate naming the vehicle (mutual TLS).
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Its private key.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PrimaryConfig {
    /// The vehicle.
    pub vin: String,
    /// The primary's ECU serial.
    pub serial: String,
    /// The primary's hardware identifier.
    pub hardware_id: String,
    /// The primary's ECU key (PKCS#8 PEM; encrypted ones need UPDATE_CLIENT_PASSPHRASE).
    pub key: PathBuf,
    /// The director base URL (`.../api/v1`): the vehicle's repository and manifest are under it.
    pub director: String,
    /// Base URL of the image repository's metadata; its targets are under `targets/`.
    pub image_repository: String,
    /// The director root to trust at first start.
    pub director_root: PathBuf,
    /// The image repository root to trust at first start.
    pub image_root: PathBuf,
    /// Where state lives: verified metadata, downloads, counters, own-image state.
    pub state_dir: PathBuf,
    /// The device token (development; mutual TLS needs none).
    #[serde(default)]
    pub device_token: Option<String>,
    /// TLS settings.
    #[serde(default)]
    pub tls: PrimaryTls,
    /// The primary's own image slots.
    pub own_image: OwnImageConfig,
    /// The secondaries.
    #[serde(default)]
    pub secondaries: Vec<SecondaryConfig>,
    /// Offline updates.
    #[serde(default)]
    pub offline: OfflineConfig,
}

impl PrimaryConfig {
    /// The primary's ECU key (`UPDATE_CLIENT_PASSPHRASE` decrypts an encrypted one).
    pub fn load_key(&self) -> Result<threshold_keys::KeyFileSigner, Error> {
        let text = std::fs::read_to_string(&self.key).map_err(|e| Error::io(&self.key, e))?;
        let passphrase = std::env::var("UPDATE_CLIENT_PASSPHRASE").ok();
        threshold_keys::KeyFileSigner::from_pem(&text, passphrase.as_deref().map(str::as_bytes))
            .map_err(|e| Error::Config(format!("{}: {e}", self.key.display())))
    }

    /// The gateway's image decryption key, if the configuration names one.
    pub fn load_decryption_key(&self) -> Result<Option<image_crypto::EcuDecryptionKey>, Error> {
        let Some(path) = &self.own_image.decryption_secret else { return Ok(None) };
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let secret: [u8; 32] = metadata_schemas::hex::decode_lower_array(text.trim())
            .ok_or_else(|| Error::Config(format!("{}: not 64 lowercase hex digits", path.display())))?;
        Ok(Some(image_crypto::EcuDecryptionKey::from_secret(secret)))
    }

    /// Reads a configuration file; relative paths are relative to its directory.
    pub fn load(path: &Path) -> Result<PrimaryConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config: PrimaryConfig =
            serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let base = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut config.key);
        fix(&mut config.director_root);
        fix(&mut config.image_root);
        fix(&mut config.state_dir);
        for slot in &mut config.own_image.slots {
            fix(slot);
        }
        if let Some(boot_id) = &mut config.own_image.boot_id {
            fix(boot_id);
        }
        if let Some(secret) = &mut config.own_image.decryption_secret {
            fix(secret);
        }
        if let Some(rescue) = &mut config.own_image.rescue {
            fix(&mut rescue.slot);
        }
        for path in
            [&mut config.tls.ca_bundle, &mut config.tls.client_cert, &mut config.tls.client_key].into_iter().flatten()
        {
            fix(path);
        }
        Ok(config)
    }
}
