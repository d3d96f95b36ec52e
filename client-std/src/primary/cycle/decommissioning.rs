//! The cycle's part of decommissioning: whether both repositories command it, the
//! acknowledgement, and the erase, each stage saved in the journal first
//! ([`crate::primary::decommission`]).

use chrono::{DateTime, Utc};
use metadata_schemas::uptane::{DecommissionCommand, acknowledgement, command_path};
use update_verifier::uptane::{DecommissionRefusal, check_decommission};

use super::{CycleReport, Primary, Repositories};
use crate::Error;
use crate::primary::config::PrimaryConfig;
use crate::primary::decommission::{Journal, Stage, erase, erase_plan, write_journal};
use crate::primary::handover::{RootFiles, Sources, decommission_secondary};
use crate::primary::plan::Reported;
use crate::primary::reports;

/// What became of a decommission command in a cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecommissionOutcome {
    /// Only one repository commands it, or they disagree: nothing was erased.
    Refused(DecommissionRefusal),
    /// Acknowledged and erased.
    Done {
        /// The command's nonce.
        nonce: String,
    },
}

/// Erases what the journal lists and marks it done; each erased item is told to `step`.
pub(crate) fn erase_all(config: &PrimaryConfig, journal: &Journal, step: &mut dyn FnMut(String)) -> Result<(), Error> {
    for item in erase_plan(config, &journal.items()) {
        let text = match erase(&item)? {
            true => format!("erased {} ({})", item.what, item.path.display()),
            false => format!("{} already erased ({})", item.what, item.path.display()),
        };
        step(text);
    }
    write_journal(&config.state_dir, &Journal { stage: Stage::Done, ..journal.clone() })
}

impl Primary {
    /// The command to carry out, if the director's targets carry one that the image
    /// repository's signed `decommission/<vin>.json` agrees with. A refused one is a
    /// step of the cycle, which goes on.
    pub(super) fn decommission_command(
        &mut self,
        report: &mut CycleReport,
        repositories: &mut Repositories,
    ) -> Result<Option<(DecommissionCommand, Vec<u8>)>, Error> {
        if matches!(DecommissionCommand::from_targets(&repositories.targets), Ok(None)) {
            return Ok(None);
        }
        let path = command_path(&self.identity.vin);
        let signed = match repositories.images.get_target_info(path.as_str()) {
            Ok(Some(listed)) => {
                let serial = self.config.serial.clone();
                Some(self.fetch(&repositories.images, &listed, &serial, path.as_str())?)
            }
            Ok(None) | Err(Error::TargetNotFound(_)) => None,
            Err(e) => return Err(e),
        };
        match check_decommission(&repositories.targets, signed.as_deref(), &self.identity.vin) {
            Ok(command) => Ok(command.zip(signed)),
            Err(refusal) => {
                self.step(report, format!("decommission command REFUSED: {refusal}"));
                report.decommission = Some(DecommissionOutcome::Refused(refusal));
                Ok(None)
            }
        }
    }

    /// Carries out a decommissioning from where its journal stands: the secondaries (when
    /// this cycle verified the repositories), the acknowledgement (until the director has
    /// it), then the erase.
    pub(super) fn carry_out(
        &mut self,
        mut report: CycleReport,
        mut journal: Journal,
        repositories: Option<&Repositories>,
        now: DateTime<Utc>,
    ) -> Result<CycleReport, Error> {
        if journal.stage == Stage::Acknowledging {
            let acks = match (repositories, journal.image_command.clone()) {
                (Some(repositories), Some(command)) => {
                    self.decommission_secondaries(&mut report, repositories, &command, now)?
                }
                _ => Vec::new(),
            };
            self.acknowledge(&journal.nonce, acks, now)?;
            self.step(&mut report, "the director took the decommission acknowledgement".into());
            journal.stage = Stage::Erasing;
            write_journal(&self.config.state_dir, &journal)?;
        }
        let config = self.config.clone();
        erase_all(&config, &journal, &mut |text| self.step(&mut report, text))?;
        let text = "decommissioned: keys and credentials erased; the trust roots and the factory image are kept";
        self.step(&mut report, text.into());
        report.decommission = Some(DecommissionOutcome::Done { nonce: journal.nonce });
        Ok(report)
    }

    /// Each secondary decommissioned (its signed acknowledgement kept for the manifest);
    /// one that cannot be reached or refuses is a step, and keeps its key.
    fn decommission_secondaries(
        &mut self,
        report: &mut CycleReport,
        repositories: &Repositories,
        image_command: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Reported>, Error> {
        let transport = self.transport()?;
        let config = self.config.clone();
        let sources = Sources {
            roots: RootFiles::Remote {
                transport: &transport,
                director_base: self.director_base(),
                image_base: &config.image_repository,
            },
            latest_roots: super::latest_roots(repositories)?,
            state_dir: &config.state_dir,
            images: repositories.images.trusted().ok_or(Error::NotRefreshed)?,
            vin: &config.vin,
        };
        let mut acks = Vec::new();
        for secondary in &config.secondaries {
            let ecu = (secondary.serial.as_str(), secondary.address.as_str(), secondary.full_verification);
            let text = match decommission_secondary(&sources, ecu, image_command.as_bytes(), super::unix(now)) {
                Ok(Some(ack)) => match reports::parse_report(&secondary.serial, &ack) {
                    Ok(reported) => {
                        acks.push(reported);
                        format!("{}: acknowledged and erased its key", secondary.serial)
                    }
                    Err(e) => format!("{}: its acknowledgement does not read: {e}", secondary.serial),
                },
                Ok(None) => format!("{}: decommissioned already", secondary.serial),
                Err(e) => format!("{}: NOT decommissioned: {e}", secondary.serial),
            };
            self.step(report, text);
        }
        Ok(acks)
    }

    /// The last signed manifest: the primary's own fresh report, the secondaries'
    /// acknowledgements, and the nonce. A director that answers 410 took it already (a
    /// cut came before the journal moved on).
    fn acknowledge(&self, nonce: &str, secondaries: Vec<Reported>, now: DateTime<Utc>) -> Result<(), Error> {
        let own = self.own_report(None, now)?;
        let mut ecus = vec![own];
        ecus.extend(secondaries);
        let manifest = reports::signed_manifest(&self.identity, &ecus, &self.key, Some(acknowledgement(nonce)))?;
        let (status, body) = self.put_manifest(&manifest)?;
        match status {
            200 | 410 => Ok(()),
            _ => Err(Error::ManifestRefused { status, body }),
        }
    }
}
