//! The primary's own image on Linux: two slots (files or partitions), an optional rescue
//! slot, and an activation command, with the MCU's semantics: a new image is written to
//! the staging slot and verified, the next boot runs it as a trial, a healthy cycle in a
//! boot into it (and the configured health check) confirms it, and an unconfirmed trial
//! gets `trial_attempts` boots before it is reverted. An active image whose bytes no
//! longer match gives way to the other slot's, or to the rescue image, from which an
//! image can be installed (online or from an offline bundle). The decision is
//! [`reboot::after_reboot`]. A boot is a change of the boot id (`boot_id`), so restarting
//! the service is not one. The state file is replaced atomically, so a cut at any point
//! leaves the old or the new state.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

pub mod reboot;

use super::config::OwnImageConfig;
use crate::Error;
use crate::metadata_dir;

/// What a slot holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SlotImage {
    /// Target path.
    pub name: String,
    /// Length in bytes.
    pub length: u64,
    /// SHA-256 (hex).
    pub sha256: String,
    /// When it was written into its slot (Unix seconds; none for the factory image, and
    /// for states saved before this was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<i64>,
    /// Its Uptane release counter (0 for the factory image and the rescue image).
    #[serde(default)]
    pub release_counter: u64,
}

/// The persisted state.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct State {
    active: usize,
    slots: [Option<SlotImage>; 2],
    pending: Option<usize>,
    trial: Option<usize>,
    failed: Option<SlotImage>,
    /// The boot in which the pending image was installed, or the trial started.
    #[serde(default)]
    boot: Option<String>,
    /// Boots of the trial image so far.
    #[serde(default)]
    attempts: u32,
    /// The rescue slot's image, recorded at first start (if configured).
    #[serde(default)]
    rescue_image: Option<SlotImage>,
    /// Whether the rescue image runs (both slots bad), until an image confirms.
    #[serde(default)]
    rescue: bool,
    /// The release counter of the newest image confirmed: an image below it is refused
    /// (the factory and rescue images never lower it).
    #[serde(default)]
    release_floor: u64,
}

/// The primary's image slots.
pub struct OwnImage {
    config: OwnImageConfig,
    path: PathBuf,
    state: State,
}

/// Replaces `path` atomically (temporary file, fsync, rename, directory fsync).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    metadata_dir::write_atomically(dir, path, bytes)
}

/// The record of the image in the file `path`, named `name`.
fn slot_image(path: &Path, name: &str) -> Result<SlotImage, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(SlotImage {
        name: name.to_string(),
        length: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        ..Default::default()
    })
}

/// Whether the file `path` starts with the image `image` records.
fn intact(path: &Path, image: &SlotImage) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else { return false };
    let mut hasher = threshold_keys::digest::Hasher::new(metadata_schemas::HashAlgorithm::Sha256);
    let mut reader = file.take(image.length);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut read = 0u64;
    while let Ok(n) = reader.read(&mut buffer) {
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        read += n as u64;
    }
    read == image.length && metadata_schemas::hex::encode(hasher.finish().as_bytes()) == image.sha256
}

fn sha256_hex(bytes: &[u8]) -> String {
    metadata_schemas::hex::encode(&threshold_keys::digest::sha256(bytes))
}

impl OwnImage {
    /// Loads the state from `dir` (the first time: slot A holds the factory image).
    pub fn open(config: &OwnImageConfig, dir: &Path) -> Result<OwnImage, Error> {
        let path = dir.join("own-image.json");
        let state = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = std::fs::read(&config.slots[0]).map_err(|e| Error::io(&config.slots[0], e))?;
                let factory = SlotImage {
                    name: config.factory_name.clone(),
                    length: bytes.len() as u64,
                    sha256: sha256_hex(&bytes),
                    ..Default::default()
                };
                let rescue_image = config.rescue.as_ref().map(|r| slot_image(&r.slot, &r.name)).transpose()?;
                State { slots: [Some(factory), None], rescue_image, ..State::default() }
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        let own = OwnImage { config: config.clone(), path, state };
        own.save()?;
        Ok(own)
    }

    fn save(&self) -> Result<(), Error> {
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(|e| Error::Config(e.to_string()))?;
        write_atomically(&self.path, &bytes)
    }

    fn activate(&self, slot: usize) -> Result<(), Error> {
        let Some((program, args)) = self.config.activate.split_first() else { return Ok(()) };
        let status =
            Command::new(program).args(args).arg(slot.to_string()).status().map_err(|e| Error::io(program, e))?;
        if status.success() { Ok(()) } else { Err(Error::Config(format!("activation command {program}: {status}"))) }
    }

    /// The current boot's id, or `None` when every start counts as a boot.
    fn boot_id(&self) -> Result<Option<String>, Error> {
        let Some(path) = &self.config.boot_id else { return Ok(None) };
        let id = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(Some(id.trim().to_string()))
    }

    /// Whether this start is a new boot since the one recorded.
    fn rebooted(&self, now: &Option<String>) -> bool {
        now.is_none() || *now != self.state.boot
    }

    /// Called at every start of the primary: after a boot, an unconfirmed trial reverts and
    /// a pending image starts its trial; a start within the same boot changes nothing.
    /// What now runs.
    pub fn boot(&mut self) -> Result<&SlotImage, Error> {
        let now = self.boot_id()?;
        if !self.rebooted(&now) {
            return Ok(self.running());
        }
        let before = self.state.clone();
        let (config, state) = (&self.config, &self.state);
        let mut check = |image: reboot::Image| match image {
            reboot::Image::Slot(slot) => state.slots[slot].as_ref().is_some_and(|i| intact(&config.slots[slot], i)),
            reboot::Image::Rescue => match (&config.rescue, &state.rescue_image) {
                (Some(rescue), Some(image)) => intact(&rescue.slot, image),
                _ => false,
            },
        };
        let mut after = reboot::after_reboot(before.clone(), config.trial_attempts, &mut check);
        after.boot = now;
        let reverted = before.trial.is_some() && after.trial.is_none();
        let switched = after.active != before.active;
        self.state = after;
        self.save()?;
        if reverted || switched {
            self.activate(self.state.active)?;
        }
        Ok(self.running())
    }

    /// The lowest release counter an image of its own may have: the newest confirmed one's.
    pub fn release_floor(&self) -> u64 {
        self.state.release_floor
    }

    /// Whether the rescue image runs (both slots are bad).
    pub fn in_rescue(&self) -> bool {
        self.state.rescue && self.state.trial.is_none()
    }

    /// The image that runs now.
    pub fn running(&self) -> &SlotImage {
        if let (true, Some(rescue)) = (self.in_rescue(), &self.state.rescue_image) {
            return rescue;
        }
        let slot = self.state.trial.unwrap_or(self.state.active);
        self.state.slots[slot].as_ref().expect("the running slot holds an image")
    }

    /// Whether the running image is on trial.
    pub fn on_trial(&self) -> bool {
        self.state.trial.is_some()
    }

    /// What the primary's report says of its own image: on trial or confirmed, the image
    /// in the other slot (a revert's way back, or what the running one replaced), and how
    /// the last install ended (reverted after a failed trial, or ok).
    pub fn status(&self) -> metadata_schemas::uptane::InstallStatus {
        use metadata_schemas::uptane::{BootState, InstallResult};
        let running = self.state.trial.unwrap_or(self.state.active);
        let other = self.state.slots[1 - running].as_ref();
        let install_result = match (&self.state.failed, self.state.trial, other) {
            (Some(_), None, _) => Some(InstallResult::RevertedUnconfirmed),
            (_, _, Some(_)) => Some(InstallResult::Ok),
            _ => None, // the first image: nothing was installed yet
        };
        metadata_schemas::uptane::InstallStatus {
            boot_state: if self.on_trial() { BootState::Trial } else { BootState::Confirmed },
            previous_image: other.map(|image| metadata_schemas::TargetPath::new(image.name.as_str())),
            install_result,
            unknown: Default::default(),
        }
    }

    /// The image that failed its trial last, if any.
    pub fn failed(&self) -> Option<&SlotImage> {
        self.state.failed.as_ref()
    }

    /// Makes the trial image the one to start from now on, if the health check passes:
    /// whether it was confirmed (nothing to confirm counts as confirmed).
    pub fn confirm(&mut self) -> Result<bool, Error> {
        let Some(slot) = self.state.trial else { return Ok(true) };
        if let Some((program, args)) = self.config.health_check.split_first() {
            let status = Command::new(program).args(args).status().map_err(|e| Error::io(program, e))?;
            if !status.success() {
                return Ok(false);
            }
        }
        self.state.trial = None;
        self.state.active = slot;
        self.state.rescue = false;
        let counter = self.state.slots[slot].as_ref().map_or(0, |image| image.release_counter);
        self.state.release_floor = self.state.release_floor.max(counter);
        self.save()?;
        Ok(true)
    }

    /// Writes a verified image into the staging slot (the inactive one; in rescue, the
    /// bad active one), reads it back to check it, and marks it to start as a trial at
    /// the next start. A cut before the state is saved leaves the slot unused.
    pub fn install(&mut self, image: SlotImage, bytes: &[u8]) -> Result<(), Error> {
        if self.state.trial.is_some() {
            return Err(Error::Config("the primary runs a trial image: confirm it before installing".into()));
        }
        let slot = if self.state.rescue { self.state.active } else { 1 - self.state.active };
        let target = &self.config.slots[slot];
        write_atomically(target, bytes)?;
        let written = std::fs::read(target).map_err(|e| Error::io(target, e))?;
        if written.len() as u64 != image.length || sha256_hex(&written) != image.sha256 {
            return Err(Error::Config(format!("{}: read back differs from the verified image", target.display())));
        }
        self.state.slots[slot] = Some(image);
        self.state.pending = Some(slot);
        self.state.boot = self.boot_id()?;
        self.save()?;
        self.activate(slot)
    }
}
