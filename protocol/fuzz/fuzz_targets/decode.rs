//! Fuzzes the protocol decoder: arbitrary bytes are split into frames and decoded in both
//! directions. It must never panic, and whatever decodes must survive encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{decode_frame, decode_frame_max, ClientMessage, ServerMessage};

fuzz_target!(|data: &[u8]| {
    let _ = decode_frame_max(data, 128);
    let mut rest = data;
    while let Ok(Some((frame, used))) = decode_frame(rest) {
        let mut buf = [0u8; 256];
        match ClientMessage::decode_frame(&frame) {
            Ok(m) => {
                let n = m.encode(&mut buf).expect("fits");
                let (f2, n2) = decode_frame(&buf[..n]).expect("frame").expect("whole");
                assert_eq!(n2, n);
                assert_eq!(ClientMessage::decode_frame(&f2), Ok(m));
                let _ = m.to_command(1, 1);
            }
            Err(e) => {
                let _ = e.to_session_reject(frame.body);
            }
        }
        match ServerMessage::decode_frame(&frame) {
            Ok(m) => {
                let n = m.encode(&mut buf).expect("fits");
                let (f2, n2) = decode_frame(&buf[..n]).expect("frame").expect("whole");
                assert_eq!(n2, n);
                assert_eq!(ServerMessage::decode_frame(&f2), Ok(m));
            }
            Err(e) => {
                let _ = e.to_session_reject(frame.body);
            }
        }
        rest = rest.get(used..).unwrap_or(&[]);
    }
});
