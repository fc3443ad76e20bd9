//! The HTTP API of the spec (KektorDB's routes and JSON), served on the shard
//! executors: `request.rs` reads requests (`limits.rs` bounds them, `conn.rs`
//! tracks connections), `auth.rs` checks the token, `routes.rs` maps them to `handlers/`,
//! `errors.rs` decides every status, `metrics.rs` keeps Prometheus figures.

pub mod auth;
pub mod conn;
pub mod dispatch;
pub mod errors;
pub mod executors;
pub mod handlers;
pub mod limits;
pub mod metrics;
pub mod policy;
pub mod request;
pub mod response;
pub mod routes;
pub mod server;
pub mod state;
pub mod url;

pub use limits::HttpLimits;
pub use server::{serve, HttpServer};
