//! `WindowsDispatcher`: the Windows thread pool for background work and timers, and a
//! message-only window on the main thread for foreground work (feature `win-threadpool`,
//! Windows only).
//!
//! # Implementation notes
//!
//! - **Ownership.** The dispatcher owns an `Arc<Shared>`. Every thread-pool callback owns a
//!   strong reference of its own (a submitted callback gets `Arc::into_raw` as its context, a
//!   timer owns a boxed [`TimerCtx`] holding one) and the window holds one in its
//!   `GWLP_USERDATA`, released on `WM_NCDESTROY`. So no callback can outlive the state it
//!   touches, and tasks reach the dispatcher only through a `Weak`: the user's last
//!   `Arc<dyn Scheduler>` runs `Drop`, which shuts everything down.
//! - **Background work.** Runnables wait in our own FIFO queue; each `schedule` pushes one
//!   and submits one simple callback with `TrySubmitThreadpoolCallback` and a
//!   `TP_CALLBACK_ENVIRON_V3` (normal callback priority; by default a private pool of
//!   `max(cpus, 2)` threads, all started up front like the `LinuxDispatcher`'s workers, or
//!   the process-wide pool, see [`WindowsDispatcherConfig::max_threads`]). A callback takes one runnable
//!   off the queue and runs it. Keeping the runnables in our queue (not in the callback's
//!   context) is what lets shutdown cancel queued tasks, and makes a failed submission
//!   harmless.
//! - **Submission failure: adopt, else retry.** `TrySubmitThreadpoolCallback` fails only when
//!   the system cannot allocate the callback object. The runnable is never dropped: it is
//!   already in the queue. `pending` counts submitted callbacks that have not started; every
//!   callback, after its runnable, keeps taking runnables while `queue.len() > pending`, i.e.
//!   while some runnable has no callback coming for it. So after a failed submission, if any
//!   callback is pending or running, the orphan is *adopted* by it. If none is, the submitter
//!   *retries*, sleeping 1 ms between attempts, until the pool accepts the callback.
//! - **Timers.** `schedule_after` puts the runnable in one [`TimerHeap`] (deadline order, ties
//!   in the order scheduled) and arms a thread-pool timer (`CreateThreadpoolTimer` +
//!   `SetThreadpoolTimer` with a relative due time, rounded up to 100 ns) for its deadline.
//!   A timer callback that fires early on our clock re-arms itself; otherwise it hands every
//!   due runnable of the heap to the pool, in deadline order, and closes its timer from the
//!   callback (`CloseThreadpoolTimer`). The heap, not the order in which pool timers fire,
//!   decides the order; hand-over happens under the heap's lock. Fired runnables run as
//!   ordinary pool callbacks, so a long task cannot delay a timer. A deadline past what
//!   `Instant` can represent never fires: the runnable waits for shutdown, no timer is armed.
//! - **Foreground work.** A message-only window (`HWND_MESSAGE`) created by, and so owned
//!   by, the main thread (the thread that called `new`). `schedule_foreground` queues the
//!   runnable, posts one wake message unless one is already on its way (`posted`: a burst of
//!   foreground work posts one message), and unparks the main thread. The window procedure
//!   runs queued runnables for one time slice ([`WindowsDispatcherConfig::time_slice`],
//!   10 ms by default, at least one runnable per message) and posts again if work remains,
//!   so the thread's other messages get their turn. Posted messages are retrieved before
//!   input and paint, so when `GetQueueStatus` says input or paint is waiting, the
//!   continuation is a one-shot window timer (`WM_TIMER` comes after both) instead. Messages go to the window, never to the
//!   thread (`PostThreadMessageW` messages are lost in modal loops), so any message loop
//!   runs foreground work: the user's own `GetMessageW`/`DispatchMessageW` loop, a modal
//!   dialog's, or ours in [`WindowsDispatcher::run_until`]. The window uses the registered
//!   window message `"unified-scheduler.WindowsDispatcher"` with `wParam` 0 (run foreground
//!   work), 1 (poll `run_until`'s future) or 2 (destroy the window).
//! - **Blocking on the main thread runs foreground tasks** (like the `LinuxDispatcher`):
//!   `park` on the main thread first runs queued foreground runnables (one time slice) and
//!   returns if it ran any; it does not dispatch other window messages (use `run_until` for
//!   that). Elsewhere `park` only parks the calling thread (`parking`).
//! - **Panics.** Tasks are spawned with async-task's `propagate_panic`, so a task's panic is
//!   caught and handed to its awaiter; we also catch around every `run` and drop. Every
//!   `extern "system"` callback body runs under `catch_unwind` and aborts the process with a
//!   message if anything still unwinds: unwinding into the thread pool or `user32` is UB.
//! - **Shutdown** (`Drop`): (1) mark the timers shut down, take the heap and every armed pool
//!   timer; cancel each timer, wait for its callbacks (`WaitForThreadpoolTimerCallbacks` with
//!   cancellation) and close it. (2) Mark the pool shut down and take its queue in one
//!   critical section; callbacks still pending in the thread pool then find nothing to do.
//!   (3) Take the foreground queue. Drop the background runnables (their tasks are cancelled,
//!   so a running task blocked on one of them is released) and the foreground ones if we are
//!   on the main thread, else leak them (a `!Send` future may not be dropped elsewhere).
//!   (4) Wait until no callback runs a runnable of ours, except the calling thread's own
//!   when the last reference is dropped inside a task. (5) Destroy the window on the main
//!   thread, or post it a destroy request from elsewhere. (6) Close the private pool, if any.
//! - **Process exit.** A runnable is never inside a pool callback's context, so a callback
//!   the pool never runs (the process exits first) loses nothing but its reference to the
//!   shared state; runnables still queued at exit are neither run nor dropped, like any
//!   value alive when the process ends. A window whose dispatcher was dropped off the main
//!   thread, on a main thread that never pumps messages again, keeps the shared state (with
//!   empty queues) alive until the thread ends.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::ffi::c_void;
use core::fmt;
use core::future::Future;
use core::mem;
use core::panic::AssertUnwindSafe;
use core::pin::pin;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::io;
use std::panic::catch_unwind;
use std::sync::{Condvar, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Instant;

use windows_sys::Win32::Foundation::{
    ERROR_CLASS_ALREADY_EXISTS, FILETIME, GetLastError, HWND, LPARAM, LRESULT, WPARAM,
};
use windows_sys::Win32::System::LibraryLoader::GetModuleHandleW;
use windows_sys::Win32::System::Threading::{
    CloseThreadpool, CloseThreadpoolTimer, CreateThreadpool, CreateThreadpoolTimer, PTP_POOL,
    PTP_TIMER, SetThreadpoolThreadMaximum, SetThreadpoolThreadMinimum, SetThreadpoolTimer,
    TP_CALLBACK_ENVIRON_V3, TP_CALLBACK_PRIORITY_NORMAL, TrySubmitThreadpoolCallback,
    WaitForThreadpoolTimerCallbacks,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    CreateWindowExW, DefWindowProcW, DestroyWindow, DispatchMessageW, GWLP_USERDATA, GetMessageW,
    GetQueueStatus, GetWindowLongPtrW, HWND_MESSAGE, KillTimer, MSG, PostMessageW, PostQuitMessage,
    QS_INPUT, QS_PAINT, RegisterClassExW, RegisterWindowMessageW, SetTimer, SetWindowLongPtrW,
    TranslateMessage, USER_TIMER_MINIMUM, WM_NCDESTROY, WM_TIMER, WNDCLASSEXW,
};

use crate::core::current_thread_id;
use crate::sync::{Mutex, MutexGuard};
use crate::timers::TimerHeap;
use crate::{Runnable, Scheduler, Unparker};

/// `wParam` of the dispatcher's window message: run queued foreground work.
const MSG_WAKE: WPARAM = 0;
/// `wParam`: nothing to do here; it wakes `run_until`'s `GetMessageW` to poll its future.
const MSG_POLL: WPARAM = 1;
/// `wParam`: destroy the window (posted by a `Drop` that runs off the main thread).
const MSG_CLOSE: WPARAM = 2;
/// The id of the window timer that continues foreground work once input and paint messages
/// have been handled.
const CONTINUE_TIMER: usize = 1;

/// The knobs of a [`WindowsDispatcher`].
///
/// ```
/// use std::time::Duration;
/// use unified_scheduler::WindowsDispatcherConfig;
///
/// let config = WindowsDispatcherConfig::default()
///     .max_threads(2)
///     .time_slice(Duration::from_millis(5));
/// assert_eq!(config.max_threads, Some(2));
/// assert_eq!(config.time_slice, Duration::from_millis(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowsDispatcherConfig {
    /// `Some(n)`: background work and timers run on a private thread pool of this
    /// dispatcher with `n` threads (0 counts as 1), started with the dispatcher and released
    /// when it is dropped; with 1 thread, background runnables run one at a time in the order
    /// they were scheduled. The default is `Some(max(available_parallelism, 2))`.
    ///
    /// `None`: they run on the process-wide Windows thread pool, shared with the rest of the
    /// process. Windows grows that pool as it sees fit (Wine creates a thread whenever all
    /// are busy), so tasks that keep rescheduling themselves may spread over many threads.
    pub max_threads: Option<usize>,
    /// How long one window message may run foreground work before it yields to the other
    /// messages of the main thread (it runs at least one runnable). The default is 10 ms.
    pub time_slice: Duration,
}

impl Default for WindowsDispatcherConfig {
    /// A private pool of `max(available_parallelism, 2)` threads and a 10 ms time slice.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::WindowsDispatcherConfig;
    ///
    /// let config = WindowsDispatcherConfig::default();
    /// assert!(config.max_threads.unwrap() >= 2);
    /// assert_eq!(config.time_slice, Duration::from_millis(10));
    /// ```
    fn default() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            max_threads: Some(cpus.max(2)),
            time_slice: Duration::from_millis(10),
        }
    }
}

impl WindowsDispatcherConfig {
    /// The same config with a private thread pool of `count` threads (0 counts as 1).
    ///
    /// ```
    /// use unified_scheduler::WindowsDispatcherConfig;
    /// assert_eq!(WindowsDispatcherConfig::default().max_threads(1).max_threads, Some(1));
    /// ```
    #[must_use]
    pub fn max_threads(mut self, count: usize) -> Self {
        self.max_threads = Some(count);
        self
    }

    /// The same config on the process-wide Windows thread pool instead of a private one.
    ///
    /// ```
    /// use unified_scheduler::WindowsDispatcherConfig;
    /// assert_eq!(WindowsDispatcherConfig::default().process_pool().max_threads, None);
    /// ```
    #[must_use]
    pub fn process_pool(mut self) -> Self {
        self.max_threads = None;
        self
    }

    /// The same config with foreground work run in slices of `slice` per window message.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::WindowsDispatcherConfig;
    ///
    /// let config = WindowsDispatcherConfig::default().time_slice(Duration::from_millis(1));
    /// assert_eq!(config.time_slice, Duration::from_millis(1));
    /// ```
    #[must_use]
    pub fn time_slice(mut self, slice: Duration) -> Self {
        self.time_slice = slice;
        self
    }
}

/// The production [`Scheduler`] for Windows: background tasks and timers on the Windows
/// thread pool, foreground tasks on the main thread (the thread that created the
/// dispatcher) through a message-only window.
///
/// Foreground tasks run whenever the main thread dispatches window messages: in your own
/// message loop, in a modal loop, in [`run_until`](WindowsDispatcher::run_until) (the
/// dispatcher runs the loop itself), or in [`pump_pending`](WindowsDispatcher::pump_pending);
/// and while the main thread is blocked in [`block`](crate::Scheduler#method.block). Dropping the last
/// `Arc` cancels the tasks still queued and waits for running callbacks.
///
/// ```
/// use std::rc::Rc;
/// use std::sync::Arc;
/// use unified_scheduler::{Scheduler, WindowsDispatcher};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(WindowsDispatcher::new());
/// let background = scheduler.spawn(async { 6 * 7 });
/// let not_send = Rc::new(1);
/// let foreground = scheduler.spawn_foreground(async move { *not_send });
/// // Blocking on the main thread also runs foreground tasks.
/// assert_eq!(scheduler.block(async { background.await + foreground.await }), 43);
/// ```
pub struct WindowsDispatcher {
    shared: Arc<Shared>,
    main_thread: ThreadId,
    /// The private pool (0 when the config asked for the process-wide pool).
    private_pool: PTP_POOL,
}

/// What the callbacks and the window share with the dispatcher.
struct Shared {
    pool: Mutex<Pool>,
    /// Signalled when a callback stops running runnables after shutdown.
    pool_idle: Condvar,
    env: CallbackEnv,
    timers: Mutex<Timers>,
    main: Mutex<MainQueue>,
    /// The message-only window, owned by the main thread.
    hwnd: WindowHandle,
    /// Wakes the main thread when it is parked in `park`/`block`.
    main_unparker: Unparker,
    time_slice: Duration,
    threads: usize,
}

struct Pool {
    queue: VecDeque<Runnable>,
    /// Submitted callbacks that have not started yet.
    pending: usize,
    /// Callbacks running runnables of ours.
    running: usize,
    shutdown: bool,
}

struct Timers {
    heap: TimerHeap<Instant>,
    /// Timers too far away for `Instant` to represent: they never fire.
    never: Vec<Runnable>,
    /// Pool timers armed and not yet finished, by id. An entry is removed (and then owned)
    /// either by its callback once it has handed over the due runnables, or by `Drop`.
    armed: BTreeMap<u64, ArmedTimer>,
    next_id: u64,
    shutdown: bool,
}

struct ArmedTimer {
    timer: PTP_TIMER,
    ctx: *mut TimerCtx,
}

// SAFETY: `ctx` is a `Box<TimerCtx>` (which is `Send`: it holds an `Arc<Shared>`, an
// `Instant` and a `u64`) turned into a raw pointer; whoever removes the entry from `armed`
// under the lock owns it, so moving the entry to another thread moves that ownership.
unsafe impl Send for ArmedTimer {}

/// A pool timer's context: which deadline it stands for.
struct TimerCtx {
    shared: Arc<Shared>,
    deadline: Instant,
    id: u64,
}

struct MainQueue {
    queue: VecDeque<Runnable>,
    /// A wake message is on its way to the window and has not been handled yet.
    posted: bool,
    shutdown: bool,
}

/// A `TP_CALLBACK_ENVIRON_V3`, shareable: it is only read (by the thread-pool calls that
/// copy it), and its pool handle stays valid while anything can still submit to it.
struct CallbackEnv(TP_CALLBACK_ENVIRON_V3);

// SAFETY: the environment is plain data (handles and pointers that are all null except the
// pool handle); the Windows thread-pool functions only read it and may be called from any
// thread, so sharing a `&CallbackEnv` across threads is sound.
unsafe impl Send for CallbackEnv {}
// SAFETY: as above.
unsafe impl Sync for CallbackEnv {}

/// An `HWND` as an integer: a window handle is a process-wide name, usable (for
/// `PostMessageW`) from any thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct WindowHandle(usize);

impl WindowHandle {
    fn get(self) -> HWND {
        self.0 as HWND
    }
}

std::thread_local! {
    /// The parker `park` uses on this thread, and its unparker as handed out by `unparker`.
    static PARKER: (parking::Parker, Unparker) = {
        let (parker, unparker) = parking::pair();
        (parker, Unparker::from(unparker))
    };
    /// The `Shared` whose runnables this pool thread is running right now (null if none),
    /// so `Drop` does not wait for its own callback.
    static RUNNING_FOR: Cell<*const Shared> = const { Cell::new(ptr::null()) };
}

/// Runs a runnable; a panic (already caught by async-task for spawned tasks) never unwinds
/// into our callbacks.
fn run_guarded(runnable: Runnable) {
    let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
}

/// Drops a runnable (cancelling its task); a panicking destructor does not unwind further.
fn drop_guarded(runnable: Runnable) {
    let _ = catch_unwind(AssertUnwindSafe(|| drop(runnable)));
}

/// Runs the body of an `extern "system"` callback: nothing may unwind into Windows.
fn no_unwind<R>(what: &str, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            std::eprintln!(
                "unified-scheduler: a panic escaped the WindowsDispatcher's {what}; \
                 unwinding into Windows is undefined behaviour, so the process aborts"
            );
            std::process::abort()
        }
    }
}

/// A relative due time for `SetThreadpoolTimer`: negative, in 100 ns units, rounded up so
/// the timer is never early, at least one unit (0 would mean an absolute time), saturating.
fn relative_due_time(delay: Duration) -> FILETIME {
    let ticks = delay.as_nanos().div_ceil(100).clamp(1, i64::MAX as u128) as i64;
    let due = (-ticks) as u64;
    FILETIME {
        dwLowDateTime: due as u32,
        dwHighDateTime: (due >> 32) as u32,
    }
}

/// A UTF-16, NUL-terminated copy of `text`.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(Some(0)).collect()
}

/// The window class and the message id, registered once per process.
fn window_class() -> io::Result<(&'static [u16], u32)> {
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
fn window_message() -> u32 {
    window_class().map_or(0, |(_, message)| message)
}

impl Default for WindowsDispatcher {
    /// The same as [`WindowsDispatcher::new`].
    ///
    /// ```
    /// use unified_scheduler::WindowsDispatcher;
    /// let dispatcher = WindowsDispatcher::default();
    /// # drop(dispatcher);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl WindowsDispatcher {
    /// A dispatcher with the default config; the calling thread becomes its main thread.
    ///
    /// # Panics
    ///
    /// If the window cannot be created; see
    /// [`try_with_config`](WindowsDispatcher::try_with_config).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, WindowsDispatcher};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(WindowsDispatcher::new());
    /// assert!(scheduler.is_main_thread());
    /// ```
    pub fn new() -> Self {
        Self::with_config(WindowsDispatcherConfig::default())
    }

    /// A dispatcher with `config`; the calling thread becomes its main thread.
    ///
    /// # Panics
    ///
    /// If the window or the private thread pool cannot be created.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, WindowsDispatcher, WindowsDispatcherConfig};
    ///
    /// let config = WindowsDispatcherConfig::default().max_threads(1);
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(WindowsDispatcher::with_config(config));
    /// assert_eq!(scheduler.num_cpus(), 1);
    /// ```
    pub fn with_config(config: WindowsDispatcherConfig) -> Self {
        match Self::try_with_config(config) {
            Ok(dispatcher) => dispatcher,
            Err(error) => panic!("cannot start the WindowsDispatcher: {error}"),
        }
    }

    /// A dispatcher with `config`, or the OS error from creating its window or its private
    /// thread pool.
    ///
    /// ```
    /// use unified_scheduler::{WindowsDispatcher, WindowsDispatcherConfig};
    ///
    /// let dispatcher = WindowsDispatcher::try_with_config(WindowsDispatcherConfig::default())?;
    /// # drop(dispatcher);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_with_config(config: WindowsDispatcherConfig) -> io::Result<Self> {
        let (class, _) = window_class()?;
        let mut env = TP_CALLBACK_ENVIRON_V3 {
            Version: 3,
            CallbackPriority: TP_CALLBACK_PRIORITY_NORMAL,
            Size: mem::size_of::<TP_CALLBACK_ENVIRON_V3>() as u32,
            ..TP_CALLBACK_ENVIRON_V3::default()
        };
        let (private_pool, threads) = match config.max_threads {
            None => (0, thread::available_parallelism().map_or(1, |n| n.get())),
            Some(max) => {
                let max = max.clamp(1, u32::MAX as usize);
                // SAFETY: the reserved argument must be null, and is.
                let pool = unsafe { CreateThreadpool(ptr::null()) };
                if pool == 0 {
                    return Err(io::Error::last_os_error());
                }
                // SAFETY: `pool` is a live pool we just created; minimum == maximum, so the
                // pool starts its threads now and never creates more on submission.
                let started = unsafe {
                    SetThreadpoolThreadMaximum(pool, max as u32);
                    SetThreadpoolThreadMinimum(pool, max as u32)
                };
                if started == 0 {
                    let error = io::Error::last_os_error();
                    // SAFETY: nothing was bound to the pool yet.
                    unsafe { CloseThreadpool(pool) };
                    return Err(error);
                }
                env.Pool = pool;
                (pool, max)
            }
        };
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
            let error = io::Error::last_os_error();
            if private_pool != 0 {
                // SAFETY: nothing was bound to the pool yet.
                unsafe { CloseThreadpool(private_pool) };
            }
            return Err(error);
        }
        let shared = Arc::new(Shared {
            pool: Mutex::new(Pool {
                queue: VecDeque::with_capacity(1024),
                pending: 0,
                running: 0,
                shutdown: false,
            }),
            pool_idle: Condvar::new(),
            env: CallbackEnv(env),
            timers: Mutex::new(Timers {
                heap: TimerHeap::new(),
                never: Vec::new(),
                armed: BTreeMap::new(),
                next_id: 0,
                shutdown: false,
            }),
            main: Mutex::new(MainQueue {
                queue: VecDeque::new(),
                posted: false,
                shutdown: false,
            }),
            hwnd: WindowHandle(hwnd as usize),
            main_unparker: PARKER.with(|(_, unparker)| unparker.clone()),
            time_slice: config.time_slice,
            threads,
        });
        let window_ref = Arc::into_raw(shared.clone());
        // SAFETY: `hwnd` is our live window, created on this thread; the stored strong
        // reference is released on `WM_NCDESTROY` (see `window_proc`).
        unsafe { SetWindowLongPtrW(hwnd, GWLP_USERDATA, window_ref as isize) };
        Ok(Self {
            shared,
            main_thread: current_thread_id(),
            private_pool,
        })
    }

    /// Runs `future` to completion on the main thread while running a Windows message loop:
    /// the dispatcher runs the loop itself. Foreground tasks run (in time slices) and every
    /// other window of the thread keeps getting its messages. A `WM_QUIT` received meanwhile
    /// is posted again once the future is done, so the caller's own loop sees it.
    ///
    /// # Panics
    ///
    /// If called from a thread other than the main thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, WindowsDispatcher};
    ///
    /// let dispatcher = Arc::new(WindowsDispatcher::new());
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// let inner = scheduler.clone();
    /// let task = scheduler.spawn_foreground(async move {
    ///     inner.timer(Duration::from_millis(1)).await;
    ///     "on main"
    /// });
    /// assert_eq!(dispatcher.run_until(task), "on main");
    /// ```
    #[track_caller]
    pub fn run_until<F: Future>(&self, future: F) -> F::Output {
        assert!(
            self.is_main_thread(),
            "WindowsDispatcher::run_until must be called on the main thread (the thread that \
             created the dispatcher)"
        );
        let mut future = pin!(future);
        let wake = Arc::new(LoopWake {
            woken: AtomicBool::new(true),
            hwnd: self.shared.hwnd,
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

    /// Runs the foreground tasks that are waiting, for at most one time slice (at least one
    /// task if any is waiting); returns how many ran. For message loops that do not dispatch
    /// every message (say, one filtered to its own window) or for a game loop with no
    /// messages at all. Work left over stays queued, with a wake message posted, so the next
    /// call or the next message loop runs it.
    ///
    /// # Panics
    ///
    /// If called from a thread other than the main thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use unified_scheduler::{Scheduler, WindowsDispatcher};
    ///
    /// let dispatcher = Arc::new(WindowsDispatcher::new());
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// let ran = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..3 {
    ///     let ran = ran.clone();
    ///     scheduler.spawn_foreground(async move { ran.fetch_add(1, Ordering::SeqCst); }).detach();
    /// }
    /// let mut total = 0;
    /// while total < 3 {
    ///     total += dispatcher.pump_pending();
    /// }
    /// assert_eq!(ran.load(Ordering::SeqCst), 3);
    /// ```
    #[track_caller]
    pub fn pump_pending(&self) -> usize {
        assert!(
            self.is_main_thread(),
            "WindowsDispatcher::pump_pending must be called on the main thread (the thread \
             that created the dispatcher)"
        );
        self.shared.run_main_slice()
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

impl Shared {
    /// Queues a background runnable and submits a callback for it.
    fn push(self: &Arc<Self>, runnable: Runnable) {
        let mut pool = self.pool.lock();
        if pool.shutdown {
            // Only a live dispatcher schedules, so this cannot happen; if it did, the task
            // is cancelled like every other one at shutdown.
            drop(pool);
            drop_guarded(runnable);
            return;
        }
        pool.queue.push_back(runnable);
        pool.pending += 1;
        drop(pool);
        self.submit();
    }

    /// Submits one callback, already counted in `pending`. See the implementation notes:
    /// on failure, an in-flight callback adopts the runnable, or we retry.
    fn submit(self: &Arc<Self>) {
        loop {
            let context = Arc::into_raw(self.clone());
            // SAFETY: `work_callback` has the simple-callback signature; `context` is a
            // strong reference that the callback takes back; the environment is a valid V3
            // environment whose pool (if any) is open while the dispatcher lives.
            let submitted = unsafe {
                TrySubmitThreadpoolCallback(
                    Some(work_callback),
                    context as *mut c_void,
                    &self.env.0,
                )
            };
            if submitted != 0 {
                return;
            }
            // SAFETY: the submission failed, so no callback owns `context`: take it back.
            drop(unsafe { Arc::from_raw(context) });
            let mut pool = self.pool.lock();
            // Another pending or running callback takes over our runnable.
            if pool.shutdown || pool.pending + pool.running > 1 {
                pool.pending -= 1;
                return;
            }
            drop(pool);
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// One submitted callback: run one runnable, then any that no callback is coming for.
    fn work(&self) {
        let mut pool = self.pool.lock();
        pool.pending -= 1;
        if pool.shutdown {
            return;
        }
        let Some(mut runnable) = pool.queue.pop_front() else {
            return;
        };
        pool.running += 1;
        drop(pool);
        let previous = RUNNING_FOR.with(|running| running.replace(self as *const Shared));
        loop {
            run_guarded(runnable);
            let mut pool = self.pool.lock();
            if !pool.shutdown && pool.queue.len() > pool.pending {
                if let Some(next) = pool.queue.pop_front() {
                    runnable = next;
                    continue;
                }
            }
            pool.running -= 1;
            if pool.shutdown {
                self.pool_idle.notify_all();
            }
            break;
        }
        RUNNING_FOR.with(|running| running.set(previous));
    }

    /// Hands fired timers over: foreground ones to the main thread, the rest to the pool.
    fn push_fired(self: &Arc<Self>, fired: Vec<Runnable>) {
        for runnable in fired {
            if runnable.metadata().foreground {
                self.send_foreground(runnable);
            } else {
                self.push(runnable);
            }
        }
    }

    /// Queues a foreground runnable, posts one coalesced wake message, unparks the main
    /// thread.
    fn send_foreground(&self, runnable: Runnable) {
        let mut main = self.main.lock();
        if main.shutdown {
            drop(main);
            // Only a live dispatcher schedules, so this cannot happen. If it did, we may be
            // on a thread where the `!Send` future must not be dropped: leak it.
            mem::forget(runnable);
            return;
        }
        main.queue.push_back(runnable);
        let post = !mem::replace(&mut main.posted, true);
        drop(main);
        if post {
            self.post_wake();
        }
        self.main_unparker.unpark();
    }

    /// Posts the wake message; if that fails (the queue is full, the thread is gone), the
    /// next foreground schedule tries again, and `park`/`pump_pending` still run the queue.
    fn post_wake(&self) {
        // SAFETY: posting to a window handle is allowed from any thread.
        let posted = unsafe { PostMessageW(self.hwnd.get(), window_message(), MSG_WAKE, 0) };
        if posted == 0 {
            self.main.lock().posted = false;
        }
    }

    fn next_foreground(&self) -> Option<Runnable> {
        self.main.lock().queue.pop_front()
    }

    /// On the main thread: runs foreground runnables for one time slice (at least one if
    /// any waits). If work remains, makes sure a wake message is on its way. The lock is not
    /// held while a task runs: it may block, spawn, or pump messages itself.
    fn run_main_slice(&self) -> usize {
        let start = Instant::now();
        let mut ran = 0;
        while let Some(runnable) = self.next_foreground() {
            run_guarded(runnable);
            ran += 1;
            if start.elapsed() >= self.time_slice {
                break;
            }
        }
        let mut main = self.main.lock();
        if !main.queue.is_empty() && !main.shutdown && !main.posted {
            main.posted = true;
            drop(main);
            self.post_continuation();
        }
        ran
    }

    /// On the main thread, with work left after a slice: posted messages are retrieved
    /// before input and paint, so if input or paint is waiting, continue from a window timer
    /// (`WM_TIMER` comes after them) instead of a posted message.
    fn post_continuation(&self) {
        // SAFETY: reads the calling thread's queue status; no preconditions.
        let waiting = unsafe { GetQueueStatus(QS_INPUT | QS_PAINT) } >> 16;
        if waiting != 0 {
            // SAFETY: our window, and we are on its thread (the main thread).
            let set =
                unsafe { SetTimer(self.hwnd.get(), CONTINUE_TIMER, USER_TIMER_MINIMUM, None) };
            if set != 0 {
                return;
            }
        }
        self.post_wake();
    }

    /// The window procedure's part: the wake message was taken off the queue.
    fn on_wake_message(&self) {
        self.main.lock().posted = false;
        self.run_main_slice();
    }

    /// A pool timer fired: hand over every due runnable, or re-arm if it fired early.
    /// Returns whether the callback now owns (and must close and free) its timer.
    fn fire_timers(self: &Arc<Self>, ctx: &TimerCtx, timer: PTP_TIMER) -> bool {
        let mut timers = self.timers.lock();
        if timers.shutdown {
            return false; // `Drop` took the entry, waits for us, and closes the timer.
        }
        let now = Instant::now();
        if now < ctx.deadline {
            let due = relative_due_time(ctx.deadline - now);
            // SAFETY: `timer` is the live timer this callback runs for; it stays in `armed`,
            // so only this callback or `Drop` (which waits for callbacks) closes it.
            unsafe { SetThreadpoolTimer(timer, &due, 0, 0) };
            return false;
        }
        let mut fired = Vec::new();
        while let Some((_, runnable)) = timers.heap.pop_due(now) {
            fired.push(runnable);
        }
        // Still under the lock: hand-over order is deadline order across callbacks.
        self.push_fired(fired);
        timers.armed.remove(&ctx.id);
        true
    }
}

/// The simple callback submitted once per background runnable.
unsafe extern "system" fn work_callback(_instance: isize, context: *mut c_void) {
    no_unwind("thread-pool callback", || {
        // SAFETY: `context` is the strong reference `submit` leaked for this callback,
        // which runs once: we take it back exactly once.
        let shared = unsafe { Arc::from_raw(context as *const Shared) };
        shared.work();
    });
}

/// The callback of a pool timer armed by `schedule_after`.
unsafe extern "system" fn timer_callback(_instance: isize, context: *mut c_void, timer: PTP_TIMER) {
    no_unwind("timer callback", || {
        let ctx = context as *mut TimerCtx;
        // SAFETY: `ctx` is the `Box<TimerCtx>` of this timer. It is freed only by whoever
        // removes the timer from `armed`: `Drop`, which first waits for this callback to
        // return, or this callback below, after its last use of the reference.
        let owned = unsafe { (*ctx).shared.fire_timers(&*ctx, timer) };
        if owned {
            // SAFETY: we removed the timer from `armed`, so nobody else closes or frees
            // it; closing a timer from its own callback is allowed (it is freed once the
            // callback returns), and `ctx` is not used after it is freed.
            unsafe {
                CloseThreadpoolTimer(timer);
                drop(Box::from_raw(ctx));
            }
        }
    });
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

impl Scheduler for WindowsDispatcher {
    fn schedule(&self, runnable: Runnable) {
        if runnable.metadata().foreground {
            self.shared.send_foreground(runnable);
        } else {
            self.shared.push(runnable);
        }
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.shared.send_foreground(runnable);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        if delay.is_zero() {
            return self.schedule(runnable);
        }
        let Some(deadline) = Instant::now().checked_add(delay) else {
            self.shared.timers.lock().never.push(runnable);
            return;
        };
        let mut timers = self.shared.timers.lock();
        let id = timers.next_id;
        timers.next_id += 1;
        timers.heap.push(deadline, runnable);
        let ctx = Box::into_raw(Box::new(TimerCtx {
            shared: self.shared.clone(),
            deadline,
            id,
        }));
        let timer = loop {
            // SAFETY: `timer_callback` has the timer-callback signature; `ctx` is a live
            // box that the timer's owner frees (see `Timers::armed`); the environment is a
            // valid V3 environment.
            let timer = unsafe {
                CreateThreadpoolTimer(Some(timer_callback), ctx as *mut c_void, &self.shared.env.0)
            };
            if timer != 0 {
                break timer;
            }
            // Out of memory. The runnable is safe in the heap; try again shortly, without
            // holding up timer callbacks that need the lock.
            drop(timers);
            thread::sleep(Duration::from_millis(1));
            timers = self.shared.timers.lock();
        };
        timers.armed.insert(id, ArmedTimer { timer, ctx });
        let due = relative_due_time(delay);
        // SAFETY: `timer` is live and in `armed`; its callback takes the lock we hold before
        // touching anything, so it sees the entry.
        unsafe { SetThreadpoolTimer(timer, &due, 0, 0) };
    }

    /// Parks the calling thread. On the main thread it first runs the foreground tasks that
    /// are waiting (one time slice) and returns `true` at once if it ran any; scheduling
    /// foreground work unparks it.
    fn park(&self, timeout: Option<Duration>) -> bool {
        if self.is_main_thread() && self.shared.run_main_slice() > 0 {
            return true;
        }
        PARKER.with(|(parker, _)| match timeout {
            None => {
                parker.park();
                true
            }
            Some(timeout) => parker.park_timeout(timeout),
        })
    }

    /// The calling thread's unparker: it ends a `park` on this same thread.
    fn unparker(&self) -> Unparker {
        PARKER.with(|(_, unparker)| unparker.clone())
    }

    fn is_main_thread(&self) -> bool {
        current_thread_id() == self.main_thread
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The private pool's maximum thread count, or the machine's parallelism for the
    /// process-wide pool.
    fn num_cpus(&self) -> usize {
        self.shared.threads
    }
}

impl Drop for WindowsDispatcher {
    fn drop(&mut self) {
        let shared = &self.shared;
        let on_main = current_thread_id() == self.main_thread;
        // 1. Timers: no callback hands anything over from now on.
        let (armed, mut dropped) = {
            let mut timers = shared.timers.lock();
            timers.shutdown = true;
            let armed = mem::take(&mut timers.armed);
            let mut dropped: Vec<Runnable> = timers.heap.drain().collect();
            dropped.append(&mut timers.never);
            (armed, dropped)
        };
        for (_, ArmedTimer { timer, ctx }) in armed {
            // SAFETY: we removed the timer from `armed`, so we own it and its context. Stop
            // it, cancel its queued callbacks and wait for a running one (timer callbacks
            // never run user code and never wait for us, so this cannot deadlock); only then
            // close it and free the context that the callback reads.
            unsafe {
                SetThreadpoolTimer(timer, ptr::null(), 0, 0);
                WaitForThreadpoolTimerCallbacks(timer, 1);
                CloseThreadpoolTimer(timer);
                drop(Box::from_raw(ctx));
            }
        }
        // 2. The pool: a callback finds either work from before the shutdown or the shutdown.
        {
            let mut pool = shared.pool.lock();
            pool.shutdown = true;
            dropped.extend(pool.queue.drain(..));
        }
        // 3. Cancel what never ran. Nothing can queue more: tasks reach the dispatcher
        // through a `Weak`, which no longer upgrades.
        let mut foreground = {
            let mut main = shared.main.lock();
            main.shutdown = true;
            mem::take(&mut main.queue)
        };
        for runnable in dropped {
            if runnable.metadata().foreground {
                foreground.push_back(runnable);
            } else {
                drop_guarded(runnable);
            }
        }
        if on_main {
            foreground.into_iter().for_each(drop_guarded);
        } else {
            // Leak them: a `!Send` future may only be dropped on its own thread, and we are
            // not on the main thread. Their awaiters (on the main thread) never resolve.
            foreground.into_iter().for_each(mem::forget);
        }
        // 4. Wait for callbacks running our runnables, except our own caller's.
        let own = RUNNING_FOR.with(|running| ptr::eq(running.get(), Arc::as_ptr(shared)));
        let mut pool: MutexGuard<'_, Pool> = shared.pool.lock();
        while pool.running > usize::from(own) {
            pool = shared
                .pool_idle
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(pool);
        // 5. The window: only its own thread may destroy it.
        if on_main {
            // SAFETY: we are on the window's thread; `WM_NCDESTROY` releases its reference.
            unsafe { DestroyWindow(shared.hwnd.get()) };
        } else {
            // SAFETY: posting is allowed from any thread; if it fails, the window lives
            // until its thread ends (see the implementation notes).
            unsafe { PostMessageW(shared.hwnd.get(), window_message(), MSG_CLOSE, 0) };
        }
        // 6. The private pool is released once its last callback has returned.
        if self.private_pool != 0 {
            // SAFETY: the pool is ours and nothing submits to it any more (the dispatcher is
            // gone and the timers are closed); pending callbacks still run, and find nothing.
            unsafe { CloseThreadpool(self.private_pool) };
        }
    }
}

impl fmt::Debug for WindowsDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, running) = {
            let pool = self.shared.pool.lock();
            (pool.queue.len(), pool.running)
        };
        let timers = self.shared.timers.lock().heap.len();
        let foreground = self.shared.main.lock().queue.len();
        f.debug_struct("WindowsDispatcher")
            .field("threads", &self.shared.threads)
            .field("private_pool", &(self.private_pool != 0))
            .field("queued", &queued)
            .field("running", &running)
            .field("foreground_queued", &foreground)
            .field("timers", &timers)
            .field("main_thread", &self.main_thread)
            .finish_non_exhaustive()
    }
}
