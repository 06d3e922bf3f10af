//! Compiles every crate of the `plugins/` workspace into a wasm32-wasip2 component, then
//! writes one path constant per component (`NORMALIZE_INPUT`, `INFINITE_LOOP`, …) so a test
//! names what it loads instead of spelling a path.
//!
//! The components build into `target/plugins` (their own target dir: the outer build holds
//! the lock on `target/debug`).

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.join("../..").canonicalize().unwrap();
    let plugins = root.join("plugins");
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("plugins");

    println!("cargo:rerun-if-changed={}", plugins.display());
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        "wasm32-wasip2",
        "--manifest-path",
    ])
    .arg(plugins.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir);
    // The outer build's flags are for the host, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo to build plugins/");
    if !status.success() {
        panic!(
            "building plugins/ for wasm32-wasip2 failed; is the target installed? \
             (`rustup target add wasm32-wasip2`, which ./test.sh runs)"
        );
    }

    let out_dir = target_dir.join("wasm32-wasip2/release");
    let mut constants = String::new();
    for member in members(&plugins) {
        let file = member.replace('-', "_");
        let wasm = out_dir.join(format!("{file}.wasm"));
        if !wasm.exists() {
            continue;
        }
        constants.push_str(&format!(
            "/// `plugins/…/{member}` compiled to a component.\npub const {}: &str = {:?};\n",
            file.to_uppercase(),
            wasm.display().to_string()
        ));
    }
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("components.rs");
    std::fs::write(dest, constants).unwrap();
}

/// The package names of the cdylib crates under plugins/examples and plugins/fixtures.
fn members(plugins: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for group in ["examples", "fixtures"] {
        let Ok(entries) = std::fs::read_dir(plugins.join(group)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().join("Cargo.toml").exists() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names
}
