//! Offline updates on the gateway (`update-client offline --bundle DIR`, off unless the
//! configuration enables it): a bundle from a USB stick or an SD card goes through the
//! checks of an online cycle. The director root the gateway trusts (following the
//! bundle's newer roots) must name the key that signed the offline snapshot and
//! targets; the bundle must be newer than the last one accepted and unexpired at the
//! time floor; the image repository's metadata in it refreshes the gateway's own cache
//! as an online refresh would (a bundle older than what the gateway saw online is a
//! rollback); every image must match both. Each ECU then gets its image as online: the
//! gateway's own inactive slot, or the secondary protocol with the offline metadata in
//! place of director targets, so each secondary checks the bundle itself. Each install
//! goes into a journal, uploaded in the next signed vehicle manifest.

pub mod journal;
mod plan;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use metadata_schemas::uptane::bundle_paths;
use update_verifier::uptane::{
    DirectorImage, EcuIdentity, OfflineFloor, check_against_image_repository, verify_offline_metadata,
};
use update_verifier::{Limits, TargetInfo, TrustedSet};

use super::cycle::{CycleReport, EcuOutcome, Primary};
use super::failure::EcuFailure;
use super::handover::{Authorization, Delivery, RootFiles, Sources, hand_over};
use super::own_image::SlotImage;
use super::plan::Destination;
use crate::{DirectoryTransport, Error, MetadataDir, Updater, UpdaterConfig};
use journal::{Floor, JournalEntry, OfflineResult};
use plan::OfflineStep;

/// Reads at most `limit` bytes of `path` (a bundle's file): more is refused, as endless data.
pub(super) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
    let length = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if length > limit {
        return Err(Error::Bundle { path: path.to_path_buf(), problem: "larger than the limit for its role" });
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// A bundle whose offline metadata verified.
struct Accepted {
    snapshot: Vec<u8>,
    targets: Vec<u8>,
    bundle: update_verifier::uptane::OfflineBundle,
    /// The director root chain followed to its newest version.
    director: TrustedSet,
    /// The newest director root's bytes, if the bundle carried roots newer than the
    /// trusted one (each verified by its predecessor).
    newer_root: Option<Vec<u8>>,
}

/// What installing from an accepted bundle draws on.
struct Applying<'a> {
    dir: &'a Path,
    accepted: &'a Accepted,
    /// The image repository, refreshed from the bundle.
    images: Updater<DirectoryTransport>,
    /// The time the checks ran at.
    at: DateTime<Utc>,
}

/// One ECU the bundle may serve.
struct Ecu {
    identity: EcuIdentity,
    destination: Destination,
    /// What it runs (read from its report or the primary's own state).
    installed_sha256: Option<[u8; 32]>,
    /// The release-counter floor the primary enforces for it (its own image's; a
    /// secondary enforces its floors itself).
    release_floor: u64,
}

impl Primary {
    /// Applies the offline bundle in `dir` at `now` (the gateway's clock; the time floor
    /// when that is later).
    pub fn offline(&mut self, dir: &Path, now: DateTime<Utc>) -> Result<CycleReport, Error> {
        if !self.config().offline.enabled {
            return Err(Error::OfflineDisabled);
        }
        if !dir.join(bundle_paths::OFFLINE_TARGETS).is_file() {
            return Err(Error::Bundle { path: dir.to_path_buf(), problem: "no offline/targets.json: not a bundle" });
        }
        let state_dir = self.config().state_dir.clone();
        let floor = journal::read_floor(&state_dir)?;
        let at = now.max(DateTime::from_timestamp(floor.time, 0).unwrap_or(DateTime::UNIX_EPOCH));
        let accepted = self.accept(dir, &floor, at)?;
        let images = self.bundle_images(dir, at)?;
        let mut report = CycleReport::default();
        let custom = accepted.bundle.custom().clone();
        let version = accepted.bundle.targets().version().get();
        self.step(&mut report, format!("offline bundle {} v{version} verified", custom.name));
        let raised = accepted.bundle.raised(&OfflineFloor { time: at, targets_version: floor.targets_version });
        // Accepted: the floor rises (an older bundle is refused from now on), the roots stay.
        journal::write_floor(
            &state_dir,
            &Floor { time: raised.time.timestamp(), targets_version: raised.targets_version },
        )?;
        if let Some(root) = &accepted.newer_root {
            MetadataDir::open(state_dir.join("director"))?.write("root.json", root)?;
        }
        let mut applying = Applying { dir, accepted: &accepted, images, at };
        let (entries, stopped) = self.install_all(&mut report, &mut applying, (&custom.name, version), now);
        // What was handed over before a stop is journaled all the same.
        journal::append(&state_dir, &entries)?;
        if stopped { Err(Error::Stopped) } else { Ok(report) }
    }

    /// Each ECU's step from the bundle, in its install order: the journal entries, and
    /// whether a stop ended it early.
    fn install_all(
        &mut self,
        report: &mut CycleReport,
        applying: &mut Applying<'_>,
        bundle: (&str, u64),
        now: DateTime<Utc>,
    ) -> (Vec<JournalEntry>, bool) {
        let ecus = self.bundle_ecus(report);
        let facts: Vec<plan::EcuFacts> = ecus
            .iter()
            .map(|e| plan::EcuFacts {
                identity: e.identity.clone(),
                release_floor: e.release_floor,
                installed_sha256: e.installed_sha256,
            })
            .collect();
        let mut entries = Vec::new();
        for (i, step) in plan::plan(&applying.accepted.bundle, &facts) {
            let serial = ecus[i].identity.serial.as_str().to_string();
            let failed = |e: Error| EcuOutcome::Failed(EcuFailure::Delivery(Arc::new(e)));
            let (path, outcome) = match step {
                OfflineStep::Nothing => continue,
                OfflineStep::UpToDate => {
                    report.ecus.insert(serial, EcuOutcome::UpToDate);
                    continue;
                }
                OfflineStep::Refused(e) => (String::new(), failed(e.into())),
                OfflineStep::Install(image) => {
                    let path = image.path.as_str().to_string();
                    match self.install_offline(report, &ecus[i], &image, applying) {
                        Ok(()) => (path.clone(), EcuOutcome::Installing(path)),
                        Err(Error::Stopped) => return (entries, true),
                        Err(e) => (path, failed(e)),
                    }
                }
            };
            entries.push(entry(&serial, &path, &outcome, bundle, now));
            report.ecus.insert(serial, outcome);
        }
        (entries, false)
    }

    /// The bundle's offline metadata checked against the director root the gateway
    /// trusts (after the bundle's newer roots) and the floor.
    fn accept(&self, dir: &Path, floor: &Floor, at: DateTime<Utc>) -> Result<Accepted, Error> {
        let limits = Limits::default();
        let cached = MetadataDir::open(self.config().state_dir.join("director"))?;
        let root = cached.read("root.json")?.ok_or(Error::NotRefreshed)?;
        let mut director = TrustedSet::new(&root, at, limits)?;
        let mut newer_root = None;
        for _ in 0..limits.max_root_rotations {
            let next = director.root().version().get() + 1;
            let path = dir.join(bundle_paths::DIRECTOR).join(format!("{next}.root.json"));
            if !path.is_file() {
                break;
            }
            let bytes = read_limited(&path, limits.root_max_length)?;
            director.update_root(&bytes)?;
            newer_root = Some(bytes);
        }
        let snapshot = read_limited(&dir.join(bundle_paths::OFFLINE_SNAPSHOT), limits.snapshot_max_length)?;
        let targets = read_limited(&dir.join(bundle_paths::OFFLINE_TARGETS), limits.targets_max_length)?;
        let floor = OfflineFloor { time: at, targets_version: floor.targets_version };
        let bundle = verify_offline_metadata(director.root(), &snapshot, &targets, &floor, &limits)?;
        Ok(Accepted { snapshot, targets, bundle, director, newer_root })
    }

    /// The image repository as the bundle carries it, refreshed into the gateway's cache.
    fn bundle_images(&self, dir: &Path, at: DateTime<Utc>) -> Result<Updater<DirectoryTransport>, Error> {
        let base = |sub: &str| format!("{}/", dir.join(sub).display());
        let config = UpdaterConfig::new(
            self.config().state_dir.join("images"),
            &base(bundle_paths::IMAGE_REPOSITORY),
            &base(bundle_paths::TARGETS),
        );
        let mut images = Updater::with_transport(config, DirectoryTransport)?;
        images.refresh_at(at)?;
        Ok(images)
    }

    /// The gateway and each secondary that answers (one that does not is reported).
    fn bundle_ecus(&mut self, report: &mut CycleReport) -> Vec<Ecu> {
        let own = self.own_image();
        let installed_sha256 = metadata_schemas::hex::decode_lower_array(&own.running().sha256);
        let release_floor = own.release_floor();
        let identity = self.identity_of_own();
        let mut ecus = vec![Ecu { identity, destination: Destination::Own, installed_sha256, release_floor }];
        for secondary in self.config().secondaries.clone() {
            let reported = super::reports::secondary_report(&secondary);
            match reported.map(|r| (r.hardware_id.clone(), r)) {
                Ok((Some(hardware_id), reported)) => {
                    let identity = EcuIdentity { hardware_id, serial: reported.serial, ..self.identity_of_own() };
                    let installed_sha256 = reported.installed_sha256;
                    ecus.push(Ecu { identity, destination: reported.destination, installed_sha256, release_floor: 0 });
                }
                Ok((None, _)) => {
                    report.ecus.insert(secondary.serial.clone(), EcuOutcome::Failed(EcuFailure::BadIdentity));
                }
                Err(e) => {
                    let failure = EcuFailure::Unreachable(Arc::new(e));
                    report.ecus.insert(secondary.serial.clone(), EcuOutcome::Failed(failure));
                }
            }
        }
        ecus
    }

    /// One ECU's image from the bundle: checked against the image repository's entry,
    /// then installed into the gateway's slot or handed to the secondary.
    fn install_offline(
        &mut self,
        report: &mut CycleReport,
        ecu: &Ecu,
        image: &DirectorImage,
        applying: &mut Applying<'_>,
    ) -> Result<(), Error> {
        self.boundary()?;
        let Applying { dir, accepted, images, at } = applying;
        let (dir, at) = (*dir, *at);
        let listed = images.get_target_info(image.path.as_str())?;
        check_against_image_repository(image, listed.as_ref())?;
        let listed = listed.ok_or_else(|| Error::TargetNotFound(image.path.as_str().to_string()))?;
        let bytes = bundle_image(dir, &listed)?;
        let serial = ecu.identity.serial.as_str();
        match &ecu.destination {
            Destination::Own => {
                let sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(&bytes));
                let name = image.path.as_str().to_string();
                let (length, installed_at) = (bytes.len() as u64, Some(at.timestamp()));
                let release_counter = image.custom.release_counter;
                let slot = SlotImage { name, length, sha256, installed_at, release_counter };
                self.install_own_offline(image, slot, bytes)?;
                self.step(report, format!("{serial}: installed {} from the bundle; it starts as a trial", image.path));
            }
            Destination::Secondary { address, full } => {
                let sources = Sources {
                    roots: RootFiles::Bundle(dir),
                    latest_roots: (
                        accepted.director.root().version().get(),
                        images.trusted().ok_or(Error::NotRefreshed)?.root().version().get(),
                    ),
                    state_dir: &self.config().state_dir,
                    images: images.trusted().ok_or(Error::NotRefreshed)?,
                    vin: &self.config().vin,
                };
                let now = at.timestamp().max(0) as u64;
                let delivery =
                    Delivery { serial, address, full: *full, path: &image.path, bytes: &bytes, chunk_index: None, now };
                let authorization = Authorization::Offline { snapshot: &accepted.snapshot, targets: &accepted.targets };
                hand_over(&sources, &delivery, authorization, &mut |_| {}, self.stop_flag())?;
                self.step(
                    report,
                    format!("{serial}: {} from the bundle handed over; the ECU resets into its trial", image.path),
                );
            }
        }
        Ok(())
    }
}

/// An image's bytes from the bundle, verified against the image repository's entry.
fn bundle_image(dir: &Path, listed: &TargetInfo) -> Result<Vec<u8>, Error> {
    let segments: Vec<&str> = listed.path.as_str().split('/').collect();
    if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        // A target path is a name inside the bundle, never a way out of it.
        return Err(Error::Bundle { path: dir.to_path_buf(), problem: "a target path that leaves targets/" });
    }
    let path = segments.iter().fold(dir.join(bundle_paths::TARGETS), |p, s| p.join(s));
    let bytes = read_limited(&path, listed.file.length)?;
    let mut check = update_verifier::TargetVerifier::new(&listed.path, &listed.file)?;
    check.update(&bytes)?;
    check.finish()?;
    Ok(bytes)
}

/// The journal entry for one ECU's outcome with `image`.
fn entry(
    serial: &str,
    image: &str,
    outcome: &EcuOutcome,
    (bundle, version): (&str, u64),
    now: DateTime<Utc>,
) -> JournalEntry {
    let result = match outcome {
        EcuOutcome::Failed(why) => OfflineResult::Failed { reason: why.to_string() },
        EcuOutcome::Installing(_) | EcuOutcome::UpToDate => OfflineResult::Installing,
    };
    JournalEntry {
        ecu: serial.to_string(),
        image: image.to_string(),
        bundle: bundle.to_string(),
        bundle_version: version,
        at: now.timestamp(),
        result,
    }
}
