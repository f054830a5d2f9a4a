//! Objects behind integer handles, the message buffer, statuses, linear-memory buffers, and the
//! exports that concern them all (mirrored by `ts/wasm/raw.ts`).
//!
//! * Buffers come from `rr_alloc(bytes)` (8-byte aligned, so Float64Array views work) and go back
//!   with `rr_free(ptr, bytes)`.
//! * Constructors return a handle > 0; other calls return a count (>= 0; for calls that write a
//!   layout, the number of values written). Failures return a negative [`Status`] and leave the
//!   UTF-8 message in `rr_message_ptr/len`.
//! * Any call may grow memory: callers re-create their typed-array views after each call.

// clippy 1.63 reads the `const { … }` initialisers that stable clippy asks for below as
// interior-mutable consts (the thread-local is the one place they live).
#![allow(clippy::declare_interior_mutable_const)]

use std::any::Any;
use std::cell::RefCell;

use relu_repair_core::Error;

use crate::abi::{Code, Status};

thread_local! {
    static OBJECTS: RefCell<Vec<Option<Box<dyn Any>>>> = const { RefCell::new(Vec::new()) };
    static MESSAGE: RefCell<String> = const { RefCell::new(String::new()) };
}

pub fn set_message(m: String) {
    MESSAGE.with(|s| *s.borrow_mut() = m);
}

/// The status of an error (its message goes to the message buffer).
pub fn fail(e: Error) -> i32 {
    let status = match e {
        Error::Invalid(_) => Status::Invalid,
        Error::Lp(_) => Status::LpFailure,
        Error::Empty(_) => Status::Empty,
        Error::PieceLimit { .. } => Status::PieceLimit,
    };
    set_message(e.to_string());
    status.code()
}

pub fn bad_handle(h: i32, what: &str) -> i32 {
    set_message(format!("handle {} is not a live {}", h, what));
    Status::BadHandle.code()
}

/// `Ok(count)` as a status, errors as [`fail`].
pub fn status(r: Result<usize, Error>) -> i32 {
    match r {
        Ok(n) => n as i32,
        Err(e) => fail(e),
    }
}

/// Stores an object; its handle.
pub fn store<T: Any>(o: T) -> i32 {
    OBJECTS.with(|objs| {
        let mut objs = objs.borrow_mut();
        if let Some(i) = objs.iter().position(|s| s.is_none()) {
            objs[i] = Some(Box::new(o));
            (i + 1) as i32
        } else {
            objs.push(Some(Box::new(o)));
            objs.len() as i32
        }
    })
}

/// Runs `f` on the object of handle `h` if it is a live `T`. `f` must not look up or store
/// other handles (the store is borrowed while it runs): constructors compute inside and store
/// after.
pub fn with<T: Any, R>(h: i32, f: impl FnOnce(&mut T) -> R) -> Option<R> {
    OBJECTS.with(|objs| {
        let mut objs = objs.borrow_mut();
        // Handles <= 0 wrap to indices past the end.
        let obj = objs.get_mut((h as usize).wrapping_sub(1))?.as_mut()?;
        (**obj).downcast_mut::<T>().map(f)
    })
}

/// [`with`] for exports: `f`'s status, or a bad-handle status naming `what`.
pub fn on<T: Any>(h: i32, what: &str, f: impl FnOnce(&mut T) -> i32) -> i32 {
    with(h, f).unwrap_or_else(|| bad_handle(h, what))
}

pub fn slice<'a>(p: *const f64, len: usize) -> &'a [f64] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes a buffer of `len` f64 from rr_alloc.
        unsafe { std::slice::from_raw_parts(p, len) }
    }
}

pub fn slice_mut<'a>(p: *mut f64, len: usize) -> &'a mut [f64] {
    if len == 0 {
        &mut []
    } else {
        // SAFETY: as above, for an output buffer of `len` f64.
        unsafe { std::slice::from_raw_parts_mut(p, len) }
    }
}

pub fn bytes<'a>(p: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        // SAFETY: the caller passes a buffer of `len` bytes from rr_alloc.
        unsafe { std::slice::from_raw_parts(p, len) }
    }
}

/// Copies `values` to the output buffer; their count as the status.
pub fn write_out(out: *mut f64, values: &[f64]) -> i32 {
    slice_mut(out, values.len()).copy_from_slice(values);
    values.len() as i32
}

#[no_mangle]
pub extern "C" fn rr_alloc(bytes: usize) -> *mut u8 {
    let words = (bytes + 7) / 8;
    let mut v: Vec<u64> = Vec::with_capacity(words.max(1));
    let p = v.as_mut_ptr() as *mut u8;
    std::mem::forget(v);
    p
}

/// # Safety
/// `ptr` must come from `rr_alloc(bytes)` with the same `bytes`, and be freed once.
#[no_mangle]
pub unsafe extern "C" fn rr_free(ptr: *mut u8, bytes: usize) {
    let words = (bytes + 7) / 8;
    drop(Vec::from_raw_parts(ptr as *mut u64, 0, words.max(1)));
}

#[no_mangle]
pub extern "C" fn rr_message_ptr() -> *const u8 {
    MESSAGE.with(|s| s.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn rr_message_len() -> usize {
    MESSAGE.with(|s| s.borrow().len())
}

/// Puts `{"core":"x.y.z","simd":true|false}` into the message buffer.
#[no_mangle]
pub extern "C" fn rr_version() -> i32 {
    let simd = cfg!(target_feature = "simd128");
    set_message(format!("{{\"core\":\"{}\",\"simd\":{}}}", relu_repair_core::VERSION, simd));
    Status::Ok.code()
}

/// Grows linear memory ahead of a large job so that later calls do not have to.
#[no_mangle]
pub extern "C" fn rr_reserve_memory(bytes: usize) -> i32 {
    let v: Vec<u8> = Vec::with_capacity(bytes);
    drop(v);
    Status::Ok.code()
}

/// Panics on purpose: lets tests check that a trap reaches JavaScript as a typed error.
#[no_mangle]
pub extern "C" fn rr_debug_panic() -> i32 {
    panic!("rr_debug_panic called")
}

/// Releases any object. Releasing an unknown handle is an error (it signals a double free).
#[no_mangle]
pub extern "C" fn rr_release(h: i32) -> i32 {
    let ok = OBJECTS.with(|objs| {
        let mut objs = objs.borrow_mut();
        h > 0 && (h as usize) <= objs.len() && objs[h as usize - 1].take().is_some()
    });
    if ok {
        Status::Ok.code()
    } else {
        bad_handle(h, "object")
    }
}

/// Number of live objects (leak checks in tests).
#[no_mangle]
pub extern "C" fn rr_live_objects() -> i32 {
    OBJECTS.with(|objs| objs.borrow().iter().filter(|o| o.is_some()).count() as i32)
}
