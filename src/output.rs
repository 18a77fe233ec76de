//! Output files (`--trace`, `--dot`, `--schedule-out`), written so that nothing else is harmed.
//!
//! A report file is written whole or not at all: the data goes to a temporary file with a
//! unique name in the destination's folder, which is renamed over the destination once
//! everything is written and synced. A reader never sees half a trace, and a run that fails
//! halfway leaves the old file as it was.
//!
//! Renaming is only right for a regular file (or a new path), so the destination is looked at
//! first:
//!
//! | destination | what happens |
//! |---|---|
//! | nothing there yet, or a regular file | temporary file in the same folder, renamed over it |
//! | a symbolic link | followed to its end, and that path is written as above (the link stays a link) |
//! | a FIFO or a character device (`/dev/null`, `/dev/stdout`) | written directly, no temporary file: it cannot be replaced, and renaming over `/dev/null` as root would replace the system's |
//! | a directory, a block device, a socket | refused |
//! | the same file as one of the command's inputs (the scenario, say), under any name | refused |
//!
//! The temporary file is removed on every error, when an [`Output`] is dropped without
//! [`commit`](Output::commit), and on Ctrl-C or SIGTERM: every live temporary file is listed in
//! a process-wide registry, and the first [`Output`] installs a handler (the `ctrlc` crate) that
//! removes them and exits with status 130. A command that installed its own handler first
//! (`qsim explore` stops its search on Ctrl-C, then writes its files) keeps it: it finishes its
//! writes itself.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written; see the module docs. Written data becomes visible at
/// [`commit`](Self::commit) (at once for a FIFO or a device).
#[derive(Debug)]
pub struct Output {
    /// The path as the user gave it, for messages.
    path: PathBuf,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// A temporary file, renamed to `dest` on commit. Declared before its registration, so
    /// that a drop removes the file before forgetting it (a signal in between finds it gone).
    Replace {
        temp: NamedTempFile,
        dest: PathBuf,
        _registered: Registered,
    },
    /// A FIFO or a character device, written in place.
    Through(File),
}

impl Output {
    /// Starts writing `path`. Refuses a directory, a block device or a socket, and any file
    /// that is one of `inputs` (compared as files, not as names: a link to the scenario is the
    /// scenario).
    pub fn create(path: &Path, inputs: &[&Path]) -> Result<Output> {
        let shown = path.display().to_string();
        let io_error = |e: io::Error| Error::io(&shown, e);
        let (dest, existing) = match destination(path, inputs)? {
            Destination::Replace { dest, existing } => (dest, existing),
            Destination::Through(dest) => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&dest)
                    .map_err(io_error)?;
                return Ok(Output {
                    path: path.to_path_buf(),
                    target: Target::Through(file),
                });
            }
        };
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest.file_name().map_or_else(
            || "output".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            // Like a file the shell creates: 0666 less the umask (tempfile's default is 0600).
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        // Created and listed under the registry's lock, so that a signal cannot come between.
        let mut live = live_files();
        let temp = builder.tempfile_in(&dir).map_err(|e| {
            io_error(io::Error::new(
                e.kind(),
                format!(
                    "cannot create a file in {}: {}",
                    dir.display(),
                    system_words(&e)
                ),
            ))
        })?;
        if let Some(meta) = &existing {
            // The replacement keeps the replaced file's permissions.
            let _ = temp.as_file().set_permissions(meta.permissions());
        }
        live.push(temp.path().to_path_buf());
        let registered = Registered(temp.path().to_path_buf());
        drop(live);
        install_signal_handler();
        Ok(Output {
            path: path.to_path_buf(),
            target: Target::Replace {
                temp,
                dest,
                _registered: registered,
            },
        })
    }

    /// Finishes the file: syncs the data and moves it into place (or, written through, just
    /// flushes it). On error the temporary file is removed and the destination left as it was.
    pub fn commit(self) -> Result<()> {
        let shown = self.path.display().to_string();
        match self.target {
            Target::Through(mut file) => file.flush().map_err(|e| Error::io(shown, e)),
            Target::Replace {
                temp,
                dest,
                _registered,
            } => {
                temp.as_file()
                    .sync_all()
                    .map_err(|e| Error::io(&shown, e))?;
                // On failure the error hands the temporary file back, and dropping it removes it.
                temp.persist(&dest)
                    .map_err(|e| Error::io(&shown, e.error))?;
                Ok(())
            }
        }
    }

    fn file(&mut self) -> &mut File {
        match &mut self.target {
            Target::Replace { temp, .. } => temp.as_file_mut(),
            Target::Through(file) => file,
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

/// Checks, without writing anything, that `path` could be written by [`Output::create`]: not
/// a directory, a block device, a socket, nor one of `inputs`. For a file written at the end of
/// a long run, so that a refusal comes before the run rather than after it.
pub fn check(path: &Path, inputs: &[&Path]) -> Result<()> {
    destination(path, inputs).map(|_| ())
}

/// Where writing `path` goes, and how.
enum Destination {
    /// A regular file (`existing` holds its metadata) or a new path: replaced by renaming.
    Replace {
        dest: PathBuf,
        existing: Option<fs::Metadata>,
    },
    /// A FIFO or a character device: written in place.
    Through(PathBuf),
}

fn destination(path: &Path, inputs: &[&Path]) -> Result<Destination> {
    let shown = path.display().to_string();
    let io_error = |e: io::Error| Error::io(&shown, e);
    let refuse = |message: String| Error::Output {
        path: shown.clone(),
        message,
    };
    let dest = follow_links(path).map_err(io_error)?;
    let meta = match fs::metadata(&dest) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Destination::Replace {
                dest,
                existing: None,
            })
        }
        Err(e) => return Err(io_error(e)),
    };
    for input in inputs {
        if same_file(&meta, input) {
            return Err(refuse(format!(
                "is the same file as the input {}; refusing to overwrite it",
                input.display()
            )));
        }
    }
    match kind(&meta) {
        Kind::Regular => Ok(Destination::Replace {
            dest,
            existing: Some(meta),
        }),
        Kind::WriteThrough => Ok(Destination::Through(dest)),
        Kind::Refused(what) => Err(refuse(format!(
            "is {what}; qsim writes regular files, FIFOs and character devices such as /dev/null"
        ))),
    }
}

/// Writes `path` with what `write` produces (buffered), safely as [`Output`] does: whole or not
/// at all, never over one of `inputs`.
pub fn write_whole(
    path: &Path,
    inputs: &[&Path],
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let mut out = BufWriter::new(Output::create(path, inputs)?);
    let shown = || path.display().to_string();
    write(&mut out).map_err(|e| Error::io(shown(), e))?;
    let out = out
        .into_inner()
        .map_err(|e| Error::io(shown(), e.into_error()))?;
    out.commit()
}

/// The system's words for an error from `tempfile`, without the temporary file's name that
/// tempfile appends (`... at path "/dir/.t.jsonl.Ab12Cd.tmp"`): the user never named that file,
/// and it does not exist.
fn system_words(e: &io::Error) -> String {
    let text = e.to_string();
    match text.split_once(" at path \"") {
        Some((words, _)) => words.to_string(),
        None => text,
    }
}

/// The path that writing `path` writes: `path` itself, or the end of its chain of symbolic
/// links (which need not exist yet).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    // Linux gives up after 40 links too.
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(p),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

enum Kind {
    Regular,
    WriteThrough,
    Refused(&'static str),
}

fn kind(meta: &fs::Metadata) -> Kind {
    let t = meta.file_type();
    if t.is_file() {
        return Kind::Regular;
    }
    if t.is_dir() {
        return Kind::Refused("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() || t.is_char_device() {
            return Kind::WriteThrough;
        }
        if t.is_block_device() {
            return Kind::Refused("a block device");
        }
        if t.is_socket() {
            return Kind::Refused("a socket");
        }
    }
    Kind::Refused("not a regular file")
}

/// Whether the file described by `meta` is the file at `other` (following links).
fn same_file(meta: &fs::Metadata, other: &Path) -> bool {
    let Ok(other) = fs::metadata(other) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.dev() == other.dev() && meta.ino() == other.ino()
    }
    #[cfg(not(unix))]
    {
        // Without inode numbers, size and modification time are the best cheap guess.
        meta.len() == other.len() && meta.modified().ok() == other.modified().ok()
    }
}

/// The temporary files being written right now, removed if the process is interrupted.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live_files() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a list that is still right.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A temporary file's place in [`LIVE`], given up when it is dropped.
#[derive(Debug)]
struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        let mut live = live_files();
        if let Some(i) = live.iter().position(|p| *p == self.0) {
            live.swap_remove(i);
        }
    }
}

/// On Ctrl-C or SIGTERM: remove every live temporary file and exit with status 130. Installed
/// once; if the command has its own handler already, that one stays.
fn install_signal_handler() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            // Holding the lock until the process is gone: no new file can be created meanwhile.
            let live = live_files();
            for path in live.iter() {
                let _ = fs::remove_file(path);
            }
            std::process::exit(130);
        });
    });
}

/// The temporary files live at the moment (for tests).
#[doc(hidden)]
pub fn live_temporary_files() -> Vec<PathBuf> {
    live_files().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn files_appear_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("graph.dot");
        write_whole(&path, &[], |w| w.write_all(b"digraph {}\n")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"digraph {}\n");
        assert_eq!(names(dir.path()), ["graph.dot"]);

        let mut unfinished = Output::create(&path, &[]).unwrap();
        unfinished.write_all(b"half").unwrap();
        assert_eq!(
            names(dir.path()).len(),
            2,
            "the temporary file is beside it"
        );
        let mine = || {
            live_temporary_files()
                .iter()
                .filter(|p| p.starts_with(dir.path()))
                .count()
        };
        assert_eq!(mine(), 1);
        drop(unfinished);
        assert_eq!(names(dir.path()), ["graph.dot"]);
        assert_eq!(mine(), 0);
        assert_eq!(fs::read(&path).unwrap(), b"digraph {}\n");

        // A failing writer leaves nothing either.
        let e = write_whole(&path, &[], |w| {
            w.write_all(b"part")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), format!("{}: disk full", path.display()));
        assert_eq!(names(dir.path()), ["graph.dot"]);
        assert_eq!(fs::read(&path).unwrap(), b"digraph {}\n");
    }

    #[cfg(unix)]
    #[test]
    fn replacements_keep_permissions_and_new_files_get_the_usual_ones() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write_whole(&path, &[], |w| w.write_all(b"new")).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let fresh = dir.path().join("fresh");
        write_whole(&fresh, &[], |w| w.write_all(b"x")).unwrap();
        // Not tempfile's 0600: readable by others unless the umask says otherwise.
        let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "{mode:o}");
    }

    #[test]
    fn follows_links_to_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(follow_links(&d.join("new")).unwrap(), d.join("new"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("b", d.join("a")).unwrap();
            std::os::unix::fs::symlink("c", d.join("b")).unwrap();
            assert_eq!(follow_links(&d.join("a")).unwrap(), d.join("c"));
            std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
            assert!(follow_links(&d.join("loop")).is_err());
        }
    }
}
