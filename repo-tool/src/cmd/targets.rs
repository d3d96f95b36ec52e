//! `repo-tool targets`: add, remove and list target files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use metadata_schemas::json::{self, Object, Value};
use metadata_schemas::{Encode, RoleName, TargetFile, TargetPath};
use repo_tool::audit::AuditEvent;
use repo_tool::guards::Allowed;
use repo_tool::store::Stored;
use repo_tool::{Error, Repository};

use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  repo-tool targets add repo firmware-2.1.bin --path ecu/brake/fw-2.1.bin --hardware-id brake-hw-a --release-counter 7
  repo-tool targets add repo build/out/            # every file under the directory, by relative path
  repo-tool targets add repo notes.txt --custom '{\"channel\": \"beta\"}' --role beta-role
  repo-tool targets remove repo ecu/brake/fw-2.0.bin
  repo-tool targets list repo --json";

/// Add, remove and list targets.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Add files (or every file under a directory) as targets, then re-sign the roles,
    /// snapshot and timestamp.
    #[command(after_help = EXAMPLES)]
    Add(AddArgs),
    /// Remove targets by path.
    #[command(after_help = EXAMPLES)]
    Remove {
        /// The repository.
        dir: PathBuf,
        /// Target paths to remove.
        #[arg(required = true)]
        paths: Vec<String>,
        /// Extra signing keys (key files or pkcs11: URIs).
        #[arg(long = "key", value_name = "SOURCE")]
        keys: Vec<String>,
    },
    /// List targets with their length, role and custom data.
    #[command(after_help = EXAMPLES)]
    List {
        /// The repository.
        dir: PathBuf,
    },
}

/// Arguments of `targets add`.
#[derive(clap::Args)]
pub struct AddArgs {
    /// The repository.
    dir: PathBuf,
    /// Files or directories to add.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The target path for a single file, or a path prefix for several files.
    #[arg(long)]
    path: Option<String>,
    /// Custom JSON object for the targets.
    #[arg(long)]
    custom: Option<String>,
    /// Uptane hardware identifiers the image may be installed on (repeatable).
    #[arg(long = "hardware-id")]
    hardware_ids: Vec<String>,
    /// Uptane release counter (anti-rollback).
    #[arg(long)]
    release_counter: Option<u64>,
    /// The targets role to list them in (default: the role the delegations assign).
    #[arg(long)]
    role: Option<String>,
    /// Extra signing keys (key files or pkcs11: URIs).
    #[arg(long = "key", value_name = "SOURCE")]
    keys: Vec<String>,
    /// Give a path already listed new content (else refused: clients that have the old
    /// content would see the same name change).
    #[arg(long)]
    replace: bool,
    /// List a release counter below the highest one listed for its hardware id (else
    /// refused; recorded in the audit log).
    #[arg(long)]
    allow_rollback: bool,
    /// Where to write the proposal when the role's keys are offline (default:
    /// DIR/proposals/ROLE-vN.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The image fixes a security problem (clients tell their users it is a security update).
    #[arg(long)]
    security: bool,
    /// An advisory the update addresses (`CVE-2026-1234`, a vendor id). Repeatable.
    #[arg(long = "advisory", value_name = "ID")]
    advisories: Vec<String>,
    /// The image's SBOM (CycloneDX or SPDX JSON), listed as a signed target beside it
    /// (`PATH.cdx.json` or `PATH.spdx.json`) and named in its `custom.sbom`. Repeatable;
    /// one file only.
    #[arg(long = "sbom", value_name = "FILE")]
    sboms: Vec<PathBuf>,
}

pub fn run(command: Command, out: &Output) -> Result<(), Error> {
    match command {
        Command::Add(args) => add(args, out),
        Command::Remove { dir, paths, keys } => remove(&dir, &paths, &keys, out),
        Command::List { dir } => list(&dir, out),
    }
}

/// `(target path, file)` for every input; directories contribute every file below them.
fn inputs(files: &[PathBuf], path: Option<&str>) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut found = Vec::new();
    for file in files {
        if file.is_dir() {
            let inside = file.canonicalize().map_err(|e| Error::io(file, e))?;
            let mut visited = BTreeSet::from([inside.clone()]);
            walk(&Walk { base: file, inside: &inside }, file, &mut visited, &mut found)?;
        } else {
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::Usage(format!("{}: not a file name", file.display())))?;
            found.push((name.to_string(), file.clone()));
        }
    }
    Ok(match path {
        Some(p) if files.len() == 1 && !files[0].is_dir() => {
            found.into_iter().map(|(_, f)| (p.to_string(), f)).collect()
        }
        Some(prefix) => {
            found.into_iter().map(|(rel, f)| (format!("{}/{rel}", prefix.trim_end_matches('/')), f)).collect()
        }
        None => found,
    })
}

/// A directory given to `targets add`: as named, and where it really is.
struct Walk<'a> {
    base: &'a Path,
    inside: &'a Path,
}

/// Every file below `dir`. A symbolic link is followed only to a file or directory inside
/// the directory given (a link to `/etc/passwd` would sign it as a target), and each
/// directory is walked once, so links cannot loop.
fn walk(
    top: &Walk<'_>,
    dir: &Path,
    visited: &mut BTreeSet<PathBuf>,
    out: &mut Vec<(String, PathBuf)>,
) -> Result<(), Error> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        // The entry's own type saves a stat per file; only a symlink needs following.
        let is_dir = if kind.is_symlink() {
            let real = path.canonicalize().map_err(|e| Error::io(&path, e))?;
            if !real.starts_with(top.inside) {
                return Err(Error::Usage(format!(
                    "{} links to {}, outside {}: copy the file in, or name it on the command line",
                    path.display(),
                    real.display(),
                    top.base.display()
                )));
            }
            real.is_dir() && visited.insert(real)
        } else {
            kind.is_dir()
        };
        if is_dir {
            walk(top, &path, visited, out)?;
        } else if !kind.is_symlink() || path.is_file() {
            let rel = path.strip_prefix(top.base).unwrap_or(&path);
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            out.push((rel.join("/"), path));
        }
    }
    Ok(())
}

fn custom(args: &AddArgs) -> Result<Option<Value<'static>>, Error> {
    let mut object = match &args.custom {
        Some(text) => match json::parse(text.as_bytes()).map_err(|e| Error::Usage(format!("--custom: {e}")))? {
            Value::Object(o) => o.into_owned(),
            _ => return Err(Error::Usage("--custom must be a JSON object".into())),
        },
        None => Object::new(),
    };
    if !args.hardware_ids.is_empty() {
        let ids = args.hardware_ids.iter().map(|h| Value::string(h.clone())).collect();
        object.insert("hardware_identifiers", Value::Array(ids));
    }
    if let Some(counter) = args.release_counter {
        object.insert("release_counter", Value::unsigned(counter));
    }
    if args.security || !args.advisories.is_empty() {
        object.insert("security", Value::Bool(true));
    }
    if !args.advisories.is_empty() {
        object.insert("advisories", Value::Array(args.advisories.iter().map(|a| Value::string(a.clone())).collect()));
    }
    Ok((!object.is_empty()).then_some(Value::Object(object)))
}

fn add(args: AddArgs, out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(&args.dir)?;
    let files = inputs(&args.files, args.path.as_deref())?;
    let mut custom = custom(&args)?;
    // An image of a hardware id with a declared support period points to its record.
    if let (Some(Value::Object(object)), Some(reference)) =
        (custom.as_mut(), super::lifecycle::reference_for(&repo, &args.hardware_ids)?)
    {
        object.insert("lifecycle", reference.encode().to_owned_value());
    }
    let explicit_role = args
        .role
        .as_deref()
        .map(|r| RoleName::new(r).ok_or_else(|| Error::Usage("--role is empty".into())))
        .transpose()?;
    if let Some(role) = &explicit_role {
        if !repo.targets().contains_key(role) {
            return Err(Error::Usage(format!("--role {role}: the repository has no such targets role")));
        }
    }
    for (path, _) in &files {
        TargetPath::new(path.as_str())
            .file_path_segments()
            .map_err(|e| Error::Usage(format!("target path {path:?}: {e}")))?;
    }
    let roles: Vec<RoleName> =
        files.iter().map(|(path, _)| explicit_role.clone().unwrap_or_else(|| repo.responsible_role(path))).collect();
    let touched: BTreeSet<RoleName> = roles.iter().cloned().collect();
    let offline = offline_role(&repo, &touched, &args.keys)?;
    let mut keys = repo.key_ring(&args.keys);
    let signing: Vec<RoleName> = if offline.is_some() { Vec::new() } else { touched.iter().cloned().collect() };
    repo.open_keys_ahead(&signing, offline.is_none(), &mut keys)?;
    let store = repo.store();
    let results = repo_tool::parallel::map("hashing", &files, |(_, file)| Ok(store.add_file(file)))?;
    let (stored, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let mut stored: Vec<Stored> = stored.into_iter().flatten().collect();
    if let Some(Err(e)) = failed.into_iter().next() {
        store.discard(&stored);
        return Err(e);
    }
    let mut entries = Vec::with_capacity(files.len());
    for (((path, _), role), item) in files.iter().zip(roles).zip(&stored) {
        let mut entry = TargetFile::new(item.length, item.hashes.clone());
        entry.custom = custom.clone();
        entries.push((role, TargetPath::new(path.as_str()), entry));
    }
    if let Err(e) = super::sbom::attach(&store, &mut entries, &args.sboms, &mut stored) {
        store.discard(&stored);
        return Err(e);
    }
    let detail = added_detail(&entries);
    let allowed = Allowed { replace: args.replace, rollback: args.allow_rollback };
    let guarded = guard(&repo, &entries, allowed);
    let rollbacks = match guarded {
        Ok(rollbacks) => rollbacks,
        Err(e) => {
            store.discard(&stored);
            return Err(e);
        }
    };
    let saved = (|| {
        for rollback in &rollbacks {
            repo.record(AuditEvent::note("allow-rollback", rollback.to_string()));
        }
        for (role, path, entry) in entries {
            repo.targets_mut(&role).expect("role exists").signed.targets.insert(path, entry);
        }
        let what = format!("{} target(s) in {}: {detail}", files.len(), names(&touched));
        match &offline {
            Some(role) => propose(repo, role, args.out.clone(), "add-targets", &what, &mut keys).map(Some),
            None => {
                for role in &touched {
                    repo.touch_targets(role)?;
                }
                repo.record(AuditEvent::note("add-targets", what));
                repo.save(&mut keys).map(|()| None)
            }
        }
    })();
    if saved.is_err() {
        store.discard(&stored);
    }
    if let Some(proposal) = saved? {
        return proposed(out, &proposal);
    }
    out.line(format!("added {} target(s) to {}", files.len(), names(&touched)));
    out.result(object([("added", Value::Array(files.iter().map(|(p, _)| Value::string(p.clone())).collect()))]));
    Ok(())
}

/// The guards over every target listed now and the ones being added.
fn guard(
    repo: &Repository,
    entries: &[(RoleName, TargetPath, TargetFile)],
    allowed: Allowed,
) -> Result<Vec<repo_tool::guards::Rollback>, Error> {
    let listed: BTreeMap<&TargetPath, &TargetFile> =
        repo.targets().values().flat_map(|md| &md.signed.targets).collect();
    let added: Vec<(&TargetPath, &TargetFile)> = entries.iter().map(|(_, path, file)| (path, file)).collect();
    repo_tool::guards::check(&listed, &added, allowed)
}

/// Most targets an `add-targets` audit entry names one by one; the rest are in the
/// signed targets metadata whose hash the log's `sign` entry records.
const AUDIT_LISTED: usize = 1000;

/// `path (N bytes, sha256 H)` for each target added, for the audit log.
fn added_detail(entries: &[(RoleName, TargetPath, TargetFile)]) -> String {
    let mut parts: Vec<String> = entries
        .iter()
        .take(AUDIT_LISTED)
        .map(|(_, path, file)| {
            let sha256 = match file.hashes.get(metadata_schemas::HashAlgorithm::Sha256) {
                Some(metadata_schemas::Digest::Sha256(d)) => metadata_schemas::hex::encode(d),
                _ => format!("none (first hash {})", file.hashes.first_hex()),
            };
            format!("{path} ({} bytes, sha256 {sha256})", file.length)
        })
        .collect();
    if entries.len() > AUDIT_LISTED {
        parts.push(format!("and {} more, listed in the signed targets", entries.len() - AUDIT_LISTED));
    }
    parts.join(", ")
}

/// The one role a change goes to, if its keys are offline (the change becomes a proposal);
/// a change that would touch an offline role and another at once is refused.
fn offline_role(repo: &Repository, touched: &BTreeSet<RoleName>, keys: &[String]) -> Result<Option<RoleName>, Error> {
    let offline: Vec<&RoleName> = touched.iter().filter(|role| repo.is_offline(role, keys)).collect();
    match (offline.as_slice(), touched.len()) {
        ([], _) => Ok(None),
        ([one], 1) => Ok(Some((*one).clone())),
        _ => Err(Error::Usage(format!(
            "this change touches {} and the keys of {} are offline: change one offline role per command",
            names(touched),
            offline.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A change to a role whose keys are offline: its next version, with the change, written
/// as an unsigned proposal for the holders to sign; the audit log records it. The
/// repository's signed metadata stays as it is until the proposal is applied.
fn propose(
    repo: Repository,
    role: &RoleName,
    out: Option<PathBuf>,
    action: &str,
    what: &str,
    keys: &mut repo_tool::keys::KeyRing,
) -> Result<PathBuf, Error> {
    let next = repo.next_targets(role)?;
    let version = next.common.version;
    let path = out.unwrap_or_else(|| repo_tool::proposal::default_path(repo.dir(), role, version));
    repo_tool::transaction::write_atomically(
        &path,
        &repo_tool::repository::pretty(&metadata_schemas::Signed::unsigned(next)),
    )?;
    let mut repo = repo;
    // The role is not marked changed, so `save` signs nothing and commits the log alone.
    repo.record(AuditEvent::note(
        &format!("propose-{action}"),
        format!("{role} v{version} in {}: {what}", path.display()),
    ));
    repo.save(keys)?;
    Ok(path)
}

/// Tells where the proposal went and what comes next.
fn proposed(out: &Output, path: &Path) -> Result<(), Error> {
    out.line(format!(
        "the role's keys are offline: proposal written to {}; its key holders `repo-tool sign` it, then `repo-tool apply` it (with --role for a delegated role)",
        path.display()
    ));
    out.result(object([("proposal", Value::string(path.display().to_string()))]));
    Ok(())
}

fn names(roles: &BTreeSet<RoleName>) -> String {
    roles.iter().map(RoleName::as_str).collect::<Vec<_>>().join(", ")
}

fn remove(dir: &Path, paths: &[String], keys: &[String], out: &Output) -> Result<(), Error> {
    let mut repo = Repository::load(dir)?;
    let mut touched = BTreeSet::new();
    for path in paths {
        let target = TargetPath::new(path.as_str());
        let role = repo
            .targets()
            .iter()
            .find(|(_, md)| md.signed.targets.contains_key(&target))
            .map(|(role, _)| role.clone())
            .ok_or_else(|| Error::Usage(format!("{path}: no role lists this target")))?;
        // The content stays in the store: another target may share it, and old
        // published versions still name it.
        repo.targets_mut(&role).expect("role exists").signed.targets.remove(&target);
        touched.insert(role);
    }
    let mut ring = repo.key_ring(keys);
    if let Some(role) = offline_role(&repo, &touched, keys)? {
        let proposal = propose(repo, &role, None, "remove-targets", &paths.join(", "), &mut ring)?;
        return proposed(out, &proposal);
    }
    for role in &touched {
        repo.touch_targets(role)?;
    }
    repo.record(AuditEvent::note("remove-targets", paths.join(", ")));
    repo.save(&mut ring)?;
    out.line(format!("removed {} target(s) from {}", paths.len(), names(&touched)));
    Ok(())
}

fn list(dir: &Path, out: &Output) -> Result<(), Error> {
    let repo = Repository::load(dir)?;
    let mut rows = Vec::new();
    for (role, md) in repo.targets() {
        for (path, file) in &md.signed.targets {
            let custom = file
                .custom
                .as_ref()
                .map(|c| String::from_utf8_lossy(&json::to_canonical(c)).into_owned())
                .unwrap_or_default();
            out.line(format!("{path}  {} bytes  {role}  {custom}", file.length));
            rows.push(object([
                ("path", Value::string(path.as_str().to_string())),
                ("length", Value::unsigned(file.length)),
                ("role", Value::string(role.as_str().to_string())),
                ("hashes", file.hashes.encode().to_owned_value()),
                ("custom", file.custom.clone().unwrap_or(Value::Null)),
            ]));
        }
    }
    out.result(Value::Array(rows));
    Ok(())
}
