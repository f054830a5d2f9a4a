//! A small JSON reader and writer (std only) for the option objects of `abi.rs`, and their
//! checked form [`Object`].

use std::fmt::Write;

use relu_repair_core::Error;

use crate::abi::{Code, MemberKind, ObjectSpec};

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Nesting deeper than this is rejected (the objects here are two levels deep).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{} at byte {}", what, self.pos))
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.ws();
        match self.s.get(self.pos) {
            None => self.err("unexpected end"),
            Some(b'{') => {
                self.pos += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Obj(members));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return self.err("expected a member name");
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return self.err("expected ':'");
                    }
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("}") {
                        return Ok(Json::Obj(members));
                    }
                    return self.err("expected ',' or '}'");
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        return Ok(Json::Arr(items));
                    }
                    return self.err("expected ',' or ']'");
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') if self.eat("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(Json::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => self.err("unexpected character"),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// JSON's number grammar; the text is then converted by `str::parse` (correctly rounded).
    fn number(&mut self) -> Result<Json, String> {
        let start = self.pos;
        self.eat("-");
        let int = self.pos;
        if self.digits() == 0 || (self.s[int] == b'0' && self.pos - int > 1) {
            return self.err("malformed number");
        }
        if self.eat(".") && self.digits() == 0 {
            return self.err("malformed number");
        }
        if self.eat("e") || self.eat("E") {
            if !self.eat("+") {
                self.eat("-");
            }
            if self.digits() == 0 {
                return self.err("malformed number");
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII");
        text.parse::<f64>().map(Json::Num).or_else(|_| self.err("malformed number"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.pos..self.pos + 4).and_then(|h| std::str::from_utf8(h).ok());
        match h.and_then(|h| u32::from_str_radix(h, 16).ok()) {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.err("malformed \\u escape"),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let c = match self.s.get(self.pos) {
                Some(&c) => c,
                None => return self.err("unterminated string"),
            };
            self.pos += 1;
            match c {
                b'"' => return String::from_utf8(out).or_else(|_| self.err("invalid UTF-8")),
                b'\\' => {
                    let e = match self.s.get(self.pos) {
                        Some(&e) => e,
                        None => return self.err("unterminated string"),
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return self.err("unpaired surrogate");
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(ch) => ch,
                                None => return self.err("unpaired surrogate"),
                            }
                        }
                        _ => return self.err("unknown escape"),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return self.err("control character in string"),
                c => out.push(c),
            }
        }
    }
}

impl Json {
    pub fn parse(text: &[u8]) -> Result<Json, String> {
        let mut p = Parser { s: text, pos: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.pos != text.len() {
            return p.err("trailing characters");
        }
        Ok(v)
    }

    /// Compact JSON. Non-finite numbers become the strings "NaN", "Infinity", "-Infinity" (the
    /// convention of the option objects); finite ones are written so that they read back exactly.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(v) => write_number(*v, out),
            Json::Str(s) => write_string(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    pub fn obj(members: Vec<(&str, Json)>) -> Json {
        Json::Obj(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

fn write_number(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "\"Infinity\"" } else { "\"-Infinity\"" });
    } else {
        // `{:?}` is the shortest text that reads back to the same f64, in a JSON-compatible form
        // (`1.0`, `1e300`, `-0.0`).
        let _ = write!(out, "{:?}", v);
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Counts are u32 in objects: the largest `usize` on wasm32, the same limit on every platform.
const MAX_COUNT: f64 = 4_294_967_295.0;

/// A value of an object member, checked against its kind.
#[derive(Debug, Clone, PartialEq)]
enum MemberValue {
    Number(f64),
    Count(usize),
    Flag(bool),
    Code(i32),
    List(Vec<Object>),
}

/// A JSON object checked against its [`ObjectSpec`]: every member present, of its kind, and no
/// others. Members are then read by name (a name not in the spec is a bug and panics).
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    spec: &'static ObjectSpec,
    values: Vec<MemberValue>,
}

fn number_of(v: &Json) -> Option<f64> {
    match v {
        Json::Num(x) => Some(*x),
        Json::Str(s) if s == "NaN" => Some(f64::NAN),
        Json::Str(s) if s == "Infinity" => Some(f64::INFINITY),
        Json::Str(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

impl Object {
    /// Parses UTF-8 JSON text as an object of `spec`; errors name the object and member.
    pub fn parse(spec: &'static ObjectSpec, text: &[u8]) -> Result<Object, Error> {
        let json = Json::parse(text).map_err(|m| Error::Invalid(format!("{}: not valid JSON ({})", spec.name, m)))?;
        Object::from_json(spec, &json, spec.name)
    }

    fn from_json(spec: &'static ObjectSpec, json: &Json, path: &str) -> Result<Object, Error> {
        let bad = |m: String| Err(Error::Invalid(format!("{}: {}", path, m)));
        let members = match json {
            Json::Obj(m) => m,
            _ => return bad("must be an object".to_string()),
        };
        if let Some((k, _)) = members.iter().find(|(k, _)| !spec.members.iter().any(|m| m.name == k)) {
            return bad(format!("unknown member \"{}\"", k));
        }
        let mut values = Vec::with_capacity(spec.members.len());
        for m in spec.members {
            let found: Vec<&Json> = members.iter().filter(|(k, _)| k == m.name).map(|(_, v)| v).collect();
            let v = match found[..] {
                [v] => v,
                [] => return bad(format!("member \"{}\" is missing", m.name)),
                _ => return bad(format!("member \"{}\" is given twice", m.name)),
            };
            let shown = v.to_text();
            let value = match m.kind {
                MemberKind::Number => number_of(v).map(MemberValue::Number),
                MemberKind::Count => match v {
                    Json::Num(x) if *x >= 0.0 && *x <= MAX_COUNT && *x == x.trunc() => {
                        Some(MemberValue::Count(*x as usize))
                    }
                    _ => None,
                },
                MemberKind::Flag => match v {
                    Json::Bool(b) => Some(MemberValue::Flag(*b)),
                    _ => None,
                },
                MemberKind::Code(e) => match v {
                    Json::Str(s) => e.values.iter().find(|c| c.0 == s).map(|c| MemberValue::Code(c.1)),
                    _ => None,
                },
                MemberKind::List(sub) => match v {
                    Json::Arr(items) => {
                        let mut list = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            list.push(Object::from_json(sub, item, &format!("{}.{}[{}]", path, m.name, i))?);
                        }
                        Some(MemberValue::List(list))
                    }
                    _ => None,
                },
            };
            match value {
                Some(v) => values.push(v),
                None => return bad(format!("member \"{}\" must be {} (got {})", m.name, expected(m.kind), shown)),
            }
        }
        Ok(Object { spec, values })
    }

    fn get(&self, name: &str) -> &MemberValue {
        match self.spec.members.iter().position(|m| m.name == name) {
            Some(i) => &self.values[i],
            None => panic!("object {} has no member {}", self.spec.name, name),
        }
    }

    pub fn number(&self, name: &str) -> f64 {
        match self.get(name) {
            MemberValue::Number(v) => *v,
            _ => panic!("member {} is not a number", name),
        }
    }

    pub fn count(&self, name: &str) -> usize {
        match self.get(name) {
            MemberValue::Count(v) => *v,
            _ => panic!("member {} is not a count", name),
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        match self.get(name) {
            MemberValue::Flag(v) => *v,
            _ => panic!("member {} is not a flag", name),
        }
    }

    pub fn code<E: Code>(&self, name: &str) -> E {
        match self.get(name) {
            MemberValue::Code(c) => E::from_code(*c).expect("checked against the enum"),
            _ => panic!("member {} is not a code", name),
        }
    }

    pub fn list(&self, name: &str) -> &[Object] {
        match self.get(name) {
            MemberValue::List(v) => v,
            _ => panic!("member {} is not a list", name),
        }
    }

    /// The object as JSON again (members in spec order).
    pub fn to_json(&self) -> Json {
        let members = self.spec.members.iter().zip(&self.values).map(|(m, v)| {
            let j = match (v, m.kind) {
                (MemberValue::Number(x), _) => Json::Num(*x),
                (MemberValue::Count(n), _) => Json::Num(*n as f64),
                (MemberValue::Flag(b), _) => Json::Bool(*b),
                (MemberValue::Code(c), MemberKind::Code(e)) => {
                    Json::Str(e.values.iter().find(|v| v.1 == *c).expect("a code of the enum").0.to_string())
                }
                (MemberValue::Code(_), _) => unreachable!("codes belong to enum members"),
                (MemberValue::List(items), _) => Json::Arr(items.iter().map(Object::to_json).collect()),
            };
            (m.name.to_string(), j)
        });
        Json::Obj(members.collect())
    }
}

fn expected(kind: MemberKind) -> String {
    match kind {
        MemberKind::Number => "a number".to_string(),
        MemberKind::Count => "a whole number from 0 to 4294967295".to_string(),
        MemberKind::Flag => "true or false".to_string(),
        MemberKind::Code(e) => {
            let names: Vec<String> = e.values.iter().map(|v| format!("\"{}\"", v.0)).collect();
            format!("one of {}", names.join(", "))
        }
        MemberKind::List(sub) => format!("an array of {} objects", sub.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{PatchKind, CERTIFY_OPTIONS, NETWORK_SHAPE, PATCH_HEADER};

    #[test]
    fn parses_and_writes_json() {
        let text = br#" {"a": [1, -0.5e2, true, null, "x\"\u00e9\ud83d\ude00\n"], "b": {}} "#;
        let v = Json::parse(text).unwrap();
        assert_eq!(v.to_text(), "{\"a\":[1.0,-50.0,true,null,\"x\\\"\u{e9}\u{1f600}\\u000a\"],\"b\":{}}");
        assert_eq!(Json::parse(v.to_text().as_bytes()).unwrap(), v);
        for bad in ["", "{", "[1,]", "01", "1.", "-", "\"\\x\"", "{\"a\" 1}", "[1] 2", "\"\\ud800\\u0041\""] {
            assert!(Json::parse(bad.as_bytes()).is_err(), "{}", bad);
        }
        let deep = "[".repeat(40) + &"]".repeat(40);
        assert!(Json::parse(deep.as_bytes()).unwrap_err().contains("nesting too deep"));
    }

    #[test]
    fn numbers_read_back_exactly() {
        for v in [0.1, -0.0, 1e300, 5e-324, 1.7976931348623157e308, 123456789.125, 1.0 / 3.0, 1e-7, 1e16] {
            let mut s = String::new();
            write_number(v, &mut s);
            match Json::parse(s.as_bytes()).unwrap() {
                Json::Num(x) => assert_eq!(x.to_bits(), v.to_bits(), "{} -> {}", v, s),
                other => panic!("{:?}", other),
            }
        }
    }

    #[test]
    fn objects_are_checked_against_their_spec() {
        let h = Object::parse(&PATCH_HEADER, br#"{"kind":"affine","rows":3,"radius":"Infinity"}"#).unwrap();
        assert_eq!(h.code::<PatchKind>("kind"), PatchKind::Affine);
        assert_eq!(h.count("rows"), 3);
        assert_eq!(h.number("radius"), f64::INFINITY);
        assert_eq!(h.to_json().to_text(), r#"{"kind":"affine","rows":3.0,"radius":"Infinity"}"#);
        let e = |t: &str| Object::parse(&CERTIFY_OPTIONS, t.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            e(r#"{"rtol":1e-9,"tolerance":1,"eps":0,"maxPieces":10}"#),
            "certifyOptions: member \"boundHelpful\" is missing"
        );
        assert_eq!(
            e(r#"{"rtol":1e-9,"tolerance":1,"eps":0,"maxPieces":1.5,"boundHelpful":true}"#),
            "certifyOptions: member \"maxPieces\" must be a whole number from 0 to 4294967295 (got 1.5)"
        );
        assert_eq!(
            e(r#"{"rtol":1,"tolerance":1,"eps":0,"maxPieces":1,"boundHelpful":true,"x":1}"#),
            "certifyOptions: unknown member \"x\""
        );
        assert!(e("[1]").contains("must be an object"));
        assert!(e("{").contains("not valid JSON"));
        let e = Object::parse(&NETWORK_SHAPE, br#"{"layers":[{"inputs":2,"outputs":1,"relu":1}]}"#).unwrap_err();
        assert_eq!(e.to_string(), "networkShape.layers[0]: member \"relu\" must be true or false (got 1.0)");
        let e = Object::parse(&PATCH_HEADER, br#"{"kind":"linear","rows":3,"radius":1}"#).unwrap_err();
        assert!(e.to_string().contains("must be one of \"constant\", \"affine\""), "{}", e);
    }
}
