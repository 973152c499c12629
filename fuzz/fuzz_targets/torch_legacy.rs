//! A PyTorch weight file of any bytes, read as the legacy (pre-1.6) format
//! when it starts like one: an error or tensors of the dtypes the model takes.
#![no_main]

use candle_core::DType;
use libfuzzer_sys::fuzz_target;
use tarjim::model::{ModelError, read_weights};
use tarjim_fuzz::scratch_file;

fuzz_target!(|data: &[u8]| {
    // Zip archives go to candle's reader, not this target's subject.
    if data.starts_with(b"PK\x03\x04") {
        return;
    }
    let path = scratch_file("pytorch_model.bin", data);
    match read_weights(&path) {
        Ok(tensors) => assert!(tensors.values().all(|t| matches!(t.dtype(), DType::F32 | DType::F16 | DType::BF16))),
        Err(ModelError::Weights { .. }) => {}
        Err(other) => panic!("{other}"),
    }
});
