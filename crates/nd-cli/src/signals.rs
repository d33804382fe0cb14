//! SIGINT, SIGTERM and SIGHUP end `nd` cleanly: the temporary outputs it is writing are removed
//! (the destination is left as it was) and the exit status is 128 + the signal (130, 143, 129).

use std::sync::atomic::{AtomicBool, Ordering};

/// Set when a termination signal arrived: the process is ending, whatever the command does.
static TERMINATING: AtomicBool = AtomicBool::new(false);

/// True once a termination signal has arrived. The command's own failure (its temporary file
/// was just removed under it) must then not race the signal's exit status.
pub fn terminating() -> bool {
    TERMINATING.load(Ordering::SeqCst)
}

/// Route the termination signals to a thread of their own, which removes the live temporary
/// outputs and exits. Call first in `main`, before any other thread starts (threads inherit the
/// blocked signal mask, so only that thread receives them).
#[cfg(unix)]
pub fn remove_temps_on_termination() {
    // SAFETY: a zeroed sigset_t is a valid argument to sigemptyset, which initialises it; the
    // set is only read afterwards (pthread_sigmask, sigwait).
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return; // signals keep their default action
        }
        set
    };
    std::thread::spawn(move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: `set` is an initialised signal set, `sig` a valid out-pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            TERMINATING.store(true, Ordering::SeqCst);
            let removed = nd::io::remove_live_temps_and_stop();
            if removed > 0 {
                eprintln!("nd: interrupted; partial output removed, the destination is untouched");
            }
            std::process::exit(128 + sig);
        }
    });
}

/// Other platforms: the default action (temporary outputs may remain; `nd clean` removes them).
#[cfg(not(unix))]
pub fn remove_temps_on_termination() {}
