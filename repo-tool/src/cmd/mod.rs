//! One module per subcommand; each has its arguments and a `run`.

pub mod agent;
pub mod audit;
pub mod bins;
pub mod bundle;
pub mod decommission;
pub mod delegate;
pub mod init;
pub mod key;
pub mod lifecycle;
pub mod merge;
pub mod propose;
pub mod publish;
pub mod refresh;
pub mod rotate;
pub mod sbom;
pub mod show;
pub mod sign;
pub mod status;
pub mod targets;
pub mod verify;

use metadata_schemas::json::{self, Value};

/// Where results go: lines for people, or one JSON document with `--json`.
pub struct Output {
    json: bool,
}

impl Output {
    /// Output in the chosen mode.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// A line for people (suppressed with `--json`).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            print_line(text.as_ref());
        }
    }

    /// The machine-readable result (printed only with `--json`).
    pub fn result(&self, value: Value<'_>) {
        if self.json {
            print_line(&String::from_utf8_lossy(&json::to_pretty(&value)));
        }
    }
}

/// Writes a line to stdout; a reader that went away (`| head`) is not an error.
pub fn print_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Builds a JSON object from pairs.
pub fn object<'a>(pairs: impl IntoIterator<Item = (&'static str, Value<'a>)>) -> Value<'a> {
    let mut o = json::Object::new();
    for (k, v) in pairs {
        o.insert(k, v);
    }
    Value::Object(o)
}

/// Splits `ROLE=VALUE` arguments.
pub fn role_value(text: &str) -> Result<(String, String), repo_tool::Error> {
    let (role, value) = text
        .split_once('=')
        .ok_or_else(|| repo_tool::Error::Usage(format!("{text:?}: expected ROLE=VALUE, e.g. root=keys/root.pem")))?;
    Ok((role.to_string(), value.to_string()))
}
