//! A safetensors weight file of any bytes: an error or tensors of the dtypes
//! the model takes.
#![no_main]

use candle_core::DType;
use libfuzzer_sys::fuzz_target;
use tarjim::model::{ModelError, read_weights};
use tarjim_fuzz::scratch_file;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("model.safetensors", data);
    match read_weights(&path) {
        Ok(tensors) => assert!(tensors.values().all(|t| matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16))),
        Err(ModelError::Weights { .. }) => {}
        Err(other) => panic!("{other}"),
    }
});
