//! Every limit of the data plane in one place, with their relations asserted at
//! compile time (among them: the largest op fits one log record). Units last in
//! names.

use kektordb_io::record::RECORD_BYTES_MAX;

/// Largest vector dimension an index accepts.
pub const DIM_MAX: usize = 65_536;
/// Largest `k` a search accepts.
pub const K_MAX: usize = 10_000;
/// Largest `ef_search` a search accepts.
pub const EF_SEARCH_MAX: usize = 100_000;
/// Most vectors in one add-batch or import call.
pub const BATCH_MAX: usize = 50_000;
/// Largest HNSW `m`.
pub const M_MAX: usize = 128;
/// Largest HNSW `ef_construction`.
pub const EF_CONSTRUCTION_MAX: usize = 4_096;
/// Longest index name in bytes.
pub const INDEX_NAME_BYTES_MAX: usize = 256;
/// Longest vector id in bytes.
pub const ID_BYTES_MAX: usize = 1_024;
/// Largest |x| of a vector value: at `DIM_MAX` dimensions every squared distance,
/// dot product and norm computed in float32 stays finite (checked below).
pub const VALUE_ABS_MAX: f32 = 1e15;
/// Largest |x| a float16 index stores (IEEE half's largest finite value); cosine
/// indexes store normalized rows, so only the other metrics are bound by it.
pub const F16_ABS_MAX: f32 = 65_504.0;
/// Largest metadata object, measured as its JSON encoding, in bytes.
pub const METADATA_BYTES_MAX: usize = 64 * 1024;
/// Longest KV key in bytes.
pub const KEY_BYTES_MAX: usize = 4 * 1024;
/// Largest KV value in bytes.
pub const VALUE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Longest filter expression in bytes.
pub const FILTER_BYTES_MAX: usize = 16 * 1024;
/// Deepest nesting of parentheses / NOT in a filter.
pub const FILTER_DEPTH_MAX: usize = 64;
/// Most values in one `IN (...)` list.
pub const FILTER_IN_VALUES_MAX: usize = 1_024;
/// Longest `query_text` in bytes.
pub const QUERY_TEXT_BYTES_MAX: usize = 64 * 1024;
/// Most HNSW layers (levels above 0 are drawn with probability 1/m per level).
pub const HNSW_LEVEL_MAX: usize = 16;
/// Nodes whose insertion searches run at once in a batch insertion
/// (`Hnsw::link_batch`): each holds its candidate lists until its chunk is linked.
pub const LINK_CHUNK_MAX: usize = 256;
/// Smallest float32 batch whose insertion searches run on int8 codes built for it
/// (`Hnsw::link_batch`; also only when the batch is at least 1/64 of the rows,
/// since the codes cost a pass over every row, and dim + 4 bytes per row while the
/// batch links).
pub const GUIDED_BATCH_MIN: usize = 1_000;
/// Vectors sampled to train int8 quantization, at most.
pub const QUANT_TRAIN_SAMPLE_MAX: usize = 25_000;

const _: () = assert!(K_MAX <= EF_SEARCH_MAX);
const _: () = assert!(BATCH_MAX <= u32::MAX as usize);
const _: () = assert!(
    DIM_MAX * 127 * 127 <= i32::MAX as usize,
    "int8 dot must fit i32"
);
const _: () = assert!(
    DIM_MAX * 254 * 254 <= u32::MAX as usize,
    "int8 l2 must fit u32"
);
const _: () = assert!(
    DIM_MAX as f32 * (2.0 * VALUE_ABS_MAX) * (2.0 * VALUE_ABS_MAX) < f32::MAX / 2.0,
    "squared L2 at the limits must stay finite"
);
/// Most node slots (live, deleted and entities) in one index part on one shard; graph
/// searches use bit 31 of a node id as a flag.
pub const NODES_PER_PART_MAX: usize = (1 << 31) - 1;

/// Longest relation name in bytes.
pub const RELATION_BYTES_MAX: usize = 256;
/// Most properties on one edge.
pub const EDGE_PROPS_MAX: usize = 64;
/// Largest properties object of one edge, measured as its JSON encoding (the same
/// bound as item metadata).
pub const EDGE_PROPS_BYTES_MAX: usize = METADATA_BYTES_MAX;
/// Longest property name (edges and nodes), in bytes.
pub const PROP_NAME_BYTES_MAX: usize = 128;
/// Most versions (create/delete cycles) kept for one (source, relation, target).
pub const EDGE_VERSIONS_MAX: usize = 1_024;
/// Most terms kept from one text; the rest of the text is ignored.
pub const TOKENS_PER_DOC_MAX: usize = 100_000;
/// Longest token kept, in bytes after lowercasing; longer tokens are skipped.
pub const TOKEN_BYTES_MAX: usize = 64;
/// Most auto-link rules on one index.
pub const AUTO_LINK_RULES_MAX: usize = 32;
/// Ids per `RepairPending` op a snapshot writes (the queue is chunked so each op
/// stays far below a log record's limit).
pub const REPAIR_IDS_PER_OP: usize = 10_000;
/// Most ids one reinforce (and one get-vectors) names: a batch.
pub const IDS_PER_REQUEST_MAX: usize = BATCH_MAX;

/// Bytes of the largest op at these limits, as encoded (`op/codec.rs`): lengths are
/// u32 prefixes, JSON is bounded by the byte limits above; 1 KiB covers the fixed
/// fields and the JSON of a config with its rules.
pub const OP_BYTES_MAX: usize = {
    let fixed = 1024;
    let upsert = INDEX_NAME_BYTES_MAX + ID_BYTES_MAX + 4 * DIM_MAX + METADATA_BYTES_MAX;
    let kv = KEY_BYTES_MAX + VALUE_BYTES_MAX;
    let link = 2 * ID_BYTES_MAX + RELATION_BYTES_MAX + EDGE_PROPS_BYTES_MAX;
    let reinforce = IDS_PER_REQUEST_MAX * (ID_BYTES_MAX + 4);
    let repairs = REPAIR_IDS_PER_OP * (ID_BYTES_MAX + 4);
    let mut max = upsert;
    if kv > max {
        max = kv;
    }
    if link > max {
        max = link;
    }
    if reinforce > max {
        max = reinforce;
    }
    if repairs > max {
        max = repairs;
    }
    max + fixed
};
const _: () = assert!(
    OP_BYTES_MAX <= RECORD_BYTES_MAX,
    "the largest op fits one log record"
);
