//! The official MCP Python SDK (`mcp` from PyPI) as the client: a 1.x release
//! (handshake era, 2025-03-26) and the current 2.x (its `auto` mode probes
//! `server/discover` first and falls back to `initialize` on -32601), installed by
//! `tests/mcp/run.sh` into virtualenvs under `target/`, each listing and calling
//! every tool of the real binary with the real local model over stdio.

mod support;

fn run_sdk(version: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/run.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(version)
        .env("KEKTOR_TEST_BIN", support::binary())
        .env("KEKTOR_MODELS_DIR", support::models_dir())
        .output()
        .expect("run tests/mcp/run.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "mcp {version} client failed:\n{text}");
    assert!(
        text.contains(&format!("mcp SDK {version}: ")) && text.contains(" passed, 0 failed"),
        "no summary from the mcp {version} client:\n{text}"
    );
    assert!(text.contains("negotiated 20"), "{text}");
}

#[test]
fn python_sdk_1_9_4() {
    run_sdk("1.9.4");
}

#[test]
fn python_sdk_2_3_0() {
    run_sdk("2.3.0");
}

/// The MCP Inspector's CLI (npm, through `tests/mcp/inspector.sh`): lists the tools,
/// saves a memory and recalls it, each call a new server process on one directory.
#[test]
fn inspector_cli_2_12_0() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp/inspector.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .env("KEKTOR_TEST_BIN", support::binary())
        .env("KEKTOR_MODELS_DIR", support::models_dir())
        .output()
        .expect("run tests/mcp/inspector.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "inspector failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: Vec<serde_json::Value> = text
        .split("\n----\n")
        .map(|p| serde_json::from_str(p).unwrap_or_else(|e| panic!("not JSON ({e}): {p}")))
        .collect();
    assert_eq!(parts.len(), 3, "{text}");
    assert_eq!(
        parts[0]["tools"].as_array().map(Vec::len),
        Some(18),
        "{text}"
    );
    let saved = &parts[1]["structuredContent"];
    assert_eq!(saved["status"], "saved", "{text}");
    let recalled = &parts[2]["structuredContent"]["memories"][0];
    assert_eq!(recalled["id"], saved["memory_id"], "{text}");
    assert!(recalled["content"]
        .as_str()
        .unwrap_or("")
        .contains("otters"));
}
