//! What an ECU says of its last install, in its version report's `custom` object, so a
//! director counts an update as done only once it booted and confirmed: the running
//! image's boot state (`trial` or `confirmed`), the image it replaced, and how its last
//! install ended (`ok`, `download_failed`, `verification_failed:<attack>`,
//! `install_failed`, `reverted_unconfirmed`, `timeout`).

use alloc::string::{String, ToString};

use crate::TargetPath;
use crate::decode::{Decode, Encode, ObjectBuilder, UnknownFields, as_object, optional, required};
use crate::error::DecodeError;
use crate::json::Value;

use super::AttackCode;

/// Whether the running image is on trial or confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootState {
    /// It booted and has not confirmed yet: the next reset without a confirmation reverts.
    Trial,
    /// It confirmed: the image the ECU boots.
    Confirmed,
}

impl BootState {
    /// Its name in a report.
    pub fn as_str(self) -> &'static str {
        match self {
            BootState::Trial => "trial",
            BootState::Confirmed => "confirmed",
        }
    }

    /// The state of that name.
    pub fn parse(name: &str) -> Option<Self> {
        [BootState::Trial, BootState::Confirmed].into_iter().find(|s| s.as_str() == name)
    }
}

/// How an ECU's last install ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallResult {
    /// Installed (and, with [`BootState::Confirmed`], confirmed).
    Ok,
    /// The image could not be fetched.
    DownloadFailed,
    /// Metadata or image refused, with the attack it names.
    VerificationFailed(AttackCode),
    /// Writing the image failed.
    InstallFailed,
    /// The new image booted on trial, never confirmed, and the ECU went back to the old.
    RevertedUnconfirmed,
    /// The install did not finish in time.
    Timeout,
}

impl InstallResult {
    /// Its code in a report.
    pub fn code(self) -> String {
        match self {
            InstallResult::Ok => "ok".into(),
            InstallResult::DownloadFailed => "download_failed".into(),
            InstallResult::VerificationFailed(attack) => alloc::format!("verification_failed:{}", attack.name()),
            InstallResult::InstallFailed => "install_failed".into(),
            InstallResult::RevertedUnconfirmed => "reverted_unconfirmed".into(),
            InstallResult::Timeout => "timeout".into(),
        }
    }

    /// The result a code names.
    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "ok" => InstallResult::Ok,
            "download_failed" => InstallResult::DownloadFailed,
            "install_failed" => InstallResult::InstallFailed,
            "reverted_unconfirmed" => InstallResult::RevertedUnconfirmed,
            "timeout" => InstallResult::Timeout,
            other => {
                InstallResult::VerificationFailed(AttackCode::from_name(other.strip_prefix("verification_failed:")?)?)
            }
        })
    }
}

/// The report's `custom` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallStatus {
    /// The running image's boot state.
    pub boot_state: BootState,
    /// The image the running one replaced (or, on a trial, the one a revert goes back to).
    pub previous_image: Option<TargetPath>,
    /// How the last install ended.
    pub install_result: Option<InstallResult>,
    /// Fields this crate does not define.
    pub unknown: UnknownFields,
}

impl Decode for InstallStatus {
    fn decode(value: &Value<'_>) -> Result<Self, DecodeError> {
        let object = as_object(value)?;
        let state: String = required(object, "boot_state")?;
        let boot_state = BootState::parse(&state)
            .ok_or_else(|| DecodeError::invalid("trial or confirmed").in_field("boot_state"))?;
        let install_result = match object.get("install_result") {
            None => None,
            Some(result) => {
                let code: String = required(as_object(result).map_err(|e| e.in_field("install_result"))?, "code")
                    .map_err(|e| e.in_field("install_result"))?;
                let known = "ok, download_failed, verification_failed:<attack>, install_failed, reverted_unconfirmed or timeout";
                Some(
                    InstallResult::parse(&code)
                        .ok_or_else(|| DecodeError::invalid(known).in_field("install_result"))?,
                )
            }
        };
        Ok(InstallStatus {
            boot_state,
            previous_image: optional(object, "previous_image")?,
            install_result,
            unknown: UnknownFields::collect(object, &["boot_state", "previous_image", "install_result"]),
        })
    }
}

impl Encode for InstallStatus {
    fn encode(&self) -> Value<'_> {
        let result = self.install_result.map(|r| {
            let mut code = crate::json::Object::new();
            code.insert("code", Value::string(r.code()));
            Value::Object(code)
        });
        ObjectBuilder::new()
            .field("boot_state", Value::string(self.boot_state.as_str().to_string()))
            .optional("previous_image", &self.previous_image)
            .optional_value("install_result", result)
            .finish(&self.unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn decode(text: &str) -> Result<InstallStatus, DecodeError> {
        InstallStatus::decode(&json::parse(text.as_bytes()).unwrap())
    }

    #[test]
    fn every_install_result_code_round_trips() {
        let mut results = alloc::vec![
            InstallResult::Ok,
            InstallResult::DownloadFailed,
            InstallResult::InstallFailed,
            InstallResult::RevertedUnconfirmed,
            InstallResult::Timeout,
        ];
        results.extend((1..=12).map(|c| InstallResult::VerificationFailed(AttackCode(c))));
        for result in results {
            assert_eq!(InstallResult::parse(&result.code()), Some(result), "{}", result.code());
        }
        assert_eq!(
            InstallResult::VerificationFailed(AttackCode::BAD_KEY_WRAP).code(),
            "verification_failed:bad-key-wrap"
        );
        assert_eq!(
            InstallResult::parse("verification_failed:none"),
            Some(InstallResult::VerificationFailed(AttackCode::NONE))
        );
        assert_eq!(InstallResult::parse("verification_failed:gremlins"), None);
        assert_eq!(InstallResult::parse("fine"), None);
    }

    #[test]
    fn a_status_round_trips_through_its_json_and_keeps_fields_it_does_not_know() {
        let text = r#"{"boot_state":"trial","install_result":{"code":"ok"},"previous_image":"brake/fw-1.bin","x":1}"#;
        let status = decode(text).unwrap();
        assert_eq!(status.boot_state, BootState::Trial);
        assert_eq!(status.previous_image.as_ref().map(|p| p.as_str()), Some("brake/fw-1.bin"));
        assert_eq!(status.install_result, Some(InstallResult::Ok));
        assert_eq!(json::to_canonical(&status.encode()), text.as_bytes());
    }

    #[test]
    fn a_bad_status_is_refused_by_field() {
        for (text, field) in [
            (r#"{"boot_state":"sleeping"}"#, "boot_state"),
            (r#"{}"#, "boot_state"),
            (r#"{"boot_state":"confirmed","install_result":{"code":"meh"}}"#, "install_result"),
            (r#"{"boot_state":"confirmed","install_result":"ok"}"#, "install_result"),
        ] {
            let error = decode(text).unwrap_err().to_string();
            assert!(error.contains(field), "{text}: {error}");
        }
    }
}
