//! The dashboard in a real browser: Debian's chromium, headless, driven by
//! playwright-core (both installed by `tests/ui/setup.sh`, npm packages into a
//! cache outside the repository), against two real servers with the built-in
//! embedder, one of them with `-auth-token`. `tests/ui/browser_test.js` seeds real
//! data through the API, runs a search in the debugger and checks the results on
//! the page, browses and inspects points, draws and expands the graph explorer,
//! shows a RAG pipeline's files and failures, signs in with a wrong and a right
//! token, and fails on any request to a non-local URL and on any JavaScript error.

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{command, Server};

const TOKEN: &str = "ui-test-token-7c1f";

/// Installs chromium and playwright-core when missing; returns the node cache.
pub fn setup(root: &Path) -> String {
    let out = Command::new("bash")
        .arg(root.join("tests/ui/setup.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run tests/ui/setup.sh");
    assert!(out.status.success(), "tests/ui/setup.sh failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .expect("setup.sh prints the node cache")
        .to_owned()
}

/// Runs `node script` with `env`, at most `limit`; returns (success, output).
pub fn node(script: &Path, env: &[(&str, String)], limit: Duration) -> (bool, String) {
    let mut cmd = Command::new("node");
    cmd.arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start node");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = reader.join().unwrap() + &err_reader.join().unwrap();
    match status {
        Some(st) => (st.success(), text),
        None => (false, format!("{text}\ntimed out after {limit:?}")),
    }
}

#[test]
fn the_dashboard_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = setup(root);
    let models = support::models_dir();
    let models = models.to_str().unwrap();
    // A watched folder: three notes and a file that cannot be parsed.
    let folder = std::env::temp_dir().join(format!("kektordb-ui-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(folder.join("notes")).unwrap();
    for (name, text) in [
        (
            "tea.md",
            "# Tea\n\nGreen tea is steeped at 80 degrees for two minutes.",
        ),
        (
            "bikes.md",
            "# Bikes\n\nOil the chain of the bicycle every month.",
        ),
        (
            "stars.md",
            "# Stars\n\nThe pole star stays still in the night sky.",
        ),
    ] {
        std::fs::write(folder.join("notes").join(name), text).unwrap();
    }
    std::fs::write(
        folder.join("notes/broken.pdf"),
        b"%PDF-1.4 not really a pdf",
    )
    .unwrap();
    let config = folder.join("vectorizers.yaml");
    std::fs::write(
        &config,
        format!(
            "vectorizers:\n  - name: notes\n    kektor_index: notes\n    schedule: 1h\n    source: {{path: {}}}\n",
            folder.join("notes").display()
        ),
    )
    .unwrap();
    let open = Server::spawn(command(&[
        "-embedder",
        "local",
        "-models-dir",
        models,
        "-vectorizers-config",
        config.to_str().unwrap(),
    ]));
    let locked = Server::spawn(command(&[
        "-embedder",
        "local",
        "-models-dir",
        models,
        "-auth-token",
        TOKEN,
    ]));
    let (ok, text) = node(
        &root.join("tests/ui/browser_test.js"),
        &[
            ("KEKTOR_UI_NODE", cache),
            ("KEKTOR_UI_URL", format!("http://{}", open.addr)),
            ("KEKTOR_UI_AUTH_URL", format!("http://{}", locked.addr)),
            ("KEKTOR_UI_TOKEN", TOKEN.to_owned()),
        ],
        Duration::from_secs(600),
    );
    let _ = std::fs::remove_dir_all(&folder);
    println!("{text}");
    assert!(ok, "browser checks failed:\n{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}
