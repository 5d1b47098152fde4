//! The dispatcher's message-only window: its class and registered message, its creation on
//! the main thread and the strong reference it holds, its window procedure (run foreground
//! work, wake `run_until`, destroy itself), and the message loop `run_until` runs.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use std::io;
use std::sync::OnceLock;

use windows_sys::Win32::Foundation::{
    ERROR_CLASS_ALREADY_EXISTS, GetLastError, HWND, LPARAM, LRESULT, WPARAM,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DestroyWindow, DispatchMessageW, GWLP_USERDATA, GetMessageW,
    GetWindowLongPtrW, HWND_MESSAGE, KillTimer, MSG, PostMessageW, PostQuitMessage,
    RegisterClassExW, RegisterWindowMessageW, SetWindowLongPtrW, TranslateMessage, WM_NCDESTROY,
    WM_TIMER, WNDCLASSEXW,
};

use super::Shared;
use crate::platform::unwind::no_unwind;

/// `wParam` of the dispatcher's window message: run queued foreground work.
pub(super) const MSG_WAKE: WPARAM = 0;
/// `wParam`: nothing to do here; it wakes `run_until`'s `GetMessageW` to poll its future.
const MSG_POLL: WPARAM = 1;
/// `wParam`: destroy the window (posted by a `Drop` that runs off the main thread).
pub(super) const MSG_CLOSE: WPARAM = 2;
/// The id of the window timer that continues foreground work once input and paint messages
/// have been handled.
pub(super) const CONTINUE_TIMER: usize = 1;

/// An `HWND` as an integer: a window handle is a process-wide name, usable (for
/// `PostMessageW`) from any thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WindowHandle(usize);

impl WindowHandle {
    pub(super) fn get(self) -> HWND {
        self.0 as HWND
    }
}

/// A UTF-16, NUL-terminated copy of `text`.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// The window class and the message id, registered once per process.
pub(super) fn window_class() -> io::Result<(&'static [u16], u32)> {
    static REGISTERED: OnceLock<Result<(Vec<u16>, u32), i32>> = OnceLock::new();
    let registered = REGISTERED.get_or_init(|| {
        let name = wide("unified-scheduler.WindowsDispatcher");
        // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call.
        let message = unsafe { RegisterWindowMessageW(name.as_ptr()) };
        if message == 0 {
            return Err(io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        // SAFETY: a null module name asks for the executable's handle; no pointer is kept.
        let instance = unsafe { GetModuleHandleW(ptr::null()) };
        let class = WNDCLASSEXW {
            cbSize: mem::size_of::<WNDCLASSEXW>() as u32,
            lpfnWndProc: Some(window_proc),
            hInstance: instance,
            lpszClassName: name.as_ptr(),
            ..WNDCLASSEXW::default()
        };
        // SAFETY: `class` is fully initialised, its size field is right, and the class name
        // is kept alive for the rest of the process (it is stored in `REGISTERED`).
        if unsafe { RegisterClassExW(&class) } == 0 {
            // SAFETY: reads the calling thread's last-error value; no preconditions.
            let error = unsafe { GetLastError() };
            if error != ERROR_CLASS_ALREADY_EXISTS {
                return Err(error as i32);
            }
        }
        Ok((name, message))
    });
    match registered {
        Ok((name, message)) => Ok((name, *message)),
        Err(code) => Err(io::Error::from_raw_os_error(*code)),
    }
}

/// The dispatcher's registered window message (the class is registered by then).
pub(super) fn window_message() -> u32 {
    window_class().map_or(0, |(_, message)| message)
}

/// Creates the message-only window on the calling thread, which then owns it.
pub(super) fn create(class: &[u16]) -> io::Result<WindowHandle> {
    // SAFETY: the class was registered with this name (which lives for the process);
    // `HWND_MESSAGE` as parent makes a message-only window; other arguments are null or
    // zero, which these parameters accept.
    let hwnd = unsafe {
        CreateWindowExW(
            0,
            class.as_ptr(),
            ptr::null(),
            0,
            0,
            0,
            0,
            0,
            HWND_MESSAGE,
            ptr::null_mut(),
            GetModuleHandleW(ptr::null()),
            ptr::null(),
        )
    };
    if hwnd.is_null() {
        return Err(io::Error::last_os_error());
    }
    Ok(WindowHandle(hwnd as usize))
}

/// Gives the window its strong reference to the shared state, on the window's thread.
pub(super) fn attach(hwnd: WindowHandle, shared: Arc<Shared>) {
    let window_ref = Arc::into_raw(shared);
    // SAFETY: `hwnd` is our live window, created on this thread; the stored strong
    // reference is released on `WM_NCDESTROY` (see `window_proc`).
    unsafe { SetWindowLongPtrW(hwnd.get(), GWLP_USERDATA, window_ref as isize) };
}

/// `run_until`'s loop on the main thread: polls `future` whenever it is woken, otherwise
/// gets and dispatches the thread's messages; a `WM_QUIT` is posted again at the end.
#[track_caller]
pub(super) fn run_message_loop<F: Future>(
    hwnd: WindowHandle,
    mut future: Pin<&mut F>,
) -> F::Output {
    let wake = Arc::new(LoopWake {
        woken: AtomicBool::new(true),
        hwnd,
    });
    let waker = Waker::from(wake.clone());
    let mut cx = Context::from_waker(&waker);
    let mut quit = None;
    loop {
        if wake.woken.swap(false, Ordering::AcqRel) {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                if let Some(code) = quit {
                    // SAFETY: posts `WM_QUIT` to this thread's queue; no preconditions.
                    unsafe { PostQuitMessage(code) };
                }
                return output;
            }
            continue;
        }
        let mut msg = MSG::default();
        // SAFETY: `msg` is a valid out-pointer; a null window and 0..0 filter ask for
        // every message of this thread.
        match unsafe { GetMessageW(&mut msg, ptr::null_mut(), 0, 0) } {
            0 => quit = Some(msg.wParam as i32),
            -1 => panic!(
                "GetMessageW failed in WindowsDispatcher::run_until: {}",
                io::Error::last_os_error()
            ),
            _ => {
                // SAFETY: `msg` was just filled in by `GetMessageW` on this thread.
                unsafe {
                    TranslateMessage(&msg);
                    DispatchMessageW(&msg);
                }
            }
        }
    }
}

/// The waker of `run_until`: flags the future for a poll and posts one message to wake the
/// loop out of `GetMessageW`.
struct LoopWake {
    woken: AtomicBool,
    hwnd: WindowHandle,
}

impl alloc::task::Wake for LoopWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            // SAFETY: posting to a window handle is allowed from any thread; if the window
            // is gone the call fails harmlessly (and then `run_until` is not running).
            unsafe { PostMessageW(self.hwnd.get(), window_message(), MSG_POLL, 0) };
        }
    }
}

/// The window procedure of the dispatcher's message-only window.
unsafe extern "system" fn window_proc(
    hwnd: HWND,
    message: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> LRESULT {
    no_unwind("window procedure", || {
        if message == WM_NCDESTROY {
            // SAFETY: `hwnd` is this live window; we clear the slot so it is released once.
            let stored = unsafe { SetWindowLongPtrW(hwnd, GWLP_USERDATA, 0) };
            if stored != 0 {
                // SAFETY: the slot held the strong reference stored in `try_with_config`.
                drop(unsafe { Arc::from_raw(stored as *const Shared) });
            }
        } else if (message == window_message() && message != 0)
            || (message == WM_TIMER && wparam == CONTINUE_TIMER)
        {
            // SAFETY: `hwnd` is this live window.
            let stored = unsafe { GetWindowLongPtrW(hwnd, GWLP_USERDATA) } as *const Shared;
            if stored.is_null() {
                return 0;
            }
            // SAFETY: the slot holds a strong reference until `WM_NCDESTROY`; we take one of
            // our own, so the state outlives this call even if a task running here drops
            // the dispatcher (destroying the window under us).
            let shared = unsafe {
                Arc::increment_strong_count(stored);
                Arc::from_raw(stored)
            };
            if message == WM_TIMER {
                // SAFETY: our window, on its own thread; a one-shot use of the timer.
                unsafe { KillTimer(hwnd, CONTINUE_TIMER) };
                shared.on_wake_message();
                return 0;
            }
            match wparam {
                MSG_WAKE => shared.on_wake_message(),
                MSG_CLOSE => {
                    // SAFETY: we are on the window's thread (its procedure runs here).
                    unsafe { DestroyWindow(hwnd) };
                }
                _ => {} // MSG_POLL: waking `run_until`'s `GetMessageW` was the point.
            }
            return 0;
        }
        // SAFETY: the arguments are the ones Windows passed to this procedure.
        unsafe { DefWindowProcW(hwnd, message, wparam, lparam) }
    })
}
