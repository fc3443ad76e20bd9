//! Every limit of the `kektordb` crate (engine, front ends, edge) in one place, with
//! their relations asserted at compile time. The data plane's limits are in
//! `kektordb_shards::limits`; the HTTP defaults an operator can change are in
//! `http::HttpLimits`. Units last in names.

use std::time::Duration;

use kektordb_shards::limits::{BATCH_MAX, K_MAX};

// ---- engine: mailboxes and commits

/// Jobs queued per shard before senders wait (backpressure).
pub const MAILBOX_JOBS_MAX: usize = 4_096;
/// Most jobs run between two looks at the log pipeline.
pub const GROUP_JOBS_MAX: usize = 1_024;
/// Smallest io_uring buffer area glommio accepts, and the most an executor takes.
pub const IO_MEMORY_MIN_BYTES: usize = 512 * 1024;
pub const IO_MEMORY_MAX_BYTES: usize = 10 << 20;
/// How often a shard whose log write failed tries again.
pub const LOG_RETRY_INTERVAL: Duration = Duration::from_secs(1);

const _: () = assert!(GROUP_JOBS_MAX <= MAILBOX_JOBS_MAX);

// ---- engine: walks and search expansions

/// Deepest `max_depth` of extract-subgraph (upstream caps at 5).
pub const SUBGRAPH_DEPTH_MAX: usize = 5;
/// Most nodes one subgraph, traversal or reachable set holds.
pub const WALK_NODES_MAX: usize = 10_000;
/// Most segments in one traverse path, and the deepest find-path search.
pub const PATH_DEPTH_MAX: usize = 8;
/// Most results of search-nodes.
pub const SEARCH_NODES_MAX: usize = 10_000;
/// Most paths in one traverse (or one search's include_relations).
pub const PATHS_MAX: usize = 32;
/// Largest k when every result is expanded with its relations.
pub const RELATIONS_K_MAX: usize = 1_000;

const _: () = assert!(RELATIONS_K_MAX <= K_MAX);
const _: () = assert!(SUBGRAPH_DEPTH_MAX <= PATH_DEPTH_MAX);
const _: () = assert!(SEARCH_NODES_MAX <= BATCH_MAX);

// ---- engine: tasks and background maintenance

/// Tasks remembered; older ones are forgotten first.
pub const TASKS_MAX: usize = 1_000;
/// How often the scheduler looks at the indexes.
pub const SCHEDULER_TICK: Duration = Duration::from_secs(1);
/// Deleted ids whose edges are repaired per tick, per shard.
pub const REPAIRS_PER_TICK: usize = 1_000;
/// Largest refine batch a request may ask for.
pub const REFINE_BATCH_MAX: u32 = 100_000;

// ---- HTTP (the bounds an unauthenticated client meets; docs/design.md's threat
// model restates them)

/// Largest request head (request line and headers).
pub const HEAD_BYTES_MAX: usize = 16 * 1024;
/// Most headers in one request.
pub const HEADERS_MAX: usize = 64;
/// How much a head buffer grows per read.
pub const HEAD_READ_BYTES: usize = 1024;
/// Smallest and largest step a body buffer grows by per read (it grows by at most
/// the bytes already received, so memory follows the bytes a client really sent).
pub const BODY_READ_MIN_BYTES: usize = 4 * 1024;
pub const BODY_READ_MAX_BYTES: usize = 1 << 20;
/// Bytes per write call of a response.
pub const WRITE_CHUNK_BYTES: usize = 256 * 1024;
/// Average rate a body must arrive at, and a response be read at, after the grace.
pub const BODY_RATE_MIN_BYTES: u64 = 16 * 1024;
/// Time before the minimum rate applies.
pub const IO_GRACE: Duration = Duration::from_secs(10);
/// File descriptors kept back from connections (logs, snapshots, listeners, the
/// edge's outbound connections).
pub const FDS_RESERVED: u64 = 256;
/// Most executors of HTTP's own (`-http-executors`).
pub const HTTP_EXECUTORS_MAX: usize = 256;
/// How long an HTTP executor of its own polls for work before it sleeps. Such an
/// executor waits on the shards' answers; going to sleep costs it a
/// `membarrier` (an interrupt to every CPU running the process, the shards'
/// included) and costs the shard that answers an eventfd write to wake it. With
/// one shard on two cores these took a third of the shard's throughput over HTTP
/// (`benches/http.sh`: 6,434 rps sleeping at once, 9,539 polling 200 µs, against
/// 9,900 in-process). It polls only on the cores the shards leave free.
pub const HTTP_SPIN_BEFORE_PARK: std::time::Duration = std::time::Duration::from_micros(200);
/// Share of the remaining descriptors that connections may take.
pub const FDS_CONNECTIONS_PERCENT: u64 = 80;
/// Connection buffers larger than this are released after their request.
pub const IDLE_BUFFER_BYTES_MAX: usize = 64 * 1024;
/// A clean stop waits this long for requests in flight.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long and how much a connection closed early is drained (lingering close).
pub const LINGER: Duration = Duration::from_secs(1);
pub const LINGER_BYTES_MAX: usize = 256 * 1024;

const _: () = assert!(HEAD_READ_BYTES <= HEAD_BYTES_MAX);
const _: () = assert!(BODY_READ_MIN_BYTES <= BODY_READ_MAX_BYTES);
const _: () = assert!(HEAD_BYTES_MAX <= IDLE_BUFFER_BYTES_MAX);
const _: () = assert!(FDS_CONNECTIONS_PERCENT <= 100);

// ---- edge (outbound calls and CPU-heavy work)

/// CPU jobs (model inference) waiting at most.
pub const EDGE_CPU_QUEUE_MAX: usize = 256;
/// Largest answer an outbound call reads back.
pub const EDGE_RESPONSE_BYTES_MAX: usize = 64 << 20;
/// Outbound requests in flight per client.
pub const EDGE_IN_FLIGHT_MAX: usize = 64;

const _: () = assert!(FDS_RESERVED as usize >= EDGE_IN_FLIGHT_MAX);

// ---- embedders

/// Texts one request (add-batch without vectors) may ask to embed.
pub const EMBED_TEXTS_PER_REQUEST_MAX: usize = 4_096;
/// Texts per call to a remote embedder, and per job on the CPU pool.
pub const EMBED_BATCH_MAX: usize = 64;
/// Longest text handed to an embedder, in bytes (longer is an input error; the
/// local model truncates to its token window anyway).
pub const EMBED_TEXT_BYTES_MAX: usize = 1 << 20;
/// Attempts of a remote call that failed for a reason worth retrying.
pub const EMBED_ATTEMPTS_MAX: u32 = 3;
/// First backoff between attempts (doubled each time).
pub const EMBED_BACKOFF: Duration = Duration::from_millis(200);
/// Default timeout of one embedding call (upstream's vectorizer default).
pub const EMBED_TIMEOUT: Duration = Duration::from_secs(60);

const _: () = assert!(EMBED_BATCH_MAX <= EMBED_TEXTS_PER_REQUEST_MAX);
const _: () = assert!(EMBED_BATCH_MAX <= EDGE_CPU_QUEUE_MAX);

// ---- RAG pipeline

/// Vectorizers in one vectorizers.yaml (each has a thread).
pub const RAG_PIPELINES_MAX: usize = 64;
/// Files one pipeline takes from its folder; more are left out with an error.
pub const RAG_FILES_MAX: usize = 100_000;
/// Folder depth a scan descends.
pub const RAG_DEPTH_MAX: usize = 64;
/// Largest chunk_size (characters; a chunk's metadata must stay under 64 KiB).
pub const RAG_CHUNK_SIZE_MAX: usize = 8_000;
/// Chunks one file may give.
pub const RAG_CHUNKS_PER_FILE_MAX: usize = 20_000;
/// Chunks embedded per call.
pub const RAG_EMBED_GROUP: usize = 256;
/// Failed files a pipeline's status keeps with their reasons.
pub const RAG_FAILURES_KEPT: usize = 1_000;
/// Quiet time after a change before the watcher's scan starts.
pub const RAG_DEBOUNCE: Duration = Duration::from_millis(500);
/// Progress lines in the log of a long scan.
pub const RAG_PROGRESS_EVERY: Duration = Duration::from_secs(10);

const _: () = assert!(RAG_EMBED_GROUP <= EMBED_TEXTS_PER_REQUEST_MAX);
/// Entities kept from one document's extraction.
pub const RAG_ENTITIES_MAX: usize = 16;
/// Characters of a document shown to the entity model (upstream's 6000).
pub const RAG_ENTITY_PREVIEW_CHARS: usize = 6_000;
/// One entity-extraction call (upstream's LLM client timeout).
pub const RAG_LLM_TIMEOUT: Duration = Duration::from_secs(120);

// ---- proxy (src/proxy/; the defaults of the proxy.yaml keys that bound it)

/// Default largest request body the proxy reads (`max_body_bytes`).
pub const PROXY_BODY_BYTES_MAX: usize = 32 << 20;
/// Default most upstream connections open at once (`max_upstream_connections`);
/// more requests wait for one within `upstream_timeout`.
pub const PROXY_UPSTREAM_CONNECTIONS_MAX: usize = 256;
/// Client connections the proxy holds at once; more wait in the listen backlog.
pub const PROXY_CONNECTIONS_MAX: usize = 4_096;
/// Default wait for an upstream's answer head, and longest silence inside a
/// streamed answer (`upstream_timeout`; a non-streamed LLM answer comes whole).
pub const PROXY_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(300);
/// Default connect timeout to the upstream (`upstream_connect_timeout`).
pub const PROXY_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer the cache stores (bigger answers pass through uncached).
pub const PROXY_CACHE_RESPONSE_BYTES_MAX: usize = 4 << 20;
/// Most cache entries (`max_cache_items` cannot exceed it; 0 there means this).
pub const PROXY_CACHE_ITEMS_MAX: usize = 1_000_000;
/// Nearest cache entries looked at for a semantic hit.
pub const PROXY_CACHE_NEIGHBOURS: usize = 8;
/// Most deny-list patterns, and the compiled size of each.
pub const PROXY_DENY_PATTERNS_MAX: usize = 1_024;
pub const PROXY_REGEX_BYTES_MAX: usize = 1 << 20;
/// Largest rag_top_k.
pub const PROXY_RAG_TOP_K_MAX: usize = 100;
/// Characters of retrieved context injected at most.
pub const PROXY_RAG_CONTEXT_CHARS_MAX: usize = 64 * 1024;
/// A clean stop waits this long for proxied requests in flight.
pub const PROXY_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest request head the proxy's listener takes.
pub const PROXY_HEAD_TIMEOUT: Duration = Duration::from_secs(30);

const _: () = assert!(PROXY_CACHE_RESPONSE_BYTES_MAX <= kektordb_shards::limits::VALUE_BYTES_MAX);
const _: () = assert!(PROXY_CACHE_NEIGHBOURS <= K_MAX);
const _: () = assert!(PROXY_RAG_TOP_K_MAX <= RELATIONS_K_MAX);
const _: () = assert!(PROXY_UPSTREAM_CONNECTIONS_MAX <= PROXY_CONNECTIONS_MAX);

// ---- MCP server (src/mcp/)

/// Longest JSON-RPC line read from stdin; a longer one is answered -32600 and
/// skipped without being held in memory.
pub const MCP_LINE_BYTES_MAX: usize = 4 << 20;
/// Bytes of a too-long line kept to find its request id for the error answer.
pub const MCP_ID_SCAN_BYTES: usize = 4 * 1024;
/// Largest `content` of a memory (and text argument), in bytes: what is left of
/// the metadata limit holds the other fields of a memory.
pub const MCP_CONTENT_BYTES_MAX: usize = 48 * 1024;
/// Longest id, name or relation argument.
pub const MCP_NAME_BYTES_MAX: usize = kektordb_shards::limits::ID_BYTES_MAX;
/// Most results of one call (`limit`, `k`).
pub const MCP_RESULTS_MAX: usize = 100;
/// Largest token budget of recall_memory (a token counted as 4 characters).
pub const MCP_RECALL_TOKENS_MAX: usize = 100_000;
/// Most nodes extract_subgraph returns.
pub const MCP_SUBGRAPH_NODES_MAX: usize = 1_000;
/// Most links of one save_memory, and relations of one walk.
pub const MCP_LINKS_MAX: usize = 64;
/// Most ids of one reinforce_memory.
pub const MCP_IDS_MAX: usize = 1_000;
/// Most nodes list_vectors pages over (in exact id order) and end_session reads.
pub const MCP_SCAN_MAX: usize = SEARCH_NODES_MAX;
/// Memories quoted in a session summary, and characters of each.
pub const SESSION_SUMMARY_MEMORIES: usize = 10;
pub const SESSION_SUMMARY_CHARS: usize = 120;
/// Memories an ended session's summary reads at most.
pub const SESSION_SCAN_MAX: usize = SEARCH_NODES_MAX;

const _: () = assert!(MCP_ID_SCAN_BYTES <= MCP_LINE_BYTES_MAX);
const _: () =
    assert!(MCP_CONTENT_BYTES_MAX + 16 * 1024 <= kektordb_shards::limits::METADATA_BYTES_MAX);
const _: () = assert!(MCP_CONTENT_BYTES_MAX <= kektordb_shards::limits::QUERY_TEXT_BYTES_MAX);
const _: () = assert!(MCP_CONTENT_BYTES_MAX <= EMBED_TEXT_BYTES_MAX);
// recall_memory fetches twice its limit before reordering by layer.
const _: () = assert!(2 * MCP_RESULTS_MAX <= K_MAX);
const _: () = assert!(MCP_SUBGRAPH_NODES_MAX <= WALK_NODES_MAX);
const _: () = assert!(MCP_IDS_MAX <= kektordb_shards::limits::IDS_PER_REQUEST_MAX);
const _: () =
    assert!(SESSION_SUMMARY_MEMORIES * (SESSION_SUMMARY_CHARS + 8) < MCP_CONTENT_BYTES_MAX);

// ---- API keys

/// API keys listed at once (expired ones leave the list).
pub const API_KEYS_MAX: usize = 10_000;
/// Lifetime of a key when the request gives none (upstream's 90 days).
pub const API_KEY_DAYS_DEFAULT: u32 = 90;
/// Longest lifetime a key may ask for.
pub const API_KEY_DAYS_MAX: u32 = 3_650;

// ---- dashboard (ui/, src/http/handlers/ui/) and export pages

/// Most items of one export page (`Engine::export`, the dashboard's points view and
/// graph sample).
pub const EXPORT_PAGE_MAX: usize = 10_000;
/// Most nodes one `/ui/explore` returns (upstream's cap), and items of one points page.
pub const UI_EXPLORE_NODES_MAX: usize = 10_000;
pub const UI_POINTS_PAGE_MAX: usize = 1_000;
/// Nodes `/ui/explore` samples when the request gives no limit (upstream's default).
pub const UI_EXPLORE_NODES_DEFAULT: usize = 200;

const _: () = assert!(UI_EXPLORE_NODES_MAX <= EXPORT_PAGE_MAX);
const _: () = assert!(UI_POINTS_PAGE_MAX <= EXPORT_PAGE_MAX);
const _: () = assert!(UI_EXPLORE_NODES_DEFAULT <= UI_EXPLORE_NODES_MAX);
const _: () = assert!(UI_EXPLORE_NODES_MAX <= kektordb_shards::limits::IDS_PER_REQUEST_MAX);
