//! The primary's conversations with a secondary after the plan: the director's attested
//! time, and an image hand-over (the roots it lacks, the image repository's metadata for
//! full verification, the director targets, the image in chunks, activation).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use client_embedded::protocol::{Request, Response};
use metadata_schemas::TargetPath;
use metadata_schemas::uptane::{Vin, command_path};
use update_verifier::TrustedSet;

use super::failure::SecondaryProblem;
use super::link::Link;
use super::plan::roots_to_send;
use crate::{Error, HttpTransport, MetadataDir};

/// Bytes of an image per protocol frame.
const CHUNK: usize = 16 * 1024;

/// Where the roots a secondary lacks come from.
pub(super) enum RootFiles<'a> {
    /// The director and the image repository.
    Remote {
        /// Fetches them.
        transport: &'a HttpTransport,
        /// `…/vehicles/VIN/director` (its `N.root.json` files).
        director_base: String,
        /// The image repository's metadata URL.
        image_base: &'a str,
    },
    /// An offline bundle's directory.
    Bundle(&'a Path),
}

impl RootFiles<'_> {
    /// Root `version` of the director (`image` false) or the image repository.
    fn root(&self, image: bool, version: u64) -> Result<Vec<u8>, Error> {
        let limit = update_verifier::Limits::default().root_max_length;
        match self {
            RootFiles::Remote { transport, director_base, image_base } => {
                let base = if image { image_base.trim_end_matches('/') } else { director_base.as_str() };
                let url = format!("{base}/{version}.root.json");
                crate::transport::fetch_limited(*transport, &url, limit)
                    .map_err(|source| Error::Transport { url: url.clone(), source })
            }
            RootFiles::Bundle(dir) => {
                use metadata_schemas::uptane::bundle_paths::{DIRECTOR, IMAGE_REPOSITORY};
                let path =
                    dir.join(if image { IMAGE_REPOSITORY } else { DIRECTOR }).join(format!("{version}.root.json"));
                super::offline::read_limited(&path, limit)
            }
        }
    }
}

/// What a hand-over draws on besides the image: where roots come from, what the primary
/// trusts and has cached.
pub(super) struct Sources<'a> {
    /// Where the roots the secondary lacks come from.
    pub roots: RootFiles<'a>,
    /// The newest director and image repository roots the primary trusts.
    pub latest_roots: (u64, u64),
    /// The primary's state directory (cached metadata).
    pub state_dir: &'a Path,
    /// The image repository as the primary verified it.
    pub images: &'a TrustedSet,
    /// The vehicle.
    pub vin: &'a str,
}

/// One image for one secondary.
pub(super) struct Delivery<'a> {
    pub serial: &'a str,
    pub address: &'a str,
    pub full: bool,
    pub path: &'a TargetPath,
    pub bytes: &'a [u8],
    /// An encrypted image's chunk index, if its encryption block names one.
    pub chunk_index: Option<&'a [u8]>,
    /// The cycle's time, seconds since 1970.
    pub now: u64,
}

/// What assigns the image to the secondary.
pub(super) enum Authorization<'a> {
    /// The director targets the primary verified.
    Director,
    /// An offline bundle's offline snapshot and targets.
    Offline {
        /// The offline snapshot.
        snapshot: &'a [u8],
        /// The offline targets.
        targets: &'a [u8],
    },
}

/// Hands `delivery` over and activates it; `sent` sees the bytes handed over so far. A
/// stop asked for mid-stream ends before activation (the ECU keeps running its image).
pub(super) fn hand_over(
    sources: &Sources,
    delivery: &Delivery,
    authorization: Authorization<'_>,
    sent: &mut dyn FnMut(u64),
    stop: &AtomicBool,
) -> Result<(), Error> {
    let mut link = Link::connect(delivery.serial, delivery.address)?;
    link.expect_ok(Request::StartCycle(delivery.now))?;
    send_metadata(&mut link, sources, delivery.full, delivery.path)?;
    let targets;
    let request = match authorization {
        Authorization::Director => {
            targets = director_targets(sources.state_dir)?;
            Request::PutTargets(&targets)
        }
        Authorization::Offline { snapshot, targets } => Request::PutOffline { snapshot, targets },
    };
    match link.call(request)? {
        Response::Assigned(Some(_)) => {}
        Response::Assigned(None) => return Err(link.error(SecondaryProblem::NothingAssigned)),
        Response::Refused(code) => return Err(link.error(SecondaryProblem::Refused(code))),
        _ => return Err(link.error(SecondaryProblem::Unexpected("an assignment"))),
    }
    if let Some(index) = delivery.chunk_index {
        link.expect_ok(Request::PutChunkIndex(index))?;
    }
    stream_image(&mut link, delivery.bytes, sent, stop)?;
    link.expect_ok(Request::Activate)
}

/// The roots the secondary lacks and, for full verification, the image repository's
/// metadata on the path to `path`.
fn send_metadata(link: &mut Link, sources: &Sources, full: bool, path: &TargetPath) -> Result<(), Error> {
    let Response::RootVersions { director, images } = link.call(Request::GetRootVersions)? else {
        return Err(link.error(SecondaryProblem::Unexpected("its root versions")));
    };
    let (latest_director, latest_images) = sources.latest_roots;
    send_roots(link, &sources.roots, false, director.into(), latest_director, |b| Request::PutRoot(b))?;
    if full {
        send_roots(link, &sources.roots, true, images.into(), latest_images, |b| Request::PutImageRoot(b))?;
        send_image_repository(link, sources, path)?;
    }
    Ok(())
}

/// Decommissions one secondary: this cycle's metadata, then the image repository's
/// signed command. Its signed acknowledgement, or `None` if it was decommissioned
/// already (a cut came before the primary's own acknowledgement went out).
pub(super) fn decommission_secondary(
    sources: &Sources,
    (serial, address, full): (&str, &str, bool),
    image_command: &[u8],
    now: u64,
) -> Result<Option<Vec<u8>>, Error> {
    let mut link = Link::connect(serial, address)?;
    match link.call(Request::StartCycle(now))? {
        Response::Ok => {}
        Response::Decommissioned => return Ok(None),
        Response::Refused(code) => return Err(link.error(SecondaryProblem::Refused(code))),
        _ => return Err(link.error(SecondaryProblem::Unexpected("the cycle's start"))),
    }
    let vin = Vin::new(sources.vin).ok_or(Error::Config("vin is empty".into()))?;
    send_metadata(&mut link, sources, full, &command_path(&vin))?;
    match link.call(Request::PutTargets(&director_targets(sources.state_dir)?))? {
        Response::Assigned(None) => {}
        Response::Refused(code) => return Err(link.error(SecondaryProblem::Refused(code))),
        _ => return Err(link.error(SecondaryProblem::Unexpected("targets without an image"))),
    }
    match link.call(Request::Decommission(image_command))? {
        Response::VersionReport(ack) => Ok(Some(ack)),
        Response::Decommissioned => Ok(None),
        Response::Refused(code) => Err(link.error(SecondaryProblem::Refused(code))),
        _ => Err(link.error(SecondaryProblem::Unexpected("its acknowledgement"))),
    }
}

/// Sends each root after `has` up to `latest`, oldest first (the image repository's
/// when `image`).
fn send_roots(
    link: &mut Link,
    roots: &RootFiles,
    image: bool,
    has: u64,
    latest: u64,
    put: for<'a> fn(&'a [u8]) -> Request<'a>,
) -> Result<(), Error> {
    for version in roots_to_send(has, latest) {
        link.expect_ok(put(&roots.root(image, version)?))?;
    }
    Ok(())
}

/// The image repository's timestamp, snapshot and targets, then the delegated roles the
/// search for `path` visits, as the primary verified and cached them.
fn send_image_repository(link: &mut Link, sources: &Sources, path: &TargetPath) -> Result<(), Error> {
    let metadata = MetadataDir::open(sources.state_dir.join("images"))?;
    let read = |name: &str| metadata.read(name)?.ok_or(Error::NotRefreshed);
    link.expect_ok(Request::PutImageTimestamp(&read("timestamp.json")?))?;
    link.expect_ok(Request::PutImageSnapshot(&read("snapshot.json")?))?;
    link.expect_ok(Request::PutImageTargets(&read("targets.json")?))?;
    for (role, bytes) in super::delegations::on_path(sources.images, &metadata, path)? {
        link.expect_ok(Request::PutImageDelegation { role: role.as_str(), bytes: &bytes })?;
    }
    Ok(())
}

/// The director targets the primary verified.
fn director_targets(state_dir: &Path) -> Result<Vec<u8>, Error> {
    MetadataDir::open(state_dir.join("director"))?.read("targets.json")?.ok_or(Error::NotRefreshed)
}

/// The image in chunks from where the secondary asks (past what it kept from an install
/// a power loss cut short), ending early (before activation) if a stop is asked for.
fn stream_image(link: &mut Link, bytes: &[u8], sent: &mut dyn FnMut(u64), stop: &AtomicBool) -> Result<(), Error> {
    let from = match link.call(Request::BeginImage)? {
        Response::Ok => 0,
        Response::ContinueFrom(from) if from as usize <= bytes.len() => from as usize,
        Response::Refused(code) => return Err(link.error(SecondaryProblem::Refused(code))),
        _ => return Err(link.error(SecondaryProblem::Unexpected("ok or an offset within the image"))),
    };
    let mut done = from as u64;
    sent(done);
    for chunk in bytes[from..].chunks(CHUNK) {
        if stop.load(Ordering::SeqCst) {
            return Err(Error::Stopped);
        }
        link.expect_ok(Request::ImageChunk(chunk))?;
        done += chunk.len() as u64;
        sent(done);
    }
    Ok(())
}

/// Starts the secondary's cycle and hands it the director's time attestation.
pub(super) fn send_time(serial: &str, address: &str, now: u64, attestation: &[u8]) -> Result<(), Error> {
    let mut link = Link::connect(serial, address)?;
    link.expect_ok(Request::StartCycle(now))?;
    link.expect_ok(Request::PutTime(attestation))
}
