//! Real clients through the AI proxy (`tests/proxy/run.sh`): the official
//! `openai` SDK and the `ollama` client, pinned in a virtualenv cached under
//! `~/.cache/kektordb/venvs/`,
//! against a scripted upstream and a real llama.cpp server (`xllamacpp`) with
//! SmolLM2-135M-Instruct.

#[test]
fn openai_and_ollama_clients_through_the_proxy() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/proxy/run.sh");
    let bin = std::env::var("KEKTOR_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kektordb").to_owned());
    let out = std::process::Command::new("bash")
        .arg(script)
        .env("KEKTOR_BIN", bin)
        .output()
        .expect("run tests/proxy/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "proxy client tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.contains(" I "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("14 passed, 0 failed"), "{stdout}");
}
