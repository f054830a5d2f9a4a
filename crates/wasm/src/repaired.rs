//! Repaired networks behind handles (core `repaired.rs`; TypeScript twin `ts/repaired.ts`).

use relu_repair_core::{BoxGate, Network, RepairedNetwork};

use crate::abi::{Code, Composition, Status, PATCH_HEADER, SHARED_PATCH_HEADER};
use crate::handles::{bad_handle, bytes, fail, on, set_message, slice, slice_mut, status, store, with};
use crate::json::Object;
use crate::patch::{decode_patch, decode_shared_patch};

fn on_repaired(h: i32, f: impl FnOnce(&mut RepairedNetwork) -> i32) -> i32 {
    on(h, "repaired network", f)
}

/// The network of handle `net` without patches (a copy).
#[no_mangle]
pub extern "C" fn rr_repaired_new(net: i32) -> i32 {
    match with(net, |n: &mut Network| n.clone()) {
        Some(n) => store(RepairedNetwork::new(n)),
        None => bad_handle(net, "network"),
    }
}

/// Adds a patch: its [`PATCH_HEADER`] (JSON) and parameters (see `patch.rs`).
#[no_mangle]
pub extern "C" fn rr_repaired_add_patch(
    h: i32,
    header: *const u8,
    header_len: usize,
    params: *const f64,
    len: usize,
) -> i32 {
    let header = match Object::parse(&PATCH_HEADER, bytes(header, header_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    on_repaired(h, |rep| {
        let (n, k) = (rep.original.n_in(), rep.original.n_out());
        status(decode_patch(&header, slice(params, len), n, k).and_then(|p| rep.add_patch(p)).map(|_| 0))
    })
}

/// Builds the repaired network's table of shared rows: those of its first `neurons` hidden
/// neurons (core `RowTable::first_layer`; table row 2k is neuron k's row with orientation +,
/// 2k + 1 its negation). With `out_len` > 0 writes the + rows, `neurons × inputs` (`out_len`
/// must be that), so that a caller can check which of a patch's rows are table rows bit for bit.
#[no_mangle]
pub extern "C" fn rr_repaired_share_rows(h: i32, neurons: usize, out: *mut f64, out_len: usize) -> i32 {
    on_repaired(h, |rep| match rep.share_rows(neurons) {
        Ok(t) => {
            let n = t.n_in;
            if out_len == 0 {
                return 0;
            }
            if out_len != neurons * n {
                set_message(format!("shared rows: {} values for {} rows of {} inputs", out_len, neurons, n));
                return Status::Invalid.code();
            }
            let o = slice_mut(out, out_len);
            for k in 0..neurons {
                o[k * n..(k + 1) * n].copy_from_slice(t.row(2 * k));
            }
            0
        }
        Err(e) => fail(e),
    })
}

/// Adds a patch whose support reads rows from the shared table ([`rr_repaired_share_rows`] first):
/// its [`SHARED_PATCH_HEADER`] (JSON) and parameters (see `patch.rs`).
#[no_mangle]
pub extern "C" fn rr_repaired_add_shared_patch(
    h: i32,
    header: *const u8,
    header_len: usize,
    params: *const f64,
    len: usize,
) -> i32 {
    let header = match Object::parse(&SHARED_PATCH_HEADER, bytes(header, header_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    on_repaired(h, |rep| {
        let table = match &rep.table {
            Some(t) => t.clone(),
            None => {
                set_message(
                    "shared patch: the repaired network has no shared rows (rr_repaired_share_rows first)".to_string(),
                );
                return Status::Invalid.code();
            }
        };
        let k = rep.original.n_out();
        status(decode_shared_patch(&header, slice(params, len), table, k).and_then(|p| rep.add_patch(p)).map(|_| 0))
    })
}

/// Gates every patch of the repaired network with one shared indicator of the box [lo, hi].
#[no_mangle]
pub extern "C" fn rr_repaired_set_box_gate(h: i32, lo: *const f64, hi: *const f64, radius: f64) -> i32 {
    on_repaired(h, |rep| {
        let n = rep.original.n_in();
        status(
            BoxGate::new(slice(lo, n).to_vec(), slice(hi, n).to_vec(), radius)
                .and_then(|g| rep.set_box_gate(g))
                .map(|_| 0),
        )
    })
}

/// Composition of the constant patches: a [`Composition`] code.
#[no_mangle]
pub extern "C" fn rr_repaired_set_composition(h: i32, composition: i32) -> i32 {
    on_repaired(h, |rep| match Composition::from_code(composition) {
        Some(c) => {
            rep.chain = c == Composition::Chain;
            0
        }
        None => {
            set_message(format!("repaired network: unknown composition code {}", composition));
            Status::Invalid.code()
        }
    })
}

/// Outputs of `n` inputs, `n × n_out`.
#[no_mangle]
pub extern "C" fn rr_repaired_forward(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    on_repaired(h, |rep| {
        let (ni, no) = (rep.original.n_in(), rep.original.n_out());
        rep.forward_batch(slice(xs, n * ni), n, slice_mut(out, n * no));
        0
    })
}

/// Support values of every patch at `n` points: `n × patches`.
#[no_mangle]
pub extern "C" fn rr_repaired_supports(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    on_repaired(h, |rep| {
        let ni = rep.original.n_in();
        let np = rep.patches.len();
        rep.supports(slice(xs, n * ni), n, slice_mut(out, n * np));
        0
    })
}

/// The chain weights (or supports, for sum composition and affine patches) of every patch at
/// `n` points: `n × patches`.
#[no_mangle]
pub extern "C" fn rr_repaired_weights(h: i32, xs: *const f64, n: usize, out: *mut f64) -> i32 {
    on_repaired(h, |rep| {
        let ni = rep.original.n_in();
        let np = rep.patches.len();
        let (xs, out) = (slice(xs, n * ni), slice_mut(out, n * np));
        for i in 0..n {
            rep.chain_weights(&xs[i * ni..(i + 1) * ni], &mut out[i * np..(i + 1) * np]);
        }
        0
    })
}
