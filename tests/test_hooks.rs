//! Item 14: the test fault hooks are compiled only under the `test-faults` feature, so a
//! product build (`cargo build --release`) cannot be wedged or panicked from outside.

mod common;

use common::rust_files;
use std::path::Path;

const HOOKS: [&str; 4] = [
    "InjectPanic",
    "InjectWedge",
    "TestFault",
    "ALPHAHIVE_TEST_FAULT",
];
const GATE: &str = "#[cfg(feature = \"test-faults\")]";

/// Every mention of a hook outside `src/actors/test_faults.rs` sits on the line right after the
/// feature gate, and the module itself is declared under the gate.
#[test]
fn item14_fault_hooks_compile_only_under_the_test_faults_feature() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut ungated = Vec::new();
    for file in &files {
        if file.ends_with("test_faults.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let mentions =
                HOOKS.iter().any(|h| line.contains(h)) || line.contains("mod test_faults");
            if !mentions || line.trim_start().starts_with("//") {
                continue;
            }
            let gated = i > 0 && lines[i - 1].trim() == GATE;
            if !gated {
                ungated.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        ungated.is_empty(),
        "fault hooks outside the test-faults gate:\n{}",
        ungated.join("\n")
    );
    let actors = std::fs::read_to_string(src.join("actors").join("mod.rs")).expect("actors/mod.rs");
    assert!(
        actors.contains(&format!("{GATE}\npub mod test_faults;")),
        "src/actors/mod.rs declares test_faults under the gate"
    );
    // The feature exists and is not on by default.
    let manifest: toml::Table = toml::from_str(
        &std::fs::read_to_string(src.with_file_name("Cargo.toml")).expect("Cargo.toml"),
    )
    .expect("toml");
    let features = manifest.get("features").expect("[features]");
    assert!(features.get("test-faults").is_some());
    let default = features
        .get("default")
        .and_then(|d| d.as_array())
        .cloned()
        .unwrap_or_default();
    assert!(!default.iter().any(|f| f.as_str() == Some("test-faults")));
}
