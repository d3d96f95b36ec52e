//! `repo-tool key`: generate, import, list and export keys.

use std::path::PathBuf;

use metadata_schemas::Encode;
use metadata_schemas::json::Value;
use repo_tool::keys::{KeySource, private_to_owner, public_entry, read_key_file, save_key_file};
use repo_tool::{Error, Repository, passphrase};
use threshold_keys::{KeyFileSigner, Pkcs11Signer, Pkcs11Uri, PublicKey, Signer};

use super::init::KeyType;
use super::{Output, object};

const EXAMPLES: &str = "\
Examples:
  repo-tool key generate --type ecdsa --out root-2.pem
  repo-tool key generate --type ed25519 --pkcs11 'pkcs11:token=ceremony;object=root-3?pin-value=1234'
  repo-tool key import python-tuf-key.pem --out keys/targets-2.pem
  repo-tool key change-passphrase alice/root.pem --new-passphrase-file new.pass
  repo-tool --passphrase-file root.pem=old.pass --passphrase-file root.new.pem=new.pass \
      key import root.pem --out root.new.pem
  repo-tool key list repo
  repo-tool key export-public keys/root-2.pem > root-2.pub.json";

/// Generate, import, list and export keys.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Generate a key in an encrypted key file or in a PKCS#11 token.
    #[command(after_help = EXAMPLES)]
    Generate {
        /// Key type.
        #[arg(long = "type", value_enum, default_value = "ed25519")]
        key_type: KeyType,
        /// Write an encrypted PKCS#8 file here (never overwritten).
        #[arg(long, conflicts_with = "pkcs11")]
        out: Option<PathBuf>,
        /// Generate inside this token instead (RFC 7512 URI naming the new key's `object`).
        #[arg(long)]
        pkcs11: Option<String>,
    },
    /// Re-encrypt a PKCS#8 private key (as python-tuf or OpenSSL write them) into a key
    /// file under its own new passphrase.
    #[command(after_help = EXAMPLES)]
    Import {
        /// The PEM private key (plain, or encrypted: its passphrase is asked for by name).
        file: PathBuf,
        /// The encrypted key file to write (its new passphrase is asked for twice).
        #[arg(long)]
        out: PathBuf,
    },
    /// Change a key file's passphrase: the key is re-encrypted, then replaces the file.
    #[command(after_help = EXAMPLES)]
    ChangePassphrase {
        /// The key file.
        file: PathBuf,
        /// Read the new passphrase from this file (its first line) instead of asking.
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// List every key a repository's roles use, with its roles and where its private half is.
    #[command(after_help = EXAMPLES)]
    List {
        /// The repository.
        dir: PathBuf,
    },
    /// Print the public key entry (JSON) and key id of a key file or token key.
    #[command(after_help = EXAMPLES)]
    ExportPublic {
        /// A key file or pkcs11: URI.
        source: String,
    },
}

pub fn run(command: Command, out: &Output) -> Result<(), Error> {
    match command {
        Command::Generate { key_type, out: Some(path), pkcs11: None } => {
            let signer = KeyFileSigner::generate(key_type.into()).map_err(|e| Error::Key(e.to_string()))?;
            save_key_file(&signer, &path)?;
            report(out, &signer, &path.display().to_string());
            Ok(())
        }
        Command::Generate { key_type, out: None, pkcs11: Some(uri) } => {
            let parsed = Pkcs11Uri::parse(&uri).map_err(Error::Key)?;
            let signer =
                Pkcs11Signer::generate(&parsed, key_type.into()).map_err(|e| Error::Key(format!("{uri}: {e}")))?;
            report(out, &signer, &uri);
            Ok(())
        }
        Command::Generate { .. } => Err(Error::Usage("give exactly one of --out FILE and --pkcs11 URI".into())),
        Command::Import { file, out: path } => {
            if let Err(loose) = private_to_owner(&file) {
                eprintln!("warning: {loose}; the imported copy is private, so delete or protect the original");
            }
            let signer = read_key_file(&file)?;
            save_key_file(&signer, &path)?;
            report(out, &signer, &path.display().to_string());
            Ok(())
        }
        Command::ChangePassphrase { file, new_passphrase_file } => {
            change_passphrase(&file, new_passphrase_file.as_deref(), out)
        }
        Command::List { dir } => list(&dir, out),
        Command::ExportPublic { source } => export_public(&source),
    }
}

/// The public entry of a key: from the `.pub.json` written beside a key file (no
/// passphrase needed) when it holds one, else from the key itself.
fn export_public(source: &str) -> Result<(), Error> {
    let beside = passphrase::public_path(std::path::Path::new(source));
    if !source.starts_with("pkcs11:") {
        // (Read before anything is printed: `export-public k.pem > k.pub.json` empties it.)
        if let Ok(bytes) = std::fs::read(&beside) {
            if super::propose::key_entry(&beside.display().to_string()).is_ok() {
                super::print_line(String::from_utf8_lossy(&bytes).trim_end());
                return Ok(());
            }
        }
    }
    let signer = KeySource::parse(source, std::path::Path::new(".")).open()?;
    super::print_line(String::from_utf8_lossy(&public_entry(signer.as_ref())).trim_end());
    Ok(())
}

/// Re-encrypts `file` under a new passphrase, replacing it atomically (a private temporary
/// file renamed over it; the key is unchanged, so is its `.pub.json`).
fn change_passphrase(file: &std::path::Path, new: Option<&std::path::Path>, out: &Output) -> Result<(), Error> {
    let signer = repo_tool::keys::open_key_file(file)?;
    let pass = passphrase::replacement(file, new)?;
    let pem = signer.to_encrypted_pem(pass.as_bytes()).map_err(|e| Error::Key(e.to_string()))?;
    repo_tool::transaction::write_atomically(file, pem.as_bytes())?;
    out.line(format!("{}: passphrase changed (key {})", file.display(), signer.key_id().short()));
    out.result(object([("keyid", Value::string(signer.key_id().as_str().to_string()))]));
    Ok(())
}

fn report(out: &Output, signer: &dyn Signer, location: &str) {
    out.line(format!("{} key {} in {location}", signer.public_key().keytype, signer.key_id()));
    out.result(object([
        ("keyid", Value::string(signer.key_id().as_str().to_string())),
        ("key", signer.public_key().encode().to_owned_value()),
        ("location", Value::string(location.to_string())),
    ]));
}

fn list(dir: &std::path::Path, out: &Output) -> Result<(), Error> {
    let repo = Repository::load(dir)?;
    let mut rows = Vec::new();
    for (id, key) in &repo.root.signed.keys {
        let roles: Vec<&str> = ["root", "targets", "snapshot", "timestamp"]
            .into_iter()
            .filter(|r| repo.root.signed.role(kind(r)).keyids.contains(id))
            .collect();
        let location = repo.config.key_sources.get(id).cloned().unwrap_or_else(|| "offline".into());
        let usable = if PublicKey::from_metadata(key).is_ok() { "" } else { " (unsupported type)" };
        out.line(format!("{} {:<24} {:<20} {location}{usable}", id.short(), key.scheme, roles.join(",")));
        rows.push(object([
            ("keyid", Value::string(id.as_str().to_string())),
            ("scheme", Value::string(key.scheme.clone())),
            ("roles", Value::Array(roles.iter().map(|r| Value::string(r.to_string())).collect())),
            ("location", Value::string(location)),
        ]));
    }
    out.result(Value::Array(rows));
    Ok(())
}

fn kind(role: &str) -> metadata_schemas::MetadataType {
    match role {
        "root" => metadata_schemas::MetadataType::Root,
        "targets" => metadata_schemas::MetadataType::Targets,
        "snapshot" => metadata_schemas::MetadataType::Snapshot,
        _ => metadata_schemas::MetadataType::Timestamp,
    }
}
