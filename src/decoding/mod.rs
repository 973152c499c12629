//! decoding (under construction)
