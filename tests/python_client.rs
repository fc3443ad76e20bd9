//! Runs the upstream Python client (`kektordb-client` 0.6.2, installed by
//! `tests/python/run.sh` into a virtualenv under `target/`) against the real binary.

mod support;

#[test]
fn kektordb_client_0_6_2() {
    let s = support::Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/run.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .env("KEKTOR_TEST_ADDR", &s.addr)
        .output()
        .expect("run tests/python/run.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "python client tests failed:\n{text}");
    assert!(
        text.contains("9 passed"),
        "expected 9 passing client tests:\n{text}"
    );
}
