//! `update-client primary --check-config`: everything the configuration names is looked
//! at before the gateway relies on it, and every problem is listed, not just the first.

use std::path::Path;

use super::config::PrimaryConfig;

/// One problem with a configuration: the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The configuration field (`own_image.slots`, `secondaries[1].address`, ...).
    pub field: String,
    /// What is wrong, and how to fix it.
    pub what: String,
}

fn problem(field: impl Into<String>, what: impl Into<String>) -> Problem {
    Problem { field: field.into(), what: what.into() }
}

/// Every problem found in `config` (empty when it is ready to run).
pub fn check(config: &PrimaryConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(e) = config.load_key() {
        problems.push(problem("key", e.to_string()));
    }
    for (field, root) in [("director_root", &config.director_root), ("image_root", &config.image_root)] {
        problems.extend(check_root(field, root));
    }
    for (field, url) in [("director", &config.director), ("image_repository", &config.image_repository)] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problems.push(problem(field, format!("{url:?} is not an http:// or https:// URL")));
        }
    }
    problems.extend(check_state_dir(&config.state_dir));
    problems.extend(check_own_image(config));
    problems.extend(check_tls(config));
    problems.extend(check_secondaries(config));
    problems
}

fn check_root(field: &str, path: &Path) -> Option<Problem> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Some(problem(field, format!("{}: {e}", path.display()))),
    };
    let limits = update_verifier::Limits::default();
    update_verifier::TrustedSet::new(&bytes, chrono::DateTime::UNIX_EPOCH, limits)
        .err()
        .map(|e| problem(field, format!("{}: not a root signed by its own keys: {e}", path.display())))
}

fn check_state_dir(dir: &Path) -> Option<Problem> {
    let existing = dir.ancestors().find(|a| a.exists()).unwrap_or(Path::new("/"));
    let writable = std::fs::metadata(existing).map(|m| m.is_dir() && !m.permissions().readonly()).unwrap_or(false);
    (!writable).then(|| problem("state_dir", format!("{} cannot be created or written", dir.display())))
}

fn check_own_image(config: &PrimaryConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    let [a, b] = &config.own_image.slots;
    if !a.exists() {
        problems.push(problem(
            "own_image.slots",
            format!("slot A {} does not exist (it holds the running image)", a.display()),
        ));
    }
    if b.parent().is_some_and(|p| !p.as_os_str().is_empty() && !p.exists()) {
        problems.push(problem("own_image.slots", format!("slot B {}: its directory does not exist", b.display())));
    }
    for (field, command) in
        [("own_image.activate", &config.own_image.activate), ("own_image.health_check", &config.own_image.health_check)]
    {
        if let Some(program) = command.first().filter(|p| !program_found(p)) {
            problems.push(problem(field, format!("{program} is not found")));
        }
    }
    if let Some(boot_id) = config.own_image.boot_id.as_ref().filter(|p| !p.exists()) {
        let what = format!("{} does not exist (null counts every start as a boot)", boot_id.display());
        problems.push(problem("own_image.boot_id", what));
    }
    if config.own_image.factory_name.is_empty() {
        problems.push(problem("own_image.factory_name", "name the target path of the image in slot A"));
    }
    if let Err(e) = config.load_decryption_key() {
        problems.push(problem("own_image.decryption_secret", e.to_string()));
    }
    problems
}

/// Whether `program` exists as given or on `PATH`.
fn program_found(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
}

fn check_tls(config: &PrimaryConfig) -> Vec<Problem> {
    let tls = &config.tls;
    let mut problems: Vec<Problem> =
        [("tls.ca_bundle", &tls.ca_bundle), ("tls.client_cert", &tls.client_cert), ("tls.client_key", &tls.client_key)]
            .into_iter()
            .filter_map(|(field, path)| {
                path.as_ref().filter(|p| !p.exists()).map(|p| problem(field, format!("{} does not exist", p.display())))
            })
            .collect();
    if tls.client_cert.is_some() != tls.client_key.is_some() {
        problems.push(problem("tls", "client_cert and client_key go together"));
    }
    problems
}

fn check_secondaries(config: &PrimaryConfig) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, secondary) in config.secondaries.iter().enumerate() {
        let port = secondary.address.rsplit_once(':').and_then(|(host, port)| (!host.is_empty()).then_some(port));
        if port.and_then(|p| p.parse::<u16>().ok()).is_none() {
            problems.push(problem(
                format!("secondaries[{i}].address"),
                format!("{:?} is not HOST:PORT", secondary.address),
            ));
        }
        let repeated = config.secondaries[..i].iter().any(|s| s.serial == secondary.serial);
        if repeated || secondary.serial == config.serial {
            problems.push(problem(format!("secondaries[{i}].serial"), format!("{} is listed twice", secondary.serial)));
        }
    }
    problems
}
