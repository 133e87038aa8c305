//! End-to-end tests of the server against a real private PostgreSQL + PostGIS.
//! One test binary (faster to build and link than one per file).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)] // test code: a failed unwrap is a failed test

mod access;
mod admin;
mod analytics;
mod backup;
mod follow_up;
mod idempotency;
mod isolation;
mod limits;
mod my_data;
mod open311;
mod open311_forward;
mod ops;
mod patrols;
mod photos;
mod public_view;
mod push;
mod region;
mod registers;
mod reporting;
mod restart;
mod retention;
mod rounds;
mod table;
mod validation;
