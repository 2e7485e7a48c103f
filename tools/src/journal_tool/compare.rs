//! `compare`: are several nodes' journals (a replica set's, copied or read in place) the same log?
//! Reads them side by side up to the shortest one's end, record by record, and replays each to
//! that sequence: identical journals give identical bytes and the same engine state hash. Reports
//! the first sequence where two differ.

use std::path::{Path, PathBuf};

use engine::command_codec::{decode, decode_engine_config, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::{Engine, Event, EventSink};
use journal::JournalReader;

use super::{Out, ToolError, EXIT_CORRUPT, EXIT_OK};

struct Null;
impl EventSink for Null {
    fn emit(&mut self, _: Event) {}
}

struct Node {
    dir: PathBuf,
    reader: JournalReader,
    engine: Option<Engine>,
    last_seq: u64,
    crc: u32,
}

fn last_seq(dir: &Path) -> Result<u64, ToolError> {
    let mut r = JournalReader::open(dir, 0).map_err(|e| ToolError::error(format!("{}: {e}", dir.display())))?;
    let mut last = 0;
    while let Some(rec) = r.next().map_err(|e| ToolError::corrupt(format!("{}: {e}", dir.display())))? {
        last = rec.seq;
    }
    Ok(last)
}

/// Compares the journals of `data_dirs`; exit 0 when they agree up to the shortest one's end.
pub fn run(data_dirs: &[PathBuf]) -> Result<i32, ToolError> {
    if data_dirs.len() < 2 {
        return Err(ToolError::usage("compare needs at least two data directories"));
    }
    let mut nodes = Vec::new();
    for d in data_dirs {
        let dir = d.join("journal");
        let last = last_seq(&dir)?;
        let reader = JournalReader::open(&dir, 0).map_err(|e| ToolError::error(format!("{}: {e}", dir.display())))?;
        nodes.push(Node { dir, reader, engine: None, last_seq: last, crc: 0 });
    }
    let common = nodes.iter().map(|n| n.last_seq).min().unwrap_or(0);
    let mut first_difference = None;
    for seq in 1..=common {
        let mut first: Option<(u8, Vec<u8>)> = None;
        for n in nodes.iter_mut() {
            let rec = n
                .reader
                .next()
                .map_err(|e| ToolError::corrupt(format!("{}: {e}", n.dir.display())))?
                .ok_or_else(|| ToolError::error(format!("{}: ends before {seq}", n.dir.display())))?;
            n.crc = crc32c::crc32c_append(crc32c::crc32c_append(n.crc, &[rec.record_type]), rec.payload);
            match &first {
                None => first = Some((rec.record_type, rec.payload.to_vec())),
                Some((t, p)) if (*t, p.as_slice()) != (rec.record_type, rec.payload) => {
                    first_difference.get_or_insert(seq);
                }
                Some(_) => {}
            }
            let bad = |what: String| ToolError::corrupt(format!("{} record {seq}: {what}", n.dir.display()));
            match (rec.record_type, n.engine.as_mut()) {
                (RECORD_ENGINE_CONFIG, None) => {
                    let mut e = Engine::new(decode_engine_config(rec.payload).map_err(|e| bad(e.to_string()))?);
                    e.skip(seq);
                    n.engine = Some(e);
                }
                (RECORD_COMMAND, Some(e)) => {
                    e.apply(seq, &decode(rec.payload).map_err(|e| bad(e.to_string()))?, &mut Null)
                }
                (t, _) => return Err(bad(format!("unexpected record type {t}"))),
            }
        }
    }
    let mut out = Out::stdout();
    out.line(&format!("compared up to sequence {common} (the shortest journal's end)"))?;
    let hashes: Vec<u128> = nodes.iter().map(|n| n.engine.as_ref().map_or(0, |e| e.state_hash())).collect();
    for (n, h) in nodes.iter().zip(&hashes) {
        out.line(&format!("{}  last_seq={}  log_crc={:08x}  state_hash={h:032x}", n.dir.display(), n.last_seq, n.crc))?;
    }
    let same_state = hashes.windows(2).all(|w| w[0] == w[1]);
    let code = match first_difference {
        None if same_state => {
            out.line(&format!("identical up to {common}"))?;
            EXIT_OK
        }
        None => {
            out.line("same records, different states: a replay bug (report it)")?;
            EXIT_CORRUPT
        }
        Some(seq) => {
            out.line(&format!("DIFFERENT: the journals part at sequence {seq}"))?;
            EXIT_CORRUPT
        }
    };
    out.finish()?;
    Ok(code)
}
