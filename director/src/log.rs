//! The director's log on standard error: one line per event, written for people
//! (`text`: `2026-12-01T10:00:00Z INFO request method=PUT status=200`) or for a log
//! pipeline (`json`: one object a line, `ts`, `level`, `event`, then the fields). The
//! format is set once at start; until then lines are text.

use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `TIME LEVEL EVENT key=value ...`, for people.
    #[default]
    Text,
    /// One JSON object a line, for a log pipeline.
    Json,
}

/// How much a line matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something an operator may want to look at.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

static FORMAT: OnceLock<Format> = OnceLock::new();

/// Sets the format for the rest of the process (a second call changes nothing).
pub fn init(format: Format) {
    let _ = FORMAT.set(format);
}

/// One log line (without its newline).
pub fn line(format: Format, at: DateTime<Utc>, level: Level, event: &str, fields: &[(&str, Value)]) -> String {
    let ts = at.to_rfc3339_opts(SecondsFormat::Millis, true);
    match format {
        Format::Json => {
            let mut object = Map::new();
            object.insert("ts".into(), ts.into());
            object.insert("level".into(), level.as_str().to_ascii_lowercase().into());
            object.insert("event".into(), event.into());
            for (name, value) in fields {
                object.insert((*name).into(), value.clone());
            }
            Value::Object(object).to_string()
        }
        Format::Text => {
            let mut out = format!("{ts} {} {event}", level.as_str());
            for (name, value) in fields {
                out.push_str(&format!(" {name}={}", text_value(value)));
            }
            out
        }
    }
}

/// A field's value in a text line: bare if it is one plain word, else quoted as JSON.
fn text_value(value: &Value) -> String {
    match value {
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '=') => {
            s.clone()
        }
        other => other.to_string(),
    }
}

/// Writes one line at `level`.
pub fn write(level: Level, event: &str, fields: &[(&str, Value)]) {
    let format = FORMAT.get().copied().unwrap_or_default();
    let text = line(format, Utc::now(), level, event, fields);
    // One string per line, so lines of concurrent tasks never interleave (and through
    // `eprint!`, so a test's harness captures them with the test's output).
    eprint!("{}", text + "\n");
}

/// Writes an info line.
pub fn info(event: &str, fields: &[(&str, Value)]) {
    write(Level::Info, event, fields);
}

/// Writes a warning.
pub fn warn(event: &str, fields: &[(&str, Value)]) {
    write(Level::Warn, event, fields);
}

/// Writes an error.
pub fn error(event: &str, fields: &[(&str, Value)]) {
    write(Level::Error, event, fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_119_200, 5_000_000).expect("a time")
    }

    #[test]
    fn a_json_line_is_one_object_with_time_level_event_and_every_field_typed() {
        let text =
            line(Format::Json, at(), Level::Warn, "request", &[("status", json!(429)), ("path", json!("/a \"b\"\n"))]);
        assert!(!text.contains('\n'), "one line: {text}");
        let value: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            value,
            json!({"ts": "2026-12-01T10:00:00.005Z", "level": "warn", "event": "request", "status": 429,
                   "path": "/a \"b\"\n"})
        );
    }

    #[test]
    fn a_text_line_quotes_only_values_that_are_not_one_plain_word() {
        let fields = [("method", json!("PUT")), ("ms", json!(1.5)), ("error", json!("no such vehicle\nx"))];
        assert_eq!(
            line(Format::Text, at(), Level::Error, "request", &fields),
            "2026-12-01T10:00:00.005Z ERROR request method=PUT ms=1.5 error=\"no such vehicle\\nx\""
        );
        assert_eq!(text_value(&json!("")), "\"\"");
        assert_eq!(text_value(&json!("a=b")), "\"a=b\"");
    }

    #[test]
    fn the_format_is_named_in_the_configuration_in_lower_case() {
        assert_eq!(serde_json::from_value::<Format>(json!("json")).expect("a format"), Format::Json);
        assert_eq!(serde_json::to_value(Format::Text).expect("a name"), json!("text"));
        assert!(serde_json::from_value::<Format>(json!("xml")).is_err());
    }
}
