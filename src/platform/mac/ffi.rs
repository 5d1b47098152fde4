//! The libdispatch items the backend calls, declared by hand from `<dispatch/*.h>` (the same
//! declarations on Apple's libdispatch and on swift-corelibs-libdispatch), plus the two
//! `_4CF` entry points CoreFoundation drives the main queue with, which the Linux harness
//! uses in its place, and the few libc calls that tell the process's main thread.
//!
//! Dispatch objects are reference counted and thread-safe; [`Object`] owns one reference.
//! Nothing here is public: libdispatch's types stay out of the crate's API.

#![allow(non_upper_case_globals)] // the C names of the globals

use ::core::ffi::{c_char, c_int, c_uint, c_void};

/// `dispatch_function_t`: what `dispatch_async_f` and the source handlers call.
pub(super) type Function = unsafe extern "C" fn(context: *mut c_void);

/// `dispatch_time_t`: nanoseconds on libdispatch's clock, or one of the two constants below.
pub(super) type Time = u64;

/// `DISPATCH_TIME_NOW`.
pub(super) const TIME_NOW: Time = 0;
/// `DISPATCH_TIME_FOREVER`: as a timer's interval, "fire once".
pub(super) const TIME_FOREVER: Time = !0;

/// `QOS_CLASS_USER_INTERACTIVE` (`qos_class_t`, the same value on both libdispatches).
pub(super) const QOS_CLASS_USER_INTERACTIVE: c_uint = 0x21;
/// `QOS_CLASS_USER_INITIATED` (`qos_class_t`, the same value on both libdispatches).
pub(super) const QOS_CLASS_USER_INITIATED: c_uint = 0x19;
/// `QOS_CLASS_DEFAULT` (`qos_class_t`, the same value on both libdispatches).
pub(super) const QOS_CLASS_DEFAULT: c_uint = 0x15;
/// `QOS_CLASS_UTILITY` (`qos_class_t`, the same value on both libdispatches).
pub(super) const QOS_CLASS_UTILITY: c_uint = 0x11;
/// `DISPATCH_QUEUE_OVERCOMMIT` (`<dispatch/private.h>`): a global queue that starts a thread
/// whenever work waits and no thread is free, however many are busy or blocked.
pub(super) const QUEUE_OVERCOMMIT: usize = 0x2;

/// Any dispatch object (`dispatch_object_t`): queue, source or attribute.
#[repr(C)]
pub(super) struct Opaque {
    _private: [u8; 0],
}

/// A pointer to a dispatch object, as every call takes it.
pub(super) type Raw = *mut Opaque;

#[cfg_attr(target_vendor = "apple", link(name = "System", kind = "dylib"))]
#[cfg_attr(not(target_vendor = "apple"), link(name = "dispatch"))]
unsafe extern "C" {
    /// `DISPATCH_QUEUE_CONCURRENT` is the address of this attribute.
    pub(super) static _dispatch_queue_attr_concurrent: Opaque;
    /// `dispatch_get_main_queue()` is a header inline returning the address of this queue.
    pub(super) static _dispatch_main_q: Opaque;
    /// `DISPATCH_SOURCE_TYPE_TIMER` is the address of this source type.
    pub(super) static _dispatch_source_type_timer: Opaque;

    pub(super) fn dispatch_get_global_queue(identifier: isize, flags: usize) -> Raw;
    pub(super) fn dispatch_queue_attr_make_with_qos_class(
        attr: Raw,
        qos_class: c_uint,
        relative_priority: c_int,
    ) -> Raw;
    pub(super) fn dispatch_queue_create(label: *const c_char, attr: Raw) -> Raw;
    pub(super) fn dispatch_queue_set_specific(
        queue: Raw,
        key: *const c_void,
        context: *mut c_void,
        destructor: Option<Function>,
    );
    pub(super) fn dispatch_get_specific(key: *const c_void) -> *mut c_void;
    pub(super) fn dispatch_async_f(queue: Raw, context: *mut c_void, work: Function);

    pub(super) fn dispatch_time(when: Time, delta: i64) -> Time;
    pub(super) fn dispatch_source_create(
        kind: *const Opaque,
        handle: usize,
        mask: usize,
        queue: Raw,
    ) -> Raw;
    pub(super) fn dispatch_source_set_timer(source: Raw, start: Time, interval: u64, leeway: u64);
    pub(super) fn dispatch_source_set_event_handler_f(source: Raw, handler: Option<Function>);
    pub(super) fn dispatch_source_set_cancel_handler_f(source: Raw, handler: Option<Function>);
    pub(super) fn dispatch_source_cancel(source: Raw);

    pub(super) fn dispatch_set_context(object: Raw, context: *mut c_void);
    pub(super) fn dispatch_resume(object: Raw);
    pub(super) fn dispatch_release(object: Raw);
}

// CoreFoundation's hooks into the main queue (`<dispatch/private.h>`): the handle a run loop
// waits on (an eventfd on Linux) and the call that drains the queue. The callback must only
// be called on the main thread: anywhere else libdispatch kills the process.
#[cfg(not(target_vendor = "apple"))]
#[link(name = "dispatch")]
unsafe extern "C" {
    pub(super) fn _dispatch_get_main_queue_handle_4CF() -> c_int;
    pub(super) fn _dispatch_main_queue_callback_4CF(msg: *mut c_void);
}

#[cfg(target_vendor = "apple")]
unsafe extern "C" {
    /// Non-zero on the process's main thread.
    pub(super) fn pthread_main_np() -> c_int;
}

#[cfg(not(target_vendor = "apple"))]
unsafe extern "C" {
    pub(super) fn gettid() -> c_int;
    pub(super) fn getpid() -> c_int;
    pub(super) fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
}

/// One owned reference to a dispatch object, released on drop.
pub(super) struct Object(Raw);

// SAFETY: dispatch objects are reference counted atomically and every dispatch call on them
// may be made from any thread (libdispatch's documented thread-safety), so the reference
// may move to, and be used from, any thread.
unsafe impl Send for Object {}
// SAFETY: as above; `&Object` only hands out the pointer for such calls.
unsafe impl Sync for Object {}

impl Object {
    /// Takes ownership of one reference, or `None` for a null pointer (a failed create).
    pub(super) fn owned(raw: Raw) -> Option<Self> {
        (!raw.is_null()).then_some(Self(raw))
    }

    pub(super) fn raw(&self) -> Raw {
        self.0
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: we own one reference, released once; libdispatch keeps the object alive
        // while work submitted to it (or a source's handlers) is pending.
        unsafe { dispatch_release(self.0) };
    }
}

/// The main queue (`dispatch_get_main_queue()`): static, never released.
pub(super) fn main_queue() -> Raw {
    (&raw const _dispatch_main_q).cast_mut()
}

/// The global queue of `qos`, `flags` 0 or [`QUEUE_OVERCOMMIT`]: static, never released.
pub(super) fn global_queue(qos: c_uint, flags: usize) -> Raw {
    // SAFETY: no preconditions; a valid QoS class and flag give a global queue.
    unsafe { dispatch_get_global_queue(qos as isize, flags) }
}
