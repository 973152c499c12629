//! A minimal reader for SentencePiece's `ModelProto` (proto2, `sentencepiece_model.proto`).
//!
//! Only the fields the encoder and decoder use are kept; every other field is skipped by
//! wire type. Absent optional fields take their proto2 defaults (the booleans of
//! `NormalizerSpec` default to `true`, `model_type` to UNIGRAM). An optional message that
//! occurs more than once is merged, as protobuf does.

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A protobuf decoding error, with a short description of what was being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtoError(pub(crate) String);

type Result<T> = std::result::Result<T, ProtoError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(ProtoError(msg.into()))
}

/// A cursor over protobuf wire data.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A field's value as found on the wire.
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads a base-128 varint (at most 10 bytes).
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return err(format!("truncated varint at byte {}", self.pos));
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        err(format!("varint longer than 10 bytes before byte {}", self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => {
                let bytes = &self.buf[self.pos..end];
                self.pos = end;
                Ok(bytes)
            }
            _ => err(format!("field of {n} bytes at byte {} runs past the end ({} bytes)", self.pos, self.buf.len())),
        }
    }

    /// Reads the next field: its number and value. `None` at the end of the buffer.
    pub(crate) fn field(&mut self) -> Result<Option<(u32, Value<'a>)>> {
        if self.is_empty() {
            return Ok(None);
        }
        let start = self.pos;
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return err(format!("invalid field number {number} at byte {start}"));
        }
        let value = match (key & 7) as u8 {
            VARINT => Value::Varint(self.varint()?),
            FIXED64 => {
                self.take(8)?;
                Value::Fixed64
            }
            LEN => {
                let len = self.varint()?;
                let len = usize::try_from(len).or_else(|_| err(format!("length {len} too large at byte {start}")))?;
                Value::Bytes(self.take(len)?)
            }
            FIXED32 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            other => return err(format!("unsupported wire type {other} at byte {start}")),
        };
        Ok(Some((number as u32, value)))
    }
}

fn expect_varint(value: Value<'_>, what: &str) -> Result<u64> {
    match value {
        Value::Varint(v) => Ok(v),
        _ => err(format!("{what}: expected a varint")),
    }
}

fn expect_bytes<'a>(value: Value<'a>, what: &str) -> Result<&'a [u8]> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => err(format!("{what}: expected a length-delimited field")),
    }
}

fn expect_str<'a>(value: Value<'a>, what: &str) -> Result<&'a str> {
    let bytes = expect_bytes(value, what)?;
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(_) => err(format!("{what}: not valid UTF-8")),
    }
}

/// `int32` on the wire: a varint holding the sign-extended value.
fn expect_i32(value: Value<'_>, what: &str) -> Result<i32> {
    Ok(expect_varint(value, what)? as u32 as i32)
}

/// Type of a vocabulary piece (`ModelProto.SentencePiece.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_wire(v: i32) -> Option<Self> {
        Some(match v {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            _ => return None,
        })
    }
}

/// One vocabulary entry, borrowed from the model file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece<'a> {
    pub(crate) piece: &'a str,
    pub(crate) score: f32,
    pub(crate) kind: PieceType,
}

/// `TrainerSpec.model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelType {
    Unigram,
    Bpe,
    Word,
    Char,
    Other(i32),
}

/// The `TrainerSpec` fields that matter at inference time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrainerSpec {
    pub(crate) model_type: ModelType,
    pub(crate) treat_whitespace_as_suffix: bool,
    pub(crate) byte_fallback: bool,
    /// What the decoder prints for the `<unk>` piece.
    pub(crate) unk_surface: String,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        TrainerSpec {
            model_type: ModelType::Unigram,
            treat_whitespace_as_suffix: false,
            byte_fallback: false,
            unk_surface: " \u{2047} ".to_owned(),
        }
    }
}

/// `NormalizerSpec` (also used for the optional denormalizer).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NormalizerSpec {
    pub(crate) precompiled_charsmap: Vec<u8>,
    pub(crate) add_dummy_prefix: bool,
    pub(crate) remove_extra_whitespaces: bool,
    pub(crate) escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        NormalizerSpec {
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// The parsed model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ModelProto<'a> {
    pub(crate) pieces: Vec<Piece<'a>>,
    pub(crate) trainer_spec: TrainerSpec,
    pub(crate) normalizer_spec: NormalizerSpec,
    pub(crate) denormalizer_spec: Option<NormalizerSpec>,
}

fn parse_piece(buf: &[u8], index: usize) -> Result<Piece<'_>> {
    let what = |field: &str| format!("pieces[{index}].{field}");
    let mut piece = Piece { piece: "", score: 0.0, kind: PieceType::Normal };
    let mut r = Reader::new(buf);
    while let Some((number, value)) = r.field()? {
        match number {
            1 => piece.piece = expect_str(value, &what("piece"))?,
            2 => match value {
                Value::Fixed32(bits) => piece.score = f32::from_bits(bits),
                _ => return err(format!("{}: expected a float", what("score"))),
            },
            3 => {
                let v = expect_i32(value, &what("type"))?;
                piece.kind =
                    PieceType::from_wire(v).ok_or_else(|| ProtoError(format!("{}: unknown type {v}", what("type"))))?;
            }
            _ => {}
        }
    }
    Ok(piece)
}

fn merge_trainer_spec(spec: &mut TrainerSpec, buf: &[u8]) -> Result<()> {
    let mut r = Reader::new(buf);
    while let Some((number, value)) = r.field()? {
        match number {
            3 => {
                spec.model_type = match expect_i32(value, "trainer_spec.model_type")? {
                    1 => ModelType::Unigram,
                    2 => ModelType::Bpe,
                    3 => ModelType::Word,
                    4 => ModelType::Char,
                    other => ModelType::Other(other),
                }
            }
            24 => {
                spec.treat_whitespace_as_suffix = expect_varint(value, "trainer_spec.treat_whitespace_as_suffix")? != 0
            }
            35 => spec.byte_fallback = expect_varint(value, "trainer_spec.byte_fallback")? != 0,
            44 => spec.unk_surface = expect_str(value, "trainer_spec.unk_surface")?.to_owned(),
            _ => {}
        }
    }
    Ok(())
}

fn merge_normalizer_spec(spec: &mut NormalizerSpec, buf: &[u8], name: &str) -> Result<()> {
    let mut r = Reader::new(buf);
    while let Some((number, value)) = r.field()? {
        let flag = |value, field: &str| -> Result<bool> { Ok(expect_varint(value, &format!("{name}.{field}"))? != 0) };
        match number {
            2 => spec.precompiled_charsmap = expect_bytes(value, &format!("{name}.precompiled_charsmap"))?.to_vec(),
            3 => spec.add_dummy_prefix = flag(value, "add_dummy_prefix")?,
            4 => spec.remove_extra_whitespaces = flag(value, "remove_extra_whitespaces")?,
            5 => spec.escape_whitespaces = flag(value, "escape_whitespaces")?,
            _ => {}
        }
    }
    Ok(())
}

/// Parses a serialized `ModelProto`.
pub(crate) fn parse_model(buf: &[u8]) -> Result<ModelProto<'_>> {
    let mut model = ModelProto::default();
    let mut r = Reader::new(buf);
    while let Some((number, value)) = r.field()? {
        match number {
            1 => {
                let bytes = expect_bytes(value, "pieces")?;
                let piece = parse_piece(bytes, model.pieces.len())?;
                model.pieces.push(piece);
            }
            2 => merge_trainer_spec(&mut model.trainer_spec, expect_bytes(value, "trainer_spec")?)?,
            3 => merge_normalizer_spec(
                &mut model.normalizer_spec,
                expect_bytes(value, "normalizer_spec")?,
                "normalizer_spec",
            )?,
            5 => merge_normalizer_spec(
                model.denormalizer_spec.get_or_insert_with(Default::default),
                expect_bytes(value, "denormalizer_spec")?,
                "denormalizer_spec",
            )?,
            _ => {}
        }
    }
    Ok(model)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny protobuf writer for building test models.
    #[derive(Default)]
    pub(crate) struct Writer(pub(crate) Vec<u8>);

    impl Writer {
        pub(crate) fn varint(&mut self, mut v: u64) -> &mut Self {
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    self.0.push(byte);
                    return self;
                }
                self.0.push(byte | 0x80);
            }
        }
        pub(crate) fn key(&mut self, number: u32, wire: u8) -> &mut Self {
            self.varint(u64::from(number) << 3 | u64::from(wire))
        }
        pub(crate) fn uint(&mut self, number: u32, v: u64) -> &mut Self {
            self.key(number, VARINT).varint(v)
        }
        pub(crate) fn bytes(&mut self, number: u32, b: &[u8]) -> &mut Self {
            self.key(number, LEN).varint(b.len() as u64);
            self.0.extend_from_slice(b);
            self
        }
        pub(crate) fn float(&mut self, number: u32, f: f32) -> &mut Self {
            self.key(number, FIXED32);
            self.0.extend_from_slice(&f.to_le_bytes());
            self
        }
    }

    /// Serializes a `ModelProto.SentencePiece`.
    pub(crate) fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(1, text.as_bytes()).float(2, score).uint(3, kind);
        w.0
    }

    #[test]
    fn varints_and_negative_int32() {
        let mut w = Writer::default();
        w.varint(0).varint(300).varint(u64::MAX).varint(-1i64 as u64);
        let mut r = Reader::new(&w.0);
        assert_eq!(r.varint(), Ok(0));
        assert_eq!(r.varint(), Ok(300));
        assert_eq!(r.varint(), Ok(u64::MAX));
        let v = r.varint().map(|v| v as u32 as i32);
        assert_eq!(v, Ok(-1));
        assert!(r.is_empty());
        assert!(Reader::new(&[0x80, 0x80]).varint().is_err());
        assert!(Reader::new(&[0xff; 11]).varint().is_err());
    }

    #[test]
    fn parses_pieces_specs_and_defaults() {
        let mut trainer = Writer::default();
        trainer
            .uint(3, 1)
            .uint(35, 1)
            .bytes(44, "??".as_bytes())
            .bytes(2, b"prefix") // skipped field
            .uint(40, -1i64 as u64); // skipped negative int32
        let mut normalizer = Writer::default();
        normalizer.bytes(1, b"nmt_nfkc").bytes(2, &[1, 2, 3]).uint(4, 0);
        let mut model = Writer::default();
        model
            .bytes(1, &piece("<unk>", 0.0, 2))
            .bytes(1, &piece("\u{2581}a", -1.5, 1))
            .bytes(2, &trainer.0)
            .bytes(3, &normalizer.0)
            .key(7, FIXED64);
        model.0.extend_from_slice(&[0; 8]);
        let m = parse_model(&model.0).expect("valid model");
        assert_eq!(m.pieces.len(), 2);
        assert_eq!(m.pieces[1].piece, "\u{2581}a");
        assert_eq!(m.pieces[1].score, -1.5);
        assert_eq!(m.pieces[0].kind, PieceType::Unknown);
        assert!(m.trainer_spec.byte_fallback);
        assert_eq!(m.trainer_spec.unk_surface, "??");
        assert!(!m.trainer_spec.treat_whitespace_as_suffix);
        assert_eq!(m.normalizer_spec.precompiled_charsmap, vec![1, 2, 3]);
        assert!(m.normalizer_spec.add_dummy_prefix, "proto2 default is true");
        assert!(!m.normalizer_spec.remove_extra_whitespaces);
        assert!(m.normalizer_spec.escape_whitespaces);
        assert_eq!(m.denormalizer_spec, None);
    }

    #[test]
    fn default_piece_type_is_normal_and_model_type_other() {
        let mut p = Writer::default();
        p.bytes(1, b"x");
        let mut trainer = Writer::default();
        trainer.uint(3, 2);
        let mut model = Writer::default();
        model.bytes(1, &p.0).bytes(2, &trainer.0);
        let m = parse_model(&model.0).expect("valid model");
        assert_eq!(m.pieces[0].kind, PieceType::Normal);
        assert_eq!(m.pieces[0].score, 0.0);
        assert_eq!(m.trainer_spec.model_type, ModelType::Bpe);
    }

    #[test]
    fn rejects_truncated_and_malformed_input() {
        let mut model = Writer::default();
        model.bytes(1, &piece("abc", -1.0, 1));
        let full = model.0.clone();
        for cut in 1..full.len() {
            assert!(parse_model(&full[..cut]).is_err(), "cut at {cut}");
        }
        // wire type 3 (start group) is not accepted
        assert!(parse_model(&[0x0b]).is_err());
        // field number 0
        assert!(parse_model(&[0x00, 0x00]).is_err());
        // invalid UTF-8 piece
        let mut bad = Writer::default();
        bad.bytes(1, &{
            let mut p = Writer::default();
            p.bytes(1, &[0xff, 0xfe]);
            p.0
        });
        let e = parse_model(&bad.0).expect_err("invalid UTF-8");
        assert!(e.0.contains("pieces[0].piece"), "{}", e.0);
        // unknown piece type
        let mut unknown_type = Writer::default();
        unknown_type.bytes(1, &piece("x", 0.0, 9));
        assert!(parse_model(&unknown_type.0).is_err());
        // a score that is not a float
        let mut p = Writer::default();
        p.bytes(1, b"x").uint(2, 1);
        let mut m = Writer::default();
        m.bytes(1, &p.0);
        assert!(parse_model(&m.0).is_err());
    }

    #[test]
    fn repeated_optional_messages_merge() {
        let mut a = Writer::default();
        a.uint(3, 0);
        let mut b = Writer::default();
        b.uint(5, 0);
        let mut model = Writer::default();
        model.bytes(3, &a.0).bytes(3, &b.0).bytes(5, &a.0);
        let m = parse_model(&model.0).expect("valid model");
        assert!(!m.normalizer_spec.add_dummy_prefix);
        assert!(!m.normalizer_spec.escape_whitespaces);
        assert!(m.normalizer_spec.remove_extra_whitespaces);
        let d = m.denormalizer_spec.expect("denormalizer present");
        assert!(!d.add_dummy_prefix);
    }
}
