//! One update cycle of the primary: version reports in (its own and each secondary's,
//! each with a fresh counter), the signed vehicle version manifest out, full
//! verification of the director and the image repository, every directed image
//! downloaded and verified, handed to its ECU over the secondary protocol (or installed
//! into the primary's own inactive slot), and a report of what happened.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use client_embedded::protocol::{Request, Response};
use metadata_schemas::json::{self, Value};
use metadata_schemas::uptane::{
    AttackCode, EcuSerial, EcuVersionReport, HardwareId, InstalledImage, VehicleVersionManifest, Vin,
};
use metadata_schemas::{Digest, Encode, Envelope, Hashes, Signed, TargetPath, UnknownFields, UtcTime};
use threshold_keys::{KeyFileSigner, Signer};
use update_verifier::uptane::{EcuIdentity, check_against_image_repository, check_director_targets, image_for_ecu};

use super::config::PrimaryConfig;
use super::link::Link;
use super::own_image::{OwnImage, SlotImage, write_atomically};
use crate::{ClientIdentity, Error, HttpTransport, MetadataDir, TlsOptions, Updater, UpdaterConfig};

/// What one ECU did in a cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EcuOutcome {
    /// It runs what the director wants (or the director wants nothing new).
    UpToDate,
    /// Its new image was handed over (a secondary) or installed (the primary) and
    /// starts as a trial.
    Installing(String),
    /// It could not be updated: why.
    Failed(String),
}

/// What a cycle did, step by step.
#[derive(Clone, Debug, Default)]
pub struct CycleReport {
    /// Human-readable steps, in order.
    pub steps: Vec<String>,
    /// Each ECU's outcome, by serial.
    pub ecus: BTreeMap<String, EcuOutcome>,
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

/// The versions of the roots the primary trusts after its refresh.
#[derive(Clone, Copy)]
struct LatestRoots {
    director: u64,
    images: u64,
}

/// The primary ECU.
pub struct Primary {
    config: PrimaryConfig,
    key: KeyFileSigner,
    own: OwnImage,
    hardware_id: String,
    observer: Option<Observer>,
}

/// One ECU's current report and identity.
struct Reported {
    serial: String,
    hardware_id: String,
    installed: Option<(String, [u8; 32])>,
    report: Value<'static>,
    address: Option<(String, bool)>,
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

impl Primary {
    /// Opens the primary: key, state directory (trust anchors copied in at first start)
    /// and its own image, whose start rules (trial, revert) run here.
    pub fn open(config: PrimaryConfig) -> Result<Primary, Error> {
        let key = config.load_key()?;
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
        let hardware_id = config.hardware_id.clone();
        Ok(Primary { config, key, own, hardware_id, observer: None })
    }

    /// Shows each step and transfer to `observer` as it happens.
    pub fn with_observer(mut self, observer: impl FnMut(&Progress<'_>) + 'static) -> Primary {
        self.observer = Some(Box::new(observer));
        self
    }

    fn notify(&mut self, progress: Progress<'_>) {
        if let Some(observer) = &mut self.observer {
            observer(&progress);
        }
    }

    fn step(&mut self, report: &mut CycleReport, text: String) {
        log::info!("{text}");
        self.notify(Progress::Step(&text));
        report.steps.push(text);
    }

    /// The primary's own image state.
    pub fn own_image(&self) -> &OwnImage {
        &self.own
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

    /// The next report counter, saved before it is used so it is never used twice.
    fn next_counter(&self) -> Result<u64, Error> {
        let path = self.config.state_dir.join("report-counter");
        let last: u64 = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        write_atomically(&path, (last + 1).to_string().as_bytes())?;
        Ok(last + 1)
    }

    fn own_report(&self, now: DateTime<Utc>) -> Result<Reported, Error> {
        let running = self.own.running();
        let digest = metadata_schemas::hex::decode_lower_array::<32>(&running.sha256)
            .ok_or_else(|| Error::Config("own image state: bad sha256".into()))?;
        let report = EcuVersionReport {
            ecu_serial: EcuSerial::new(self.config.serial.as_str())
                .ok_or_else(|| Error::Config("empty serial".into()))?,
            installed_image: InstalledImage {
                filepath: TargetPath::new(running.name.as_str()),
                length: running.length,
                hashes: Hashes::new(vec![Digest::Sha256(digest)]).expect("one digest"),
                unknown: UnknownFields::default(),
            },
            attacks_detected: AttackCode::NONE,
            latest_time: UtcTime::new(now),
            report_counter: self.next_counter()?,
            nonce: None,
            unknown: UnknownFields::default(),
        };
        let mut signed = Signed::unsigned(report);
        signed.signatures.push(self.key.sign(&signed.canonical_signed()).map_err(|e| Error::Config(e.to_string()))?);
        Ok(Reported {
            serial: self.config.serial.clone(),
            hardware_id: self.hardware_id.clone(),
            installed: Some((running.name.clone(), digest)),
            report: signed.encode().to_owned_value(),
            address: None,
        })
    }

    fn secondary_report(serial: &str, address: &str, full: bool) -> Result<Reported, Error> {
        let mut link = Link::connect(serial, address)?;
        let Response::Info(info) = link.call(Request::GetInfo)? else {
            return Err(Error::Secondary(format!("{serial}: no info")));
        };
        let info = String::from_utf8_lossy(&info).into_owned();
        let hardware_id = info.lines().nth(1).unwrap_or("").to_string();
        let Response::VersionReport(bytes) = link.call(Request::GetVersionReport)? else {
            return Err(Error::Secondary(format!("{serial}: no version report")));
        };
        let value =
            json::parse(&bytes).map_err(|e| Error::Secondary(format!("{serial}: report: {e}")))?.to_owned_value();
        // Read (not verified: the director verifies it) to skip images already installed.
        let installed =
            Envelope::parse(&bytes).ok().and_then(|e| e.decode_signed::<EcuVersionReport>().ok()).and_then(|r| match r
                .installed_image
                .hashes
                .get(metadata_schemas::HashAlgorithm::Sha256)
            {
                Some(Digest::Sha256(d)) => Some((r.installed_image.filepath.as_str().to_string(), *d)),
                _ => None,
            });
        Ok(Reported {
            serial: serial.to_string(),
            hardware_id,
            installed,
            report: value,
            address: Some((address.to_string(), full)),
        })
    }

    /// Runs one cycle at `now`.
    pub fn cycle(&mut self, now: DateTime<Utc>) -> Result<CycleReport, Error> {
        let mut report = CycleReport::default();
        let mut ecus = vec![self.own_report(now)?];
        for s in &self.config.secondaries {
            // A secondary that does not answer is reported; the rest of the vehicle goes on.
            match Self::secondary_report(&s.serial, &s.address, s.full_verification) {
                Ok(reported) => ecus.push(reported),
                Err(e) => {
                    report.ecus.insert(s.serial.clone(), EcuOutcome::Failed(format!("unreachable: {e}")));
                }
            }
        }
        let text = match report.ecus.len() {
            0 => format!("collected {} version reports", ecus.len()),
            silent => format!("collected {} version reports; {silent} ECU(s) did not answer", ecus.len()),
        };
        self.step(&mut report, text);
        let attestation = self.send_manifest(&ecus)?;
        self.step(&mut report, "the director accepted the vehicle version manifest".into());
        if let Some(attestation) = attestation {
            self.forward_time(&mut report, &attestation, &ecus, now);
        }

        let director_url = format!("{}/vehicles/{}/director/", self.config.director, self.config.vin);
        let mut director = self.updater("director", &director_url, &director_url)?;
        director.refresh_at(now)?;
        let base = self.config.image_repository.trim_end_matches('/');
        let mut images = self.updater("images", &format!("{base}/"), &format!("{base}/targets/"))?;
        images.refresh_at(now)?;
        let targets = director.trusted().and_then(|t| t.targets()).ok_or(Error::NotRefreshed)?.clone();
        let vin = Vin::new(self.config.vin.as_str()).ok_or_else(|| Error::Config("empty vin".into()))?;
        check_director_targets(&targets, &vin)?;
        self.step(
            &mut report,
            format!("director targets v{} and the image repository verified", targets.version().get()),
        );
        let roots = LatestRoots {
            director: director.trusted().ok_or(Error::NotRefreshed)?.root().version().get(),
            images: images.trusted().ok_or(Error::NotRefreshed)?.root().version().get(),
        };

        for ecu in &ecus {
            let identity = EcuIdentity {
                vin: vin.clone(),
                serial: EcuSerial::new(ecu.serial.as_str()).ok_or_else(|| Error::Config("empty serial".into()))?,
                hardware_id: HardwareId::new(ecu.hardware_id.as_str())
                    .ok_or_else(|| Error::Secondary(format!("{}: no hardware id", ecu.serial)))?,
            };
            let outcome = match image_for_ecu(&targets, &identity, 0) {
                Err(e) => EcuOutcome::Failed(e.to_string()),
                Ok(None) => EcuOutcome::UpToDate,
                Ok(Some(image)) => {
                    let wanted = match image.file.hashes.get(metadata_schemas::HashAlgorithm::Sha256) {
                        Some(Digest::Sha256(d)) => Some(*d),
                        _ => None,
                    };
                    if ecu.installed.as_ref().is_some_and(|(_, d)| Some(*d) == wanted) {
                        EcuOutcome::UpToDate
                    } else {
                        match self.deliver(&mut report, ecu, &image, &mut images, roots, now) {
                            Ok(()) => EcuOutcome::Installing(image.path.as_str().to_string()),
                            Err(e) => EcuOutcome::Failed(e.to_string()),
                        }
                    }
                }
            };
            report.ecus.insert(ecu.serial.clone(), outcome);
        }
        if self.own.on_trial() && !matches!(report.ecus.get(&self.config.serial), Some(EcuOutcome::Failed(_))) {
            let name = self.own.running().name.clone();
            let text = if self.own.confirm()? {
                format!("the primary's image {name} confirmed")
            } else {
                format!("the primary's image {name} failed its health check: not confirmed; the next boot reverts it")
            };
            self.step(&mut report, text);
        }
        Ok(report)
    }

    /// Hands the director's time attestation to every secondary (secure time). A
    /// secondary that is unreachable or refuses it keeps its time; the cycle goes on.
    fn forward_time(&mut self, report: &mut CycleReport, attestation: &[u8], ecus: &[Reported], now: DateTime<Utc>) {
        let secondaries: Vec<(String, String)> = ecus
            .iter()
            .filter_map(|e| e.address.as_ref().map(|(address, _)| (e.serial.clone(), address.clone())))
            .collect();
        for (serial, address) in secondaries {
            let result = Link::connect(&serial, &address).and_then(|mut link| {
                link.expect_ok(Request::StartCycle(now.timestamp().max(0) as u64))?;
                link.expect_ok(Request::PutTime(attestation))
            });
            let text = match result {
                Ok(()) => format!("{serial}: took the director's attested time"),
                Err(e) => format!("{serial}: kept its time ({e})"),
            };
            self.step(report, text);
        }
    }

    /// PUTs the signed manifest; the director's time attestation, if it sent one.
    fn send_manifest(&self, ecus: &[Reported]) -> Result<Option<Vec<u8>>, Error> {
        let manifest = VehicleVersionManifest {
            vin: Vin::new(self.config.vin.as_str()).ok_or_else(|| Error::Config("empty vin".into()))?,
            primary_ecu_serial: EcuSerial::new(self.config.serial.as_str())
                .ok_or_else(|| Error::Config("empty serial".into()))?,
            ecu_version_reports: ecus
                .iter()
                .filter_map(|e| EcuSerial::new(e.serial.as_str()).map(|s| (s, e.report.clone())))
                .collect(),
            unknown: UnknownFields::default(),
        };
        let mut signed = Signed::unsigned(manifest);
        signed.signatures.push(self.key.sign(&signed.canonical_signed()).map_err(|e| Error::Config(e.to_string()))?);
        let url = format!("{}/vehicles/{}/manifest", self.config.director, self.config.vin);
        let (status, body) = self
            .transport()?
            .put_json(&url, &signed.to_canonical_json())
            .map_err(|e| Error::Transport { url: url.clone(), source: e })?;
        if status != 200 {
            return Err(Error::Director(format!("manifest refused ({status}): {body}")));
        }
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        Ok(answer["time_attestation"].as_str().map(|a| a.as_bytes().to_vec()))
    }

    /// Sends a secondary that trusts root `has` every root after it up to `latest`,
    /// oldest first (it verifies each against the one before, as a TUF client does).
    fn forward_roots(
        &self,
        link: &mut Link,
        base: &str,
        has: u64,
        latest: u64,
        put: for<'a> fn(&'a [u8]) -> Request<'a>,
    ) -> Result<(), Error> {
        if has == 0 || has >= latest {
            return Ok(());
        }
        let transport = self.transport()?;
        let limit = update_verifier::Limits::default().root_max_length;
        for version in has + 1..=latest {
            let url = format!("{base}/{version}.root.json");
            let bytes = crate::transport::fetch_limited(&transport, &url, limit)
                .map_err(|source| Error::Transport { url: url.clone(), source })?;
            link.expect_ok(put(&bytes))?;
        }
        Ok(())
    }

    /// Downloads, verifies against both repositories, and hands one image over.
    fn deliver(
        &mut self,
        report: &mut CycleReport,
        ecu: &Reported,
        image: &update_verifier::uptane::DirectorImage,
        images: &mut Updater<HttpTransport>,
        roots: LatestRoots,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let info = images.get_target_info(image.path.as_str())?;
        check_against_image_repository(image, info.as_ref())?;
        let info = info.expect("checked above");
        let downloads: PathBuf = self.config.state_dir.join("downloads");
        std::fs::create_dir_all(&downloads).map_err(|e| Error::io(&downloads, e))?;
        let path = match images.find_cached_target(&info, &downloads)? {
            Some(path) => path,
            None => {
                let (serial, total) = (ecu.serial.as_str(), info.file.length);
                let observer = &mut self.observer;
                images.download_target_resuming(&info, &downloads, &mut |received| {
                    if let Some(observer) = observer {
                        observer(&Progress::Download { serial, image: image.path.as_str(), received, total });
                    }
                })?
            }
        };
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        self.step(
            report,
            format!("{}: downloaded and verified {} ({} bytes)", ecu.serial, image.path.as_str(), bytes.len()),
        );
        match &ecu.address {
            None => {
                let sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(&bytes));
                let slot = SlotImage { name: image.path.as_str().to_string(), length: bytes.len() as u64, sha256 };
                self.own.install(slot, &bytes)?;
                self.step(report, format!("{}: installed into the inactive slot; it starts as a trial", ecu.serial));
            }
            Some((address, full)) => {
                let mut link = Link::connect(&ecu.serial, address)?;
                link.expect_ok(Request::StartCycle(now.timestamp() as u64))?;
                let Response::RootVersions { director: has, images: has_images } =
                    link.call(Request::GetRootVersions)?
                else {
                    return Err(Error::Secondary(format!("{}: no root versions", ecu.serial)));
                };
                let director_base = format!("{}/vehicles/{}/director", self.config.director, self.config.vin);
                self.forward_roots(&mut link, &director_base, has.into(), roots.director, |b| Request::PutRoot(b))?;
                if *full {
                    let base = self.config.image_repository.trim_end_matches('/').to_string();
                    self.forward_roots(&mut link, &base, has_images.into(), roots.images, |b| {
                        Request::PutImageRoot(b)
                    })?;
                    let metadata = MetadataDir::open(self.config.state_dir.join("images"))?;
                    let read = |name: &str| {
                        metadata.read(name)?.ok_or_else(|| Error::Secondary(format!("no image repository {name}")))
                    };
                    link.expect_ok(Request::PutImageTimestamp(&read("timestamp.json")?))?;
                    link.expect_ok(Request::PutImageSnapshot(&read("snapshot.json")?))?;
                    link.expect_ok(Request::PutImageTargets(&read("targets.json")?))?;
                    let trusted = images.trusted().ok_or(Error::NotRefreshed)?;
                    for (role, bytes) in super::delegations::on_path(trusted, &metadata, &image.path)? {
                        link.expect_ok(Request::PutImageDelegation { role: role.as_str(), bytes: &bytes })?;
                    }
                }
                let director_metadata = MetadataDir::open(self.config.state_dir.join("director"))?;
                let targets = director_metadata.read("targets.json")?.ok_or(Error::NotRefreshed)?;
                match link.call(Request::PutTargets(&targets))? {
                    Response::Assigned(Some(_)) => {}
                    Response::Refused(code) => {
                        return Err(Error::Secondary(format!(
                            "{} refused the director targets: {}",
                            ecu.serial,
                            code.name()
                        )));
                    }
                    other => return Err(Error::Secondary(format!("{}: targets not taken: {other:?}", ecu.serial))),
                }
                link.expect_ok(Request::BeginImage)?;
                let (serial, total) = (ecu.serial.as_str(), bytes.len() as u64);
                let mut sent = 0;
                for chunk in bytes.chunks(16 * 1024) {
                    link.expect_ok(Request::ImageChunk(chunk))?;
                    sent += chunk.len() as u64;
                    self.notify(Progress::Install { serial, sent, total });
                }
                link.expect_ok(Request::Activate)?;
                self.step(report, format!("{}: image handed over; the ECU resets into its trial", ecu.serial));
            }
        }
        Ok(())
    }
}
