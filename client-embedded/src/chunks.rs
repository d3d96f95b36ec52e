//! The chunk index of an encrypted image: the SHA-256 of every `size` bytes of
//! ciphertext, from a file the director's signed targets name by length and hash. Each
//! chunk is checked before any of it is decrypted or programmed, so a tampered image is
//! refused at its first bad sector, not after the whole slot was written.

use alloc::vec::Vec;

use threshold_keys::digest::sha256;

/// What the signed encryption block says of the index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkPlan {
    /// Bytes per chunk.
    pub size: u32,
    /// The index file's length.
    pub index_length: u64,
    /// The index file's SHA-256.
    pub index_sha256: [u8; 32],
}

/// Why a chunk check failed.
#[derive(Debug)]
pub(crate) enum ChunkError<E> {
    /// A chunk does not hash to its index entry.
    Mismatch,
    /// Writing a checked chunk failed.
    Sink(E),
}

/// The index being applied to an arriving image.
pub(crate) struct ChunkCheck {
    size: usize,
    index: Vec<[u8; 32]>,
    buffer: Vec<u8>,
    next: usize,
}

impl ChunkCheck {
    /// The index for an image of `image_length` bytes, if `bytes` is the file `plan`
    /// names and has one entry per chunk.
    pub fn new(plan: &ChunkPlan, bytes: &[u8], image_length: u64) -> Option<ChunkCheck> {
        let chunks = image_length.div_ceil(u64::from(plan.size));
        let fits = bytes.len() as u64 == plan.index_length && plan.index_length == chunks.checked_mul(32)?;
        if !fits || sha256(bytes) != plan.index_sha256 {
            return None;
        }
        let index = bytes.chunks_exact(32).map(|d| d.try_into().expect("32 bytes")).collect();
        Some(ChunkCheck { size: plan.size as usize, index, buffer: Vec::new(), next: 0 })
    }

    /// Starts the image again at byte `offset`, a multiple of the chunk size (a resumed
    /// install: the chunks before it are in the slot already).
    pub fn restart_at(&mut self, offset: u32) {
        self.buffer.clear();
        self.next = offset as usize / self.size;
    }

    /// Takes arriving ciphertext; each chunk that is whole and matches its entry goes to
    /// `checked`, in order.
    pub fn push<E>(
        &mut self,
        mut bytes: &[u8],
        checked: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), ChunkError<E>> {
        while !bytes.is_empty() {
            let take = (self.size - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buffer.len() == self.size {
                self.release(checked)?;
            }
        }
        Ok(())
    }

    /// The last (short) chunk, at the end of the image.
    pub fn finish<E>(&mut self, checked: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), ChunkError<E>> {
        if self.buffer.is_empty() { Ok(()) } else { self.release(checked) }
    }

    fn release<E>(&mut self, checked: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), ChunkError<E>> {
        let n = self.next;
        if self.index.get(n) != Some(&sha256(&self.buffer)) {
            return Err(ChunkError::Mismatch);
        }
        checked(&self.buffer).map_err(ChunkError::Sink)?;
        self.buffer.clear();
        self.next += 1;
        Ok(())
    }
}
