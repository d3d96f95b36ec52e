//! Puts memory.x where the linker finds it, and the fixtures directory into the build.
//! With the `littlefs` feature, links newlib's C library and libgcc for what littlefs's
//! C code calls (strchr, strspn, __popcountsi2), as a C firmware's link does.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-env-changed=FIXTURES");
    if std::env::var_os("CARGO_FEATURE_LITTLEFS").is_some() {
        for (flag, lib) in [("-print-file-name=libc.a", "c"), ("-print-libgcc-file-name", "gcc")] {
            let path = gcc_file(flag);
            println!("cargo:rustc-link-search=native={}", path.parent().unwrap().display());
            // After every object and rlib: the linker resolves static libraries in order.
            println!("cargo:rustc-link-arg-bins=-l{lib}");
        }
    }
}

/// Where arm-none-eabi-gcc keeps a library for a Cortex-M4F with hardware floats.
fn gcc_file(flag: &str) -> PathBuf {
    let output = Command::new("arm-none-eabi-gcc")
        .args(["-mthumb", "-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", flag])
        .output()
        .expect("arm-none-eabi-gcc (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi) for the littlefs feature");
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(Path::new(&path).is_file(), "arm-none-eabi-gcc {flag}: {} is not there", path.display());
    path
}
