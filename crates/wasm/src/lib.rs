//! C-ABI exports of relu-repair-core for WebAssembly. Translation only: numbers in Float64Array
//! views of linear memory, options as JSON, objects behind integer handles, errors as statuses
//! plus a message. One module per concept, mirroring the core:
//!
//! | module | exports | TypeScript |
//! |---|---|---|
//! | `abi` | (the tables: layouts, objects, enum codes) | `ts/wasm/abi.ts` |
//! | `layout`, `json` | (reading and writing them) | `ts/wasm/abi.ts` |
//! | `handles` | memory, messages, handles, version | `ts/wasm/raw.ts` |
//! | `network` | `rr_network_*`, `rr_graph_new` | `ts/network.ts` (`ts/network/graph.ts` encodes graphs) |
//! | `region` | `rr_region_*` (not the minimal patch) | `ts/region.ts` |
//! | `minimal` | `rr_region_minimal_patch`, `rr_constant_patch`, `rr_region_minimal_patch_from`, `rr_region_certify_max` | `ts/region.ts`, `ts/minimal.ts` |
//! | `lp` | `rr_lp_force_limits` | `ts/minimal.ts` |
//! | `reach` | `rr_region_max_unless_below`, `rr_repaired_forward_at` | `ts/region.ts`, `ts/reach.ts` |
//! | `patch` | (patch decoding), `rr_slack_excess` | `ts/patch.ts`, `ts/region.ts` |
//! | `repaired` | `rr_repaired_*` | `ts/repaired.ts` |
//! | `enumerate` | `rr_enum_*` | `ts/enumerate.ts` |
//! | `certificate` | `rr_certifier_*` | `ts/certificate.ts` |
//! | `bounds` | `rr_bounds_*` | `ts/bounds.ts` |
//! | `verify` | `rr_verify_*` | `ts/verify.ts`, `ts/box-job.ts` |
//! | `echo` | `rr_abi_*` (the boundary checking itself) | `test/abi.test.ts` |

#![allow(
    // Index loops mirror the formulas over flat row-major arrays.
    clippy::needless_range_loop,
    // Exports take their buffers as (pointer, length) pairs.
    clippy::too_many_arguments,
    // Exports are C functions taking pointers from JavaScript; their safety contract is the
    // buffer convention of `handles.rs`, not `unsafe fn`.
    clippy::not_unsafe_ptr_arg_deref
)]

pub mod abi;
pub mod bounds;
pub mod certificate;
pub mod echo;
pub mod enumerate;
pub mod handles;
pub mod json;
pub mod layout;
pub mod lp;
pub mod minimal;
pub mod network;
pub mod patch;
pub mod reach;
pub mod region;
pub mod repaired;
pub mod verify;

#[cfg(test)]
mod tests;
