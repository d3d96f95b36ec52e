//! Verifies a TUF repository on disk the way a client would, and prints each step:
//! the root chain, timestamp, snapshot, targets, every delegated role, and every target
//! file's content. Exit status 0 when everything verifies, 1 otherwise.
//!
//! Usage: verify_repository REPO_DIR [--at YYYY-MM-DDTHH:MM:SSZ]
//! REPO_DIR holds `metadata/` (with `1.root.json` as the trust anchor) and `targets/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use metadata_schemas::{DelegatedRoles, RoleName, TargetPath};
use update_verifier::{Action, DateTime, Limits, Persist, Refresh, TargetSearch, TrustedSet, Utc};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(repo) = args.first().map(PathBuf::from) else {
        eprintln!("usage: verify_repository REPO_DIR [--at YYYY-MM-DDTHH:MM:SSZ]");
        return ExitCode::FAILURE;
    };
    let now: DateTime<Utc> = match args.iter().position(|a| a == "--at").and_then(|i| args.get(i + 1)) {
        Some(text) => match text.parse() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("--at {text}: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => system_now(),
    };
    match verify(&repo, now) {
        Ok(summary) => {
            println!("OK: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("REFUSED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The system clock as the engine's time type (the engine itself never reads a clock).
fn system_now() -> DateTime<Utc> {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    DateTime::from_timestamp(since_epoch.as_secs() as i64, 0).unwrap_or_default()
}

fn read(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(name)).ok()
}

fn verify(repo: &Path, now: DateTime<Utc>) -> Result<String, String> {
    let metadata = repo.join("metadata");
    let anchor = read(&metadata, "1.root.json").ok_or("metadata/1.root.json is missing")?;
    println!("trust anchor: {}/1.root.json, reference time {now}", metadata.display());
    let mut refresh = Refresh::new(&anchor, now, Limits::default()).map_err(|e| e.to_string())?;
    loop {
        match refresh.next_action() {
            Action::ReadCache(_) => refresh.cached(None),
            Action::DeleteCache(_) => refresh.deleted(),
            Action::Fetch(request) => match read(&metadata, &request.file_name) {
                Some(bytes) => {
                    let persist = refresh.fetched(&bytes).map_err(|e| e.to_string())?;
                    if let Persist::Store(_) = persist {
                        println!("  verified {:<24} ({} bytes)", request.file_name, bytes.len());
                    }
                }
                None => refresh.not_found().map_err(|e| e.to_string())?,
            },
            Action::Done => break,
        }
    }
    let mut trusted = refresh.finish().map_err(|e| e.to_string())?;
    println!(
        "  root v{}, timestamp v{}, snapshot v{}, targets v{}",
        trusted.root().version(),
        trusted.timestamp().map_or(0, |t| t.version().get()),
        trusted.snapshot().map_or(0, |s| s.version().get()),
        trusted.targets().map_or(0, |t| t.version().get())
    );
    let paths = load_all_delegated_roles(&mut trusted, &metadata)?;
    let mut checked = 0;
    for path in &paths {
        let search = TargetSearch::new(&mut trusted, path.clone()).map_err(|e| e.to_string())?;
        // Every role is loaded already, so the search needs no I/O.
        if search.next_action() != Action::Done {
            return Err(format!("{path}: a role it depends on could not be loaded"));
        }
        let Some(info) = search.finish().map_err(|e| e.to_string())? else {
            println!("  unreachable target {path} (shadowed by delegation order)");
            continue;
        };
        let file = repo.join("targets").join(info.url_path(trusted.root().consistent_snapshot()));
        let content = std::fs::read(&file).map_err(|e| format!("target {path}: {}: {e}", file.display()))?;
        let mut verifier = info.verifier().map_err(|e| e.to_string())?;
        verifier.update(&content).map_err(|e| e.to_string())?;
        verifier.finish().map_err(|e| e.to_string())?;
        println!("  verified target {path} ({} bytes, listed by {})", info.file.length, info.role);
        checked += 1;
    }
    Ok(format!("{checked} target(s) verified, root v{}", trusted.root().version()))
}

/// Loads every delegated role reachable from targets (breadth-first), verifying each
/// against its delegator, and returns every target path listed anywhere.
fn load_all_delegated_roles(trusted: &mut TrustedSet, metadata: &Path) -> Result<BTreeSet<TargetPath>, String> {
    let consistent = trusted.root().consistent_snapshot();
    let mut queue = vec![RoleName::targets()];
    let mut seen: BTreeMap<RoleName, ()> = BTreeMap::new();
    let mut paths = BTreeSet::new();
    while let Some(role) = queue.pop() {
        let Some(targets) = trusted.targets_role(&role) else {
            continue;
        };
        paths.extend(targets.targets.keys().cloned());
        let mut children = Vec::new();
        if let Some(delegations) = &targets.delegations {
            match &delegations.roles {
                DelegatedRoles::List(roles) => children.extend(roles.iter().map(|r| r.name.clone())),
                DelegatedRoles::Succinct(bins) => children.extend((0..bins.bin_count()).map(|i| bins.bin_name(i))),
            }
        }
        for child in children {
            if seen.insert(child.clone(), ()).is_some() {
                continue;
            }
            let listed = trusted.snapshot().and_then(|s| s.role_meta(&child)).map(|m| m.version);
            let Some(version) = listed else {
                return Err(format!("{child}: delegated but not listed in snapshot"));
            };
            let name = if consistent { child.versioned_file_name(version) } else { child.file_name() };
            let bytes = read(metadata, &name).ok_or_else(|| format!("{name} is missing"))?;
            trusted.update_delegated_targets(&bytes, &child, &role).map_err(|e| e.to_string())?;
            println!("  verified {name:<24} (delegated by {role})");
            queue.push(child);
        }
    }
    Ok(paths)
}
