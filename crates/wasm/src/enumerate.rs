//! Region enumeration behind handles (core `enumerate.rs`; TypeScript twin `ts/enumerate.ts`).

use relu_repair_core::{EnumerateOptions, Network, RegionEnumerator};

use crate::abi::{Code, Status, ENUMERATE_OPTIONS, ENUMERATION_FIELDS, ENUM_STATUS};
use crate::handles::{bad_handle, bytes, fail, on, set_message, slice, store, with, write_out};
use crate::json::Object;
use crate::layout::{field_values, Writer};

/// Every linear region of network `net` in the box [lower, upper] ∩ {x : A x <= b} (m rows,
/// m = 0 for the box alone), with [`ENUMERATE_OPTIONS`] (JSON). The work happens in
/// `rr_enum_step`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn rr_enum_new(
    net: i32,
    lower: *const f64,
    upper: *const f64,
    a: *const f64,
    b: *const f64,
    m: usize,
    opts: *const u8,
    opts_len: usize,
) -> i32 {
    let o = match Object::parse(&ENUMERATE_OPTIONS, bytes(opts, opts_len)) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let opts = EnumerateOptions {
        eps: o.number("eps"),
        min_radius: o.number("minRadius"),
        max_regions: o.count("maxRegions"),
    };
    let en = with(net, |n: &mut Network| {
        let k = n.n_in();
        RegionEnumerator::new(n, slice(lower, k), slice(upper, k), slice(a, m * k), slice(b, m), opts)
    });
    match en {
        Some(Ok(en)) => store(en),
        Some(Err(e)) => fail(e),
        None => bad_handle(net, "network"),
    }
}

fn on_enumerator(h: i32, f: impl FnOnce(&mut RegionEnumerator) -> i32) -> i32 {
    on(h, "region enumerator", f)
}

/// Runs the enumeration for about `max_lps` LPs; writes [`ENUM_STATUS`].
#[no_mangle]
pub extern "C" fn rr_enum_step(h: i32, max_lps: usize, out: *mut f64) -> i32 {
    on_enumerator(h, |en| match en.step(max_lps) {
        Ok(state) => {
            let mut w = Writer::new(&ENUM_STATUS, &[]);
            w.code("state", state);
            w.count("regions", en.count());
            w.count("pending", en.pending());
            w.count("lps", en.lps());
            w.real("explored", en.progress());
            w.count("thin", en.thin);
            w.count("empty", en.empty());
            w.count("forced", en.forced());
            w.count("hidden", en.hidden());
            write_out(out, &w.finish())
        }
        Err(e) => fail(e),
    })
}

/// Writes the field of [`ENUMERATION_FIELDS`] with code `field` for the regions found so far
/// from region `from` on.
#[no_mangle]
pub extern "C" fn rr_enum_read(h: i32, field: i32, from: usize, out: *mut f64) -> i32 {
    on_enumerator(h, |en| {
        let name = match usize::try_from(field).ok().and_then(|i| ENUMERATION_FIELDS.fields.get(i)) {
            Some(f) => f.name,
            None => {
                set_message(format!("enumeration: unknown field {}", field));
                return Status::Invalid.code();
            }
        };
        let from = from.min(en.count());
        let (hid, n) = (en.hidden(), en.centres.len() / en.count().max(1));
        let dims = [("regions", en.count() - from), ("hidden", hid), ("inputs", n)];
        let v: Vec<f64> = match name {
            "patterns" => en.patterns[from * hid..].iter().map(|&b| b as f64).collect(),
            "centres" => en.centres[from * n..].to_vec(),
            "radii" => en.radii[from..].to_vec(),
            "thin" => en.thin_flags[from..].iter().map(|&t| t as u8 as f64).collect(),
            "slack" => en.slack[from * hid..].to_vec(),
            _ => unreachable!("every field of the table is handled"),
        };
        write_out(out, &field_values(&ENUMERATION_FIELDS, name, &dims, v))
    })
}
