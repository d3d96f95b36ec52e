//! One update cycle of the primary, the driver around the pure [`plan`](super::plan):
//! version reports in (its own and each secondary's, each with a fresh counter), the
//! signed vehicle version manifest out, full verification of the director and the image
//! repository, then each ECU's plan carried out: the image downloaded and verified,
//! handed to its ECU over the secondary protocol (or installed into the primary's own
//! inactive slot). A stop asked for (SIGTERM) ends the cycle at the next step boundary.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use metadata_schemas::Targets;
use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin};
use threshold_keys::KeyFileSigner;
use update_verifier::uptane::{DirectorImage, check_director_targets};
use update_verifier::{TargetInfo, Verified};

mod decommissioning;

pub use decommissioning::DecommissionOutcome;

use super::config::PrimaryConfig;
use super::decommission::{Journal, Stage, read_journal, write_journal};
use super::decrypt::OwnDecryption;
use super::failure::EcuFailure;
use super::handover::{Authorization, Delivery, RootFiles, Sources, hand_over, send_time};
use super::own_image::{OwnImage, SlotImage, write_atomically};
use super::plan::{self, Destination, EcuPlan, ImageRepositoryListing, Reported};
use super::reports::{self, Identity};
use crate::{ClientIdentity, Error, HttpTransport, MetadataDir, TlsOptions, Updater, UpdaterConfig};

/// What one ECU did in a cycle.
#[derive(Clone, Debug)]
pub enum EcuOutcome {
    /// It runs what the director wants (or the director wants nothing new).
    UpToDate,
    /// Its new image was handed over (a secondary) or installed (the primary) and
    /// starts as a trial.
    Installing(String),
    /// It could not be updated: why.
    Failed(EcuFailure),
}

impl EcuOutcome {
    /// Whether it runs what the director wants.
    pub fn is_up_to_date(&self) -> bool {
        matches!(self, EcuOutcome::UpToDate)
    }
}

/// What a cycle did, step by step.
#[derive(Clone, Debug, Default)]
pub struct CycleReport {
    /// Human-readable steps, in order.
    pub steps: Vec<String>,
    /// Each ECU's outcome, by serial.
    pub ecus: BTreeMap<String, EcuOutcome>,
    /// What to tell users of each image being installed (a security update, the
    /// hardware's support period), by serial.
    pub notices: BTreeMap<String, super::notice::Notice>,
    /// A decommission command this cycle refused or carried out.
    pub decommission: Option<DecommissionOutcome>,
}

/// What the primary is doing, as it happens (for a live display).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A step done (the same text as in [`CycleReport::steps`]).
    Step(&'a str),
    /// Bytes of an image received so far (a resumed download starts above zero).
    Download {
        /// The ECU the image is for.
        serial: &'a str,
        /// The image's target path.
        image: &'a str,
        /// Bytes received.
        received: u64,
        /// The image's length.
        total: u64,
    },
    /// Bytes of an image handed to a secondary (or written to the primary's own slot).
    Install {
        /// The ECU installing.
        serial: &'a str,
        /// Bytes handed over.
        sent: u64,
        /// The image's length.
        total: u64,
    },
}

/// Sees [`Progress`] as it happens.
pub type Observer = Box<dyn FnMut(&Progress<'_>)>;

/// Both repositories after this cycle's refresh.
struct Repositories {
    director: Updater<HttpTransport>,
    images: Updater<HttpTransport>,
    targets: Verified<Targets>,
}

/// The primary ECU.
pub struct Primary {
    config: PrimaryConfig,
    identity: Identity,
    key: KeyFileSigner,
    own: OwnImage,
    observer: Option<Observer>,
    stop: Arc<AtomicBool>,
    /// The gateway's own image decryption key, if configured.
    decryption: Option<image_crypto::EcuDecryptionKey>,
}

fn tls(config: &PrimaryConfig) -> TlsOptions {
    TlsOptions {
        ca_bundle: config.tls.ca_bundle.clone(),
        client_identity: config
            .tls
            .client_cert
            .clone()
            .zip(config.tls.client_key.clone())
            .map(|(certificate_chain, private_key)| ClientIdentity { certificate_chain, private_key }),
    }
}

fn identity(config: &PrimaryConfig) -> Result<Identity, Error> {
    let empty = |field: &str| Error::Config(format!("{field} is empty"));
    Ok(Identity {
        vin: Vin::new(config.vin.as_str()).ok_or_else(|| empty("vin"))?,
        serial: EcuSerial::new(config.serial.as_str()).ok_or_else(|| empty("serial"))?,
        hardware_id: HardwareId::new(config.hardware_id.as_str()).ok_or_else(|| empty("hardware_id"))?,
    })
}

impl Primary {
    /// Opens the primary: key, state directory (trust anchors copied in at first start)
    /// and its own image, whose start rules (trial, revert) run here.
    pub fn open(config: PrimaryConfig) -> Result<Primary, Error> {
        // A decommissioned device stays so; one cut short mid-erase finishes first.
        if let Some(journal) = read_journal(&config.state_dir)?.filter(|j| j.stage != Stage::Acknowledging) {
            decommissioning::erase_all(&config, &journal, &mut |text| log::info!("{text}"))?;
            return Err(Error::Decommissioned { nonce: journal.nonce });
        }
        let identity = identity(&config)?;
        let key = config.load_key()?;
        let decryption = config.load_decryption_key()?;
        for (dir, root) in [("director", &config.director_root), ("images", &config.image_root)] {
            let path = config.state_dir.join(dir);
            std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            let metadata = MetadataDir::open(path)?;
            if metadata.read("root.json")?.is_none() {
                let bytes = std::fs::read(root).map_err(|e| Error::io(root, e))?;
                metadata.write("root.json", &bytes)?;
            }
        }
        let mut own = OwnImage::open(&config.own_image, &config.state_dir)?;
        own.boot()?;
        Ok(Primary { config, identity, key, own, observer: None, stop: Arc::default(), decryption })
    }

    /// Shows each step and transfer to `observer` as it happens.
    pub fn with_observer(mut self, observer: impl FnMut(&Progress<'_>) + 'static) -> Primary {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Ends a cycle at its next step boundary (with [`Error::Stopped`]) once `stop` is set.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Primary {
        self.stop = stop;
        self
    }

    /// The primary's own image state.
    pub fn own_image(&self) -> &OwnImage {
        &self.own
    }

    fn notify(&mut self, progress: Progress<'_>) {
        if let Some(observer) = &mut self.observer {
            observer(&progress);
        }
    }

    /// The configuration.
    pub(super) fn config(&self) -> &PrimaryConfig {
        &self.config
    }

    /// Who the primary is, as an ECU.
    pub(super) fn identity_of_own(&self) -> update_verifier::uptane::EcuIdentity {
        update_verifier::uptane::EcuIdentity {
            vin: self.identity.vin.clone(),
            serial: self.identity.serial.clone(),
            hardware_id: self.identity.hardware_id.clone(),
        }
    }

    /// Set when a stop is asked for.
    pub(super) fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// Installs a verified image of the primary's own from an offline bundle (which
    /// carries no encryption for it: refused if the configuration requires encryption).
    pub(super) fn install_own_offline(
        &mut self,
        image: &DirectorImage,
        slot: SlotImage,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let own = OwnDecryption { key: self.decryption.as_ref(), required: self.config.own_image.require_encryption };
        let bytes = super::decrypt::decrypt_own(own, &self.identity.serial, image, bytes)?;
        self.own.install(slot, &bytes)
    }

    pub(super) fn step(&mut self, report: &mut CycleReport, text: String) {
        log::info!("{text}");
        self.notify(Progress::Step(&text));
        report.steps.push(text);
    }

    /// A step boundary: [`Error::Stopped`] if a stop was asked for.
    pub(super) fn boundary(&self) -> Result<(), Error> {
        if self.stop.load(Ordering::SeqCst) { Err(Error::Stopped) } else { Ok(()) }
    }

    fn transport(&self) -> Result<HttpTransport, Error> {
        let transport = HttpTransport::new(Default::default(), &tls(&self.config))?;
        Ok(match &self.config.device_token {
            Some(token) => transport.with_bearer(token.clone()),
            None => transport,
        })
    }

    fn updater(&self, dir: &str, metadata_url: &str, targets_url: &str) -> Result<Updater<HttpTransport>, Error> {
        let mut config = UpdaterConfig::new(self.config.state_dir.join(dir), metadata_url, targets_url);
        config.tls = tls(&self.config);
        Updater::with_transport(config, self.transport()?)
    }

    fn director_base(&self) -> String {
        format!("{}/vehicles/{}/director", self.config.director, self.config.vin)
    }

    /// The next report counter, saved before it is used so it is never used twice.
    fn next_counter(&self) -> Result<u64, Error> {
        let path = self.config.state_dir.join("report-counter");
        let last: u64 = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        write_atomically(&path, (last + 1).to_string().as_bytes())?;
        Ok(last + 1)
    }

    /// Runs one cycle at `now`.
    pub fn cycle(&mut self, now: DateTime<Utc>) -> Result<CycleReport, Error> {
        let mut report = CycleReport::default();
        if let Some(journal) = read_journal(&self.config.state_dir)? {
            // Acknowledging: the director lacks it. Its metadata, for the secondaries, if
            // it still serves the vehicle.
            let repositories = self.refresh(&mut report, now).ok();
            return self.carry_out(report, journal, repositories.as_ref(), now);
        }
        let ecus = self.collect_reports(&mut report, now)?;
        self.boundary()?;
        let attestation = self.send_manifest(&ecus)?;
        self.step(&mut report, "the director accepted the vehicle version manifest".into());
        if let Some(attestation) = attestation {
            self.forward_time(&mut report, &attestation, &ecus, now)?;
        }
        self.boundary()?;
        let mut repositories = self.refresh(&mut report, now)?;
        if let Some((command, signed)) = self.decommission_command(&mut report, &mut repositories)? {
            let erase = command.erase.iter().map(|e| e.as_str().to_string()).collect();
            let image_command = Some(String::from_utf8_lossy(&signed).into_owned());
            let journal = Journal { nonce: command.nonce.clone(), erase, stage: Stage::Acknowledging, image_command };
            write_journal(&self.config.state_dir, &journal)?;
            let text = format!(
                "both repositories command decommissioning (nonce {}): acknowledging, then erasing",
                command.nonce
            );
            self.step(&mut report, text);
            return self.carry_out(report, journal, Some(&repositories), now);
        }
        let listing = self.search_image_repository(&mut report, &mut repositories)?;
        for ecu in &ecus {
            self.boundary()?;
            let outcome = match plan::plan(&repositories.targets, &self.identity.vin, &listing, ecu) {
                EcuPlan::UpToDate => EcuOutcome::UpToDate,
                EcuPlan::Failed(failure) => EcuOutcome::Failed(failure),
                EcuPlan::Install { image, listed } => {
                    match self.deliver(&mut report, ecu, &image, &listed, &mut repositories, now) {
                        Ok(()) => {
                            let notice = super::notice::Notice::of(&listed.path, &listed.file, now.timestamp());
                            report.notices.insert(ecu.serial.as_str().to_string(), notice);
                            EcuOutcome::Installing(image.path.as_str().to_string())
                        }
                        Err(Error::Stopped) => return Err(Error::Stopped),
                        Err(e) => EcuOutcome::Failed(EcuFailure::Delivery(Arc::new(e))),
                    }
                }
            };
            report.ecus.insert(ecu.serial.as_str().to_string(), outcome);
        }
        self.confirm_own(&mut report)?;
        Ok(report)
    }

    /// The primary's own signed report, with the next counter and its hardware's
    /// `lifecycle_state`.
    fn own_report(&self, decryption: Option<[u8; 32]>, now: DateTime<Utc>) -> Result<Reported, Error> {
        let counter = self.next_counter()?;
        let status = super::status::with_lifecycle_state(self.own.status(), &self.config, now.timestamp());
        let own = (self.own.running(), status, self.own.release_floor());
        reports::own_report(&self.identity, &self.key, own, (counter, decryption), now)
    }

    /// PUTs a signed manifest: the director's status and answer.
    fn put_manifest(&self, manifest: &[u8]) -> Result<(u16, String), Error> {
        let url = format!("{}/vehicles/{}/manifest", self.config.director, self.config.vin);
        self.transport()?.put_json(&url, manifest).map_err(|e| Error::Transport { url: url.clone(), source: e })
    }

    /// Its own report and each secondary's; a secondary that does not answer is
    /// reported failed and the rest of the vehicle goes on.
    fn collect_reports(&mut self, report: &mut CycleReport, now: DateTime<Utc>) -> Result<Vec<Reported>, Error> {
        let decryption = self.decryption.as_ref().map(image_crypto::EcuDecryptionKey::public);
        let own = self.own_report(decryption, now)?;
        let mut ecus = vec![own];
        for secondary in &self.config.secondaries {
            self.boundary()?;
            match reports::secondary_report(secondary) {
                Ok(reported) => ecus.push(reported),
                Err(e) => {
                    let failure = EcuFailure::Unreachable(Arc::new(e));
                    report.ecus.insert(secondary.serial.clone(), EcuOutcome::Failed(failure));
                }
            }
        }
        let text = match report.ecus.len() {
            0 => format!("collected {} version reports", ecus.len()),
            silent => format!("collected {} version reports; {silent} ECU(s) did not answer", ecus.len()),
        };
        self.step(report, text);
        Ok(ecus)
    }

    /// PUTs the signed manifest, with the journal of offline installs not yet uploaded
    /// (dropped once the director took it); the director's time attestation, if it sent one.
    fn send_manifest(&self, ecus: &[Reported]) -> Result<Option<Vec<u8>>, Error> {
        let journal = super::offline::journal::read_journal(&self.config.state_dir)?;
        let custom = super::offline::journal::manifest_custom(&journal);
        let manifest = reports::signed_manifest(&self.identity, ecus, &self.key, custom)?;
        let (status, body) = self.put_manifest(&manifest)?;
        if status != 200 {
            return Err(Error::ManifestRefused { status, body });
        }
        if !journal.is_empty() {
            super::offline::journal::drop_uploaded(&self.config.state_dir, journal.len())?;
        }
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        Ok(answer["time_attestation"].as_str().map(|a| a.as_bytes().to_vec()))
    }

    /// Hands the director's time attestation to every secondary (secure time). A
    /// secondary that is unreachable or refuses it keeps its time; the cycle goes on.
    fn forward_time(
        &mut self,
        report: &mut CycleReport,
        attestation: &[u8],
        ecus: &[Reported],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        for ecu in ecus {
            let Destination::Secondary { address, .. } = &ecu.destination else { continue };
            self.boundary()?;
            let serial = ecu.serial.as_str();
            let text = match send_time(serial, address, now.timestamp().max(0) as u64, attestation) {
                Ok(()) => format!("{serial}: took the director's attested time"),
                Err(e) => format!("{serial}: kept its time ({e})"),
            };
            self.step(report, text);
        }
        Ok(())
    }

    /// Full verification of the director repository and the image repository.
    fn refresh(&mut self, report: &mut CycleReport, now: DateTime<Utc>) -> Result<Repositories, Error> {
        let director_url = format!("{}/", self.director_base());
        // Encrypted images come from the director, under `targets/`.
        let mut director = self.updater("director", &director_url, &format!("{director_url}targets/"))?;
        director.refresh_at(now)?;
        let base = self.config.image_repository.trim_end_matches('/');
        let mut images = self.updater("images", &format!("{base}/"), &format!("{base}/targets/"))?;
        images.refresh_at(now)?;
        let targets = director.trusted().and_then(|t| t.targets()).ok_or(Error::NotRefreshed)?.clone();
        check_director_targets(&targets, &self.identity.vin)?;
        let text = format!("director targets v{} and the image repository verified", targets.version().get());
        self.step(report, text);
        Ok(Repositories { director, images, targets })
    }

    /// The image repository's entry for each directed path (delegations searched as
    /// needed). A path whose search fails is left out, its cause reported as a step.
    fn search_image_repository(
        &mut self,
        report: &mut CycleReport,
        repositories: &mut Repositories,
    ) -> Result<ImageRepositoryListing, Error> {
        let mut listing = ImageRepositoryListing::new();
        for path in plan::directed_paths(&repositories.targets) {
            self.boundary()?;
            match repositories.images.get_target_info(path.as_str()) {
                Ok(listed) => {
                    listing.insert(path, listed);
                }
                Err(e) => self.step(report, format!("{}: the image repository search failed: {e}", path.as_str())),
            }
        }
        Ok(listing)
    }

    /// Downloads, verifies and hands one image over (or installs the primary's own).
    fn deliver(
        &mut self,
        report: &mut CycleReport,
        ecu: &Reported,
        image: &DirectorImage,
        listed: &TargetInfo,
        repositories: &mut Repositories,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let bytes = self.download(ecu, image, listed, repositories)?;
        let serial = ecu.serial.as_str();
        let what = match image.custom.encryption {
            Some(_) => format!("the ciphertext of {} (encrypted for it)", image.path.as_str()),
            None => image.path.as_str().to_string(),
        };
        let text = format!("{serial}: downloaded and verified {what}, {} bytes", bytes.len());
        self.step(report, text);
        self.boundary()?;
        match &ecu.destination {
            Destination::Own => {
                // Its own image, if encrypted for it, is decrypted and checked first.
                let own =
                    OwnDecryption { key: self.decryption.as_ref(), required: self.config.own_image.require_encryption };
                let bytes = super::decrypt::decrypt_own(own, &self.identity.serial, image, bytes)?;
                let sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(&bytes));
                let slot = SlotImage {
                    name: image.path.as_str().to_string(),
                    length: bytes.len() as u64,
                    sha256,
                    installed_at: Some(now.timestamp()),
                    release_counter: image.custom.release_counter,
                };
                self.own.install(slot, &bytes)?;
                self.step(report, format!("{serial}: installed into the inactive slot; it starts as a trial"));
            }
            Destination::Secondary { address, full } => {
                let chunk_index = self.chunk_index(image, repositories)?;
                let transport = self.transport()?;
                let sources = Sources {
                    roots: RootFiles::Remote {
                        transport: &transport,
                        director_base: self.director_base(),
                        image_base: &self.config.image_repository,
                    },
                    latest_roots: latest_roots(repositories)?,
                    state_dir: &self.config.state_dir,
                    images: repositories.images.trusted().ok_or(Error::NotRefreshed)?,
                    vin: &self.config.vin,
                };
                let delivery = Delivery {
                    serial,
                    address,
                    full: *full,
                    path: &image.path,
                    bytes: &bytes,
                    chunk_index: chunk_index.as_deref(),
                    now: unix(now),
                };
                let (observer, total) = (&mut self.observer, bytes.len() as u64);
                let mut sent = |sent| {
                    if let Some(observer) = observer {
                        observer(&Progress::Install { serial, sent, total });
                    }
                };
                hand_over(&sources, &delivery, Authorization::Director, &mut sent, &self.stop)?;
                self.step(report, format!("{serial}: image handed over; the ECU resets into its trial"));
            }
        }
        Ok(())
    }

    /// The image's verified bytes: from the download cache, or downloaded (resuming a
    /// partial download) and verified against the image repository's entry. An image
    /// encrypted for its ECU is the ciphertext, from the director, checked against the
    /// length and hashes its encryption block lists; the primary never decrypts it.
    fn download(
        &mut self,
        ecu: &Reported,
        image: &DirectorImage,
        listed: &TargetInfo,
        repositories: &Repositories,
    ) -> Result<Vec<u8>, Error> {
        let ciphertext = image.custom.encryption.as_ref().map(|block| TargetInfo {
            path: block.content.filename.clone(),
            file: metadata_schemas::TargetFile::new(block.content.length, block.content.hashes.clone()),
            role: metadata_schemas::RoleName::targets(),
        });
        let (images, listed) = match &ciphertext {
            Some(ciphertext) => (&repositories.director, ciphertext),
            None => (&repositories.images, listed),
        };
        self.fetch(images, listed, ecu.serial.as_str(), image.path.as_str())
    }

    /// An encrypted image's chunk index, from the director, checked against the length
    /// and hashes its encryption block lists (the ECU checks it again).
    fn chunk_index(&mut self, image: &DirectorImage, repositories: &Repositories) -> Result<Option<Vec<u8>>, Error> {
        let Some(index) = image.custom.encryption.as_ref().and_then(|b| b.chunks.as_ref()) else { return Ok(None) };
        let info = TargetInfo {
            path: index.index.filename.clone(),
            file: metadata_schemas::TargetFile::new(index.index.length, index.index.hashes.clone()),
            role: metadata_schemas::RoleName::targets(),
        };
        let serial = image.custom.ecu_identifier.as_str().to_string();
        self.fetch(&repositories.director, &info, &serial, index.index.filename.as_str()).map(Some)
    }

    /// `listed`'s verified bytes from `from`: cached, or downloaded (resuming).
    fn fetch(
        &mut self,
        from: &Updater<HttpTransport>,
        listed: &TargetInfo,
        serial: &str,
        label: &str,
    ) -> Result<Vec<u8>, Error> {
        let downloads = self.config.state_dir.join("downloads");
        std::fs::create_dir_all(&downloads).map_err(|e| Error::io(&downloads, e))?;
        let path = match from.find_cached_target(listed, &downloads)? {
            Some(path) => path,
            None => {
                let total = listed.file.length;
                let observer = &mut self.observer;
                from.download_target_resuming(listed, &downloads, &mut |received| {
                    if let Some(observer) = observer {
                        observer(&Progress::Download { serial, image: label, received, total });
                    }
                })?
            }
        };
        std::fs::read(&path).map_err(|e| Error::io(&path, e))
    }

    /// Confirms the primary's own trial image once it reported without failing, if its
    /// health check passes.
    fn confirm_own(&mut self, report: &mut CycleReport) -> Result<(), Error> {
        let failed = matches!(report.ecus.get(self.identity.serial.as_str()), Some(EcuOutcome::Failed(_)));
        if !self.own.on_trial() || failed {
            return Ok(());
        }
        let name = self.own.running().name.clone();
        let text = if self.own.confirm()? {
            format!("the primary's image {name} confirmed")
        } else {
            format!("the primary's image {name} failed its health check: not confirmed; the next boot reverts it")
        };
        self.step(report, text);
        Ok(())
    }
}

/// The newest director and image repository root versions the primary trusts.
fn latest_roots(repositories: &Repositories) -> Result<(u64, u64), Error> {
    let version = |updater: &Updater<HttpTransport>| {
        updater.trusted().map(|t| t.root().version().get()).ok_or(Error::NotRefreshed)
    };
    Ok((version(&repositories.director)?, version(&repositories.images)?))
}

/// Seconds since 1970 (0 for a time before it).
fn unix(now: DateTime<Utc>) -> u64 {
    now.timestamp().max(0) as u64
}
