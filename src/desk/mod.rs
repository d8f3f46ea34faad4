//! The contributor desk: what a newsroom runs its correspondents with
//! besides the review queue. `proof` holds the proofreading lists and
//! their checker; `proof_admin` the page the desk keeps them on.

pub mod proof;
pub mod proof_admin;
