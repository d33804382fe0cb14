//! Checks on a write's destination before anything is written: what is there now, and whether it
//! is (or holds, or lies inside) one of the sources being read.

use crate::error::{Error, Result};
use std::path::{Component, Path, PathBuf};

/// What a destination path holds before a write, without following a symbolic link at the path
/// itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: the path does not exist.
    Nothing,
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (to anything, or dangling).
    Symlink,
    /// A FIFO (named pipe).
    Fifo,
    /// A character device (`/dev/null`, a terminal).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// A Unix socket, or a kind of file this platform has and the others lack.
    Other,
}

impl Existing {
    /// A short name for messages ("a FIFO", "a directory").
    pub fn describe(self) -> &'static str {
        match self {
            Existing::Nothing => "nothing",
            Existing::File => "a regular file",
            Existing::Dir => "a directory",
            Existing::Symlink => "a symbolic link",
            Existing::Fifo => "a FIFO (named pipe)",
            Existing::CharDevice => "a character device",
            Existing::BlockDevice => "a block device",
            Existing::Other => "a socket or special file",
        }
    }
}

/// What is at `path` now (one `lstat`; a symbolic link is reported as such, not followed).
///
/// # Errors
/// [`Error::Io`] when the path cannot be examined (permission denied on a parent, ...).
pub fn existing(path: &Path) -> Result<Existing> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    let ft = meta.file_type();
    Ok(if ft.is_symlink() {
        Existing::Symlink
    } else if ft.is_file() {
        Existing::File
    } else if ft.is_dir() {
        Existing::Dir
    } else {
        special_kind(&ft)
    })
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> Existing {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        Existing::Fifo
    } else if ft.is_char_device() {
        Existing::CharDevice
    } else if ft.is_block_device() {
        Existing::BlockDevice
    } else {
        Existing::Other
    }
}

#[cfg(not(unix))]
fn special_kind(_ft: &std::fs::FileType) -> Existing {
    Existing::Other
}

/// `path` made absolute, with symbolic links, `.` and `..` resolved as far as the path exists;
/// the components that do not exist yet are appended as written (after `.`/`..` folding).
fn resolve(path: &Path) -> Result<PathBuf> {
    let ctx = |e| Error::io(path.display().to_string(), e);
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map_err(ctx)?.join(path)
    };
    // Walk up to the deepest ancestor that exists, canonicalize it, then put back the rest.
    let mut missing: Vec<std::ffi::OsString> = Vec::new();
    let mut cur = abs.as_path();
    loop {
        match std::fs::canonicalize(cur) {
            Ok(mut base) => {
                for part in missing.iter().rev() {
                    let p = Path::new(part);
                    match p.components().next() {
                        Some(Component::ParentDir) => {
                            base.pop();
                        }
                        Some(Component::CurDir) | None => {}
                        _ => base.push(p),
                    }
                }
                return Ok(base);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (cur.parent(), cur.file_name()) else {
                    return Err(ctx(e));
                };
                missing.push(name.to_os_string());
                cur = parent;
            }
            Err(e) => return Err(ctx(e)),
        }
    }
}

/// The identity of an existing file or directory (device and inode on Unix), to catch the same
/// object reached by two paths (hard links, bind mounts).
#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// `path` and each of its existing ancestors, resolved.
fn with_ancestors(path: &Path) -> Vec<PathBuf> {
    path.ancestors().map(Path::to_path_buf).collect()
}

/// Refuse a destination that is one of `sources`, lies inside one (a directory store), or holds
/// one (a directory that would be replaced), after resolving symbolic links, `.`, `..` and (on
/// Unix) hard links and bind mounts by device and inode. Sources that do not exist are ignored.
///
/// # Errors
/// [`Error::Destination`] naming the destination, the source and how they overlap;
/// [`Error::Io`] when a path cannot be examined.
pub fn check_no_overlap(dst: &Path, sources: &[&Path]) -> Result<()> {
    let d = resolve(dst)?;
    let d_chain = with_ancestors(&d);
    let d_ids: Vec<Option<(u64, u64)>> = d_chain.iter().map(|p| identity(p)).collect();
    for src in sources {
        if std::fs::symlink_metadata(src).is_err() {
            continue;
        }
        let s = resolve(src)?;
        let s_id = identity(&s);
        let refuse = |how: &str| Error::Destination {
            path: dst.to_path_buf(),
            why: format!("{how} the source {}", src.display()),
        };
        if d == s || (s_id.is_some() && d_ids.first().copied().flatten() == s_id) {
            return Err(refuse("is"));
        }
        if d.starts_with(&s) || (s_id.is_some() && d_ids.iter().skip(1).any(|i| *i == s_id)) {
            return Err(refuse("lies inside"));
        }
        let d_id = d_ids.first().copied().flatten();
        if s.starts_with(&d)
            || (d_id.is_some() && with_ancestors(&s).iter().any(|p| identity(p) == d_id))
        {
            return Err(refuse("holds"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_are_refused_through_links_and_dots() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("c.zarr");
        std::fs::create_dir_all(store.join("sub")).unwrap();
        let file = dir.path().join("a.fits");
        std::fs::write(&file, b"x").unwrap();
        let other = dir.path().join("b.fits");
        // the same path, spelled differently
        for dst in [
            store.clone(),
            store.join("."),
            store.join("sub/.."),
            dir.path().join("./c.zarr/"),
        ] {
            let e = check_no_overlap(&dst, &[&store]).unwrap_err().to_string();
            assert!(e.contains(" is the source"), "{e}");
        }
        // inside the source (existing or not)
        for dst in [
            store.join("sub"),
            store.join("new.zarr"),
            store.join("x/y.zarr"),
        ] {
            let e = check_no_overlap(&dst, &[&store]).unwrap_err().to_string();
            assert!(e.contains("lies inside"), "{e}");
        }
        // the destination holds the source
        let e = check_no_overlap(dir.path(), &[&store.join("sub")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds"), "{e}");
        // no overlap
        check_no_overlap(&other, &[&file, &store]).unwrap();
        check_no_overlap(&dir.path().join("d.zarr"), &[&store]).unwrap();
        #[cfg(unix)]
        {
            // a symbolic link and a hard link to the source
            let link = dir.path().join("link.fits");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert!(check_no_overlap(&link, &[&file]).is_err());
            let hard = dir.path().join("hard.fits");
            std::fs::hard_link(&file, &hard).unwrap();
            assert!(check_no_overlap(&hard, &[&file]).is_err());
            let slink = dir.path().join("store-link");
            std::os::unix::fs::symlink(&store, &slink).unwrap();
            assert!(check_no_overlap(&slink.join("sub/x.zarr"), &[&store]).is_err());
        }
    }

    #[test]
    fn existing_names_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        assert_eq!(existing(&f).unwrap(), Existing::Nothing);
        std::fs::write(&f, b"").unwrap();
        assert_eq!(existing(&f).unwrap(), Existing::File);
        assert_eq!(existing(dir.path()).unwrap(), Existing::Dir);
        #[cfg(unix)]
        {
            let l = dir.path().join("l");
            std::os::unix::fs::symlink(&f, &l).unwrap();
            assert_eq!(existing(&l).unwrap(), Existing::Symlink);
            assert_eq!(
                existing(Path::new("/dev/null")).unwrap(),
                Existing::CharDevice
            );
            let fifo = dir.path().join("fifo");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert_eq!(existing(&fifo).unwrap(), Existing::Fifo);
        }
    }
}
