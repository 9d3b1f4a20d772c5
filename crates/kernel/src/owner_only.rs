//! Files only their owner may read: the data directory (0700) and what Linli writes in it —
//! the database with its `-wal` and `-shm`, `secret.key`, backups, uploads (0600).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates a directory and any missing parents, each readable by the owner only.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Creates a new file (failing if it exists) that only the owner may read or write.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Takes group and other access away from an existing file (0600) or directory (0700), for
/// data written by earlier versions; nothing happens when the path does not exist.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            let mode = if meta.is_dir() { 0o700 } else { 0o600 };
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_and_restricted_paths_are_the_owners_alone() {
        let root = std::env::temp_dir().join(format!("linli-owner-only-{}", crate::crypto::random_token(6)));
        let dir = root.join("a").join("b");
        create_dir_all(&dir).unwrap();
        assert_eq!(mode(&root.join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("f");
        create_new(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(create_new(&file).is_err(), "an existing file is not replaced");
        let old = dir.join("old");
        std::fs::write(&old, b"x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        restrict(&dir.join("missing")).unwrap();
        let _ = std::fs::remove_dir_all(&root);
    }
}
