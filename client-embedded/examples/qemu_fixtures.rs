//! Writes the signed director metadata and images the QEMU test firmware
//! (`embedded/qemu-firmware`) installs: `cargo run -p client-embedded --example
//! qemu_fixtures -- OUT_DIR`. Run by `scripts/qemu-test`.

use std::path::PathBuf;

use chrono::DateTime;
use metadata_schemas::RoleName;
use metadata_schemas::json::{Object, Value};
use repo_simulator::RepoSim;

fn object(pairs: Vec<(&'static str, Value<'static>)>) -> Value<'static> {
    let mut o = Object::new();
    for (k, v) in pairs {
        o.insert(k, v);
    }
    Value::Object(o)
}

fn custom(ecu: &str, hw: &str, counter: u64) -> Value<'static> {
    object(vec![
        ("ecu_identifier", Value::string(ecu.to_string())),
        ("hardware_identifier", Value::string(hw.to_string())),
        ("release_counter", Value::unsigned(counter)),
    ])
}

/// An image of `len` bytes that differs per version.
fn image(version: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(13).wrapping_add(version)).collect()
}

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: qemu_fixtures OUT_DIR"));
    std::fs::create_dir_all(&out).unwrap();
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let now = DateTime::from_timestamp(since_epoch.as_secs() as i64, 0).unwrap();
    let mut sim = RepoSim::new(now);
    let role = RoleName::targets();
    sim.targets.get_mut(&role).unwrap().unknown.0.insert("custom", object(vec![("vin", Value::string("VIN0001"))]));
    let write = |name: &str, bytes: &[u8]| std::fs::write(out.join(name), bytes).unwrap();
    // The root names an offline-updates key: the recovery path takes image v3 from a bundle.
    let offline = sim.add_offline_key();
    write("root.json", &sim.file("1.root.json"));
    write("factory.bin", &image(1, 12_000));
    let targets_file = |sim: &RepoSim| {
        let version = sim.targets[&role].common.version;
        sim.file(&role.versioned_file_name(version))
    };
    for (n, ecus) in [(2u8, 1usize), (3, 20)] {
        let bytes = image(n, 20_000 + usize::from(n) * 1000);
        sim.targets.get_mut(&role).unwrap().targets.clear();
        sim.add_target(
            &role,
            &format!("brake/fw-{n}.bin"),
            &bytes,
            Some(custom("brake-ecu-1", "brake-hw-a", n.into())),
        );
        for other in 1..ecus {
            let content = image(100 + other as u8, 64);
            sim.add_target(
                &role,
                &format!("ecu-{other}/fw.bin"),
                &content,
                Some(custom(&format!("ecu-{other}"), "hw-x", 1)),
            );
        }
        sim.touch(&role);
        sim.publish();
        write(&format!("targets-v{n}.json"), &targets_file(&sim));
        write(&format!("image-v{n}.bin"), &bytes);
        if n == 3 {
            let spec = repo_simulator::offline::OfflineSpec::new(now, "brake/fw-3.bin", &bytes, "brake-hw-a", 3);
            let (snapshot, targets) = spec.sign(&offline);
            write("offline-snapshot-v3.json", &snapshot);
            write("offline-targets-v3.json", &targets);
        }
    }
    write("now.txt", now.timestamp().to_string().as_bytes());
    println!("fixtures in {}", out.display());
}
