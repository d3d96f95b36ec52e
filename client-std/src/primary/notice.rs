//! What a primary tells its users of an update it installs, from the image repository's
//! signed entry: whether it is a security update and which advisories it addresses, and
//! how long the hardware's security support lasts (supported, ending, ended), as the
//! repository declared with `repo-tool targets add --advisory` and `repo-tool lifecycle set`.

use metadata_schemas::json::Value;
use metadata_schemas::uptane::{ImageTargetCustom, SupportState, support_state};
use metadata_schemas::{TargetFile, TargetPath, UtcTime};

/// The notice of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// It fixes a security problem.
    pub security: bool,
    /// The advisories it addresses.
    pub advisories: Vec<String>,
    /// The hardware's end of security support, and where that stands now.
    pub support: Option<(UtcTime, SupportState)>,
    /// The image repository declared this hardware's final release: no further update comes.
    pub final_release: bool,
}

impl Notice {
    /// The notice of the image repository's entry `file` at `path`, at `now` (Unix seconds).
    pub fn of(path: &TargetPath, file: &TargetFile, now: i64) -> Notice {
        let object = file.custom.as_ref().and_then(Value::as_object);
        let security = object.and_then(|o| o.get("security")).is_some_and(|v| matches!(v, Value::Bool(true)));
        let advisories = match object.and_then(|o| o.get("advisories")) {
            Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        let lifecycle = ImageTargetCustom::from_target(path, file).ok().and_then(|c| c.lifecycle().ok().flatten());
        let support = lifecycle
            .as_ref()
            .map(|l| (l.end_of_security_support, support_state(l.end_of_security_support.time().timestamp(), now)));
        let final_release = lifecycle.as_ref().is_some_and(|l| l.is_final());
        Notice { security: security || !advisories.is_empty(), advisories, support, final_release }
    }

    /// The notice in words, for a cycle's output; empty when there is nothing to say.
    pub fn words(&self) -> String {
        let mut parts = Vec::new();
        if self.security {
            let advisories =
                if self.advisories.is_empty() { String::new() } else { format!(": {}", self.advisories.join(", ")) };
            parts.push(format!("a security update{advisories}"));
        }
        if let Some((end, state)) = self.support {
            let day = &end.to_string()[..10];
            parts.push(match state {
                SupportState::Supported => format!("security support until {day}"),
                SupportState::Ending { days_left } => {
                    format!("security support ENDING on {day} ({days_left} days left)")
                }
                SupportState::Ended => format!("security support ENDED on {day}: no further security update"),
            });
        }
        if self.final_release {
            parts.push("the final release for this hardware: no further update comes".into());
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metadata_schemas::json;

    fn file(custom: &str) -> TargetFile {
        let text = format!(r#"{{"custom":{custom},"hashes":{{"sha256":"{}"}},"length":1}}"#, "0".repeat(64));
        metadata_schemas::Decode::decode(&json::parse(text.as_bytes()).unwrap()).unwrap()
    }

    const DAY: i64 = 86_400;

    #[test]
    fn a_security_update_names_its_advisories_and_the_support_period_its_state() {
        let path = TargetPath::new("brake/fw-2.bin");
        let custom = r#"{"advisories":["CVE-2026-1234"],"hardware_identifiers":["brake-hw"],"lifecycle":{"end_of_security_support":"2031-12-31T00:00:00Z","record":"lifecycle/brake-hw.json"},"release_counter":2,"security":true}"#;
        let end = UtcTime::parse("2031-12-31T00:00:00Z").unwrap().time().timestamp();
        let notice = Notice::of(&path, &file(custom), end - 400 * DAY);
        assert_eq!(notice.words(), "a security update: CVE-2026-1234; security support until 2031-12-31");
        let ending = Notice::of(&path, &file(custom), end - 30 * DAY);
        assert_eq!(ending.support.map(|s| s.1), Some(SupportState::Ending { days_left: 30 }));
        assert!(ending.words().contains("ENDING on 2031-12-31 (30 days left)"), "{}", ending.words());
        assert!(Notice::of(&path, &file(custom), end + DAY).words().contains("ENDED"));
    }

    #[test]
    fn an_image_that_declares_nothing_has_nothing_to_say() {
        let plain =
            Notice::of(&TargetPath::new("x.bin"), &file(r#"{"hardware_identifiers":["h"],"release_counter":1}"#), 0);
        assert_eq!(plain, Notice { security: false, advisories: vec![], support: None, final_release: false });
        let last = r#"{"hardware_identifiers":["brake-hw"],"lifecycle":{"end_of_security_support":"2031-12-31T00:00:00Z","final_release":true,"record":"lifecycle/brake-hw.json"},"release_counter":9}"#;
        let words = Notice::of(&TargetPath::new("brake/fw-9.bin"), &file(last), 0).words();
        assert!(words.ends_with("the final release for this hardware: no further update comes"), "{words}");
        assert_eq!(plain.words(), "");
    }
}
