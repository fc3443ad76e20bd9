//! The `kektordb` server: parses flags and environment, starts one shard executor per
//! core and the HTTP API on them, then serves until killed.

use kektordb::config::{self, Command, USAGE};
use kektordb::{Engine, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match config::parse(&args, |k| std::env::var(k).ok()) {
        Ok(Command::Run(cfg)) => cfg,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return;
        }
        Ok(Command::Version) => {
            println!("kektordb {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(e) => {
            eprintln!("kektordb: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let engine = match Engine::open(Options {
        shards: cfg.shards,
        pin: cfg.pin,
    }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("kektordb: {e}");
            std::process::exit(1);
        }
    };
    match kektordb::http::serve(
        &engine,
        &cfg.http_addr,
        cfg.auth_token.clone(),
        cfg.body_bytes_max,
    ) {
        Ok(addr) => {
            eprintln!(
                "kektordb {} listening on http://{addr} ({} shards{}); data is kept in memory only: persistence is not available yet",
                env!("CARGO_PKG_VERSION"),
                engine.shards(),
                if cfg.auth_token.is_some() { ", bearer token required" } else { "" },
            );
        }
        Err(e) => {
            eprintln!("kektordb: {e}");
            std::process::exit(1);
        }
    }
    loop {
        std::thread::park();
    }
}
