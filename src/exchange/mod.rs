//! Files that translators' tools exchange: TMX translation memories
//! ([`tmx`]) and the XML text rules they rest on ([`xml`]).

pub mod tmx;
pub mod xml;
