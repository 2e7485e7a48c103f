//! The replication wire format between a leader and its followers (matchd's own, over TCP): a
//! frame is `u32 length` (little-endian, counting the type byte and body), `u8 type`, body. Every
//! integer is little-endian. Decoding checks every length and never panics: the bytes come from
//! the network. Byte layouts are in `docs/replication.md`.

/// Largest frame either side accepts (a batch of records is cut well below it).
pub const MAX_FRAME_BYTES: usize = 4 << 20;
/// Records per `Records` frame at most (bounds the leader's batch).
pub const MAX_RECORDS_PER_FRAME: usize = 4096;
/// Bytes of one record's header inside `Records`: seq u64, crc32c u32, len u16, type u8, pad u8.
pub const RECORD_ENTRY_HEADER: usize = 16;
const MAGIC: [u8; 4] = *b"MREP";
/// 2: the engine config in `Hello` grew to its version-3 record (48 bytes, perpetuals' accounts);
/// nodes of different versions refuse each other at `Hello` rather than misread it.
const VERSION: u16 = 2;
/// Epochs a `Hello` carries at most (older ones are never compared: see `EpochHistory`).
pub const MAX_HISTORY: usize = 1024;
/// Rolling CRCs of the records before the first epoch a log keeps and a `Hello` carries (enough
/// for any `format`; a longer single-node history is compared as a whole).
pub const MAX_ZERO: usize = 4096;

const T_HELLO: u8 = 1;
const T_WELCOME: u8 = 2;
const T_REFUSE: u8 = 3;
const T_RECORDS: u8 = 4;
const T_HEARTBEAT: u8 = 5;
const T_ACK: u8 = 6;

/// One epoch in a log: `epoch` began (its `StartEpoch` record) at `start_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochStart {
    /// The epoch.
    pub epoch: u64,
    /// Sequence of its `StartEpoch` record.
    pub start_seq: u64,
    /// CRC32C of that record's payload (two logs that agree on it hold the same record).
    pub crc: u32,
}

/// Follower → leader, first message: who it is and what its log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The follower's node id.
    pub node: u32,
    /// The follower's `replication.nodes`.
    pub nodes: u32,
    /// The follower's `replication.cluster`.
    pub cluster: String,
    /// Last sequence in its journal (0: empty).
    pub last_seq: u64,
    /// The highest epoch it has seen (it refuses leaders of older ones).
    pub seen_epoch: u64,
    /// Rolling CRC32C of its log through `last_seq` (see `EpochHistory`).
    pub rolling: u32,
    /// How many of its records precede its first epoch.
    pub zero_len: u64,
    /// Rolling CRCs after each of those records (at most `MAX_ZERO`).
    pub zero: Vec<u32>,
    /// Its config file's engine capacities, encoded as in the journal.
    pub engine_config: [u8; engine::command_codec::ENGINE_CONFIG_BYTES],
    /// The epochs its log holds, oldest first.
    pub history: Vec<EpochStart>,
}

/// Leader → follower: accepted; records follow from `start_from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Welcome {
    /// The leader's epoch.
    pub epoch: u64,
    /// The leader's node id.
    pub leader: u32,
    /// The first record the leader sends: the follower keeps its log up to `start_from - 1` and
    /// discards the rest (never committed).
    pub start_from: u64,
    /// The leader's last written sequence.
    pub leader_written: u64,
    /// The leader's commit sequence (durable on a quorum).
    pub commit: u64,
}

/// Why a peer refused the other (then closes the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RefuseCode {
    /// This node is not the leader (the follower asks etcd again).
    NotLeader = 1,
    /// The sender has seen a newer epoch than the other's: the other is deposed.
    StaleEpoch = 2,
    /// `replication.cluster` or `replication.nodes` differ.
    ClusterMismatch = 3,
    /// The config files' engine capacities differ.
    EngineConfigMismatch = 4,
    /// The logs differ at a sequence both hold in the same epoch, or in their first record: not
    /// the same exchange, or a damaged journal. Nothing is truncated automatically.
    Diverged = 5,
    /// Another follower with this node id is connected.
    DuplicateNode = 6,
    /// The node id is not a member (0, above `nodes`, or the leader's own).
    UnknownNode = 7,
    /// The records the follower needs are no longer in the leader's journal (pruned).
    BehindStart = 8,
}

impl RefuseCode {
    fn from_u8(v: u8) -> Option<RefuseCode> {
        use RefuseCode::*;
        [
            NotLeader,
            StaleEpoch,
            ClusterMismatch,
            EngineConfigMismatch,
            Diverged,
            DuplicateNode,
            UnknownNode,
            BehindStart,
        ]
        .into_iter()
        .find(|c| *c as u8 == v)
    }
}

/// A refusal, with the sender's epoch, a sequence where it applies, and a message for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refuse {
    /// Why.
    pub code: RefuseCode,
    /// The sender's epoch.
    pub epoch: u64,
    /// The sequence concerned (0 if none).
    pub seq: u64,
    /// Human-readable detail.
    pub text: String,
}

/// One journal record as shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Its sequence.
    pub seq: u64,
    /// Journal record type.
    pub record_type: u8,
    /// Payload (the encoded command).
    pub payload: &'a [u8],
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// [`Hello`].
    Hello(Hello),
    /// [`Welcome`].
    Welcome(Welcome),
    /// [`Refuse`].
    Refuse(Refuse),
    /// Leader → follower: records, consecutive, with the leader's epoch and commit sequence.
    Records {
        /// The leader's epoch.
        epoch: u64,
        /// The leader's commit sequence.
        commit: u64,
        /// The records' bytes (iterate with [`records`]).
        body: &'a [u8],
        /// How many.
        count: u32,
    },
    /// Leader → follower, when idle: epoch, commit and written sequence.
    Heartbeat {
        /// The leader's epoch.
        epoch: u64,
        /// The leader's commit sequence.
        commit: u64,
        /// The leader's last written sequence.
        written: u64,
    },
    /// Follower → leader: how far its journal is durable, and how far it has received.
    Ack {
        /// Last sequence durable in the follower's journal.
        durable: u64,
        /// Last sequence received.
        received: u64,
    },
}

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A frame longer than [`MAX_FRAME_BYTES`] or shorter than its type byte.
    #[error("frame length {0} out of range")]
    FrameLength(usize),
    /// Unknown message type.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// A message shorter than its fields, or a field out of range.
    #[error("malformed {what}")]
    Malformed {
        /// Which message or field.
        what: &'static str,
    },
    /// Not a matchd replication peer, or another version.
    #[error("not a matchd replication peer (magic or version {0} differs)")]
    BadMagic(u16),
    /// A record's CRC does not match its payload (damaged on the way).
    #[error("record {seq}: CRC mismatch")]
    Crc {
        /// The record's sequence.
        seq: u64,
    },
}

struct Rd<'a> {
    b: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end =
            self.at.checked_add(n).filter(|&e| e <= self.b.len()).ok_or(WireError::Malformed { what: self.what })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}

/// Appends frames to an output buffer.
pub struct FrameWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> FrameWriter<'a> {
    fn begin(out: &'a mut Vec<u8>, t: u8) -> FrameWriter<'a> {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0, t]);
        FrameWriter { out, start }
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    fn u16(&mut self, v: u16) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.out.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.out.extend_from_slice(v);
        self
    }
    fn end(self) {
        let len = (self.out.len() - self.start - 4) as u32;
        self.out[self.start..self.start + 4].copy_from_slice(&len.to_le_bytes());
    }
}

/// Appends a `Hello`.
pub fn put_hello(out: &mut Vec<u8>, h: &Hello) {
    let mut w = FrameWriter::begin(out, T_HELLO);
    let history = &h.history[h.history.len().saturating_sub(MAX_HISTORY)..];
    w.bytes(&MAGIC).u16(VERSION).u16(0).u32(h.node).u32(h.nodes).u64(h.last_seq).u64(h.seen_epoch).u32(h.rolling);
    w.bytes(&h.engine_config);
    let zero = &h.zero[..h.zero.len().min(MAX_ZERO)];
    w.u64(h.zero_len).u32(zero.len() as u32);
    for &c in zero {
        w.u32(c);
    }
    let cluster = &h.cluster.as_bytes()[..h.cluster.len().min(255)];
    w.u8(cluster.len() as u8).bytes(cluster).u32(history.len() as u32);
    for e in history {
        w.u64(e.epoch).u64(e.start_seq).u32(e.crc);
    }
    w.end();
}

/// Appends a `Welcome`.
pub fn put_welcome(out: &mut Vec<u8>, m: &Welcome) {
    let mut w = FrameWriter::begin(out, T_WELCOME);
    w.u64(m.epoch).u32(m.leader).u64(m.start_from).u64(m.leader_written).u64(m.commit);
    w.end();
}

/// Appends a `Refuse`.
pub fn put_refuse(out: &mut Vec<u8>, r: &Refuse) {
    let mut w = FrameWriter::begin(out, T_REFUSE);
    let text = &r.text.as_bytes()[..r.text.len().min(1024)];
    w.u8(r.code as u8).u64(r.epoch).u64(r.seq).u16(text.len() as u16).bytes(text);
    w.end();
}

/// Appends a `Heartbeat`.
pub fn put_heartbeat(out: &mut Vec<u8>, epoch: u64, commit: u64, written: u64) {
    let mut w = FrameWriter::begin(out, T_HEARTBEAT);
    w.u64(epoch).u64(commit).u64(written);
    w.end();
}

/// Appends an `Ack`.
pub fn put_ack(out: &mut Vec<u8>, durable: u64, received: u64) {
    let mut w = FrameWriter::begin(out, T_ACK);
    w.u64(durable).u64(received);
    w.end();
}

/// Builds a `Records` frame record by record: [`RecordsFrame::push`] until it says the frame is
/// full, then [`RecordsFrame::finish`].
pub struct RecordsFrame {
    start: usize,
    count: u32,
}

impl RecordsFrame {
    /// Starts a frame at the end of `out`.
    pub fn begin(out: &mut Vec<u8>, epoch: u64, commit: u64) -> RecordsFrame {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0, T_RECORDS]);
        out.extend_from_slice(&epoch.to_le_bytes());
        out.extend_from_slice(&commit.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        RecordsFrame { start, count: 0 }
    }

    /// Whether another record of `payload_len` bytes fits.
    pub fn has_room(&self, out: &[u8], payload_len: usize) -> bool {
        (self.count as usize) < MAX_RECORDS_PER_FRAME
            && out.len() - self.start + RECORD_ENTRY_HEADER + payload_len <= MAX_FRAME_BYTES
    }

    /// Appends one record.
    pub fn push(&mut self, out: &mut Vec<u8>, r: RecordRef<'_>) {
        debug_assert!(r.payload.len() <= u16::MAX as usize);
        out.extend_from_slice(&r.seq.to_le_bytes());
        out.extend_from_slice(&crc32c::crc32c(r.payload).to_le_bytes());
        out.extend_from_slice(&(r.payload.len() as u16).to_le_bytes());
        out.push(r.record_type);
        out.push(0);
        out.extend_from_slice(r.payload);
        self.count += 1;
    }

    /// Records pushed so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Completes the frame (or removes it if empty).
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.count == 0 {
            out.truncate(self.start);
            return;
        }
        let len = (out.len() - self.start - 4) as u32;
        out[self.start..self.start + 4].copy_from_slice(&len.to_le_bytes());
        let at = self.start + 5 + 16;
        out[at..at + 4].copy_from_slice(&self.count.to_le_bytes());
    }
}

/// The records of a `Records` body, checked (lengths, CRCs) as they are read.
pub fn records(body: &[u8], count: u32) -> impl Iterator<Item = Result<RecordRef<'_>, WireError>> {
    let mut rd = Rd { b: body, at: 0, what: "record" };
    (0..count).map(move |_| {
        let seq = rd.u64()?;
        let crc = rd.u32()?;
        let len = rd.u16()? as usize;
        let record_type = rd.u8()?;
        let _pad = rd.u8()?;
        let payload = rd.take(len)?;
        if crc32c::crc32c(payload) != crc {
            return Err(WireError::Crc { seq });
        }
        Ok(RecordRef { seq, record_type, payload })
    })
}

/// The first complete frame at the front of `buf`: the message and the bytes it used, or `None`
/// if more bytes are needed.
pub fn decode(buf: &[u8]) -> Result<Option<(Message<'_>, usize)>, WireError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes")) as usize;
    if !(1..=MAX_FRAME_BYTES).contains(&len) {
        return Err(WireError::FrameLength(len));
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let t = buf[4];
    let body = &buf[5..4 + len];
    let msg = decode_body(t, body)?;
    Ok(Some((msg, 4 + len)))
}

fn decode_body(t: u8, body: &[u8]) -> Result<Message<'_>, WireError> {
    let mut r = Rd { b: body, at: 0, what: "message" };
    Ok(match t {
        T_HELLO => {
            r.what = "Hello";
            if r.take(4)? != MAGIC {
                return Err(WireError::BadMagic(0));
            }
            let version = r.u16()?;
            if version != VERSION {
                return Err(WireError::BadMagic(version));
            }
            let _ = r.u16()?;
            let node = r.u32()?;
            let nodes = r.u32()?;
            let last_seq = r.u64()?;
            let seen_epoch = r.u64()?;
            let rolling = r.u32()?;
            let mut engine_config = [0u8; engine::command_codec::ENGINE_CONFIG_BYTES];
            engine_config.copy_from_slice(r.take(engine::command_codec::ENGINE_CONFIG_BYTES)?);
            let zero_len = r.u64()?;
            let nz = r.u32()? as usize;
            if nz > MAX_ZERO {
                return Err(WireError::Malformed { what: "Hello zero-region CRCs" });
            }
            let mut zero = Vec::with_capacity(nz);
            for _ in 0..nz {
                zero.push(r.u32()?);
            }
            let cl = r.u8()? as usize;
            let cluster = String::from_utf8_lossy(r.take(cl)?).into_owned();
            let n = r.u32()? as usize;
            if n > MAX_HISTORY {
                return Err(WireError::Malformed { what: "Hello history" });
            }
            let mut history = Vec::with_capacity(n);
            for _ in 0..n {
                history.push(EpochStart { epoch: r.u64()?, start_seq: r.u64()?, crc: r.u32()? });
            }
            Message::Hello(Hello {
                node,
                nodes,
                cluster,
                last_seq,
                seen_epoch,
                rolling,
                zero_len,
                zero,
                engine_config,
                history,
            })
        }
        T_WELCOME => {
            r.what = "Welcome";
            Message::Welcome(Welcome {
                epoch: r.u64()?,
                leader: r.u32()?,
                start_from: r.u64()?,
                leader_written: r.u64()?,
                commit: r.u64()?,
            })
        }
        T_REFUSE => {
            r.what = "Refuse";
            let code = RefuseCode::from_u8(r.u8()?).ok_or(WireError::Malformed { what: "Refuse code" })?;
            let epoch = r.u64()?;
            let seq = r.u64()?;
            let n = r.u16()? as usize;
            let text = String::from_utf8_lossy(r.take(n)?).into_owned();
            Message::Refuse(Refuse { code, epoch, seq, text })
        }
        T_RECORDS => {
            r.what = "Records";
            let epoch = r.u64()?;
            let commit = r.u64()?;
            let count = r.u32()?;
            if count as usize > MAX_RECORDS_PER_FRAME {
                return Err(WireError::Malformed { what: "Records count" });
            }
            Message::Records { epoch, commit, body: &body[r.at..], count }
        }
        T_HEARTBEAT => {
            r.what = "Heartbeat";
            Message::Heartbeat { epoch: r.u64()?, commit: r.u64()?, written: r.u64()? }
        }
        T_ACK => {
            r.what = "Ack";
            Message::Ack { durable: r.u64()?, received: r.u64()? }
        }
        other => return Err(WireError::UnknownType(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(buf: &[u8]) -> Message<'_> {
        let (m, used) = decode(buf).unwrap().unwrap();
        assert_eq!(used, buf.len());
        m
    }

    #[test]
    fn messages_round_trip() {
        let hello = Hello {
            node: 3,
            nodes: 3,
            cluster: "prod".into(),
            last_seq: 99,
            seen_epoch: 4,
            rolling: 7,
            zero_len: 3,
            zero: vec![1, 2, 3],
            engine_config: [5; engine::command_codec::ENGINE_CONFIG_BYTES],
            history: vec![
                EpochStart { epoch: 1, start_seq: 9, crc: 1 },
                EpochStart { epoch: 4, start_seq: 50, crc: 2 },
            ],
        };
        let mut b = Vec::new();
        put_hello(&mut b, &hello);
        assert_eq!(one(&b), Message::Hello(hello));
        let w = Welcome { epoch: 4, leader: 1, start_from: 51, leader_written: 80, commit: 70 };
        b.clear();
        put_welcome(&mut b, &w);
        assert_eq!(one(&b), Message::Welcome(w));
        let r = Refuse { code: RefuseCode::Diverged, epoch: 4, seq: 12, text: "x".into() };
        b.clear();
        put_refuse(&mut b, &r);
        assert_eq!(one(&b), Message::Refuse(r));
        b.clear();
        put_ack(&mut b, 5, 6);
        assert_eq!(one(&b), Message::Ack { durable: 5, received: 6 });
        b.clear();
        put_heartbeat(&mut b, 1, 2, 3);
        assert_eq!(one(&b), Message::Heartbeat { epoch: 1, commit: 2, written: 3 });
    }

    #[test]
    fn records_round_trip_and_crc_is_checked() {
        let mut b = Vec::new();
        let mut f = RecordsFrame::begin(&mut b, 2, 10);
        for seq in 11..14u64 {
            let payload = vec![seq as u8; 24];
            assert!(f.has_room(&b, payload.len()));
            f.push(&mut b, RecordRef { seq, record_type: 1, payload: &payload });
        }
        f.finish(&mut b);
        let Message::Records { epoch, commit, body, count } = one(&b) else { panic!("records") };
        assert_eq!((epoch, commit, count), (2, 10, 3));
        let got: Vec<_> = records(body, count).map(|r| r.unwrap().seq).collect();
        assert_eq!(got, vec![11, 12, 13]);
        // Flip a payload byte: the CRC catches it.
        let last = b.len() - 1;
        b[last] ^= 1;
        let Message::Records { body, count, .. } = one(&b) else { panic!("records") };
        assert!(records(body, count).any(|r| r == Err(WireError::Crc { seq: 13 })));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let n = (seed % 64) as usize;
            let mut buf: Vec<u8> = (0..n).map(|i| (seed >> (i % 56)) as u8).collect();
            if buf.len() >= 5 {
                buf[..4].copy_from_slice(&((n - 4) as u32).to_le_bytes());
                buf[4] = (seed % 8) as u8;
            }
            if let Ok(Some((Message::Records { body, count, .. }, _))) = decode(&buf) {
                for r in records(body, count) {
                    let _ = r;
                }
            }
        }
    }
}
