//! Per-ECU image encryption in the director (design: shared/designs/encrypted-images.md).
//! Per image (target path and plaintext), a random content key (CEK) and IV; the
//! ciphertext is made once, kept under `ciphertext/` in the data directory and served
//! to devices under its hash name; the CEK is kept wrapped (AES-KW) under the director's
//! content master key (`keys/content.key`), never in the clear. When an ECU with a
//! registered decryption key is assigned the image, the CEK is wrapped for that ECU and
//! bound to it. A hardware id's policy says whether its images must be encrypted.

use std::path::{Path, PathBuf};

use aes_kw::KekAes128;
use image_crypto::{Binding, CONTENT_ALG, ContentCipher, ContentKey};
use metadata_schemas::uptane::{
    ChunkIndex, ContentAlgorithm, EncryptedContent, EncryptionBlock, IndexFile, KeyAlgorithm, WrappedContentKey,
};
use metadata_schemas::{Digest, Hashes, TargetPath, hex};
use rand_core::RngCore;

/// Whether a hardware id's images are encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Every image, and an ECU without a decryption key cannot be assigned one.
    Required,
    /// For ECUs that registered a decryption key.
    Optional,
    /// Never (the default).
    Never,
}

impl Policy {
    /// From its name.
    pub fn parse(name: &str) -> Option<Policy> {
        match name {
            "required" => Some(Policy::Required),
            "optional" => Some(Policy::Optional),
            "never" => Some(Policy::Never),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Required => "required",
            Policy::Optional => "optional",
            Policy::Never => "never",
        }
    }
}

/// Why an image could not be encrypted or a key wrapped.
#[derive(Debug)]
pub enum EncryptionError {
    /// The master key file is unreadable or malformed.
    MasterKey(PathBuf, std::io::Error),
    /// The plaintext image is not where the image repository keeps it.
    Plaintext(String),
    /// Writing the ciphertext failed.
    Write(PathBuf, std::io::Error),
    /// A stored wrapped CEK does not unwrap under the master key (another key, or altered).
    CorruptKey(String),
    /// The ECU's decryption key is unusable (a low-order point).
    WeakEcuKey(String),
}

impl std::fmt::Display for EncryptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncryptionError::MasterKey(path, e) => write!(f, "content master key {}: {e}", path.display()),
            EncryptionError::Plaintext(path) => write!(f, "{path}: the image is not in the image repository's targets"),
            EncryptionError::Write(path, e) => write!(f, "{}: {e}", path.display()),
            EncryptionError::CorruptKey(target) => {
                write!(f, "{target}: its stored content key does not unwrap under keys/content.key")
            }
            EncryptionError::WeakEcuKey(serial) => write!(f, "{serial}: its decryption key is not a usable X25519 key"),
        }
    }
}

/// One image's content key as kept: wrapped under the master key, with its IV and what
/// the ciphertext is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentKeyRecord {
    /// The image repository target path.
    pub target: String,
    /// The plaintext's SHA-256 (hex).
    pub plaintext_sha256: String,
    /// The CEK, AES-KW-wrapped under the master key (hex).
    pub cek_at_rest: String,
    /// The IV (hex).
    pub iv: String,
    /// The ciphertext's file name (`<sha256>.enc`).
    pub ciphertext: String,
    /// The ciphertext's length.
    pub ciphertext_length: i64,
    /// The chunk index's file name (`<sha256>.idx`): the SHA-256 of every
    /// [`CHUNK_SIZE`] bytes of ciphertext.
    pub chunk_index: String,
    /// The chunk index's length.
    pub chunk_index_length: i64,
}

/// Bytes of ciphertext per chunk index entry: one flash sector on most MCUs.
pub const CHUNK_SIZE: u32 = 4096;

/// The director's content keys and ciphertexts on disk.
pub struct Encryption {
    master: KekAes128,
    ciphertexts: PathBuf,
}

impl Encryption {
    /// Opens the master key under `data/keys/content.key` (hex, 16 bytes), creating it
    /// (mode 0600) on first use, and the ciphertext directory.
    pub fn open(data: &Path) -> Result<Encryption, EncryptionError> {
        let path = data.join("keys").join("content.key");
        let bad = |e| EncryptionError::MasterKey(path.clone(), e);
        if !path.exists() {
            let mut key = [0u8; 16];
            rand_core::OsRng.fill_bytes(&mut key);
            crate::keys::write_private(&path, hex::encode(&key).as_bytes()).map_err(bad)?;
        }
        let text = std::fs::read_to_string(&path).map_err(bad)?;
        let malformed = || bad(std::io::Error::new(std::io::ErrorKind::InvalidData, "not 32 hex digits"));
        let key: [u8; 16] = hex::decode_lower_array(text.trim()).ok_or_else(malformed)?;
        let ciphertexts = data.join("ciphertext");
        std::fs::create_dir_all(&ciphertexts).map_err(|e| EncryptionError::Write(ciphertexts.clone(), e))?;
        Ok(Encryption { master: KekAes128::from(key), ciphertexts })
    }

    /// Where a ciphertext file lives.
    pub fn ciphertext_path(&self, name: &str) -> PathBuf {
        self.ciphertexts.join(name)
    }

    /// Encrypts `plaintext` (the image at `target`) under a fresh CEK and IV, writes the
    /// ciphertext (whole, then renamed into place) and returns the record to keep.
    pub fn encrypt(&self, target: &str, plaintext: &[u8]) -> Result<ContentKeyRecord, EncryptionError> {
        let (mut cek, mut iv) = ([0u8; 16], [0u8; 16]);
        rand_core::OsRng.fill_bytes(&mut cek);
        rand_core::OsRng.fill_bytes(&mut iv);
        let cek = ContentKey::from_bytes(cek);
        let mut ciphertext = plaintext.to_vec();
        ContentCipher::new(&cek, &iv).apply(&mut ciphertext);
        let name = self.keep(&ciphertext, "enc")?;
        let index: Vec<u8> = ciphertext.chunks(CHUNK_SIZE as usize).flat_map(threshold_keys::digest::sha256).collect();
        let chunk_index = self.keep(&index, "idx")?;
        let mut at_rest = [0u8; 24];
        self.master.wrap(cek.as_bytes(), &mut at_rest).map_err(|_| EncryptionError::CorruptKey(target.into()))?;
        Ok(ContentKeyRecord {
            target: target.into(),
            plaintext_sha256: hex::encode(&threshold_keys::digest::sha256(plaintext)),
            cek_at_rest: hex::encode(&at_rest),
            iv: hex::encode(&iv),
            ciphertext: name,
            ciphertext_length: ciphertext.len() as i64,
            chunk_index,
            chunk_index_length: index.len() as i64,
        })
    }

    /// Writes `bytes` as `<sha256>.<extension>` (whole, then renamed into place); the name.
    fn keep(&self, bytes: &[u8], extension: &str) -> Result<String, EncryptionError> {
        let name = format!("{}.{extension}", hex::encode(&threshold_keys::digest::sha256(bytes)));
        let path = self.ciphertext_path(&name);
        let temporary = path.with_extension("partial");
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| EncryptionError::Write(path.clone(), e))?;
        Ok(name)
    }

    /// The encryption block for one ECU: `record`'s CEK unwrapped from rest and wrapped
    /// for the ECU's decryption key, bound to the ECU, the image and its release.
    pub fn block_for(
        &self,
        record: &ContentKeyRecord,
        ecu: (&str, &[u8; 32]),
        release_counter: u64,
    ) -> Result<EncryptionBlock, EncryptionError> {
        let corrupt = || EncryptionError::CorruptKey(record.target.clone());
        let at_rest: [u8; 24] = hex::decode_lower_array(&record.cek_at_rest).ok_or_else(corrupt)?;
        let iv: [u8; 16] = hex::decode_lower_array(&record.iv).ok_or_else(corrupt)?;
        let sha256: [u8; 32] = hex::decode_lower_array(&record.plaintext_sha256).ok_or_else(corrupt)?;
        let mut cek = [0u8; 16];
        self.master.unwrap(&at_rest, &mut cek).map_err(|_| corrupt())?;
        let cek = ContentKey::from_bytes(cek);
        let (serial, public) = ecu;
        let binding = Binding {
            ecu_identifier: serial,
            filename: &record.target,
            plaintext_sha256: &sha256,
            release_counter,
            content_alg: CONTENT_ALG,
            iv: &iv,
        };
        let mut ephemeral = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut ephemeral);
        let wrapped = image_crypto::wrap(public, &cek, &binding, ephemeral)
            .map_err(|_| EncryptionError::WeakEcuKey(serial.into()))?;
        let ciphertext_sha256: [u8; 32] =
            hex::decode_lower_array(record.ciphertext.trim_end_matches(".enc")).ok_or_else(corrupt)?;
        let index_sha256: [u8; 32] =
            hex::decode_lower_array(record.chunk_index.trim_end_matches(".idx")).ok_or_else(corrupt)?;
        Ok(EncryptionBlock {
            content: EncryptedContent {
                alg: ContentAlgorithm::Aes128Ctr,
                iv,
                filename: TargetPath::new(record.ciphertext.as_str()),
                length: record.ciphertext_length as u64,
                hashes: Hashes::new(vec![Digest::Sha256(ciphertext_sha256)]).expect("one digest"),
                unknown: Default::default(),
            },
            key: WrappedContentKey {
                alg: KeyAlgorithm::X25519HkdfSha256A128Kw,
                ecu_key_id: image_crypto::key_id(public),
                epk: wrapped.epk,
                wrapped_cek: wrapped.wrapped_cek,
                unknown: Default::default(),
            },
            chunks: Some(ChunkIndex {
                size: CHUNK_SIZE,
                index: IndexFile {
                    filename: TargetPath::new(record.chunk_index.as_str()),
                    length: record.chunk_index_length as u64,
                    hashes: Hashes::new(vec![Digest::Sha256(index_sha256)]).expect("one digest"),
                    unknown: Default::default(),
                },
                unknown: Default::default(),
            }),
            unknown: Default::default(),
        })
    }
}
