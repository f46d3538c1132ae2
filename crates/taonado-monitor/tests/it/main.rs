//! Integration tests of the monitor: alerts caused on a real dev chain and delivered to a
//! local webhook receiver, the outbox across outages and restarts, e-mail over a loopback
//! SMTP receiver, the dashboard rendered by headless Chromium, and the whole service run
//! and stopped. The tests that touch the store run on SQLite, then on PostgreSQL when
//! `TAONADO_TEST_POSTGRES` names a server (`taonado_store::testing`); those left on SQLite
//! say why.

mod browser;
mod e2e;
mod email;
mod miners;
mod outbox;
mod receiver;
mod self_cycle;
mod service;
mod stack;
mod storm;
