//! The boundary checking itself: the tables of `abi.rs` as JSON, and echoes that decode a layout
//! or an object and encode it again, so that `test/abi.test.ts` can compare both sides field by
//! field.

use relu_repair_core::Error;

use crate::abi::{EnumSpec, Kind, Layout, MemberKind, ObjectSpec, ENUMS, LAYOUTS, OBJECTS};
use crate::handles::{bytes, fail, set_message, slice, status, write_out};
use crate::json::{Json, Object};
use crate::layout::{decode_record, encode_record};

fn kind_text(kind: Kind) -> String {
    match kind {
        Kind::Real => "real".to_string(),
        Kind::Count => "count".to_string(),
        Kind::Integer => "integer".to_string(),
        Kind::Flag => "flag".to_string(),
        Kind::Code(e) => e.name.to_string(),
    }
}

fn member_kind_text(kind: MemberKind) -> String {
    match kind {
        MemberKind::Number => "number".to_string(),
        MemberKind::Count => "count".to_string(),
        MemberKind::Flag => "flag".to_string(),
        MemberKind::Code(e) => e.name.to_string(),
        MemberKind::List(o) => format!("{}[]", o.name),
    }
}

fn str(s: &str) -> Json {
    Json::Str(s.to_string())
}

fn enum_json(e: &EnumSpec) -> Json {
    let values = e.values.iter().map(|v| Json::Arr(vec![str(v.0), Json::Num(v.1 as f64)])).collect();
    Json::obj(vec![("name", str(e.name)), ("values", Json::Arr(values))])
}

fn layout_json(l: &Layout) -> Json {
    let fields = l
        .fields
        .iter()
        .map(|f| {
            Json::obj(vec![
                ("name", str(f.name)),
                ("kind", str(&kind_text(f.kind))),
                ("shape", Json::Arr(f.shape.iter().map(|d| str(d)).collect())),
                ("optional", Json::Bool(f.optional)),
                ("countedBy", f.counted_by.map_or(Json::Null, str)),
            ])
        })
        .collect();
    Json::obj(vec![("name", str(l.name)), ("fields", Json::Arr(fields))])
}

fn object_json(o: &ObjectSpec) -> Json {
    let members = o
        .members
        .iter()
        .map(|m| Json::obj(vec![("name", str(m.name)), ("kind", str(&member_kind_text(m.kind)))]))
        .collect();
    Json::obj(vec![("name", str(o.name)), ("members", Json::Arr(members))])
}

/// Every table of `abi.rs`, as JSON.
pub fn describe() -> Json {
    Json::obj(vec![
        ("enums", Json::Arr(ENUMS.iter().map(enum_json).collect())),
        ("layouts", Json::Arr(LAYOUTS.iter().map(layout_json).collect())),
        ("objects", Json::Arr(OBJECTS.iter().map(object_json).collect())),
    ])
}

/// Puts [`describe`] into the message buffer.
#[no_mangle]
pub extern "C" fn rr_abi_describe() -> i32 {
    set_message(describe().to_text());
    0
}

/// Dimensions from a JSON object of whole numbers, named as in the shapes of `layout`.
fn read_dims(layout: &'static Layout, text: &[u8]) -> Result<Vec<(&'static str, usize)>, Error> {
    let bad = |m: String| Error::Invalid(format!("{} dimensions: {}", layout.name, m));
    let members = match Json::parse(text) {
        Ok(Json::Obj(m)) => m,
        Ok(_) => return Err(bad("must be an object".to_string())),
        Err(m) => return Err(bad(m)),
    };
    let known: Vec<&'static str> = layout.fields.iter().flat_map(|f| f.shape.iter().cloned()).collect();
    members
        .iter()
        .map(|(k, v)| {
            let name = known.iter().find(|d| *d == k).ok_or_else(|| bad(format!("unknown dimension \"{}\"", k)))?;
            match v {
                Json::Num(x) if *x >= 0.0 && *x <= 1e9 && *x == x.trunc() => Ok((*name, *x as usize)),
                _ => Err(bad(format!("{} must be a whole number >= 0", k))),
            }
        })
        .collect()
}

/// Decodes layout number `layout` (its position in `LAYOUTS`) with the dimensions `dims` (JSON)
/// from `input`, checking every value, and writes it again to `out`; the count written.
#[no_mangle]
pub extern "C" fn rr_abi_echo_layout(
    layout: i32,
    dims: *const u8,
    dims_len: usize,
    input: *const f64,
    len: usize,
    out: *mut f64,
) -> i32 {
    let spec = match usize::try_from(layout).ok().and_then(|i| LAYOUTS.get(i)) {
        Some(l) => l,
        None => return fail(Error::Invalid(format!("abi: unknown layout {}", layout))),
    };
    let echoed = read_dims(spec, bytes(dims, dims_len)).and_then(|d| {
        let missing = spec.fields.iter().flat_map(|f| f.shape.iter()).find(|s| !d.iter().any(|x| x.0 == **s));
        if let Some(s) = missing {
            return Err(Error::Invalid(format!("{} dimensions: {} is missing", spec.name, s)));
        }
        Ok(encode_record(spec, &d, &decode_record(spec, &d, slice(input, len))?))
    });
    match echoed {
        Ok(v) => write_out(out, &v),
        Err(e) => fail(e),
    }
}

/// Parses object number `object` (its position in `OBJECTS`) from `input` (JSON) as the
/// exports do, and puts it back as JSON into the message buffer.
#[no_mangle]
pub extern "C" fn rr_abi_echo_object(object: i32, input: *const u8, len: usize) -> i32 {
    let spec = match usize::try_from(object).ok().and_then(|i| OBJECTS.get(i)) {
        Some(o) => o,
        None => return fail(Error::Invalid(format!("abi: unknown object {}", object))),
    };
    status(Object::parse(spec, bytes(input, len)).map(|o| {
        set_message(o.to_json().to_text());
        0
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_names_every_table() {
        let text = describe().to_text();
        for name in [
            "\"Status\"",
            "\"regionCertificate\"",
            "\"countedBy\":\"relevant\"",
            "\"layers\",\"kind\":\"layerShape[]\"",
        ] {
            assert!(text.contains(name), "{} in {}", name, text);
        }
        assert!(Json::parse(text.as_bytes()).is_ok());
    }
}
