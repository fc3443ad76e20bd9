//! The `kektordb` server binary. The HTTP server is not built yet: rather than start
//! something that silently ignores requests, it explains what exists and exits with
//! status 2.

const NOT_YET: &str = "kektordb: the HTTP server is not available yet.
What exists today is the engine as a Rust library (crate `kektordb`, type `ShardSet`:
indexes, add/add-batch/get/delete, vector, filtered, text and hybrid search, KV) and
the ANN benchmark (see README.md, 'Benchmarks'). The server, persistence and the
proxy/RAG/MCP front ends are the next pieces of work.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-version") {
        println!("kektordb {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    eprintln!("{NOT_YET}");
    std::process::exit(2);
}
