//! `update-client status`: what the primary knows without going online, from its state
//! directory: the image it runs (and whether on trial), each hardware id's security
//! support as the last verified director targets declare it (supported, ending, ended, at
//! the time given), and whether the device is decommissioned. Reading changes nothing.

use std::collections::BTreeMap;

use metadata_schemas::uptane::{LifecycleRef, SupportState, support_state};
use metadata_schemas::{Decode, Signed, Targets, UtcTime};
use serde_json::{Value, json};

use super::config::PrimaryConfig;
use super::decommission::{Stage, read_journal};
use super::own_image::OwnImage;
use crate::Error;

/// The primary's standing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The image it runs, and whether it is on trial (`None`: it never started).
    pub running: Option<(String, bool)>,
    /// When the running image was installed (Unix seconds), if it was installed here.
    pub installed_at: Option<i64>,
    /// The last verified director targets' version (`None`: no cycle verified them yet).
    pub targets_version: Option<u64>,
    /// Each hardware id's end of security support, and where it stands at the time asked.
    pub support: BTreeMap<String, (UtcTime, SupportState)>,
    /// Where a decommissioning stands, if one began.
    pub decommission: Option<Stage>,
    /// The hardware ids whose final release the image repository declared.
    pub final_release: Vec<String>,
}

/// The support periods the director's targets carry (top-level `custom.lifecycle`).
fn lifecycle_of(targets: &Targets, now: i64) -> BTreeMap<String, (UtcTime, SupportState)> {
    let Some(map) = targets.custom().and_then(|c| c.as_object()?.get("lifecycle")?.as_object().cloned()) else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(hw, value)| {
            let reference = LifecycleRef::decode(value).ok()?;
            let end = reference.end_of_security_support;
            Some((hw.to_string(), (end, support_state(end.time().timestamp(), now))))
        })
        .collect()
}

/// The hardware ids whose support period says no further release comes.
fn finals(targets: &Targets) -> Vec<String> {
    let Some(map) = targets.custom().and_then(|c| c.as_object()?.get("lifecycle")?.as_object().cloned()) else {
        return Vec::new();
    };
    map.iter()
        .filter(|(_, v)| LifecycleRef::decode(v).is_ok_and(|r| r.is_final()))
        .map(|(hw, _)| hw.to_string())
        .collect()
}

/// The primary's standing at `now` (Unix seconds), read from its state directory.
pub fn status(config: &PrimaryConfig, now: i64) -> Result<Status, Error> {
    let state = &config.state_dir;
    let own = match state.join("own-image.json").exists() {
        true => Some(OwnImage::open(&config.own_image, state)?),
        false => None,
    };
    let running = own.as_ref().map(|o| (o.running().name.clone(), o.on_trial()));
    let installed_at = own.as_ref().and_then(|o| o.running().installed_at);
    let targets = match std::fs::read(state.join("director").join("targets.json")) {
        Ok(bytes) => Some(
            Signed::<Targets>::decode_unverified(&bytes)
                .map_err(|e| Error::Config(format!("director targets: {e}")))?
                .signed,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(state.join("director/targets.json"), e)),
    };
    let final_release = targets.as_ref().map(finals).unwrap_or_default();
    Ok(Status {
        final_release,
        installed_at,
        running,
        targets_version: targets.as_ref().map(|t| t.common.version.get()),
        support: targets.as_ref().map(|t| lifecycle_of(t, now)).unwrap_or_default(),
        decommission: read_journal(state)?.map(|j| j.stage),
    })
}

/// The primary's install status with `lifecycle_state` (supported, ending, ended) for its
/// own hardware at `now`, as the last verified director targets declare it: what its
/// signed report tells the director.
pub(crate) fn with_lifecycle_state(
    mut status: metadata_schemas::uptane::InstallStatus,
    config: &PrimaryConfig,
    now: i64,
) -> metadata_schemas::uptane::InstallStatus {
    let Ok(bytes) = std::fs::read(config.state_dir.join("director").join("targets.json")) else { return status };
    let Ok(targets) = Signed::<Targets>::decode_unverified(&bytes) else { return status };
    let Some(hw) = metadata_schemas::uptane::HardwareId::new(config.hardware_id.as_str()) else { return status };
    if let Some(reference) = LifecycleRef::in_director_targets(&targets.signed, &hw) {
        let state = support_state(reference.end_of_security_support.time().timestamp(), now);
        status.unknown.0.insert("lifecycle_state", metadata_schemas::json::Value::string(state.as_str()));
    }
    status
}

impl Status {
    /// As `--json` prints it.
    pub fn to_json(&self) -> Value {
        let support: BTreeMap<&str, Value> = self
            .support
            .iter()
            .map(|(hw, (end, state))| {
                let days = match state {
                    SupportState::Ending { days_left } => Some(*days_left),
                    _ => None,
                };
                (
                    hw.as_str(),
                    json!({"end_of_security_support": end.to_string(), "state": state.as_str(), "days_left": days,
                        "final_release": self.final_release.iter().any(|f| f == hw)}),
                )
            })
            .collect();
        json!({
            "running": self.running.as_ref().map(|(name, _)| name),
            "on_trial": self.running.as_ref().is_some_and(|(_, trial)| *trial),
            "installed": self.installed_at.and_then(|t| chrono::DateTime::from_timestamp(t, 0)).map(|t| t.to_rfc3339()),
            "director_targets_version": self.targets_version,
            "support": support,
            "decommission": self.decommission.map(|s| serde_json::to_value(s).unwrap_or_default()),
        })
    }

    /// In words, a line each.
    pub fn lines(&self) -> Vec<String> {
        let installed = self
            .installed_at
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|t| format!(", installed {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        let mut lines = vec![match &self.running {
            Some((name, true)) => format!("runs {name}{installed} (on trial: confirmed after a healthy cycle)"),
            Some((name, false)) => format!("runs {name}{installed}"),
            None => "has not started yet (the factory image is in slot A)".into(),
        }];
        match self.targets_version {
            Some(v) => lines.push(format!("last verified director targets: v{v}")),
            None => lines.push("no update cycle has verified the director's metadata yet".into()),
        }
        for (hw, (end, state)) in &self.support {
            let day = &end.to_string()[..10];
            lines.push(match state {
                SupportState::Supported => format!("{hw}: security support until {day}"),
                SupportState::Ending { days_left } => {
                    format!("{hw}: security support ENDING on {day} ({days_left} days left)")
                }
                SupportState::Ended => format!("{hw}: security support ENDED on {day}: no further security update"),
            });
        }
        for hw in &self.final_release {
            lines.push(format!("{hw}: the final release: no further update comes"));
        }
        if let Some(stage) = self.decommission {
            lines.push(match stage {
                Stage::Done => "DECOMMISSIONED: keys and credentials erased".into(),
                other => format!("decommissioning in progress ({other:?}); the next start finishes it"),
            });
        }
        lines
    }
}
