//! Index settings as users write them (upstream's create body and config route;
//! the same shapes serve YAML configs and MCP tools): metric, precision and
//! language by name, durations as Go strings or nanoseconds, maintenance as a
//! patch whose unknown keys are refused. [`IndexSpec::into_config`] turns a spec into
//! a validated [`IndexConfig`].

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::config::{AutoLinkRule, IndexConfig, MaintenanceConfig, MemoryConfig};
use crate::error::{Result, ShardError};
use crate::metric::{Metric, Precision};
use crate::text::TextLanguage;

/// A duration: a Go-style string (`"30s"`, `"1h30m"`) or whole nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoDuration(pub i64);

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration like \"5m\" or whole nanoseconds")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<GoDuration, E> {
                crate::duration::parse_nanos(s)
                    .map(GoDuration)
                    .map_err(|e| E::custom(e.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<GoDuration, E> {
                Ok(GoDuration(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<GoDuration, E> {
                i64::try_from(n)
                    .map(GoDuration)
                    .map_err(|_| E::custom("duration too large"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Changes to an index's maintenance configuration: every key optional; an unknown
/// key is an error that names it ("unknown maintenance setting 'x'").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MaintenancePatch {
    pub vacuum_interval: Option<GoDuration>,
    pub delete_threshold: Option<f64>,
    pub refine_enabled: Option<bool>,
    pub refine_interval: Option<GoDuration>,
    pub refine_batch_size: Option<u32>,
    pub refine_ef_construction: Option<u32>,
    pub graph_vacuum_interval: Option<GoDuration>,
    pub graph_retention: Option<GoDuration>,
}

/// The keys of a [`MaintenancePatch`].
pub const MAINTENANCE_KEYS: [&str; 8] = [
    "vacuum_interval",
    "delete_threshold",
    "refine_enabled",
    "refine_interval",
    "refine_batch_size",
    "refine_ef_construction",
    "graph_vacuum_interval",
    "graph_retention",
];

impl<'de> Deserialize<'de> for MaintenancePatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde_json::Value;
        let map = serde_json::Map::<String, Value>::deserialize(d)?;
        let mut p = MaintenancePatch::default();
        fn field<T: serde::de::DeserializeOwned, E: de::Error>(
            key: &str,
            v: Value,
        ) -> std::result::Result<Option<T>, E> {
            serde_json::from_value(v).map_err(|e| E::custom(format!("{key}: {e}")))
        }
        for (key, v) in map {
            match key.as_str() {
                "vacuum_interval" => p.vacuum_interval = field(&key, v)?,
                "delete_threshold" => p.delete_threshold = field(&key, v)?,
                "refine_enabled" => p.refine_enabled = field(&key, v)?,
                "refine_interval" => p.refine_interval = field(&key, v)?,
                "refine_batch_size" => p.refine_batch_size = field(&key, v)?,
                "refine_ef_construction" => p.refine_ef_construction = field(&key, v)?,
                "graph_vacuum_interval" => p.graph_vacuum_interval = field(&key, v)?,
                "graph_retention" => p.graph_retention = field(&key, v)?,
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown maintenance setting '{other}' (known: {})",
                        MAINTENANCE_KEYS.join(", ")
                    )))
                }
            }
        }
        Ok(p)
    }
}

impl MaintenanceConfig {
    /// This configuration with `patch` applied, validated.
    pub fn merged(mut self, patch: &MaintenancePatch) -> Result<MaintenanceConfig> {
        let p = patch;
        let set = |slot: &mut i64, v: Option<GoDuration>| {
            if let Some(GoDuration(ns)) = v {
                *slot = ns;
            }
        };
        set(&mut self.vacuum_interval_ns, p.vacuum_interval);
        set(&mut self.refine_interval_ns, p.refine_interval);
        set(&mut self.graph_vacuum_interval_ns, p.graph_vacuum_interval);
        set(&mut self.graph_retention_ns, p.graph_retention);
        if let Some(t) = p.delete_threshold {
            self.delete_threshold = t;
        }
        if let Some(b) = p.refine_enabled {
            self.refine_enabled = b;
        }
        if let Some(n) = p.refine_batch_size {
            self.refine_batch_size = n;
        }
        if let Some(ef) = p.refine_ef_construction {
            self.refine_ef_construction = ef;
        }
        self.validate()?;
        Ok(self)
    }
}

fn yes() -> bool {
    true
}

/// `memory_config`: `{"enabled": true, "decay_half_life": "24h"}` (other upstream
/// keys such as `decay_model` are accepted and ignored: exponential decay is the
/// one model).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct MemorySpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    pub decay_half_life: Option<GoDuration>,
}

/// The half-life when `memory_config` gives none.
pub const DECAY_HALF_LIFE_DEFAULT_NS: i64 = 24 * 3_600 * 1_000_000_000;

impl MemorySpec {
    pub fn into_config(self) -> Result<MemoryConfig> {
        let half_life = self
            .decay_half_life
            .map_or(DECAY_HALF_LIFE_DEFAULT_NS, |d| d.0);
        if half_life <= 0 {
            return Err(ShardError::invalid(
                "decay_half_life",
                "must be a positive duration",
            ));
        }
        Ok(MemoryConfig {
            enabled: self.enabled,
            decay_half_life_ns: half_life,
        })
    }
}

/// A new index as the create body describes it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct IndexSpec {
    pub index_name: String,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub precision: String,
    #[serde(default)]
    pub m: usize,
    #[serde(default)]
    pub ef_construction: usize,
    #[serde(default)]
    pub text_language: String,
    #[serde(default)]
    pub maintenance: Option<MaintenancePatch>,
    #[serde(default)]
    pub auto_links: Option<Vec<AutoLinkRule>>,
    #[serde(default)]
    pub memory_config: Option<MemorySpec>,
}

impl IndexSpec {
    /// The validated configuration (names parsed, defaults filled in).
    pub fn into_config(self) -> Result<IndexConfig> {
        let mut cfg = IndexConfig::new(&self.index_name);
        cfg.metric = Metric::parse(&self.metric).ok_or_else(|| {
            ShardError::invalid(
                "metric",
                format!("unknown metric '{}' (euclidean, cosine, dot)", self.metric),
            )
        })?;
        cfg.precision = Precision::parse(&self.precision).ok_or_else(|| {
            ShardError::invalid(
                "precision",
                format!(
                    "unknown precision '{}' (float32, float16, int8)",
                    self.precision
                ),
            )
        })?;
        cfg.text_language = TextLanguage::parse(&self.text_language).ok_or_else(|| {
            ShardError::invalid(
                "text_language",
                format!(
                    "unknown text_language '{}' (english, italian or empty)",
                    self.text_language
                ),
            )
        })?;
        if let Some(rules) = self.auto_links {
            cfg.auto_links = rules;
        }
        if let Some(patch) = &self.maintenance {
            cfg.maintenance = cfg.maintenance.merged(patch)?;
        }
        if let Some(mem) = self.memory_config {
            cfg.memory = Some(mem.into_config()?);
        }
        cfg.m = self.m;
        cfg.ef_construction = self.ef_construction;
        cfg.validated()
    }
}

impl IndexConfig {
    /// The search breadth of a refine: `requested`, else the maintenance setting,
    /// else the larger of the index's ef_construction and 200; at most the limit.
    pub fn refine_ef(&self, requested: Option<u32>) -> u32 {
        let configured = Some(self.maintenance.refine_ef_construction).filter(|ef| *ef > 0);
        requested
            .or(configured)
            .unwrap_or((self.ef_construction as u32).max(200))
            .min(crate::limits::EF_CONSTRUCTION_MAX as u32)
    }
}

#[cfg(test)]
mod tests {
    //! The user-facing shapes: names, durations in both spellings, unknown keys.
    use super::*;

    fn spec(json: &str) -> Result<IndexConfig> {
        serde_json::from_str::<IndexSpec>(json)
            .map_err(|e| ShardError::invalid("body", e.to_string()))?
            .into_config()
    }

    #[test]
    fn specs_parse_and_validate() {
        let c = spec(r#"{"index_name":"a","metric":"cosine","precision":"int8","text_language":"english","maintenance":{"vacuum_interval":"90s","graph_retention":3600000000000},"memory_config":{"enabled":true,"decay_half_life":"1h","decay_model":"exponential"}}"#).unwrap();
        assert_eq!(c.metric, Metric::Cosine);
        assert_eq!(c.maintenance.vacuum_interval_ns, 90_000_000_000);
        assert_eq!(c.maintenance.graph_retention_ns, 3_600_000_000_000);
        assert_eq!(c.memory.unwrap().decay_half_life_ns, 3_600_000_000_000);
        assert_eq!((c.m, c.ef_construction), (16, 200));
        assert!(spec(r#"{"index_name":"a","metric":"manhattan"}"#).is_err());
        assert!(
            spec(r#"{"index_name":"a","maintenance":{"vacuum_every":"5m"}}"#)
                .unwrap_err()
                .to_string()
                .contains("vacuum_every")
        );
        assert!(spec(r#"{"index_name":"a","maintenance":{"graph_retention":-5}}"#).is_err());
        assert!(spec(r#"{"index_name":"a","maintenance":{"vacuum_interval":"5x"}}"#).is_err());
        assert!(spec(r#"{"index_name":"a","memory_config":{"decay_half_life":"0s"}}"#).is_err());
        assert!(spec(r#"{"index_name":"a","auto_links":[{"metadata_field":"p"}]}"#).is_err());
    }

    #[test]
    fn patches_merge_and_refine_ef() {
        let base = MaintenanceConfig::default();
        let p: MaintenancePatch =
            serde_json::from_str(r#"{"refine_enabled":true,"refine_interval":"10m"}"#).unwrap();
        let m = base.merged(&p).unwrap();
        assert!(m.refine_enabled);
        assert_eq!(m.refine_interval_ns, 600_000_000_000);
        assert_eq!(m.vacuum_interval_ns, base.vacuum_interval_ns);
        let mut c = IndexConfig::new("x");
        assert_eq!(c.refine_ef(None), 200);
        c.ef_construction = 400;
        assert_eq!(c.refine_ef(None), 400);
        c.maintenance.refine_ef_construction = 300;
        assert_eq!(c.refine_ef(None), 300);
        assert_eq!(c.refine_ef(Some(100_000)), 4096);
    }
}
