//! The secondary's decommissioning: the director's command (in the director targets
//! verified this cycle) must agree with the image repository's signed copy the primary
//! hands over, which a full-verification ECU also finds, with its hash, in the image
//! repository's targets it verified. Then a last signed version report carrying the
//! nonce, one flash record, and the key erased; from then on the ECU answers nothing but
//! who it is, and erases its key again at every start.

use alloc::vec::Vec;

use embedded_storage::nor_flash::NorFlash;
use metadata_schemas::uptane::{ACK_FIELD, DecommissionCommand, ack_object, command_path};
use metadata_schemas::{Digest, HashAlgorithm};
use update_verifier::uptane::{DecommissionRefusal, check_decommission};

use super::{Result, Secondary, UpdateError};
use crate::ecu_key::EcuKey;
use crate::store::Store;

impl<F: NorFlash, K: EcuKey, S: Store<F>> Secondary<F, K, S> {
    /// Whether this ECU is decommissioned.
    pub fn is_decommissioned(&self) -> bool {
        self.device.state().decommissioned.is_some()
    }

    /// Carries out the decommission command both repositories sign (`image_command`: the
    /// image repository's `decommission/<vin>.json`); the signed acknowledgement, made
    /// before the key is erased.
    pub fn decommission(&mut self, image_command: &[u8]) -> Result<Vec<u8>, F> {
        self.noting(|s| {
            let command = s.agreed_command(image_command)?;
            let ack = s.signed_report(Some((ACK_FIELD, ack_object(&command.nonce))))?;
            s.device.decommission(threshold_keys::digest::sha256(command.nonce.as_bytes()))?;
            s.key.erase();
            Ok(ack)
        })
    }

    /// The command, if the director's targets (verified this cycle) and the image
    /// repository's copy agree, and a full-verification ECU's image repository lists
    /// that copy.
    fn agreed_command(&mut self, image_command: &[u8]) -> Result<DecommissionCommand, F> {
        let refused = |e: DecommissionRefusal| UpdateError::Decommission(e);
        if let Some(images) = &self.images {
            let path = command_path(&self.ecu.vin);
            let listed = images.trusted.targets().and_then(|t| t.targets.get(&path));
            let sha256 = listed.and_then(|f| match f.hashes.get(HashAlgorithm::Sha256) {
                Some(Digest::Sha256(d)) => Some(*d),
                _ => None,
            });
            if sha256 != Some(threshold_keys::digest::sha256(image_command)) {
                return Err(refused(DecommissionRefusal::NotInImageRepository));
            }
        }
        let verifier = self.verifier.as_ref().ok_or(UpdateError::OutOfOrder("start a cycle first"))?;
        let targets = verifier.targets().ok_or(UpdateError::OutOfOrder("director targets first"))?;
        match check_decommission(targets, Some(image_command), &self.ecu.vin) {
            Ok(Some(command)) => Ok(command),
            Ok(None) => Err(UpdateError::OutOfOrder("the director's targets carry no decommission command")),
            Err(e) => Err(refused(e)),
        }
    }
}
