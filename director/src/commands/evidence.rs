//! `director evidence`: the Annex VII material a product team hands an assessor, in one
//! new folder: the product's images and support end dates (`product.json`), both
//! repositories' roles, thresholds, key types and key custody with the metadata
//! lifetimes (`architecture.json`), the SBOMs the image repository signs (`sbom/`), the
//! audit log and its verification (`audit/`), for each release named the deployment
//! record and the signed manifests it is read from (`deployment/`, `manifests/`), the
//! test evidence report if given (`test-evidence/`), and `index.json` hashing every file.
//! The index's hash and every file's go into the audit log (`evidence-pack`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{CommandError, Result};
use crate::evidence::{PackFile, deployment_record, file_name, index};
use crate::service::Director;

/// `director evidence`'s options.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Releases (image repository target paths) to write a deployment record for.
    pub releases: Vec<String>,
    /// A test evidence report (`scripts/evidence-report`'s output) to include.
    pub test_report: Option<PathBuf>,
}

/// The folder being written and what is in it so far.
struct Pack {
    dir: PathBuf,
    files: Vec<PackFile>,
}

impl Pack {
    fn put(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.dir.join(name);
        let write = |path: &Path| -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
            std::fs::write(path, bytes)
        };
        write(&path).map_err(|error| CommandError::Write { path, error })?;
        self.files.push(PackFile::of(name, bytes));
        Ok(())
    }

    fn put_json(&mut self, name: &str, value: &Value) -> Result<()> {
        let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
        self.put(name, text.as_bytes())
    }
}

/// A new, empty folder for the pack.
fn new_folder(out: &Path) -> Result<()> {
    let not_empty = std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(false);
    if not_empty {
        return Err(CommandError::NotEmpty(out.to_path_buf()));
    }
    std::fs::create_dir_all(out).map_err(|error| CommandError::Write { path: out.to_path_buf(), error })
}

/// Writes the pack into `out` (a new or empty folder); its index, as written.
pub async fn write_evidence(director: &Director, out: &Path, options: &Evidence) -> Result<Value> {
    new_folder(out)?;
    let mut pack = Pack { dir: out.to_path_buf(), files: Vec::new() };
    product(director, &mut pack).await?;
    architecture(director, &mut pack).await?;
    sboms(director, &mut pack)?;
    audit_log(director, &mut pack).await?;
    for release in &options.releases {
        deployment(director, &mut pack, release).await?;
    }
    if let Some(report) = &options.test_report {
        let bytes = std::fs::read(report).map_err(|error| CommandError::Read { path: report.clone(), error })?;
        let name = report.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or("report".into());
        pack.put(&format!("test-evidence/{}", file_name(&name)), &bytes)?;
    }
    let listing = index(&pack.files);
    let index_bytes = serde_json::to_string_pretty(&listing).unwrap_or_default() + "\n";
    pack.put("index.json", index_bytes.as_bytes())?;
    // Every file's hash, the index's among them, in the audit log.
    let hashes: BTreeMap<&str, &str> = pack.files.iter().map(|f| (f.name.as_str(), f.sha256.as_str())).collect();
    let detail = json!({"folder": out.display().to_string(), "files": hashes});
    let now = chrono::Utc::now().timestamp();
    let mut tx = director.store.begin().await?;
    tx.audit("admin:cli", "evidence-pack", &detail.to_string(), now).await?;
    tx.commit().await?;
    Ok(listing)
}

/// The images, what each addresses, and each hardware id's end of security support.
async fn product(director: &Director, pack: &mut Pack) -> Result<()> {
    let adoption = director.store.adoption().await?;
    let mut installed: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &adoption {
        *installed.entry(c.image.as_deref().unwrap_or("")).or_default() += c.ecus;
    }
    let (images, problem) = crate::ui::repos::image_rows(director, &installed);
    let support: BTreeMap<String, String> = crate::ui::repos::support_ends(director)
        .into_iter()
        .map(|(hw, end)| (hw, chrono::DateTime::from_timestamp(end, 0).map(|t| t.to_rfc3339()).unwrap_or_default()))
        .collect();
    let value = json!({
        "director_version": env!("CARGO_PKG_VERSION"),
        "generated": chrono::Utc::now().to_rfc3339(),
        "end_of_security_support": support,
        "images": images,
        "image_repository_error": problem,
    });
    pack.put_json("product.json", &value)
}

/// Roles, thresholds, key types and custody, read from the current roots; lifetimes.
async fn architecture(director: &Director, pack: &mut Pack) -> Result<()> {
    let (roles, problem) = crate::ui::repos::role_rows(director).await?;
    let lifetimes = &director.config.lifetimes;
    let value = json!({
        "roles": roles,
        "image_repository_error": problem,
        "director_metadata_lifetimes_secs": {"targets": lifetimes.targets, "snapshot": lifetimes.snapshot,
            "timestamp": lifetimes.timestamp, "timestamp_resigned_within": lifetimes.timestamp_margin},
        "decommission_ack_timeout_secs": director.config.decommission_ack_timeout_secs,
    });
    pack.put_json("architecture.json", &value)
}

/// Every SBOM an image target lists, as the image repository signs it.
fn sboms(director: &Director, pack: &mut Pack) -> Result<()> {
    let Some(repository) = &director.images else { return Ok(()) };
    let (images, _) = crate::ui::repos::image_rows(director, &BTreeMap::new());
    for name in images.iter().flat_map(|i| &i.sboms) {
        let now = chrono::Utc::now();
        let Ok(Some(info)) = repository.find(name, now) else { continue };
        let Some(metadata_schemas::Digest::Sha256(sha256)) =
            info.file.hashes.get(metadata_schemas::HashAlgorithm::Sha256)
        else {
            continue;
        };
        let bytes = repository.read_target(name, sha256).map_err(|e| CommandError::Image(e.to_string()))?;
        pack.put(&format!("sbom/{}", file_name(name)), &bytes)?;
    }
    Ok(())
}

/// The whole audit log, one entry a line, and its verification.
async fn audit_log(director: &Director, pack: &mut Pack) -> Result<()> {
    let (mut lines, mut entries, mut after) = (String::new(), 0u64, 0);
    let (mut seq, mut hash) = (0, crate::audit::GENESIS.to_string());
    loop {
        let page = director.store.audit(after, 1000).await?;
        if page.is_empty() {
            break;
        }
        (seq, hash) = crate::audit::verify(seq, hash, &page).map_err(CommandError::AuditBroken)?;
        for e in &page {
            let line = json!({"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action,
                "detail": e.detail, "prev_hash": e.prev_hash, "hash": e.hash});
            lines.push_str(&line.to_string());
            lines.push('\n');
            entries += 1;
        }
        after = seq;
    }
    pack.put("audit/log.jsonl", lines.as_bytes())?;
    let verification = json!({"entries": entries, "verified": true, "last_seq": seq, "head_hash": hash,
        "rule": "each entry's hash is SHA-256 over the previous hash and its own fields (director/src/audit.rs)"});
    pack.put_json("audit/verification.json", &verification)
}

/// A release's deployment record and the signed manifests it comes from.
async fn deployment(director: &Director, pack: &mut Pack, release: &str) -> Result<()> {
    let deployed = director.store.deployed(release).await?;
    pack.put_json(&format!("deployment/{}.json", file_name(release)), &deployment_record(release, &deployed))?;
    let mut vins: Vec<&str> = deployed.iter().map(|d| d.vin.as_str()).collect();
    vins.dedup();
    for vin in vins {
        let name = format!("manifests/{}.json", file_name(vin));
        if pack.files.iter().any(|f| f.name == name) {
            continue; // another release's record wrote it
        }
        let Some(manifest) = director.store.vehicle(vin).await?.and_then(|v| v.manifest) else { continue };
        pack.put(&name, manifest.as_bytes())?;
    }
    Ok(())
}
