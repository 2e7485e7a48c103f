//! Perpetual futures commands (docs/futures.md): placeholder dispatch.

use crate::command::*;
use crate::engine::{Engine, Out};
use crate::event::*;

impl Engine {
    pub(crate) fn futures_command<S: EventSink>(&mut self, cmd: &Command, out: &mut Out<'_, S>) {
        let _ = (cmd, out);
    }
}
