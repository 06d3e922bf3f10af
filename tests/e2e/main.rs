//! End-to-end tests: the real server on `127.0.0.1:0`, real webhook receivers on loopback,
//! real SQLite files, and the real `switchboard` binary where a test is about the process.
//!
//! One binary, a module per area, shared helpers in [`utils`]; every response a helper
//! receives is checked against the OpenAPI document ([`responses`]).

mod responses;
mod utils;

mod auth;
mod bench;
mod binary;
mod cache;
mod calls;
mod cli;
mod components;
mod contract;
mod crash;
mod faults;
mod guard;
mod hostile;
mod invoke;
mod isolation;
mod limits;
mod mcp;
mod nulls;
mod openapi;
mod readme;
mod robustness;
mod schemas;
mod secrets;
mod tools;
