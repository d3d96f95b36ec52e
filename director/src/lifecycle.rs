//! Each hardware id's support period as the director sees it in the image repository
//! (`custom.lifecycle` of its images), and the watch that raises an audited warning when
//! a period's end moves earlier: accepted (it is signed), but users must be told.

use std::collections::BTreeMap;

use metadata_schemas::uptane::ImageTargetCustom;
use serde_json::json;

use crate::service::{Director, ServiceError};

/// When each hardware id's security support ends (Unix seconds), as the image
/// repository's verified targets declare it (`custom.lifecycle`); empty without one.
pub fn support_ends(director: &Director) -> BTreeMap<String, i64> {
    let mut ends = BTreeMap::new();
    let Some(Ok(trusted)) = director.images.as_ref().map(|r| r.trusted(chrono::Utc::now())) else { return ends };
    for (path, file) in trusted.targets().map(|t| &t.targets).into_iter().flatten() {
        let Ok(custom) = ImageTargetCustom::from_target(path, file) else { continue };
        let Ok(Some(lifecycle)) = custom.lifecycle() else { continue };
        for hw in &custom.hardware_identifiers {
            ends.insert(hw.as_str().to_string(), lifecycle.end_of_security_support.time().timestamp());
        }
    }
    ends
}

/// How a hardware id's end of security support changed since the director last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// First seen.
    New,
    /// Unchanged.
    Same,
    /// Moved later (support extended).
    Later,
    /// Moved earlier: users must be warned.
    Earlier,
}

/// The change from `was` (the end last seen, if any) to `now`.
pub fn change(was: Option<i64>, now: i64) -> Change {
    match was {
        None => Change::New,
        Some(was) if now < was => Change::Earlier,
        Some(was) if now > was => Change::Later,
        Some(_) => Change::Same,
    }
}

impl Director {
    /// Compares each hardware id's end of security support with the one last seen; an
    /// end moved earlier is audited (`support-end-earlier`) and logged as a warning, any
    /// change is kept. The hardware ids whose end moved earlier.
    pub async fn watch_support_periods(&self, now: i64) -> Result<Vec<String>, ServiceError> {
        let ends = support_ends(self);
        let seen = self.store.support_periods().await?;
        let mut earlier = Vec::new();
        let mut tx = self.store.begin().await?;
        for (hw, end) in &ends {
            let was = seen.get(hw).copied();
            match change(was, *end) {
                Change::Same => continue,
                Change::Earlier => {
                    let detail = json!({"hardware_id": hw, "was": was, "now": end,
                        "what": "the end of security support moved earlier: tell the users of this hardware"});
                    tx.audit("director", "support-end-earlier", &detail.to_string(), now).await?;
                    crate::log::warn(
                        "support-end-earlier",
                        &[("hardware_id", json!(hw)), ("was", json!(was)), ("now", json!(end))],
                    );
                    earlier.push(hw.clone());
                }
                Change::New | Change::Later => {}
            }
            tx.put_support_period(hw, *end, now).await?;
        }
        tx.commit().await?;
        Ok(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_end_before_the_one_seen_is_earlier() {
        assert_eq!(change(None, 10), Change::New);
        assert_eq!(change(Some(10), 10), Change::Same);
        assert_eq!(change(Some(10), 11), Change::Later);
        assert_eq!(change(Some(10), 9), Change::Earlier);
    }
}
