//! Temporary names beside a destination, and directories built under one and renamed into place.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// The temporary files and directories of this process that are not yet renamed into place,
/// so that an interrupted process can remove them ([`remove_live_temps`]). The lock also orders
/// creating, renaming into place and removing: a rename into place never races a removal.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

type Live = std::sync::MutexGuard<'static, Vec<PathBuf>>;

/// The registry, locked (a poisoned lock is still usable: the list is always consistent).
fn live() -> Live {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Wait until no removal of temporary outputs is under way (forever once
/// [`remove_live_temps_and_stop`] has run): writers call it before creating anything, so that
/// nothing is created after the cleanup of a terminating process.
pub fn wait_for_cleanup() {
    drop(live());
}

fn remove_all(list: &mut Vec<PathBuf>) -> usize {
    std::mem::take(list)
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok() || std::fs::remove_dir_all(p).is_ok())
        .count()
}

/// Remove every temporary file and directory this process has open (not yet renamed into
/// place). Returns how many were removed.
pub fn remove_live_temps() -> usize {
    remove_all(&mut live())
}

/// Remove every live temporary output and keep the registry locked for good, so that no writer
/// thread creates or renames anything afterwards: what a front end calls when SIGINT or SIGTERM
/// ends the process, just before it exits. Returns how many were removed.
pub fn remove_live_temps_and_stop() -> usize {
    let mut guard = live();
    let n = remove_all(&mut guard);
    std::mem::forget(guard); // the process is ending: writers block instead of writing
    n
}

/// The process id in a temporary name `.NAME.nd-tmp-PID-N`, if it is one.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = &name[name.rfind(TEMP_MARKER)? + TEMP_MARKER.len()..];
    rest.split('-').next()?.parse().ok()
}

/// Temporary outputs left in `dir` by nd processes that are gone (killed, or the machine lost
/// power): `.NAME.nd-tmp-PID-N` entries whose process no longer runs. Those of running processes
/// (another nd writing there now) are not listed.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be listed.
pub fn stale_temps(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        if let Some(pid) = temp_pid(&name) {
            if pid != std::process::id() && !process_alive(pid) {
                out.push(ent.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The stale temporary outputs ([`stale_temps`]) of one destination: earlier, interrupted
/// attempts to write `dest`. Empty when its directory cannot be listed.
pub fn stale_temps_of(dest: &Path) -> Vec<PathBuf> {
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = format!(".{name}{TEMP_MARKER}");
    stale_temps(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect()
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true // cannot tell: never call another process's output stale
}

/// The marker every temporary name of nd contains; store listings and `nd` itself recognise
/// leftovers by it.
pub const TEMP_MARKER: &str = ".nd-tmp-";

/// A fresh temporary path beside `dest`: `.NAME.nd-tmp-PID-N` in the same directory (so the final
/// rename stays on one file system), unique within this process.
pub fn temp_path(dest: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(
        ".{name}{TEMP_MARKER}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// True for a file name nd uses for temporary output (see [`temp_path`]).
pub fn is_temp_name(name: &str) -> bool {
    name.contains(TEMP_MARKER)
}

/// A file written under a temporary name beside its destination and renamed into place by
/// [`TempFile::persist`] (after its data reach the disk); dropped without it, the temporary file
/// is removed.
#[derive(Debug)]
pub struct TempFile {
    file: std::fs::File,
    tmp: PathBuf,
    dest: PathBuf,
    persisted: AtomicBool,
}

impl TempFile {
    /// Create an empty temporary file (readable and writable) beside `dest`.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be created.
    pub fn create(dest: impl AsRef<Path>) -> Result<Self> {
        let dest = dest.as_ref().to_path_buf();
        let tmp = temp_path(&dest);
        let mut live = live();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::io(tmp.display().to_string(), e))?;
        live.push(tmp.clone());
        drop(live);
        Ok(TempFile {
            file,
            tmp,
            dest,
            persisted: AtomicBool::new(false),
        })
    }

    /// The open temporary file.
    pub fn file(&self) -> &std::fs::File {
        &self.file
    }

    /// The open temporary file, for `Write`.
    pub fn file_mut(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// The temporary path (for messages).
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Sync the data and rename the file over its destination (atomically replacing a file there).
    ///
    /// # Errors
    /// [`Error::Io`] when the sync or the rename fails (the temporary file is then removed).
    pub fn persist(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::io(self.tmp.display().to_string(), e))?;
        self.rename_into_place()
    }

    /// Rename the file over its destination without syncing it first: for files inside a
    /// [`TempDir`], whose [`TempDir::commit`] syncs the whole tree before it appears.
    ///
    /// On Linux the disk write of what was written is started first, without waiting for it
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`): the kernel writes the file out while the
    /// writer goes on, so the commit's sync finds it (mostly) on disk already instead of
    /// writing the whole tree at the end. Durability is unchanged: that still comes from the
    /// commit's sync.
    ///
    /// # Errors
    /// [`Error::Io`] when the rename fails (the temporary file is then removed).
    pub fn persist_unsynced(&self) -> Result<()> {
        start_writeback(&self.file);
        self.rename_into_place()
    }

    fn rename_into_place(&self) -> Result<()> {
        let mut live = live();
        take_live(&mut live, &self.tmp)?;
        if let Err(e) = std::fs::rename(&self.tmp, &self.dest) {
            live.push(self.tmp.clone()); // still ours to remove
            return Err(Error::io(self.dest.display().to_string(), e));
        }
        self.persisted.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The destination it will be renamed to.
    pub fn destination(&self) -> &Path {
        &self.dest
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted.load(Ordering::SeqCst) {
            let mut live = live();
            if take_live(&mut live, &self.tmp).is_ok() {
                let _ = std::fs::remove_file(&self.tmp);
            }
        }
    }
}

/// A directory (a Zarr store, say) built under a temporary name beside its destination and
/// renamed into place by [`TempDir::commit`]; dropped without a commit, it is removed with
/// everything in it, so a failed write leaves nothing behind.
#[derive(Debug)]
pub struct TempDir {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl TempDir {
    /// Create an empty temporary directory beside `dest` (whose parent directories are created).
    ///
    /// # Errors
    /// [`Error::Io`] when the directory cannot be created.
    pub fn new(dest: impl AsRef<Path>) -> Result<Self> {
        let dest = dest.as_ref().to_path_buf();
        let tmp = temp_path(&dest);
        if let Some(parent) = tmp.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(parent.display().to_string(), e))?;
        }
        let mut live = live();
        std::fs::create_dir(&tmp).map_err(|e| Error::io(tmp.display().to_string(), e))?;
        live.push(tmp.clone());
        drop(live);
        Ok(TempDir {
            tmp,
            dest,
            committed: false,
        })
    }

    /// Where to write while building.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Rename the finished directory to its destination. With `replace`, a directory already at
    /// the destination (which the caller has checked may be replaced) is first renamed aside, then
    /// removed once the new one is in place; if the rename into place fails it is put back.
    /// Without `replace`, an existing destination is an error and nothing changes.
    ///
    /// # Errors
    /// [`Error::Io`] when a rename fails (the destination is then as it was).
    pub fn commit(mut self, replace: bool) -> Result<()> {
        let ctx = |p: &Path, e| Error::io(p.display().to_string(), e);
        // everything written into the tree reaches the disk before the tree appears
        sync_tree(&self.tmp)?;
        let aside = {
            // renames under the lock: an interruption removes either the new store (before) or
            // nothing of it (after), never part of it
            let mut live = live();
            take_live(&mut live, &self.tmp)?;
            match self.rename_into_place(replace) {
                Ok(aside) => {
                    self.committed = true;
                    if let Some(a) = &aside {
                        live.push(a.clone()); // the replaced store, to be removed
                    }
                    aside
                }
                Err(e) => {
                    live.push(self.tmp.clone());
                    return Err(e);
                }
            }
        };
        if let Some(parent) = self.dest.parent() {
            sync_dir(parent);
        }
        if let Some(aside) = aside {
            let mut live = live();
            if take_live(&mut live, &aside).is_ok() {
                std::fs::remove_dir_all(&aside).map_err(|e| ctx(&aside, e))?;
            }
        }
        Ok(())
    }

    /// Rename the new directory to the destination (the old one aside first with `replace`);
    /// the aside path when there was one.
    fn rename_into_place(&self, replace: bool) -> Result<Option<PathBuf>> {
        let ctx = |p: &Path, e| Error::io(p.display().to_string(), e);
        let exists = std::fs::symlink_metadata(&self.dest).is_ok();
        if exists && !replace {
            return Err(ctx(
                &self.dest,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "exists"),
            ));
        }
        let aside = if exists {
            let aside = temp_path(&self.dest);
            std::fs::rename(&self.dest, &aside).map_err(|e| ctx(&self.dest, e))?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&self.tmp, &self.dest) {
            if let Some(a) = &aside {
                let _ = std::fs::rename(a, &self.dest);
            }
            return Err(ctx(&self.dest, e));
        }
        Ok(aside)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.committed {
            let mut live = live();
            if take_live(&mut live, &self.tmp).is_ok() {
                let _ = std::fs::remove_dir_all(&self.tmp);
            }
        }
    }
}

/// Take `p` off the live list; an error when it is not there (an interruption removed it).
fn take_live(live: &mut Live, p: &Path) -> Result<()> {
    match live.iter().position(|q| q == p) {
        Some(i) => {
            live.swap_remove(i);
            Ok(())
        }
        None => Err(Error::io(
            p.display().to_string(),
            std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "removed by an interruption",
            ),
        )),
    }
}

/// Flush every file of the tree under `dir` (data and metadata; in parallel: the writes are
/// already queued, so this mostly waits for them) and then every directory's entries to disk.
/// A file that cannot be synced is an error: its data may not be on disk.
fn sync_tree(dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    let mut i = 0;
    while let Some(d) = dirs.get(i).cloned() {
        i += 1;
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(d.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(d.display().to_string(), e))?;
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(entry.path().display().to_string(), e))?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.par_iter().try_for_each(|f| {
        std::fs::File::open(f)
            .and_then(|h| h.sync_all())
            .map_err(|e| Error::io(f.display().to_string(), e))
    })?;
    dirs.iter().rev().for_each(|d| sync_dir(d));
    Ok(())
}

/// Start writing a file's dirty pages to disk and return without waiting (Linux; elsewhere
/// nothing). Best effort: an error only means the later sync does all the work.
fn start_writeback(file: &std::fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; the call only schedules write-out of its pages.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Flush a directory's entries to disk (best effort: not every platform can open a directory).
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_appears_whole_or_not_at_all() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.npy");
        {
            let mut t = TempFile::create(&dest).unwrap();
            t.file_mut().write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        std::fs::write(&dest, b"old").unwrap();
        let mut t = TempFile::create(&dest).unwrap();
        t.file_mut().write_all(b"new").unwrap();
        assert_eq!(t.destination(), dest.as_path());
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        t.persist().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temp_pids_are_read_from_names() {
        assert_eq!(temp_pid(".x.nd-tmp-12-3"), Some(12));
        assert_eq!(temp_pid(".a.b.nd-tmp-7-0"), Some(7));
        assert_eq!(temp_pid("x"), None);
    }

    #[test]
    fn temp_dir_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.zarr");
        // dropped: nothing left
        {
            let t = TempDir::new(&dest).unwrap();
            std::fs::write(t.path().join("a"), b"1").unwrap();
            let name = t.path().file_name().unwrap().to_str().unwrap().to_string();
            assert!(name.starts_with(".out.zarr.nd-tmp-") && is_temp_name(&name));
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // committed
        let t = TempDir::new(&dest).unwrap();
        std::fs::write(t.path().join("a"), b"1").unwrap();
        t.commit(false).unwrap();
        assert_eq!(std::fs::read(dest.join("a")).unwrap(), b"1");
        // not replaced without `replace`
        let t = TempDir::new(&dest).unwrap();
        std::fs::write(t.path().join("b"), b"2").unwrap();
        assert!(t.commit(false).is_err());
        assert!(dest.join("a").exists() && !dest.join("b").exists());
        // replaced with it; nothing else left beside it
        let t = TempDir::new(&dest).unwrap();
        std::fs::write(t.path().join("b"), b"2").unwrap();
        t.commit(true).unwrap();
        assert!(!dest.join("a").exists() && dest.join("b").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
