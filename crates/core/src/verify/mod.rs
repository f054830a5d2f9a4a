//! Verification of VNN-LIB properties by branch and bound over the input box (issue 10).
//!
//! | module | what |
//! |---|---|
//! | [`property`] | the input set and the unsafe output set (a union of disjuncts `A y <= b`) |
//! | [`decide`] | one box decided by sound bounds (`crate::bounds`), cheapest first |
//! | [`attack`] | counterexample search (random points, signed-gradient steps) |
//! | [`leaf`] | the exact decision of a small box: its linear regions, each by LP |
//! | [`bab`] | the work queue: [`Verifier`], stepped in bounded slices |
//!
//! A [`Verifier`] answers [`Verdict::Holds`] only when every part of the box was proven safe by
//! a sound method (bounds with rounding accounted, or exact per-region LPs with certified dual
//! bounds), and [`Verdict::Violated`] only with a counterexample whose forward pass violates
//! the property.

pub mod attack;
pub mod bab;
pub mod decide;
pub mod leaf;
pub mod property;

#[cfg(test)]
mod tests;

pub use attack::Candidate;
pub use bab::{widen_flat, BoxItem, LeafRecord, LeafStatus, Stats, Verdict, Verifier, VerifyOptions};
pub use decide::{Method, METHODS};
pub use property::{Disjunct, Property};
