//! The factory provisioning block: what an end-of-line programmer writes into a reserved
//! flash region before the first power-on (here QEMU's `-device loader` writes it at
//! [`ADDRESS`]). The firmware takes its identity, key seed, trust anchors and factory
//! image from it at first boot; it is never written over the protocol.
//!
//! Layout: the magic `UPTPROV1`, then ten fields, each a little-endian u32 length and
//! its bytes: VIN, ECU serial, hardware id, ECU key seed (32 bytes), director root,
//! image repository root (empty for partial verification), factory image name, factory
//! image, image decryption secret (32 bytes; empty: no encrypted images), and where the
//! factory image goes: empty for slot A and the factory region, `factory-only` for the
//! factory region alone (the slots start empty, so the first boot runs the factory
//! image). A block of nine fields reads as an empty tenth (the region is zeroed).

use metadata_schemas::uptane::{EcuSerial, HardwareId, Vin};
use update_verifier::uptane::EcuIdentity;

/// Where the block sits (the reserved PROVISIONING region of memory.x).
pub const ADDRESS: usize = 0x0030_0000;
/// The region's size.
pub const SIZE: usize = 1024 * 1024;
const MAGIC: &[u8; 8] = b"UPTPROV1";

/// The provisioned values.
pub struct Provisioning {
    /// Vehicle, serial and hardware id.
    pub identity: EcuIdentity,
    /// The ECU key's Ed25519 seed.
    pub seed: [u8; 32],
    /// The director root to trust first.
    pub director_root: &'static [u8],
    /// The image repository root, for full verification.
    pub image_root: Option<&'static [u8]>,
    /// The factory image's target name.
    pub factory_name: &'static [u8],
    /// The factory image.
    pub factory: &'static [u8],
    /// The X25519 image decryption secret: encrypted images, and only those, are taken.
    pub decryption_secret: Option<[u8; 32]>,
    /// Whether the slots start empty (the factory image only in its region).
    pub factory_only: bool,
}

/// Why the block cannot be used.
#[derive(Debug)]
pub enum BadBlock {
    /// No magic: nothing was provisioned (load one with `-device loader`).
    Missing,
    /// A field's length runs past the region.
    Truncated,
    /// The VIN, serial or hardware id is empty or not UTF-8, or a secret is not 32 bytes.
    BadField(&'static str),
}

/// The block in the reserved region.
pub fn read() -> Result<Provisioning, BadBlock> {
    // The region is reserved in memory.x: nothing else is linked there.
    let region: &'static [u8] = unsafe { core::slice::from_raw_parts(ADDRESS as *const u8, SIZE) };
    parse(region)
}

fn parse(region: &'static [u8]) -> Result<Provisioning, BadBlock> {
    let mut rest = region.strip_prefix(MAGIC).ok_or(BadBlock::Missing)?;
    let mut field = || -> Result<&'static [u8], BadBlock> {
        let len = rest.get(..4).ok_or(BadBlock::Truncated)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let bytes = rest.get(4..4 + len).ok_or(BadBlock::Truncated)?;
        rest = &rest[4 + len..];
        Ok(bytes)
    };
    let text = |bytes: &'static [u8], name| core::str::from_utf8(bytes).map_err(|_| BadBlock::BadField(name));
    let vin = Vin::new(text(field()?, "vin")?).ok_or(BadBlock::BadField("vin"))?;
    let serial = EcuSerial::new(text(field()?, "serial")?).ok_or(BadBlock::BadField("serial"))?;
    let hardware_id = HardwareId::new(text(field()?, "hardware id")?).ok_or(BadBlock::BadField("hardware id"))?;
    let seed = field()?.try_into().map_err(|_| BadBlock::BadField("seed"))?;
    let director_root = field()?;
    let image_root = Some(field()?).filter(|r| !r.is_empty());
    let factory_name = field()?;
    let factory = field()?;
    let decryption = field()?;
    let decryption_secret = match decryption.len() {
        0 => None,
        _ => Some(decryption.try_into().map_err(|_| BadBlock::BadField("decryption secret"))?),
    };
    let factory_only = match field()? {
        b"" => false,
        b"factory-only" => true,
        _ => return Err(BadBlock::BadField("factory placement")),
    };
    let identity = EcuIdentity { vin, serial, hardware_id };
    Ok(Provisioning { identity, seed, director_root, image_root, factory_name, factory, decryption_secret, factory_only })
}
