//! The Uptane secondary: director metadata in (partial verification), this ECU's image
//! in, a signed version report out. Nothing is kept or written before it is verified;
//! a refused input changes neither the running image nor the boot state, and the next
//! version report names what was detected.

use alloc::vec::Vec;

use embedded_storage::nor_flash::NorFlash;
use metadata_schemas::uptane::{
    AttackCode, BootState as Boot, EcuVersionReport, InstallResult, InstallStatus, InstalledImage,
};
use metadata_schemas::{Digest, Hashes, Signed, TargetPath, UnknownFields, UtcTime};
use update_verifier::uptane::{DirectorImage, EcuIdentity, PartialVerifier, check_against_image_repository};
use update_verifier::{DateTime, Limits, Source, TrustedSet};

use image_crypto::{Binding, ContentCipher, ContentKey, EcuDecryptionKey, WrappedKey};

use crate::Error;
use crate::chunks::{ChunkCheck, ChunkError, ChunkPlan};
use crate::device::{Device, Install};
use crate::ecu_key::EcuKey;
use crate::layout::MetaRole;
use crate::record::{ImageInfo, MAX_NAME};
use crate::state::SlotStatus;
use crate::store::{RawStore, Store};

mod decommission;
mod offline;

pub use offline::FactoryProof;

/// Why the secondary refused an input or could not act.
#[derive(Debug)]
pub enum UpdateError<E> {
    /// The device or its flash.
    Device(Error<E>),
    /// Metadata failed verification.
    Verification(update_verifier::Error),
    /// An image arrived, but the verified director targets assign none to this ECU.
    NoImageAssigned,
    /// A message came out of order (an image chunk before the image started, say).
    OutOfOrder(&'static str),
    /// The image is unencrypted, and this ECU requires encryption.
    Unencrypted,
    /// The image is encrypted and this ECU has no decryption key.
    NoDecryptionKey,
    /// The wrapped content key is for another ECU key, or does not unwrap for this ECU,
    /// image, release and IV.
    KeyWrap,
    /// A decommission command only one repository signs, or that the two sign differently.
    Decommission(update_verifier::uptane::DecommissionRefusal),
    /// The ECU is decommissioned: it does nothing more.
    Decommissioned,
}

impl<E> From<Error<E>> for UpdateError<E> {
    fn from(e: Error<E>) -> Self {
        UpdateError::Device(e)
    }
}

impl<E> UpdateError<E> {
    /// The attack code this refusal reports ([`AttackCode::NONE`] for faults that are
    /// not attacks, such as a flash error).
    pub fn attack_code(&self) -> AttackCode {
        match self {
            UpdateError::Verification(e) => e.attack_code(),
            UpdateError::Device(Error::ImageMismatch) => AttackCode::TAMPERED_IMAGE,
            UpdateError::Device(Error::EndlessData) => AttackCode::ENDLESS_DATA,
            UpdateError::Device(Error::Rollback) => AttackCode::ROLLBACK,
            UpdateError::Device(Error::ImageTooLarge) => AttackCode::ENDLESS_DATA,
            UpdateError::NoImageAssigned => AttackCode::WRONG_TARGET,
            UpdateError::Unencrypted => AttackCode::UNENCRYPTED_IMAGE,
            UpdateError::KeyWrap => AttackCode::BAD_KEY_WRAP,
            UpdateError::Decommission(_) => AttackCode::REPOSITORY_MISMATCH,
            _ => AttackCode::NONE,
        }
    }
}

/// The image the verified director targets assign to this ECU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Its target path.
    pub path: TargetPath,
    /// Length, SHA-256 and counters.
    pub info: ImageInfo,
}

/// The image repository's metadata in this cycle (full verification).
struct ImageRepository {
    trusted: TrustedSet,
    /// Delegated targets roles handed over in this cycle (verified when searched).
    delegated: update_verifier::uptane::ProvidedRoles,
    /// Whether the stored timestamp and snapshot were loaded as rollback references.
    cached_timestamp: bool,
    cached_snapshot: bool,
}

/// One secondary ECU.
pub struct Secondary<F: NorFlash, K: EcuKey, S: Store<F> = RawStore> {
    device: Device<F, S>,
    ecu: EcuIdentity,
    key: K,
    limits: Limits,
    verifier: Option<PartialVerifier>,
    images: Option<ImageRepository>,
    assignment: Option<Assignment>,
    install: Option<Install>,
    attack: AttackCode,
    epoch: Option<u64>,
    reports: u32,
    /// The nonce of the latest version report: a time attestation must carry it.
    nonce: Option<u64>,
    /// This cycle's time for expiry checks: the trusted time, or the primary's if later.
    cycle_time: u64,
    /// The ECU's image decryption key, and whether every image must be encrypted.
    decryption: Option<(EcuDecryptionKey, bool)>,
    /// The assigned image's content key and IV, unwrapped (in RAM only, this cycle).
    content_key: Option<(ContentKey, [u8; 16])>,
    /// Decrypts the image as it arrives.
    cipher: Option<ContentCipher>,
    /// The assigned image's chunk index, as its signed encryption block names it.
    chunk_plan: Option<ChunkPlan>,
    /// The chunk index itself, once it arrived and matched.
    chunks: Option<ChunkCheck>,
}

type Result<T, F> = core::result::Result<T, UpdateError<<F as embedded_storage::nor_flash::ErrorType>::Error>>;

/// Writes `bytes` of the image into the slot, decrypted first if `cipher` is set (in
/// 256-byte pieces, so no buffer the size of a chunk is needed).
fn write_decrypted<F: NorFlash, S: Store<F>>(
    device: &mut Device<F, S>,
    install: &mut Install,
    cipher: Option<&mut ContentCipher>,
    bytes: &[u8],
) -> Result<(), F> {
    let Some(cipher) = cipher else { return Ok(device.install_write(install, bytes)?) };
    let mut piece = [0u8; 256];
    for part in bytes.chunks(piece.len()) {
        let plain = &mut piece[..part.len()];
        plain.copy_from_slice(part);
        cipher.apply(plain);
        device.install_write(install, plain)?;
    }
    Ok(())
}

/// What an encrypted image's block says of its chunk index, if it lists one; an index
/// this ECU cannot check (no SHA-256 listed) is refused, never skipped.
fn chunk_plan_of<E>(image: &DirectorImage) -> core::result::Result<Option<ChunkPlan>, UpdateError<E>> {
    let Some(chunks) = image.custom.encryption.as_ref().and_then(|b| b.chunks.as_ref()) else { return Ok(None) };
    let Some(Digest::Sha256(sha256)) = chunks.index.hashes.get(metadata_schemas::HashAlgorithm::Sha256) else {
        let path = chunks.index.filename.clone();
        return Err(UpdateError::Verification(update_verifier::Error::NoKnownHash { path }));
    };
    Ok(Some(ChunkPlan { size: chunks.size, index_length: chunks.index.length, index_sha256: *sha256 }))
}

/// A chunk that does not match its index entry is a tampered image.
fn chunk_error<E>(e: ChunkError<UpdateError<E>>) -> UpdateError<E> {
    match e {
        ChunkError::Mismatch => UpdateError::Device(Error::ImageMismatch),
        ChunkError::Sink(e) => e,
    }
}

/// The X25519 unwrap in a frame of its own, so its stack is used only for encrypted
/// images, never by every metadata check.
#[inline(never)]
fn unwrap_bound(key: &EcuDecryptionKey, wrapped: &WrappedKey, binding: &Binding) -> Option<ContentKey> {
    image_crypto::unwrap(key, wrapped, binding).ok()
}

/// The latest time an ECU states: 9999-12-31T23:59:59Z, the last one metadata can write.
const LATEST: u64 = 253_402_300_799;

/// Unix seconds as a time, saturating at [`LATEST`]: a larger value (2^64-1, kept by
/// versions before secure time) means everything has expired, never a wrap to 1969
/// (nothing ever expires), and still reads as a time in a version report.
pub(super) fn time_of(seconds: u64) -> DateTime<update_verifier::Utc> {
    DateTime::from_timestamp(seconds.min(LATEST) as i64, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

impl<F: NorFlash, K: EcuKey, S: Store<F>> Secondary<F, K, S> {
    /// Factory provisioning of the trust anchor: the director root this ECU starts
    /// from (checked to be signed by its own threshold). `scratch` must hold a copy.
    pub fn provision_root(
        device: &mut Device<F, S>,
        ecu: &EcuIdentity,
        root: &[u8],
        scratch: &mut [u8],
    ) -> Result<(), F> {
        PartialVerifier::new(root, ecu.clone(), DateTime::UNIX_EPOCH, Limits::default())
            .map_err(UpdateError::Verification)?;
        device.save_metadata(MetaRole::DirectorRoot, root, scratch)?;
        Ok(())
    }

    /// Factory provisioning for full verification: the image repository's root.
    pub fn provision_image_root(device: &mut Device<F, S>, root: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        TrustedSet::new(root, DateTime::UNIX_EPOCH, Limits::default()).map_err(UpdateError::Verification)?;
        if !device.keeps(MetaRole::ImageRoot) {
            return Err(UpdateError::OutOfOrder("this ECU keeps no image repository metadata (full verification)"));
        }
        device.save_metadata(MetaRole::ImageRoot, root, scratch)?;
        Ok(())
    }

    /// Opens the secondary after a boot (reads only). Metadata is loaded, and its
    /// signatures checked, when a cycle starts.
    pub fn open(device: Device<F, S>, ecu: EcuIdentity, mut key: K, limits: Limits) -> Self {
        if device.state().decommissioned.is_some() {
            key.erase(); // again at every start: a cut after the record still ends erased
        }
        Secondary {
            device,
            ecu,
            key,
            limits,
            verifier: None,
            images: None,
            assignment: None,
            install: None,
            attack: AttackCode::NONE,
            epoch: None,
            reports: 0,
            nonce: None,
            cycle_time: 0,
            decryption: None,
            content_key: None,
            cipher: None,
            chunk_plan: None,
            chunks: None,
        }
    }

    /// Gives the ECU its image decryption key (X25519, separate from its signing key);
    /// with `required`, an unencrypted image is refused.
    pub fn with_decryption_key(mut self, key: EcuDecryptionKey, required: bool) -> Self {
        self.decryption = Some((key, required));
        self
    }

    /// The device (boot state, flash).
    pub fn device(&mut self) -> &mut Device<F, S> {
        &mut self.device
    }

    /// What the last cycle detected.
    pub fn attack(&self) -> AttackCode {
        self.attack
    }

    /// The image assigned in this cycle, if any.
    pub fn assignment(&self) -> Option<&Assignment> {
        self.assignment.as_ref()
    }

    /// Gives the device back.
    pub fn into_device(self) -> Device<F, S> {
        self.device
    }

    /// Runs `step`, noting the attack code of a refusal.
    fn noting<T>(&mut self, step: impl FnOnce(&mut Self) -> Result<T, F>) -> Result<T, F> {
        let result = step(self);
        if let Err(e) = &result {
            let code = e.attack_code();
            if code != AttackCode::NONE {
                self.attack = code;
            }
        }
        result
    }

    /// Starts an update cycle: loads the stored director root and targets through
    /// `scratch`, checking their signatures again. Expiry is checked at the latest trusted
    /// time, or at `now` (the primary's time, unauthenticated) when that is later: the
    /// primary can make the checks stricter for this cycle, never laxer, and its time is
    /// never kept. Only [`Secondary::put_time`] moves the trusted time.
    pub fn start_cycle(&mut self, now: u64, scratch: &mut [u8]) -> Result<(), F> {
        let trusted = self.device.state().latest_time;
        // A time past what a timestamp can hold (2^64-1 would wrap to 1969) is ignored.
        let primary = Some(now).filter(|&t| t <= LATEST);
        self.cycle_time = primary.map_or(trusted, |t| t.max(trusted));
        self.noting(|s| s.load_cycle(scratch))
    }

    /// Takes a new trusted time from a director time attestation: signed by the time key
    /// the trusted director root names, carrying the nonce of this ECU's latest version
    /// report; the time never goes backwards, and is kept (power-cut safe) in the boot
    /// state. Send it right after [`Secondary::start_cycle`]: the cycle starts over at
    /// the new time.
    pub fn put_time(&mut self, attestation: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.noting(|s| {
            let nonce = s.nonce.ok_or(UpdateError::OutOfOrder("a version report (with its nonce) first"))?;
            let trusted = s.device.state().latest_time;
            let at = time_of(trusted);
            let root = s.verifier()?.root();
            let time = update_verifier::uptane::verify_time_attestation(root, attestation, nonce, at)
                .map_err(UpdateError::Verification)?;
            let seconds = u64::try_from(time.timestamp()).unwrap_or(0);
            s.device.advance_time(seconds)?;
            // An attestation answers one report only.
            s.nonce = None;
            s.cycle_time = s.cycle_time.max(seconds);
            s.load_cycle(scratch)
        })
    }

    /// The trusted time (Unix seconds): what the version report states.
    pub fn trusted_time(&self) -> u64 {
        self.device.state().latest_time
    }

    fn load_cycle(&mut self, scratch: &mut [u8]) -> Result<(), F> {
        self.assignment = None;
        self.install = None;
        self.content_key = None;
        self.cipher = None;
        self.chunk_plan = None;
        self.chunks = None;
        self.attack = AttackCode::NONE;
        // A trusted time poisoned before secure time (an unauthenticated 2^64-1 kept by an
        // older version) fails closed here.
        let time = time_of(self.cycle_time);
        let len = self
            .device
            .load_metadata(MetaRole::DirectorRoot, scratch)?
            .ok_or(UpdateError::Device(Error::NotProvisioned))?;
        let mut verifier = PartialVerifier::new(&scratch[..len], self.ecu.clone(), time, self.limits)
            .map_err(UpdateError::Verification)?;
        if let Some(len) = self.device.load_metadata(MetaRole::DirectorTargets, scratch)? {
            verifier.restore_targets(&scratch[..len]).map_err(UpdateError::Verification)?;
        }
        self.verifier = Some(verifier);
        self.images = None;
        if self.device.keeps(MetaRole::ImageRoot) {
            let len = self
                .device
                .load_metadata(MetaRole::ImageRoot, scratch)?
                .ok_or(UpdateError::Device(Error::NotProvisioned))?;
            let trusted = TrustedSet::new(&scratch[..len], time, self.limits).map_err(UpdateError::Verification)?;
            let delegated = Default::default();
            self.images = Some(ImageRepository { trusted, delegated, cached_timestamp: false, cached_snapshot: false });
        }
        Ok(())
    }

    fn images(&mut self) -> Result<&mut ImageRepository, F> {
        self.images.as_mut().ok_or(UpdateError::OutOfOrder("no image repository in this cycle (full verification)"))
    }

    /// Loads a stored role into the image repository's trusted set as a rollback
    /// reference; a stored copy that is no longer current is still a reference.
    fn load_cached(&mut self, role: MetaRole, scratch: &mut [u8]) -> Result<(), F> {
        let Some(len) = self.device.load_metadata(role, scratch)? else {
            return Ok(());
        };
        let trusted = &mut self.images()?.trusted;
        let _ = match role {
            MetaRole::ImageTimestamp => trusted.update_timestamp(&scratch[..len], Source::Cache).map(|_| ()),
            _ => trusted.update_snapshot(&scratch[..len], Source::Cache).map(|_| ()),
        };
        Ok(())
    }

    fn keep(&mut self, role: MetaRole, bytes: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.device.save_metadata(role, bytes, scratch)?;
        Ok(())
    }

    /// Full verification: the image repository's next root version.
    pub fn put_image_root(&mut self, bytes: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.noting(|s| {
            s.images()?.trusted.update_root(bytes).map_err(UpdateError::Verification)?;
            s.keep(MetaRole::ImageRoot, bytes, scratch)
        })
    }

    /// Full verification: the image repository's timestamp (after its roots).
    pub fn put_image_timestamp(&mut self, bytes: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.noting(|s| {
            if !core::mem::replace(&mut s.images()?.cached_timestamp, true) {
                s.load_cached(MetaRole::ImageTimestamp, scratch)?;
            }
            s.images()?.trusted.update_timestamp(bytes, Source::Remote).map_err(UpdateError::Verification)?;
            s.keep(MetaRole::ImageTimestamp, bytes, scratch)
        })
    }

    /// Full verification: the image repository's snapshot.
    pub fn put_image_snapshot(&mut self, bytes: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.noting(|s| {
            if !core::mem::replace(&mut s.images()?.cached_snapshot, true) {
                s.load_cached(MetaRole::ImageSnapshot, scratch)?;
            }
            s.images()?.trusted.update_snapshot(bytes, Source::Remote).map_err(UpdateError::Verification)?;
            s.keep(MetaRole::ImageSnapshot, bytes, scratch)
        })
    }

    /// Full verification: the image repository's top-level targets, which must list
    /// the director's image (send before the director targets).
    pub fn put_image_targets(&mut self, bytes: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.noting(|s| {
            s.images()?.trusted.update_targets(bytes).map_err(UpdateError::Verification)?;
            s.keep(MetaRole::ImageTargets, bytes, scratch)
        })
    }

    /// Full verification: a delegated targets role of the image repository on the path
    /// to the image, kept in RAM for this cycle's search (at most `max_delegations`
    /// roles and `targets_max_length` bytes in all). Nothing is kept in flash: the
    /// stored snapshot pins each role's version.
    pub fn put_image_delegation(&mut self, role: &str, bytes: &[u8]) -> Result<(), F> {
        self.noting(|s| {
            let role = metadata_schemas::RoleName::new(role)
                .ok_or(UpdateError::OutOfOrder("a delegated role needs a valid name"))?;
            let limits = s.limits;
            let images = s.images()?;
            let held: usize = images.delegated.values().map(Vec::len).sum();
            let full = images.delegated.len() as u64 >= u64::from(limits.max_delegations);
            if full || (held + bytes.len()) as u64 > limits.targets_max_length {
                return Err(UpdateError::Verification(update_verifier::Error::TooLong {
                    role,
                    limit: limits.targets_max_length,
                }));
            }
            images.delegated.insert(role, bytes.to_vec());
            Ok(())
        })
    }

    /// Full verification's last step: the image repository's delegation search (over
    /// the roles handed over) finds the director's image, with the same length, hashes,
    /// hardware and release counter.
    pub(super) fn check_full(&mut self, image: &DirectorImage) -> Result<(), F> {
        let Some(images) = &mut self.images else { return Ok(()) };
        let found = update_verifier::uptane::find_target(&mut images.trusted, &image.path, &images.delegated)
            .map_err(UpdateError::Verification)?;
        check_against_image_repository(image, found.as_ref()).map_err(UpdateError::Verification)
    }

    /// The content key of an encrypted `image`, unwrapped with this ECU's key and bound
    /// to it; `None` for an unencrypted image this ECU accepts.
    fn unwrap_content_key(&self, image: &DirectorImage) -> Result<Option<(ContentKey, [u8; 16])>, F> {
        let required = self.decryption.as_ref().is_some_and(|(_, required)| *required);
        let Some(block) = &image.custom.encryption else {
            return if required { Err(UpdateError::Unencrypted) } else { Ok(None) };
        };
        let (key, _) = self.decryption.as_ref().ok_or(UpdateError::NoDecryptionKey)?;
        if block.content.length != image.file.length {
            // CTR keeps the length: a different one is not this scheme.
            return Err(UpdateError::Device(Error::ImageMismatch));
        }
        if block.key.ecu_key_id != key.key_id() {
            return Err(UpdateError::KeyWrap);
        }
        let Some(Digest::Sha256(plaintext_sha256)) = &image.file.hashes.get(metadata_schemas::HashAlgorithm::Sha256)
        else {
            return Err(UpdateError::Verification(update_verifier::Error::NoKnownHash { path: image.path.clone() }));
        };
        let binding = Binding {
            ecu_identifier: self.ecu.serial.as_str(),
            filename: image.path.as_str(),
            plaintext_sha256,
            release_counter: image.custom.release_counter,
            content_alg: block.content.alg.name(),
            iv: &block.content.iv,
        };
        let wrapped = WrappedKey { epk: block.key.epk, wrapped_cek: block.key.wrapped_cek };
        let cek = unwrap_bound(key, &wrapped, &binding).ok_or(UpdateError::KeyWrap)?;
        Ok(Some((cek, block.content.iv)))
    }

    pub(super) fn verifier(&mut self) -> Result<&mut PartialVerifier, F> {
        self.verifier.as_mut().ok_or(UpdateError::OutOfOrder("start a cycle first"))
    }

    /// The versions of the trusted director root and image repository root (0 without
    /// full verification), in a cycle.
    pub fn root_versions(&mut self) -> Result<(u32, u32), F> {
        let director = self.verifier()?.root().version().get();
        let images = self.images.as_ref().map_or(0, |i| i.trusted.root().version().get());
        let narrow = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Ok((narrow(director), narrow(images)))
    }

    /// The next director root version: verified against the trusted one, then kept.
    pub fn put_root(&mut self, bytes: &[u8], scratch: &mut [u8]) -> Result<(), F> {
        self.noting(|s| {
            s.verifier()?.update_root(bytes).map_err(UpdateError::Verification)?;
            s.device.save_metadata(MetaRole::DirectorRoot, bytes, scratch)?;
            Ok(())
        })
    }

    /// New director targets: verified, kept, and this ECU's image picked out. `None`
    /// when no image is assigned or the assigned one already runs.
    pub fn put_targets(&mut self, bytes: &[u8], scratch: &mut [u8]) -> Result<Option<Assignment>, F> {
        self.noting(|s| {
            let floor = s.device.state().floors.release_counter;
            let verifier = s.verifier()?;
            let targets_version = verifier.update_targets(bytes).map_err(UpdateError::Verification)?.version().get();
            let image = verifier.image(floor).map_err(UpdateError::Verification)?;
            s.device.save_metadata(MetaRole::DirectorTargets, bytes, scratch)?;
            let Some(image) = image else { return Ok(None) };
            s.check_full(&image)?;
            s.assign(image, targets_version)
        })
    }

    /// Takes `image` as this cycle's assignment (authorized by director targets
    /// `targets_version`), unless it runs already.
    pub(super) fn assign(&mut self, image: DirectorImage, targets_version: u64) -> Result<Option<Assignment>, F> {
        let Some(Digest::Sha256(sha256)) = image.file.hashes.get(metadata_schemas::HashAlgorithm::Sha256) else {
            return Err(UpdateError::Verification(update_verifier::Error::NoKnownHash { path: image.path.clone() }));
        };
        let length = u32::try_from(image.file.length).map_err(|_| UpdateError::Device(Error::ImageTooLarge))?;
        let info =
            ImageInfo { length, sha256: *sha256, release_counter: image.custom.release_counter, targets_version };
        let running = self.device.running().and_then(|slot| self.device.state().slot(slot).info);
        if running.is_some_and(|r| r.sha256 == info.sha256 && r.length == info.length) {
            return Ok(None);
        }
        if image.path.as_str().len() > MAX_NAME {
            return Err(UpdateError::Device(Error::NameTooLong));
        }
        // Only an image to install needs its key (an ECU that runs it already has it).
        self.content_key = self.unwrap_content_key(&image)?;
        self.chunk_plan = chunk_plan_of(&image)?;
        self.chunks = None;
        let assignment = Assignment { path: image.path.clone(), info };
        self.assignment = Some(assignment.clone());
        Ok(Some(assignment))
    }

    /// Starts receiving the assigned image into the inactive slot: the offset to send
    /// it from, above zero when an install of the same image cut short by a power loss
    /// resumes. An encrypted image's content key was unwrapped again for this cycle (it
    /// is never in flash), and its decryption seeks to the offset.
    pub fn begin_image(&mut self) -> Result<u32, F> {
        self.noting(|s| {
            let assignment = s.assignment.clone().ok_or(UpdateError::NoImageAssigned)?;
            let name = assignment.path.as_str().as_bytes();
            let unit = s.chunk_plan.map_or(1, |plan| plan.size);
            let install = s.device.install_resuming_at(assignment.info, name, unit)?;
            let from = install.received();
            s.install = Some(install);
            s.cipher = s.content_key.as_ref().map(|(key, iv)| {
                let mut cipher = ContentCipher::new(key, iv);
                cipher.seek(u64::from(from));
                cipher
            });
            if s.chunk_plan.is_some() {
                let chunks = s.chunks.as_mut().ok_or(UpdateError::OutOfOrder("the chunk index before the image"))?;
                chunks.restart_at(from);
            }
            Ok(from)
        })
    }

    /// The next bytes of the image (ciphertext for an encrypted image: decrypted on the
    /// way to the slot; the plaintext's length and SHA-256 are checked at activation).
    pub fn put_chunk(&mut self, chunk: &[u8]) -> Result<(), F> {
        self.noting(|s| {
            let mut install = s.install.take().ok_or(UpdateError::OutOfOrder("no image started"))?;
            let (device, cipher) = (&mut s.device, &mut s.cipher);
            let mut write = |bytes: &[u8]| write_decrypted(device, &mut install, cipher.as_mut(), bytes);
            match &mut s.chunks {
                Some(chunks) => chunks.push(chunk, &mut write).map_err(chunk_error)?,
                None => write(chunk)?,
            }
            s.install = Some(install);
            Ok(())
        })
    }

    /// An encrypted image's chunk index, after the director targets and before the
    /// image: it must be the file the signed encryption block names, one entry per chunk.
    pub fn put_chunk_index(&mut self, bytes: &[u8]) -> Result<(), F> {
        self.noting(|s| {
            let plan = s.chunk_plan.ok_or(UpdateError::OutOfOrder("the assigned image lists no chunk index"))?;
            let length = s.assignment.as_ref().ok_or(UpdateError::NoImageAssigned)?.info.length;
            let check =
                ChunkCheck::new(&plan, bytes, u64::from(length)).ok_or(UpdateError::Device(Error::ImageMismatch))?;
            s.chunks = Some(check);
            Ok(())
        })
    }

    /// Completes the image: checked against the verified targets, then marked to run
    /// as a trial at the next reset (which the caller then performs).
    pub fn activate(&mut self) -> Result<(), F> {
        self.noting(|s| {
            let mut install = s.install.take().ok_or(UpdateError::OutOfOrder("no image started"))?;
            if let Some(chunks) = &mut s.chunks {
                let (device, cipher) = (&mut s.device, &mut s.cipher);
                let mut write = |bytes: &[u8]| write_decrypted(device, &mut install, cipher.as_mut(), bytes);
                chunks.finish(&mut write).map_err(chunk_error)?;
            }
            s.device.install_finish(install)?;
            s.assignment = None;
            Ok(())
        })
    }

    /// Confirms the running trial image (the application calls this once healthy).
    pub fn confirm(&mut self) -> Result<(), F> {
        self.device.confirm().map_err(UpdateError::Device)
    }

    /// This ECU's signed version report: the running image, what the last cycle
    /// detected, the latest trusted time, and a counter that grows with every report:
    /// the boot epoch (one record at the first report after a boot) in the high half.
    pub fn version_report(&mut self) -> Result<Vec<u8>, F> {
        self.signed_report(None)
    }

    /// [`Secondary::version_report`], with one more field in its signed part when given.
    fn signed_report(
        &mut self,
        extra: Option<(&'static str, metadata_schemas::json::Value<'static>)>,
    ) -> Result<Vec<u8>, F> {
        if self.is_decommissioned() {
            return Err(UpdateError::Decommissioned);
        }
        let epoch = match self.epoch {
            Some(epoch) => epoch,
            None => *self.epoch.insert(self.device.next_epoch()?),
        };
        self.reports += 1;
        let state = self.device.state();
        let running = self.device.running().map(|slot| state.slot(slot));
        let (filepath, length, hashes) = match running.and_then(|s| s.info.map(|i| (s, i))) {
            Some((slot, info)) => (
                TargetPath::new(core::str::from_utf8(slot.name()).unwrap_or("")),
                u64::from(info.length),
                Hashes::new(alloc::vec![Digest::Sha256(info.sha256)]).expect("one digest"),
            ),
            None => (TargetPath::new(""), 0, Hashes::new(alloc::vec![Digest::Sha256([0; 32])]).expect("one digest")),
        };
        let time = time_of(state.latest_time);
        let report_counter = (epoch << 32) | u64::from(self.reports);
        let nonce = self.nonce_for(report_counter);
        self.nonce = Some(nonce);
        let report = EcuVersionReport {
            ecu_serial: self.ecu.serial.clone(),
            installed_image: InstalledImage { filepath, length, hashes, unknown: UnknownFields::default() },
            attacks_detected: self.attack,
            latest_time: UtcTime::new(time),
            report_counter,
            nonce: Some(nonce),
            // Announced in every signed report: how the director learns a new key.
            decryption_key: self.decryption.as_ref().map(|(key, _)| key.public()),
            status: self
                .device
                .running()
                .and_then(|slot| install_status(state, slot, self.attack))
                .map(|status| with_lifecycle_state(status, self.verifier.as_ref(), &self.ecu, state.latest_time)),
            unknown: extra.map_or_else(UnknownFields::default, |(name, value)| {
                let mut unknown = UnknownFields::default();
                unknown.0.insert(name, value);
                unknown
            }),
        };
        let mut signed = Signed::unsigned(report);
        let signature = self.key.sign(&signed.canonical_signed());
        signed.signatures.push(signature);
        Ok(signed.to_canonical_json())
    }

    /// The nonce of report `counter`: the ECU key's signature of the counter, hashed, so
    /// nobody without the key can predict it, it differs for every report, and nothing
    /// needs storing.
    fn nonce_for(&self, counter: u64) -> u64 {
        let signature = self.key.sign(alloc::format!("uptane time nonce {counter}").as_bytes());
        let digest = threshold_keys::digest::sha256(signature.sig.as_bytes());
        u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
    }

    /// ECU serial, hardware id and the running image's target path, one per line.
    pub fn info(&self) -> Vec<u8> {
        let state = self.device.state();
        let name = self.device.running().map(|slot| state.slot(slot).name()).unwrap_or_default();
        let mut out = Vec::new();
        for part in [self.ecu.serial.as_str().as_bytes(), self.ecu.hardware_id.as_str().as_bytes(), name] {
            out.extend_from_slice(part);
            out.push(b'\n');
        }
        out.pop();
        out
    }

    /// Whether an image runs as a trial (it must confirm before the next reset).
    pub fn on_trial(&self) -> bool {
        self.device.state().find(SlotStatus::Trial).is_some()
    }
}

/// The report's status with `lifecycle_state` (supported, ending, ended) for this ECU's
/// hardware, as the last verified director targets declare its support period, at the
/// trusted time.
fn with_lifecycle_state(
    mut status: InstallStatus,
    verifier: Option<&PartialVerifier>,
    ecu: &EcuIdentity,
    now: u64,
) -> InstallStatus {
    let targets = verifier.and_then(|v| v.targets());
    let Some(reference) =
        targets.and_then(|t| metadata_schemas::uptane::LifecycleRef::in_director_targets(t, &ecu.hardware_id))
    else {
        return status;
    };
    let end = reference.end_of_security_support.time().timestamp();
    let state = metadata_schemas::uptane::support_state(end, now.min(i64::MAX as u64) as i64);
    status.unknown.0.insert("lifecycle_state", metadata_schemas::json::Value::string(state.as_str()));
    status
}

/// What a report says of the last install, from the slots: the running image on trial or
/// confirmed; the other slot's image (what a revert goes back to, or what the running one
/// replaced); and how the last install ended: reverted when the other slot's trial
/// failed, refused when this cycle detected an attack, ok when the running image is the
/// newer one.
fn install_status(
    state: &crate::state::BootState,
    running: crate::record::Slot,
    attack: AttackCode,
) -> Option<InstallStatus> {
    let (this, other) = (state.slot(running), state.slot(running.other()));
    let boot_state = match this.status {
        SlotStatus::Trial => Boot::Trial,
        SlotStatus::Active => Boot::Confirmed,
        _ => return None,
    };
    let previous = matches!(other.status, SlotStatus::Active | SlotStatus::Superseded | SlotStatus::Failed)
        .then(|| core::str::from_utf8(other.name()).ok().map(TargetPath::new))
        .flatten();
    let install_result = if attack != AttackCode::NONE {
        Some(InstallResult::VerificationFailed(attack))
    } else if other.status == SlotStatus::Failed {
        Some(InstallResult::RevertedUnconfirmed)
    } else if matches!(other.status, SlotStatus::Active | SlotStatus::Superseded) {
        Some(InstallResult::Ok)
    } else {
        None // the factory image: nothing was installed yet
    };
    Some(InstallStatus { boot_state, previous_image: previous, install_result, unknown: UnknownFields::default() })
}
