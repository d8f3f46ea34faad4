//! The contributor desk: what a newsroom runs its correspondents with
//! besides the review queue. `proof` holds the proofreading lists and
//! their checker, `grades` the grades stories go out with; `proof_admin`
//! and `grades_admin` the pages the desk keeps them on.

pub mod grades;
pub mod grades_admin;
pub mod proof;
pub mod proof_admin;
