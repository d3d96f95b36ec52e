//! The primary's configuration example in the README is one the primary accepts, with
//! every field the configuration has.

use client_std::primary::PrimaryConfig;

/// The JSON block that follows the README's `primary-config-example` marker.
fn readme_example() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let after = readme.split("<!-- primary-config-example").nth(1).expect("the README marks its example");
    let block = after.split("```json\n").nth(1).expect("a json block after the marker");
    block.split("\n```").next().unwrap().to_string()
}

#[test]
fn the_readme_primary_configuration_example_is_accepted() {
    let config: PrimaryConfig = serde_json::from_str(&readme_example()).unwrap();
    assert_eq!(config.secondaries.len(), 2);
    assert!(config.secondaries[1].full_verification);
    assert_eq!(config.own_image.activate.len(), 2);
    assert!(config.tls.client_cert.is_some() && config.tls.client_key.is_some() && config.tls.ca_bundle.is_some());
}

#[test]
fn the_readme_primary_configuration_example_names_every_field() {
    // Every leaf field of the example, so a field added to the configuration
    // without documenting it fails here (the configuration refuses unknown fields, so the
    // example cannot name fields that do not exist).
    let example: serde_json::Value = serde_json::from_str(&readme_example()).unwrap();
    let mut fields = Vec::new();
    collect(&example, "", &mut fields);
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for field in fields {
        let last = field.rsplit('.').next().unwrap();
        let explained = readme.contains(&format!("`{field}`")) || readme.contains(&format!("`{last}`"));
        assert!(explained, "the README's field table does not explain `{field}`");
    }
    let source = include_str!("../src/primary/config.rs");
    for declared in source.lines().filter_map(|l| l.trim().strip_prefix("pub ")).filter_map(|l| l.split_once(':')) {
        let name = declared.0.trim();
        if name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            assert!(example.to_string().contains(&format!("\"{name}\"")), "the README's example lacks `{name}`");
        }
    }
}

fn collect(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                let holds_objects = inner.as_array().is_some_and(|items| items.iter().any(|i| i.is_object()));
                if !inner.is_object() && !holds_objects {
                    out.push(path.clone());
                }
                collect(inner, &path, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, prefix, out)),
        _ => {}
    }
}
