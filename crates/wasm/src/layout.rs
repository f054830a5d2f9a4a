//! Reading and writing the f64 layouts of `abi.rs`. Every access names its field, and the name
//! is checked against the table in order, so the code cannot drift from the table the
//! TypeScript side mirrors (a mismatch is a bug: it panics, which traps).

use relu_repair_core::Error;

use crate::abi::{Code, Field, Kind, Layout};

/// Dimension values by name, for the shapes of a layout.
pub type Dims<'a> = &'a [(&'static str, usize)];

fn dim(layout: &Layout, dims: Dims, name: &str) -> usize {
    match dims.iter().find(|d| d.0 == name) {
        Some(d) => d.1,
        None => panic!("layout {}: dimension {} not given", layout.name, name),
    }
}

/// Length of `field` for `dims` (for a counted field: its capacity).
/// Saturates instead of overflowing: an absurd size then fails the length checks.
pub fn field_len(layout: &Layout, field: &Field, dims: Dims) -> usize {
    field.shape.iter().fold(1usize, |n, d| n.saturating_mul(dim(layout, dims, d)))
}

/// Values a buffer for `layout` needs (counted fields at capacity).
pub fn capacity(layout: &Layout, dims: Dims) -> usize {
    layout.fields.iter().fold(0usize, |n, f| n.saturating_add(field_len(layout, f, dims)))
}

/// In arrays, counts and whole numbers are indices: they must fit an i32 (TypeScript decodes them
/// as Int32Array).
fn check_value(kind: Kind, v: f64, in_array: bool) -> bool {
    let range =
        if in_array { v >= i32::MIN as f64 && v <= i32::MAX as f64 } else { v.abs() <= 9_007_199_254_740_992.0 };
    let whole = v.is_finite() && v == v.trunc() && range;
    match kind {
        Kind::Real => true,
        Kind::Count => whole && v >= 0.0,
        Kind::Integer => whole,
        Kind::Flag => v == 0.0 || v == 1.0,
        Kind::Code(spec) => whole && spec.values.iter().any(|c| c.1 as f64 == v),
    }
}

/// A bug in an encoder or decoder (the table is the truth): one cold place for the message.
#[cold]
#[inline(never)]
fn misuse(layout: &Layout, name: &str, what: &str) -> ! {
    panic!("layout {}: field {} {}", layout.name, name, what)
}

/// Writes one layout, field by field in table order.
pub struct Writer<'a> {
    layout: &'static Layout,
    dims: Dims<'a>,
    next: usize,
    out: Vec<f64>,
    /// Count fields written so far (for counted arrays).
    counts: Vec<(&'static str, usize)>,
}

impl<'a> Writer<'a> {
    pub fn new(layout: &'static Layout, dims: Dims<'a>) -> Writer<'a> {
        Writer { layout, dims, next: 0, out: Vec::new(), counts: Vec::new() }
    }

    fn field(&mut self, name: &str, scalar: bool) -> &'static Field {
        let layout = self.layout;
        match layout.fields.get(self.next) {
            Some(f) if f.name == name && f.shape.is_empty() == scalar => {
                self.next += 1;
                f
            }
            Some(f) if f.name == name => misuse(layout, name, "written with the wrong shape"),
            Some(f) => misuse(layout, name, &format!("written where {} belongs", f.name)),
            None => misuse(layout, name, "written after the last field"),
        }
    }

    fn scalar(&mut self, name: &str, v: f64) -> &'static Field {
        let f = self.field(name, true);
        self.out.push(v);
        f
    }

    pub fn real(&mut self, name: &str, v: f64) {
        self.scalar(name, v);
    }

    pub fn count(&mut self, name: &str, v: usize) {
        let f = self.scalar(name, v as f64);
        self.counts.push((f.name, v));
    }

    pub fn flag(&mut self, name: &str, v: bool) {
        self.scalar(name, if v { 1.0 } else { 0.0 });
    }

    pub fn code<E: Code>(&mut self, name: &str, v: E) {
        self.scalar(name, v.code() as f64);
    }

    /// An optional scalar: NaN when absent.
    pub fn optional_count(&mut self, name: &str, v: Option<usize>) {
        self.scalar(name, v.map_or(f64::NAN, |v| v as f64));
    }

    /// An array field: exactly its shape's length, or for a counted field its count.
    pub fn reals(&mut self, name: &str, values: &[f64]) {
        let f = self.field(name, false);
        let want = match f.counted_by {
            Some(by) => self.counts.iter().find(|c| c.0 == by).map_or(usize::MAX, |c| c.1),
            None => field_len(self.layout, f, self.dims),
        };
        if values.len() != want {
            misuse(self.layout, name, &format!("has {} values, expected {}", values.len(), want));
        }
        self.out.extend_from_slice(values);
    }

    /// An optional array: NaN-filled when absent.
    pub fn optional(&mut self, name: &str, values: Option<&[f64]>) {
        match values {
            Some(v) => self.reals(name, v),
            None => {
                let n = self.layout.fields.get(self.next).map_or(0, |f| field_len(self.layout, f, self.dims));
                self.reals(name, &vec![f64::NAN; n]);
            }
        }
    }

    pub fn finish(self) -> Vec<f64> {
        if let Some(f) = self.layout.fields.get(self.next) {
            misuse(self.layout, f.name, "not written");
        }
        self.out
    }
}

/// One field of a layout on its own (the read exports), its length checked for `dims`.
pub fn field_values(layout: &'static Layout, name: &str, dims: Dims, values: Vec<f64>) -> Vec<f64> {
    match layout.fields.iter().find(|f| f.name == name) {
        Some(f) if values.len() == field_len(layout, f, dims) => values,
        Some(f) => {
            misuse(layout, name, &format!("has {} values, expected {}", values.len(), field_len(layout, f, dims)))
        }
        None => misuse(layout, name, "is not in the table"),
    }
}

/// Reads one layout, field by field in table order, checking every value against its kind.
pub struct Reader<'a> {
    layout: &'static Layout,
    dims: Dims<'a>,
    data: &'a [f64],
    pos: usize,
    next: usize,
    counts: Vec<(&'static str, usize)>,
}

impl<'a> Reader<'a> {
    pub fn new(layout: &'static Layout, dims: Dims<'a>, data: &'a [f64]) -> Reader<'a> {
        Reader { layout, dims, data, pos: 0, next: 0, counts: Vec::new() }
    }

    fn bad(&self, msg: String) -> Error {
        Error::Invalid(format!("{}: {}", self.layout.name, msg))
    }

    /// The next field's values (all of them checked against its kind; all NaN when an optional
    /// field is absent).
    fn take(&mut self, name: &str, scalar: bool) -> Result<(&'static Field, &'a [f64]), Error> {
        let layout = self.layout;
        let f = match layout.fields.get(self.next) {
            Some(f) if f.name == name && f.shape.is_empty() == scalar => f,
            _ => misuse(layout, name, "read out of order"),
        };
        self.next += 1;
        let len = match f.counted_by {
            Some(by) => {
                let n = self.counts.iter().find(|c| c.0 == by).map(|c| c.1).expect("count read first");
                let cap = field_len(layout, f, self.dims);
                if n > cap {
                    return Err(self.bad(format!("{} = {} exceeds its capacity {}", by, n, cap)));
                }
                n
            }
            None => field_len(layout, f, self.dims),
        };
        if len > self.data.len() - self.pos {
            return Err(self.bad(format!(
                "field {} needs {} values, {} remain",
                f.name,
                len,
                self.data.len() - self.pos
            )));
        }
        let v = &self.data[self.pos..self.pos + len];
        self.pos += len;
        let absent = f.optional && !v.is_empty() && v.iter().all(|x| x.is_nan());
        if !absent {
            if let Some(i) = v.iter().position(|&x| !check_value(f.kind, x, !f.shape.is_empty())) {
                return Err(self.bad(format!("field {} value {} is {}, not {}", f.name, i, v[i], kind_name(f.kind))));
            }
        }
        Ok((f, v))
    }

    pub fn real(&mut self, name: &str) -> Result<f64, Error> {
        Ok(self.take(name, true)?.1[0])
    }

    pub fn count(&mut self, name: &str) -> Result<usize, Error> {
        let (f, v) = self.take(name, true)?;
        let n = v[0] as usize;
        self.counts.push((f.name, n));
        Ok(n)
    }

    pub fn optional_count(&mut self, name: &str) -> Result<Option<usize>, Error> {
        let v = self.take(name, true)?.1[0];
        Ok(if v.is_nan() { None } else { Some(v as usize) })
    }

    pub fn flag(&mut self, name: &str) -> Result<bool, Error> {
        Ok(self.take(name, true)?.1[0] != 0.0)
    }

    pub fn code<E: Code>(&mut self, name: &str) -> Result<E, Error> {
        let v = self.take(name, true)?.1[0];
        Ok(E::from_code(v as i32).expect("checked against the enum"))
    }

    pub fn array(&mut self, name: &str) -> Result<&'a [f64], Error> {
        Ok(self.take(name, false)?.1)
    }

    /// An optional array: None when all NaN.
    pub fn optional(&mut self, name: &str) -> Result<Option<&'a [f64]>, Error> {
        let v = self.take(name, false)?.1;
        Ok(if !v.is_empty() && v.iter().all(|x| x.is_nan()) { None } else { Some(v) })
    }

    /// Every field read and no values left.
    pub fn finish(self) -> Result<(), Error> {
        if self.pos != self.data.len() {
            return Err(self.bad(format!("{} values, expected {}", self.data.len(), self.pos)));
        }
        if let Some(f) = self.layout.fields.get(self.next) {
            misuse(self.layout, f.name, "not read");
        }
        Ok(())
    }
}

fn kind_name(kind: Kind) -> String {
    match kind {
        Kind::Real => "a number".to_string(),
        Kind::Count => "a whole number >= 0".to_string(),
        Kind::Integer => "a whole number".to_string(),
        Kind::Flag => "0 or 1".to_string(),
        Kind::Code(spec) => format!("a {} code", spec.name),
    }
}

/// One field's values, as a record of a layout decoded without knowing its meaning (echo.rs).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Array(Vec<f64>),
}

/// Decodes any layout into (field, values), checking every value (echo.rs and tests).
pub fn decode_record(layout: &'static Layout, dims: Dims, data: &[f64]) -> Result<Vec<(&'static str, Value)>, Error> {
    let mut r = Reader::new(layout, dims, data);
    let mut record = Vec::with_capacity(layout.fields.len());
    for f in layout.fields {
        let v = if f.shape.is_empty() {
            let (_, v) = r.take(f.name, true)?;
            if f.kind == Kind::Count && !v[0].is_nan() {
                r.counts.push((f.name, v[0] as usize));
            }
            Value::Scalar(v[0])
        } else {
            Value::Array(r.take(f.name, false)?.1.to_vec())
        };
        record.push((f.name, v));
    }
    r.finish()?;
    Ok(record)
}

/// Encodes a record of [`decode_record`] again.
pub fn encode_record(layout: &'static Layout, dims: Dims, record: &[(&'static str, Value)]) -> Vec<f64> {
    let mut w = Writer::new(layout, dims);
    for (name, v) in record {
        match v {
            Value::Scalar(x) => {
                let f = w.scalar(name, *x);
                if f.kind == Kind::Count && !x.is_nan() {
                    w.counts.push((f.name, *x as usize));
                }
            }
            Value::Array(xs) => w.reals(name, xs),
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{LAYOUTS, REGION_CERTIFICATE};

    #[test]
    fn writer_and_reader_follow_the_table() {
        let dims: Dims = &[("inputs", 2), ("patches", 3)];
        let mut w = Writer::new(&REGION_CERTIFICATE, dims);
        w.flag("certified", true);
        w.code("reason", relu_repair_core::Reason::Certified);
        for name in ["maxViolation", "tolerance", "rounding", "scale"] {
            w.real(name, -0.5);
        }
        for name in ["pieces", "emptyPieces", "lps", "worstRow"] {
            w.count(name, 7);
        }
        w.real("witnessValue", f64::NEG_INFINITY);
        w.real("errorBudget", 0.0);
        w.count("exactPatches", 1);
        w.optional_count("specPiece", None);
        w.real("witnessViolation", f64::NAN);
        w.flag("witnessInRegion", false);
        w.count("relevant", 2);
        w.optional("witness", None);
        w.reals("patches", &[4.0, 0.0]);
        let out = w.finish();
        assert_eq!(out.len(), 17 + 2 + 2);
        assert!(capacity(&REGION_CERTIFICATE, dims) == 22);
        let mut r = Reader::new(&REGION_CERTIFICATE, dims, &out);
        assert!(r.flag("certified").unwrap());
        r.code::<relu_repair_core::Reason>("reason").unwrap();
        assert_eq!(r.real("maxViolation").unwrap(), -0.5);
        for name in ["tolerance", "rounding", "scale"] {
            r.real(name).unwrap();
        }
        for name in ["pieces", "emptyPieces", "lps", "worstRow"] {
            assert_eq!(r.count(name).unwrap(), 7);
        }
        assert_eq!(r.real("witnessValue").unwrap(), f64::NEG_INFINITY);
        r.real("errorBudget").unwrap();
        r.count("exactPatches").unwrap();
        assert_eq!(r.optional_count("specPiece").unwrap(), None);
        assert!(r.real("witnessViolation").unwrap().is_nan());
        assert!(!r.flag("witnessInRegion").unwrap());
        assert_eq!(r.count("relevant").unwrap(), 2);
        assert_eq!(r.optional("witness").unwrap(), None);
        assert_eq!(r.array("patches").unwrap(), &[4.0, 0.0]);
        r.finish().unwrap();
    }

    #[test]
    #[should_panic(expected = "field tolerance written where maxViolation belongs")]
    fn a_field_out_of_order_is_a_bug() {
        let mut w = Writer::new(&REGION_CERTIFICATE, &[("inputs", 1), ("patches", 0)]);
        w.flag("certified", false);
        w.code("reason", relu_repair_core::Reason::Bound);
        w.real("tolerance", 0.0);
    }

    #[test]
    fn bad_values_and_lengths_are_named() {
        let dims: Dims = &[("inputs", 1), ("patches", 1)];
        // certified, reason, maxViolation, tolerance, rounding, scale, pieces, emptyPieces, lps,
        // worstRow, witnessValue, errorBudget, exactPatches, specPiece, witnessViolation,
        // witnessInRegion, relevant, witness[1], patches[1]
        let mut good =
            vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, f64::NAN, 0.0, 1.0, 1.0, 0.5, 0.0];
        assert!(decode_record(&REGION_CERTIFICATE, dims, &good).is_ok());
        good[0] = 2.0;
        let e = decode_record(&REGION_CERTIFICATE, dims, &good).unwrap_err();
        assert_eq!(e.to_string(), "regionCertificate: field certified value 0 is 2, not 0 or 1");
        good[0] = 1.0;
        good[16] = 2.0; // two relevant patches, capacity one
        assert!(decode_record(&REGION_CERTIFICATE, dims, &good)
            .unwrap_err()
            .to_string()
            .contains("relevant = 2 exceeds its capacity 1"));
        good[16] = 1.0;
        good.push(9.0);
        assert!(decode_record(&REGION_CERTIFICATE, dims, &good)
            .unwrap_err()
            .to_string()
            .contains("20 values, expected 19"));
    }

    #[test]
    fn every_layout_round_trips_a_record() {
        // Every dimension 2 (capacity of counted fields), counts 1.
        let names: Vec<&'static str> =
            LAYOUTS.iter().flat_map(|l| l.fields.iter().flat_map(|f| f.shape.iter().cloned())).collect();
        let dims: Vec<(&'static str, usize)> = names.iter().map(|&n| (n, 2)).collect();
        for layout in LAYOUTS {
            let mut data = Vec::new();
            for f in layout.fields {
                let n = if f.counted_by.is_some() { 1 } else { field_len(layout, f, &dims) };
                let v = match f.kind {
                    Kind::Real => -0.0,
                    Kind::Integer => -1.0,
                    Kind::Count | Kind::Flag => 1.0,
                    Kind::Code(spec) => spec.values[spec.values.len() - 1].1 as f64,
                };
                data.extend(std::iter::repeat(if f.optional { f64::NAN } else { v }).take(n));
            }
            let record = decode_record(layout, &dims, &data).unwrap();
            let again = encode_record(layout, &dims, &record);
            assert_eq!(again.len(), data.len(), "{}", layout.name);
            assert!(again.iter().zip(&data).all(|(a, b)| a.to_bits() == b.to_bits()), "{}", layout.name);
        }
    }
}
