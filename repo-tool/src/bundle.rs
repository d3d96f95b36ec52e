//! Offline bundles (USB stick, SD card, serial): the Uptane PURE-2 layout with our
//! extensions. The image repository's metadata and the chosen images, plus offline
//! snapshot and targets signed by the offline key the director root names in
//! `x-offline-updates`. The bundle is checked as a device will check it before it is
//! written, and written to a staging directory renamed into place, so a failed run
//! leaves nothing behind.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use metadata_schemas::uptane::{
    EcuSerial, HardwareId, ImageTargetCustom, OfflineCustom, Vin, bundle_paths, offline_role,
};
use metadata_schemas::{
    CommonFields, Encode, Root, Signed, Snapshot, TargetFile, TargetPath, Targets, UnknownFields, UtcTime, Version,
};
use threshold_keys::Signer;
use update_verifier::uptane::{OfflineFloor, verify_offline_metadata};
use update_verifier::{TargetSearch, TrustedSet};

use crate::repository::{listing, pretty};
use crate::verify::{Depth, limits, state_files, verify_files};
use crate::{Error, Repository};

/// What a bundle holds and who may install it.
#[derive(Clone, Debug)]
pub struct BundleRequest {
    /// Its name, for reports and the director's view.
    pub name: String,
    /// The target paths to carry.
    pub images: Vec<TargetPath>,
    /// The director root chain the devices trust (any order; at least the latest).
    pub director_roots: Vec<Vec<u8>>,
    /// The offline targets version (newer bundles need higher versions).
    pub version: Version,
    /// When it is issued.
    pub issued: DateTime<Utc>,
    /// When it expires.
    pub expires: DateTime<Utc>,
    /// Only these vehicles (any, when empty).
    pub vins: Vec<Vin>,
    /// Only these ECUs (any, when empty).
    pub ecus: Vec<EcuSerial>,
    /// Hardware in install order.
    pub install_order: Vec<HardwareId>,
}

/// One image in a bundle.
#[derive(Clone, Debug)]
pub struct BundledImage {
    /// Its target path.
    pub path: TargetPath,
    /// Its length.
    pub length: u64,
    /// The hardware it is for.
    pub hardware: Vec<HardwareId>,
    /// Its release counter.
    pub release_counter: u64,
}

/// What was written.
#[derive(Clone, Debug)]
pub struct BundleSummary {
    /// The images.
    pub images: Vec<BundledImage>,
    /// The offline targets' canonical SHA-256 (for the audit log).
    pub targets_sha256: String,
}

/// Director root files by version.
type RootChain = Vec<(u64, Vec<u8>)>;

/// An image to carry: what it is, its entry, its content in the store.
type Found = (BundledImage, TargetFile, PathBuf);

/// The director root chain, checked version by version; the latest root and the files.
fn director_chain(roots: &[Vec<u8>], now: DateTime<Utc>) -> Result<(Root, RootChain), Error> {
    let mut chain = Vec::new();
    for bytes in roots {
        let envelope = metadata_schemas::Envelope::parse(bytes)
            .map_err(|source| Error::Metadata { file: "director root".into(), source })?;
        let root: Root =
            envelope.decode_signed().map_err(|e| Error::Metadata { file: "director root".into(), source: e.into() })?;
        chain.push((root.common.version.get(), bytes.clone()));
    }
    chain.sort_by_key(|(version, _)| *version);
    chain.dedup_by_key(|(version, _)| *version);
    let (first, rest) = chain.split_first().ok_or_else(|| Error::Usage("give --director-root".into()))?;
    let mut trusted = TrustedSet::new(&first.1, now, limits())?;
    for (_, bytes) in rest {
        trusted.update_root(bytes)?;
    }
    Ok((trusted.root().get().clone(), chain))
}

/// Each requested image's entry in the verified image repository, with its content.
fn find_images(repo: &Repository, trusted: &mut TrustedSet, paths: &[TargetPath]) -> Result<Vec<Found>, Error> {
    let mut found = Vec::with_capacity(paths.len());
    for path in paths {
        let search = TargetSearch::new(trusted, path.clone())?;
        let info =
            search.finish()?.ok_or_else(|| Error::Usage(format!("--image {path}: the repository does not list it")))?;
        let custom = ImageTargetCustom::from_target(path, &info.file).map_err(|e| {
            Error::Usage(format!("--image {path}: no hardware_identifiers and release_counter in its custom ({e})"))
        })?;
        let content = repo.store().path(&info.file.hashes)?;
        let image = BundledImage {
            path: path.clone(),
            length: info.file.length,
            hardware: custom.hardware_identifiers,
            release_counter: custom.release_counter,
        };
        found.push((image, info.file, content));
    }
    Ok(found)
}

/// `items`, or `None` (anyone) when there are none.
fn nonempty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

/// Signs `value` with `signer` alone.
fn sign<T: Encode>(value: T, signer: &dyn Signer) -> Result<Signed<T>, Error> {
    let mut signed = Signed::unsigned(value);
    let signature = signer.sign(&signed.canonical_signed()).map_err(|e| Error::Key(e.to_string()))?;
    signed.signatures.push(signature);
    Ok(signed)
}

/// The offline targets and snapshot for `images`, signed by `signer`.
fn offline_metadata(
    request: &BundleRequest,
    images: &[Found],
    signer: &dyn Signer,
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let common = CommonFields::new(request.version, UtcTime::new(request.expires));
    let mut targets = Targets::new(common.clone());
    for (image, file, _) in images {
        targets.targets.insert(image.path.clone(), file.clone());
    }
    let custom = OfflineCustom {
        name: request.name.clone(),
        issued: UtcTime::new(request.issued),
        allowed_vins: nonempty(&request.vins),
        allowed_ecu_identifiers: nonempty(&request.ecus),
        install_order: request.install_order.clone(),
        unknown: UnknownFields::default(),
    };
    targets.unknown.0.insert("custom", custom.encode().into_owned());
    let targets = pretty(&sign(targets, signer)?);
    let meta = [("targets.json".to_string(), listing(request.version, &targets))].into_iter().collect();
    let snapshot: Snapshot = Snapshot { common, meta, unknown: UnknownFields::default() };
    Ok((pretty(&sign(snapshot, signer)?), targets))
}

/// Writes a bundle of `request` from `repo` into `out` (which must not exist).
pub fn create(
    repo: &Repository,
    request: &BundleRequest,
    signer: &dyn Signer,
    out: &Path,
) -> Result<BundleSummary, Error> {
    if out.exists() {
        return Err(Error::Usage(format!("{}: already exists; give a new directory", out.display())));
    }
    let now = Utc::now();
    let (director_root, chain) = director_chain(&request.director_roots, now)?;
    if offline_role(&director_root).ok().flatten().is_none() {
        return Err(Error::Usage(
            "the director root names no offline keys (x-offline-updates): devices would refuse any bundle".into(),
        ));
    }
    let files = state_files(repo)?;
    let anchor = files.get("1.root.json").ok_or_else(|| Error::Corrupt("no root v1".into()))?;
    let (mut trusted, _) = verify_files(&|name| files.get(name).cloned(), anchor, now, Depth::Metadata)?;
    let images = find_images(repo, &mut trusted, &request.images)?;
    let (snapshot, targets) = offline_metadata(request, &images, signer)?;
    // A device's check, before anything is written: a key the root does not name is refused here.
    let floor = OfflineFloor { time: now, targets_version: 0 };
    verify_offline_metadata(&director_root, &snapshot, &targets, &floor, &limits()).map_err(|e| match e {
        update_verifier::Error::Unsigned { .. } => Error::Usage(format!(
            "offline-snapshot: key {} is not an offline key the director root names in x-offline-updates ({e})",
            signer.key_id().short()
        )),
        other => Error::Verification(other),
    })?;
    let staging = tempfile::Builder::new()
        .prefix(".bundle-")
        .tempdir_in(out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
        .map_err(|e| Error::io(out, e))?;
    write_parts(staging.path(), (&snapshot, &targets), &chain, &files, &images)?;
    std::fs::rename(staging.path(), out).map_err(|e| Error::io(out, e))?;
    let _ = staging.keep(); // renamed: nothing left to remove
    let targets_sha256 = metadata_schemas::hex::encode(&threshold_keys::digest::sha256(&targets));
    Ok(BundleSummary { images: images.into_iter().map(|(image, _, _)| image).collect(), targets_sha256 })
}

/// Every file of the bundle under `dir`, synced.
fn write_parts(
    dir: &Path,
    (snapshot, targets): (&[u8], &[u8]),
    chain: &[(u64, Vec<u8>)],
    files: &std::collections::BTreeMap<String, Vec<u8>>,
    images: &[Found],
) -> Result<(), Error> {
    let write = |relative: &str, bytes: &[u8]| -> Result<(), Error> {
        let path = relative.split('/').fold(dir.to_path_buf(), |p, s| p.join(s));
        std::fs::create_dir_all(path.parent().expect("inside the bundle")).map_err(|e| Error::io(&path, e))?;
        crate::transaction::write_atomically(&path, bytes)
    };
    write(bundle_paths::OFFLINE_SNAPSHOT, snapshot)?;
    write(bundle_paths::OFFLINE_TARGETS, targets)?;
    for (version, bytes) in chain {
        write(&format!("{}/{version}.root.json", bundle_paths::DIRECTOR), bytes)?;
    }
    for (name, bytes) in files {
        write(&format!("{}/{name}", bundle_paths::IMAGE_REPOSITORY), bytes)?;
    }
    for (image, file, content) in images {
        let bytes = std::fs::read(content).map_err(|e| Error::io(content, e))?;
        let check = update_verifier::TargetVerifier::new(&image.path, file).and_then(|mut v| {
            v.update(&bytes)?;
            v.finish()
        });
        check.map_err(|e| Error::Corrupt(format!("{}: the content store's copy: {e}", image.path)))?;
        write(&format!("{}/{}", bundle_paths::TARGETS, image.path), &bytes)?;
    }
    Ok(())
}
