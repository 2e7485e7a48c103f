//! Reading: iterate from any sequence number and tail a live writer.

use std::path::Path;

use crate::error::{Corruption, CorruptionKind, ReadError, StorageError};
use crate::record::{decode, RecordView, Slot, RECORD_HEADER_LEN};
use crate::segment::{parse_header, parse_segment_file_name, segment_file_name, SEGMENT_HEADER_LEN};
use crate::storage::{FileStorage, SegmentRead, Storage};
use crate::Seq;

struct Cursor<R> {
    ro: R,
    first_seq: Seq,
    size: usize,
    off: usize,
}

/// Reads records in sequence order, from any starting sequence, and keeps
/// following a live writer (in this or another process).
///
/// It returns only complete records: CRC-valid, reserved bytes and padding
/// zero, numbered previous + 1 (the one record check recovery makes too).
/// The writer stores a record's length field last (release), and the reader
/// loads it first (acquire), so a record being written reads as "not yet".
/// A reader never repairs anything; a torn tail left by a crashed writer is
/// reported as corruption until a writer reopens the journal and recovers.
pub struct JournalReader<S: Storage = FileStorage> {
    storage: S,
    cur: Option<Cursor<S::ReadSegment>>,
    next_seq: Seq,
}

impl JournalReader<FileStorage> {
    /// Opens the journal in `dir` positioned at `from` (0 means the first
    /// record present). `from` may be one past the last record: the reader
    /// then waits there for the writer.
    pub fn open(dir: impl AsRef<Path>, from: Seq) -> Result<Self, ReadError> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(ReadError::DirMissing { dir: dir.to_path_buf() });
        }
        Self::open_with_storage(FileStorage::open(dir)?, from)
    }
}

impl<S: Storage> JournalReader<S> {
    /// Like [`JournalReader::open`] on any [`Storage`].
    pub fn open_with_storage(storage: S, from: Seq) -> Result<Self, ReadError> {
        let mut firsts: Vec<Seq> = storage.list()?.iter().filter_map(|n| parse_segment_file_name(n)).collect();
        firsts.sort_unstable();
        let Some(&oldest) = firsts.first() else {
            if from <= 1 {
                return Ok(JournalReader { storage, cur: None, next_seq: 1 });
            }
            return Err(ReadError::BeyondEnd { requested: from, next: 1 });
        };
        let from = if from == 0 { oldest } else { from };
        if from < oldest {
            return Err(ReadError::BeforeStart { requested: from, first: oldest });
        }
        let idx = firsts.partition_point(|&f| f <= from) - 1;
        let mut reader = JournalReader { storage, cur: None, next_seq: firsts[idx] };
        if !reader.open_segment(firsts[idx])? {
            // Removed between listing and opening (a writer's recovery).
            return Err(StorageError::NotFound {
                op: "opening segment",
                path: reader.storage.path_of(&segment_file_name(firsts[idx])),
            }
            .into());
        }
        while reader.next_seq < from {
            if reader.advance()?.is_none() {
                return Err(ReadError::BeyondEnd { requested: from, next: reader.next_seq });
            }
        }
        Ok(reader)
    }

    /// The next record, or `None` if the writer has not written it yet (call
    /// again later to tail). The view borrows the reader's mapping, which is
    /// why this is not an `Iterator` (a lending iterator).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<RecordView<'_>>, ReadError> {
        let Some((off, len)) = self.advance()? else {
            return Ok(None);
        };
        let seq = self.next_seq - 1;
        let Some(cur) = self.cur.as_ref() else {
            return Ok(None);
        };
        let bytes = cur.ro.bytes();
        // Validated by `advance`; `get` keeps even a logic error from panicking.
        let (Some(payload), Some(&record_type)) =
            (bytes.get(off + RECORD_HEADER_LEN..off + len), bytes.get(off + crate::record::OFF_TYPE))
        else {
            return Ok(None);
        };
        Ok(Some(RecordView { seq, record_type, payload, segment_first_seq: cur.first_seq, offset: off as u64 }))
    }

    /// Sequence number of the record the next call to `next` returns.
    pub fn next_seq(&self) -> Seq {
        self.next_seq
    }

    /// Moves past the next record; returns its offset and unpadded length.
    fn advance(&mut self) -> Result<Option<(usize, usize)>, ReadError> {
        loop {
            let Some(cur) = self.cur.as_mut() else {
                if self.open_segment(self.next_seq)? {
                    continue;
                }
                return Ok(None);
            };
            let slot = decode(cur.ro.bytes(), cur.size, cur.off, Some(self.next_seq), cur.first_seq);
            match slot {
                Slot::Record(v, padded) => {
                    let out = (cur.off, RECORD_HEADER_LEN + v.payload.len());
                    cur.off += padded;
                    self.next_seq = self.next_seq.saturating_add(1);
                    return Ok(Some(out));
                }
                Slot::Empty => return Ok(None),
                Slot::EndOfSegment | Slot::NoRoom => {
                    // The writer moved on; its next segment appears once
                    // the writer's helper has renamed it.
                    if self.open_segment(self.next_seq)? {
                        continue;
                    }
                    return Ok(None);
                }
                Slot::Invalid(fault) => {
                    return Err(Corruption {
                        file: self.storage.path_of(&segment_file_name(cur.first_seq)),
                        offset: cur.off as u64,
                        seq: self.next_seq,
                        kind: CorruptionKind::BadRecord(fault),
                        durable_watermark: 0,
                        valid_after: None,
                    }
                    .into())
                }
            }
        }
    }

    /// Maps the segment starting at `first`; false if it does not exist.
    fn open_segment(&mut self, first: Seq) -> Result<bool, ReadError> {
        let name = segment_file_name(first);
        let ro = match self.storage.open_ro(&name) {
            Ok(ro) => ro,
            Err(StorageError::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let bad = |why| Corruption {
            file: self.storage.path_of(&name),
            offset: 0,
            seq: first,
            kind: CorruptionKind::BadSegmentHeader(why),
            durable_watermark: 0,
            valid_after: None,
        };
        let header = parse_header(ro.bytes()).map_err(bad)?;
        if header.first_seq != first {
            return Err(bad("first sequence differs from the file name").into());
        }
        self.cur = Some(Cursor { ro, first_seq: first, size: header.segment_size as usize, off: SEGMENT_HEADER_LEN });
        Ok(true)
    }
}
