//! `prune`: snapshot retention and the journal segments wholly before the oldest kept snapshot
//! (kept, archived or deleted). A dry run unless `--yes`.

use std::fs;
use std::path::{Path, PathBuf};

use super::scan::DataDir;
use super::{Out, ToolError, EXIT_OK};

fn move_file(from: &Path, dir: &Path) -> Result<(), ToolError> {
    let name = from.file_name().ok_or_else(|| ToolError::error(format!("{}: no file name", from.display())))?;
    let to = dir.join(name);
    if fs::rename(from, &to).is_ok() {
        return Ok(());
    }
    // Another file system: copy, fsync, then delete the original.
    let err = |e: std::io::Error| ToolError::error(format!("archiving {} to {}: {e}", from.display(), to.display()));
    fs::copy(from, &to).map_err(err)?;
    fs::File::open(&to).and_then(|f| f.sync_all()).map_err(err)?;
    fs::remove_file(from).map_err(err)
}

fn sync_dir(dir: &Path) -> Result<(), ToolError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ToolError::error(format!("fsync of {}: {e}", dir.display())))
}

pub fn run(
    root: &Path,
    keep: usize,
    archive: Option<PathBuf>,
    delete_segments: bool,
    yes: bool,
) -> Result<i32, ToolError> {
    if keep == 0 {
        return Err(ToolError::usage("--keep-snapshots must be at least 1"));
    }
    let data = DataDir::open(root)?;
    let mut out = Out::stdout();
    let plan = snapshot::plan_prune(&data.snapshots, keep).map_err(|e| ToolError::error(e.to_string()))?;
    let verb = if yes { "" } else { "would " };
    for e in &plan.keep {
        out.line(&format!("keep snapshot {} (seq {})", e.path.display(), e.seq))?;
    }
    for (p, why) in &plan.invalid {
        out.line(&format!("invalid snapshot left in place: {} ({why})", p.display()))?;
    }
    for p in &plan.delete {
        out.line(&format!("{verb}delete {}", p.display()))?;
    }
    if plan.keep.len() < keep {
        out.line(&format!("only {} valid snapshot(s): no snapshot is deleted", plan.keep.len()))?;
    }
    let segments = match plan.oldest_kept_seq() {
        Some(seq) => {
            snapshot::journal_segments_before(&data.journal, seq).map_err(|e| ToolError::error(e.to_string()))?
        }
        None => Vec::new(),
    };
    match plan.oldest_kept_seq() {
        Some(seq) => out.line(&format!(
            "journal segments wholly before the oldest kept snapshot (seq {seq}): {}",
            segments.len()
        ))?,
        None => out.line("no valid snapshot: every journal segment is needed")?,
    }
    for s in &segments {
        let action = match (&archive, delete_segments) {
            (Some(dir), _) => format!("{verb}move to {}", dir.display()),
            (None, true) => format!("{verb}delete"),
            (None, false) => "kept (pass --archive-segments DIR or --delete-segments)".to_string(),
        };
        out.line(&format!("  {} (first seq {}): {action}", s.path.display(), s.first_seq))?;
    }
    if !yes {
        out.line("dry run: nothing changed (pass --yes to do it)")?;
        out.finish()?;
        return Ok(EXIT_OK);
    }
    snapshot::execute_prune(&data.snapshots, &plan).map_err(|e| ToolError::error(e.to_string()))?;
    if !segments.is_empty() && (archive.is_some() || delete_segments) {
        if let Some(dir) = &archive {
            fs::create_dir_all(dir).map_err(|e| ToolError::error(format!("creating {}: {e}", dir.display())))?;
        }
        for s in &segments {
            match &archive {
                Some(dir) => move_file(&s.path, dir)?,
                None => fs::remove_file(&s.path)
                    .map_err(|e| ToolError::error(format!("deleting {}: {e}", s.path.display())))?,
            }
        }
        if let Some(dir) = &archive {
            sync_dir(dir)?;
        }
        sync_dir(&data.journal)?;
    }
    out.line("done")?;
    out.finish()?;
    Ok(EXIT_OK)
}
