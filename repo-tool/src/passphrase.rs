//! Where each key file's passphrase comes from, in this order: a passphrase file named
//! for that key (`--passphrase-file KEY=FILE`, for automation), `REPO_TOOL_PASSPHRASE`
//! (one for every key, for scripts that hold a single one), or a prompt on the terminal
//! that names the key. Each key holder keeps their own passphrase: nothing is shared
//! between key files unless the operator chooses to.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::Error;

/// The environment variable that holds one passphrase for every key file.
pub const PASSPHRASE_ENV: &str = "REPO_TOOL_PASSPHRASE";

/// Passphrase files by key file (absolute paths), from `--passphrase-file`.
static FILES: OnceLock<BTreeMap<PathBuf, PathBuf>> = OnceLock::new();
/// Passphrases typed in this command, by key file: each is asked once.
static TYPED: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Registers `KEY=FILE` pairs (once, at start-up): FILE's first line is KEY's passphrase.
pub fn register_files(pairs: &[String]) -> Result<(), Error> {
    let mut files = BTreeMap::new();
    for pair in pairs {
        let (key, file) = pair.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--passphrase-file {pair:?}: expected KEYFILE=PASSPHRASEFILE, e.g. root.pem=root.pass"
            ))
        })?;
        files.insert(absolute(Path::new(key)), PathBuf::from(file));
    }
    FILES.set(files).map_err(|_| Error::Usage("passphrase files are registered once".into()))
}

fn from_file(key: &Path) -> Result<Option<String>, Error> {
    let Some(file) = FILES.get().and_then(|files| files.get(&absolute(key))) else { return Ok(None) };
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        return Err(Error::Key(format!("{}: the passphrase file for {} is empty", file.display(), key.display())));
    }
    Ok(Some(line.to_string()))
}

/// How a prompt names the key file at `path`: its key id when a `.pub.json` lies
/// beside it (as `key generate` writes one), and the path.
fn describe(path: &Path) -> String {
    let id = std::fs::read(public_path(path))
        .ok()
        .and_then(|bytes| metadata_schemas::json::parse(&bytes).ok().map(|v| v.to_owned_value()))
        .and_then(|value| value.as_object().and_then(|o| o.get("keyid")).and_then(|v| v.as_str().map(str::to_string)));
    match id {
        Some(id) => format!("key {}.. ({})", &id[..id.len().min(8)], path.display()),
        None => format!("key file {}", path.display()),
    }
}

/// Where the public half of a key file is written beside it: `NAME.pub.json`.
pub fn public_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".pem").unwrap_or(&name);
    path.with_file_name(format!("{stem}.pub.json"))
}

fn prompt(text: &str, what: &str) -> Result<String, Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Key(format!(
            "{what}: no passphrase: give --passphrase-file KEYFILE=FILE, set {PASSPHRASE_ENV}, or run on a terminal to be asked"
        )));
    }
    rpassword::prompt_password(text).map_err(|e| Error::Key(format!("{what}: {e}")))
}

/// The passphrase that opens the existing key file at `path`.
pub fn to_open(path: &Path) -> Result<String, Error> {
    if let Some(pass) = from_file(path)? {
        return Ok(pass);
    }
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(value);
    }
    let key = absolute(path);
    if let Some(pass) = TYPED.lock().expect("not poisoned").get(&key) {
        return Ok(pass.clone());
    }
    let what = describe(path);
    let pass = prompt(&format!("Passphrase for {what}: "), &what)?;
    TYPED.lock().expect("not poisoned").insert(key, pass.clone());
    Ok(pass)
}

/// A replacement passphrase for the key file at `path`: from `file` if given, else asked
/// twice on the terminal (never `REPO_TOOL_PASSPHRASE`, which is the old one).
pub fn replacement(path: &Path, file: Option<&Path>) -> Result<String, Error> {
    let what = format!("the new passphrase of {}", describe(path));
    let pass = match file {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
            text.lines().next().unwrap_or_default().to_string()
        }
        None => {
            let first = prompt(&format!("New passphrase for {}: ", describe(path)), &what)?;
            if prompt("Repeat it: ", &what)? != first {
                return Err(Error::Key(format!("{what}: the two passphrases differ; nothing was changed")));
            }
            first
        }
    };
    if pass.is_empty() {
        return Err(Error::Key(format!("{what}: an empty passphrase is not accepted")));
    }
    Ok(pass)
}

/// The passphrase for new key files at `paths` (asked once for them all, twice to catch
/// a typo; an empty one is refused).
pub fn for_new(paths: &[&Path]) -> Result<String, Error> {
    let mut given = paths.iter().map(|p| from_file(p)).collect::<Result<Vec<_>, _>>()?;
    given.dedup();
    if let [Some(pass)] = given.as_slice() {
        return Ok(pass.clone());
    }
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(value);
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let what = format!("new key file{} {}", if names.len() > 1 { "s" } else { "" }, names.join(", "));
    let first = prompt(&format!("New passphrase for {what}: "), &what)?;
    if first.is_empty() {
        return Err(Error::Key(format!("{what}: an empty passphrase is not accepted")));
    }
    if prompt("Repeat it: ", &what)? != first {
        return Err(Error::Key(format!("{what}: the two passphrases differ; nothing was written")));
    }
    Ok(first)
}
