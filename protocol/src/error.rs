//! Protocol errors: framing (fatal for the connection), decoding (one message refused), encoding.

/// The byte stream cannot be split into frames: the connection must be closed (the server sends
/// `SessionReject` with template id 0 and then `Logout(ProtocolError)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is smaller than the header.
    #[error("frame length {len} is shorter than the 8-byte header")]
    TooShort {
        /// The length prefix.
        len: usize,
    },
    /// The whole message (length prefix + its value) exceeds the receiver's limit.
    #[error("message of {message_len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Length prefix + 2.
        message_len: usize,
        /// The receiver's limit.
        max: usize,
    },
}

/// A well-framed message was refused. The frame is consumed and the session goes on (the server
/// answers with a `SessionReject`, see [`DecodeError::to_session_reject`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header's schema id is not [`super::SCHEMA_ID`].
    #[error("template {template_id}: unknown schema id {schema_id:#06x}")]
    UnknownSchema {
        /// Template id from the header.
        template_id: u16,
        /// Schema id found.
        schema_id: u16,
    },
    /// The header's version is 0.
    #[error("template {template_id}: unsupported schema version {version}")]
    UnsupportedVersion {
        /// Template id from the header.
        template_id: u16,
        /// Version found.
        version: u16,
    },
    /// No such template in this direction.
    #[error("unknown template {template_id}")]
    UnknownTemplate {
        /// Template id from the header.
        template_id: u16,
    },
    /// The header's block length disagrees with the frame length.
    #[error("template {template_id}: block length {block_length} but {body_len} bytes follow the header")]
    LengthMismatch {
        /// Template id from the header.
        template_id: u16,
        /// Block length from the header.
        block_length: u16,
        /// Bytes after the header in the frame.
        body_len: usize,
    },
    /// The block is shorter than this template's block.
    #[error("template {template_id}: block length {block_length} is below the minimum {min}")]
    BlockTooShort {
        /// Template id from the header.
        template_id: u16,
        /// Block length from the header.
        block_length: u16,
        /// This template's block length in version 1.
        min: u16,
    },
    /// A field holds a value outside its enum or flag set.
    #[error("template {template_id}: field `{field}` at offset {offset} has invalid value {value}")]
    BadField {
        /// Template id from the header.
        template_id: u16,
        /// Field name.
        field: &'static str,
        /// Offset of the field in the block.
        offset: u16,
        /// Value found.
        value: u64,
    },
}

impl DecodeError {
    /// Template id of the refused message.
    pub fn template_id(&self) -> u16 {
        match *self {
            DecodeError::UnknownSchema { template_id, .. }
            | DecodeError::UnsupportedVersion { template_id, .. }
            | DecodeError::UnknownTemplate { template_id }
            | DecodeError::LengthMismatch { template_id, .. }
            | DecodeError::BlockTooShort { template_id, .. }
            | DecodeError::BadField { template_id, .. } => template_id,
        }
    }
}

/// An encoder was given too little room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The buffer (or the vector's spare capacity) is smaller than the message.
    #[error("message needs {needed} bytes, buffer has {available}")]
    BufferTooSmall {
        /// Bytes the message needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}
