//! tarjim's integration tests: one binary, one module per area, shared helpers.

mod align;
mod audit;
mod batch;
mod cli;
mod decoding;
mod glossary;
mod glossary_cli;
mod hub;
mod model;
mod models_manifest;
mod props;
mod real_model;
mod translate_io;
mod util;
mod xliff;
