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
        data_dir: cfg.data_dir.clone().map(Into::into),
        fsync: cfg.fsync,
        skip_corrupt: cfg.skip_corrupt,
        log_direct: cfg.log_direct,
        compact: kektordb::engine::CompactPolicy {
            save: cfg
                .save
                .map(|(secs, changes)| (std::time::Duration::from_secs(secs), changes)),
            rewrite_percentage: cfg.rewrite_percentage,
        },
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
            let storage = match &cfg.data_dir {
                Some(dir) => {
                    let records: usize = engine.recovery().iter().map(|r| r.records).sum();
                    let torn: u64 = engine.recovery().iter().map(|r| r.truncated_bytes).sum();
                    let skipped: usize = engine.recovery().iter().map(|r| r.skipped.len()).sum();
                    let nodes: usize = engine.recovery().iter().map(|r| r.snapshot_nodes).sum();
                    format!(
                        "data in {dir} (fsync {:?}; loaded {nodes} nodes from snapshots, replayed {records} records, truncated {torn} torn bytes, skipped {skipped} corrupt regions)",
                        cfg.fsync
                    )
                }
                None => "in memory only: nothing survives a restart".to_owned(),
            };
            eprintln!(
                "kektordb {} listening on http://{addr} ({} shards{}); {storage}",
                env!("CARGO_PKG_VERSION"),
                engine.shards(),
                if cfg.auth_token.is_some() {
                    ", bearer token required"
                } else {
                    ""
                },
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
