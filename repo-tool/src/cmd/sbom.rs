//! SBOMs beside the images they describe: each a signed target of its own (`PATH.cdx.json`
//! or `PATH.spdx.json`), named in the image's `custom.sbom` with its format, length and
//! hashes, so a client or an assessor can fetch it and check it came from the repository.

use std::path::PathBuf;

use metadata_schemas::json::{self, Object, Value};
use metadata_schemas::{Encode, RoleName, TargetFile, TargetPath};
use repo_tool::Error;
use repo_tool::store::{ContentStore, Stored};

/// An SBOM's format, read from its content: `cyclonedx-json-<specVersion>` or
/// `spdx-json-<version>`; `None` for neither.
pub fn format_of(bytes: &[u8]) -> Option<(String, &'static str)> {
    let value = json::parse(bytes).ok()?;
    let object = value.as_object()?;
    if object.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let version = object.get("specVersion").and_then(Value::as_str)?;
        return Some((format!("cyclonedx-json-{version}"), "cdx"));
    }
    let version = object.get("spdxVersion").and_then(Value::as_str)?.strip_prefix("SPDX-")?;
    Some((format!("spdx-json-{version}"), "spdx"))
}

/// Stores each SBOM in `sboms` as a target beside the single image in `entries`, and
/// names them in its `custom.sbom`; what was stored is added to `stored` (to discard it
/// if the command fails).
pub fn attach(
    store: &ContentStore,
    entries: &mut Vec<(RoleName, TargetPath, TargetFile)>,
    sboms: &[PathBuf],
    stored: &mut Vec<Stored>,
) -> Result<(), Error> {
    if sboms.is_empty() {
        return Ok(());
    }
    if entries.len() != 1 {
        return Err(Error::Usage(format!("--sbom describes one image; this adds {}", entries.len())));
    }
    let (role, image, _) = entries[0].clone();
    let mut listed = Vec::new();
    for (n, file) in sboms.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        let (format, kind) = format_of(&bytes).ok_or_else(|| {
            Error::Usage(format!(
                "{}: not a CycloneDX or SPDX JSON document (bomFormat/specVersion or spdxVersion)",
                file.display()
            ))
        })?;
        let suffix = if n == 0 { String::new() } else { format!(".{n}") };
        let path = TargetPath::new(format!("{}{suffix}.{kind}.json", image.as_str()));
        let item = store.add_bytes(&bytes)?;
        let mut entry = TargetFile::new(item.length, item.hashes.clone());
        let mut marker = Object::new();
        marker.insert("sbom_of", Value::string(image.as_str().to_string()));
        entry.custom = Some(Value::Object(marker));
        let mut named = Object::new();
        named.insert("filename", Value::string(path.as_str().to_string()));
        named.insert("format", Value::string(format));
        named.insert("length", Value::unsigned(item.length));
        named.insert("hashes", item.hashes.encode().to_owned_value());
        listed.push(Value::Object(named));
        stored.push(item);
        entries.push((role.clone(), path, entry));
    }
    let custom = entries[0].2.custom.get_or_insert_with(|| Value::Object(Object::new()));
    if let Value::Object(object) = custom {
        object.insert("sbom", Value::Array(listed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sboms_format_is_read_from_its_content_and_anything_else_is_refused() {
        let cdx = br#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#;
        assert_eq!(format_of(cdx), Some(("cyclonedx-json-1.6".into(), "cdx")));
        let spdx = br#"{"spdxVersion":"SPDX-2.3","packages":[]}"#;
        assert_eq!(format_of(spdx), Some(("spdx-json-2.3".into(), "spdx")));
        assert_eq!(format_of(br#"{"bomFormat":"CycloneDX"}"#), None, "no version");
        assert_eq!(format_of(b"not json"), None);
        assert_eq!(format_of(br#"{"name":"x"}"#), None);
    }
}
