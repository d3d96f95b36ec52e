//! Where private keys come from: encrypted key files (each with its own passphrase, see
//! [`crate::passphrase`]) and PKCS#11 tokens (`pkcs11:` URIs). A `KeyRing` opens each
//! key once and hands out the signers a role needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metadata_schemas::KeyId;
use threshold_keys::{KeyFileError, KeyFileSigner, Pkcs11Signer, Pkcs11Uri, Signer};

use crate::Error;
use crate::agent::AgentClient;
use crate::passphrase;

/// A private key's location.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeySource {
    /// An encrypted PKCS#8 PEM file.
    File(PathBuf),
    /// A key in a PKCS#11 token.
    Pkcs11(String),
}

impl KeySource {
    /// How the source is written in `repository.json`: key files given on the command
    /// line are stored by absolute path, since later commands may run elsewhere.
    pub fn to_config(&self) -> String {
        match self {
            KeySource::File(path) => std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()).display().to_string(),
            KeySource::Pkcs11(uri) => uri.clone(),
        }
    }

    /// Parses a `pkcs11:` URI or a file path (relative paths are relative to `base`).
    pub fn parse(text: &str, base: &Path) -> KeySource {
        if text.starts_with("pkcs11:") {
            KeySource::Pkcs11(text.to_string())
        } else {
            let path = Path::new(text);
            KeySource::File(if path.is_absolute() { path.to_path_buf() } else { base.join(path) })
        }
    }

    /// Opens the key.
    pub fn open(&self) -> Result<Box<dyn Signer>, Error> {
        match self {
            KeySource::File(path) => Ok(Box::new(open_key_file(path)?)),
            KeySource::Pkcs11(uri) => {
                let parsed = Pkcs11Uri::parse(uri).map_err(Error::Key)?;
                Ok(Box::new(Pkcs11Signer::open(&parsed).map_err(|e| Error::Key(format!("{uri}: {e}")))?))
            }
        }
    }
}

/// Opens an encrypted key file; one that others may read or write is refused, as ssh
/// refuses such a key.
pub fn open_key_file(path: &Path) -> Result<KeyFileSigner, Error> {
    private_to_owner(path)?;
    read_key_file(path)
}

/// Reads a key file whatever its permissions (`key import` brings such a key in).
pub fn read_key_file(path: &Path) -> Result<KeyFileSigner, Error> {
    let (text, pass) = read_with_passphrase(path)?;
    decrypt(path, &text, pass.as_deref())
}

/// A key file's text and, if it is encrypted, its passphrase (asked here, one key at a
/// time, before any slow decryption starts).
fn read_with_passphrase(path: &Path) -> Result<(String, Option<String>), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let pass = if text.contains("ENCRYPTED PRIVATE KEY") { Some(passphrase::to_open(path)?) } else { None };
    Ok((text, pass))
}

fn decrypt(path: &Path, text: &str, pass: Option<&str>) -> Result<KeyFileSigner, Error> {
    KeyFileSigner::from_pem(text, pass.map(str::as_bytes)).map_err(|e| match e {
        KeyFileError::WrongPassphrase => Error::Key(format!("{}: wrong passphrase", path.display())),
        other => Error::Key(format!("{}: {other}", path.display())),
    })
}

/// A private key file must be readable and writable by its owner alone.
pub fn private_to_owner(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Key(format!(
            "{}: a private key readable or writable by others (mode {mode:04o}) is not used; \
             run `chmod 600 {}` if it is yours and has not leaked, else rotate the key",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Writes a new key file, encrypted with its own new passphrase (never overwrites a
/// file), and its public half beside it ([`passphrase::public_path`]).
pub fn save_key_file(signer: &KeyFileSigner, path: &Path) -> Result<(), Error> {
    save_key_file_with(signer, path, &passphrase::for_new(&[path])?)
}

/// [`save_key_file`] with a passphrase already chosen.
pub fn save_key_file_with(signer: &KeyFileSigner, path: &Path, pass: &str) -> Result<(), Error> {
    let pem = signer.to_encrypted_pem(pass.as_bytes()).map_err(|e| Error::Key(e.to_string()))?;
    write_new(path, 0o600, pem.as_bytes())?;
    let public = public_entry(signer);
    let public_path = passphrase::public_path(path);
    if let Err(e) = write_new(&public_path, 0o644, &public) {
        let _ = std::fs::remove_file(path); // no key file without its public half
        return Err(e);
    }
    Ok(())
}

/// A key's public entry as `key export-public` prints it: `{"keyid": ..., "key": ...}`.
pub fn public_entry(signer: &dyn Signer) -> Vec<u8> {
    use metadata_schemas::Encode;
    use metadata_schemas::json::{self, Value};
    let mut entry = json::Object::new();
    entry.insert("keyid", Value::string(signer.key_id().as_str().to_string()));
    entry.insert("key", signer.public_key().encode().to_owned_value());
    let mut bytes = json::to_pretty(&Value::Object(entry));
    bytes.push(b'\n');
    bytes
}

/// Writes a file that must not exist yet, with `mode`, synced.
fn write_new(path: &Path, mode: u32, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    std::io::Write::write_all(&mut file, bytes).and_then(|()| file.sync_all()).map_err(|e| Error::io(path, e))
}

/// Signers available to a command, by key id: the repository's configured sources plus
/// any `--key` given on the command line. Keys are opened once, on first use or ahead of
/// signing.
#[derive(Default)]
pub struct KeyRing {
    sources: BTreeMap<KeyId, KeySource>,
    extra: Vec<KeySource>,
    opened: BTreeMap<KeyId, Box<dyn Signer>>,
    by_source: BTreeMap<KeySource, KeyId>,
    extra_opened: bool,
    /// The agent `REPO_TOOL_AGENT` names, looked up on the first key opened.
    agent: Option<Option<AgentClient>>,
}

impl KeyRing {
    /// A ring with the configured sources and the extra keys given for this command.
    pub fn new(sources: BTreeMap<KeyId, KeySource>, extra: Vec<KeySource>) -> Self {
        KeyRing { sources, extra, ..KeyRing::default() }
    }

    /// Adds an already opened signer.
    pub fn insert(&mut self, signer: Box<dyn Signer>) {
        self.opened.insert(signer.key_id().clone(), signer);
    }

    fn open_extra(&mut self) -> Result<(), Error> {
        if !self.extra_opened {
            self.extra_opened = true;
            for source in std::mem::take(&mut self.extra) {
                self.open_source(&source)?;
            }
        }
        Ok(())
    }

    /// The running agent's signer for `source`, if it holds that key file.
    fn agent_signer(&mut self, source: &KeySource) -> Result<Option<Box<dyn Signer>>, Error> {
        let KeySource::File(path) = source else { return Ok(None) };
        if self.agent.is_none() {
            self.agent = Some(AgentClient::from_env().map_err(Error::Agent)?);
        }
        let Some(Some(agent)) = &self.agent else { return Ok(None) };
        let signer = agent.signer_for_file(path).map_err(Error::Agent)?;
        Ok(signer.map(|s| Box::new(s) as Box<dyn Signer>))
    }

    /// Opens `source`, once: through the agent if it holds it, else from the file or token.
    fn open_source(&mut self, source: &KeySource) -> Result<&dyn Signer, Error> {
        if !self.by_source.contains_key(source) {
            let signer = match self.agent_signer(source)? {
                Some(signer) => signer,
                None => source.open()?,
            };
            self.by_source.insert(source.clone(), signer.key_id().clone());
            self.opened.insert(signer.key_id().clone(), signer);
        }
        Ok(self.opened[&self.by_source[source]].as_ref())
    }

    /// The signer of a key given by its source, or `None` for a key file kept offline.
    pub fn signer_at(&mut self, source: &KeySource) -> Result<Option<&dyn Signer>, Error> {
        if is_offline(source) {
            return Ok(None);
        }
        self.open_source(source).map(Some)
    }

    /// Opens ahead of signing the reachable key files among `keyids` and `also`,
    /// concurrently: each costs a deliberately slow scrypt derivation (128 MiB), and one
    /// command often needs four.
    pub fn open_ahead(&mut self, keyids: &[KeyId], also: &[KeySource]) -> Result<(), Error> {
        self.open_extra()?;
        let configured =
            keyids.iter().filter(|id| !self.opened.contains_key(*id)).filter_map(|id| self.sources.get(id));
        let mut pending: Vec<KeySource> = configured
            .chain(also)
            .filter(|s| matches!(s, KeySource::File(_)) && !is_offline(s) && !self.by_source.contains_key(*s))
            .cloned()
            .collect();
        pending.sort();
        pending.dedup();
        let mut on_disk = Vec::new();
        for source in pending {
            match self.agent_signer(&source)? {
                Some(signer) => {
                    self.by_source.insert(source, signer.key_id().clone());
                    self.opened.insert(signer.key_id().clone(), signer);
                }
                None => on_disk.push(source),
            }
        }
        let pending = on_disk;
        if pending.len() < 2 {
            return Ok(());
        }
        // Each passphrase is asked in turn; only the slow decryptions run side by side.
        let mut read = Vec::new();
        for source in &pending {
            let KeySource::File(path) = source else { unreachable!("only key files are opened ahead") };
            private_to_owner(path)?;
            read.push((path.clone(), read_with_passphrase(path)?));
        }
        let signers =
            crate::parallel::map("opening keys", &read, |(path, (text, pass))| decrypt(path, text, pass.as_deref()))?;
        for (source, signer) in pending.into_iter().zip(signers) {
            self.by_source.insert(source, signer.key_id().clone());
            self.opened.insert(signer.key_id().clone(), Box::new(signer));
        }
        Ok(())
    }

    /// The signers among `keyids` that can be reached (offline keys are skipped).
    pub fn signers_for(&mut self, keyids: &[KeyId]) -> Result<Vec<&dyn Signer>, Error> {
        self.open_extra()?;
        for id in keyids {
            if self.opened.contains_key(id) {
                continue;
            }
            let Some(source) = self.sources.get(id).cloned() else { continue };
            if let Some(signer) = self.signer_at(&source)? {
                if signer.key_id() != id {
                    return Err(Error::Key(format!("the key configured for {} is {}", id.short(), signer.key_id())));
                }
            }
        }
        Ok(keyids.iter().filter_map(|id| self.opened.get(id).map(|s| s.as_ref())).collect())
    }
}

/// A key file that is not on this machine: an offline key, kept elsewhere.
fn is_offline(source: &KeySource) -> bool {
    matches!(source, KeySource::File(path) if !path.exists())
}
