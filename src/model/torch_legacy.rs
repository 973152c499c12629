//! PyTorch's legacy serialization: what `torch.save` wrote before 1.6 (and
//! still writes with `_use_new_zipfile_serialization=False`), the format of the
//! `pytorch_model.bin` files in the hub's 2020 repositories.
//!
//! A file is five pickles and then the storages, as [`_legacy_save`] writes
//! them and [`_legacy_load`] reads them back:
//!
//! 1. the magic number `0x1950a86a20f9469cfc6c`;
//! 2. the protocol version, 1001;
//! 3. `sys_info` (byte order and C type sizes; the storages are little-endian
//!    whatever it says, see [`THPStorage_writeFileRaw`]);
//! 4. the saved object, here a state dict: each tensor is a call of
//!    [`_rebuild_tensor_v2`]`(storage, offset, size, stride, requires_grad,
//!    hooks)` whose storage is a persistent id [`('storage', torch.FloatStorage,
//!    key, location, numel, view)`][persistent id] (tensors that share a
//!    storage name the same key);
//! 5. the sorted list of storage keys; then, for each key in that order, its
//!    element count (8 bytes, little-endian) and its elements ([`the storage
//!    loop`]).
//!
//! Only the pickle opcodes of protocols 2 and 3 (torch's default is 2) that a
//! state dict needs are run, and only the globals a state dict names are
//! accepted: anything else is an error naming the byte. Every length read from
//! the file is checked against what is left of it before anything is
//! allocated, and every object the pickles build costs at least one byte of
//! the file.
//!
//! [`LegacyFile`] runs the pickles and checks the storages' layout when it
//! opens a file, then reads a storage when a tensor of it is taken, so that a
//! model loads holding its weights about once, as from safetensors.
//!
//! [`_legacy_save`]: https://github.com/pytorch/pytorch/blob/v2.15.0/torch/serialization.py#L1022
//! [`_legacy_load`]: https://github.com/pytorch/pytorch/blob/v2.15.0/torch/serialization.py#L1909-L1939
//! [persistent id]: https://github.com/pytorch/pytorch/blob/v2.15.0/torch/serialization.py#L1139-L1146
//! [`_rebuild_tensor_v2`]: https://github.com/pytorch/pytorch/blob/v2.15.0/torch/_utils.py#L229-L249
//! [`the storage loop`]: https://github.com/pytorch/pytorch/blob/v2.15.0/torch/serialization.py#L1174-L1181
//! [`THPStorage_writeFileRaw`]: https://github.com/pytorch/pytorch/blob/00f97a87246a6a7a144b1c3ffb3ebbdcfbe9dd5c/torch/csrc/generic/serialization.cpp

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::ModelError;
use super::load::read_values;

/// `MAGIC_NUMBER` of `torch/serialization.py`.
const MAGIC_NUMBER: i128 = 0x1950_a86a_20f9_469c_fc6c;
/// `PROTOCOL_VERSION` of `torch/serialization.py`.
const PROTOCOL_VERSION: i128 = 1001;
/// Longest module or name line of a `GLOBAL` opcode.
const MAX_GLOBAL_LINE: usize = 256;

/// The first bytes of a legacy file: pickle protocol `protocol`, then the
/// magic number as a 10-byte `LONG1`.
fn preamble(protocol: u8) -> [u8; 14] {
    let mut head = [0u8; 14];
    head[..4].copy_from_slice(&[0x80, protocol, 0x8a, 10]);
    head[4..].copy_from_slice(&MAGIC_NUMBER.to_le_bytes()[..10]);
    head
}

/// Whether a file starting with `head` (its first 14 bytes, or all of a
/// shorter file) is in the legacy format, or a truncated start of one. No valid
/// safetensors file starts so: its header length would be over 170 MB.
pub(super) fn is_legacy(head: &[u8]) -> bool {
    !head.is_empty()
        && [2, 3].into_iter().any(|protocol| {
            let want = preamble(protocol);
            let n = head.len().min(want.len());
            head[..n] == want[..n]
        })
}

/// Reads every tensor of the legacy-format file `path` on the CPU, in its
/// stored dtype (f32, f16 or bf16). Tensors that share a storage share it in
/// memory too when they are contiguous.
pub(super) fn read(path: &Path) -> Result<HashMap<String, Tensor>, ModelError> {
    let mut file = LegacyFile::open(path)?;
    let names: Vec<String> = file.state.entries.keys().cloned().collect();
    names.into_iter().map(|name| Ok((name.clone(), file.take(&name)?))).collect()
}

/// A legacy-format file whose pickles have been run and checked, and whose
/// storages are read when a tensor of theirs is taken, so that loading holds
/// the weights about once.
pub(super) struct LegacyFile {
    path: std::path::PathBuf,
    state: State<BufReader<File>>,
}

impl LegacyFile {
    /// Opens `path`, runs its pickles and checks the storages' layout: their
    /// element counts, and that they fill the rest of the file exactly.
    pub(super) fn open(path: &Path) -> Result<Self, ModelError> {
        let file = File::open(path).map_err(|error| ModelError::Io { path: path.to_path_buf(), error })?;
        let len = file.metadata().map_err(|err| weights_error(path, err.to_string()))?.len();
        let state = State::open(BufReader::new(file), len).map_err(|err| weights_error(path, err))?;
        Ok(Self { path: path.to_path_buf(), state })
    }

    /// Whether `name` is a tensor not taken yet.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.state.entries.contains_key(name)
    }

    /// Reads tensor `name` (once: it then leaves the file's index).
    pub(super) fn take(&mut self, name: &str) -> Result<Tensor, ModelError> {
        self.state.take(name).map_err(|err| weights_error(&self.path, format!("tensor `{name}`: {err}")))
    }

    /// Drops tensor `name` unread, and what only it kept in memory.
    pub(super) fn forget(&mut self, name: &str) {
        self.state.forget(name);
    }
}

fn weights_error(path: &Path, msg: String) -> ModelError {
    ModelError::Weights {
        path: path.to_path_buf(),
        error: candle_core::Error::Msg(format!("PyTorch legacy format: {msg}")),
    }
}

/// The pickles' objects and where the storages are, with the tensors and
/// storages read so far that names not yet taken still need.
struct State<R> {
    input: Input<R>,
    objects: Objects,
    /// Tensor index by name, for the names not taken yet.
    entries: HashMap<String, usize>,
    /// Where each storage's elements start in the file, by storage index.
    data: Vec<u64>,
    /// Names not yet taken, by tensor index (tied weights are one tensor).
    tensor_users: HashMap<usize, usize>,
    /// Tensors built that names not yet taken share.
    built: HashMap<usize, Tensor>,
    /// Tensors not yet built, by storage index.
    storage_users: HashMap<usize, usize>,
    /// Storages read that tensors not yet built share.
    storages: HashMap<usize, Tensor>,
    /// Bytes strided tensors may still take to copy: in all at most the file's length.
    copy_budget: u64,
}

impl<R: Read + Seek> State<R> {
    fn open(reader: R, len: u64) -> Result<Self, String> {
        let mut input = Input { inner: reader, pos: 0, len, section: "the magic number".into() };
        let mut objects = Objects::default();
        if !matches!(unpickle(&mut input, &mut objects)?, Value::Int(MAGIC_NUMBER)) {
            return Err("invalid magic number: not a file written by torch.save".into());
        }
        input.section = "the protocol version".into();
        match unpickle(&mut input, &mut objects)? {
            Value::Int(PROTOCOL_VERSION) => {}
            Value::Int(v) => return Err(format!("protocol version {v}, expected {PROTOCOL_VERSION}")),
            other => return Err(format!("the protocol version is {}, expected {PROTOCOL_VERSION}", other.kind())),
        }
        input.section = "the system info".into();
        unpickle(&mut input, &mut objects)?;
        input.section = "the state dict".into();
        let state = unpickle(&mut input, &mut objects)?;
        let entries = state_dict(&state, &objects)?;
        input.section = "the list of storages".into();
        let keys = storage_keys(&unpickle(&mut input, &mut objects)?, &objects)?;
        let data = storage_layout(&mut input, &objects, &keys)?;
        let mut tensor_users = HashMap::new();
        for &index in entries.values() {
            *tensor_users.entry(index).or_insert(0) += 1;
        }
        let mut storage_users = HashMap::new();
        for &index in tensor_users.keys() {
            *storage_users.entry(objects.tensors[index].view.storage).or_insert(0) += 1;
        }
        Ok(Self {
            input,
            objects,
            entries,
            data,
            tensor_users,
            built: HashMap::new(),
            storage_users,
            storages: HashMap::new(),
            copy_budget: len,
        })
    }

    fn take(&mut self, name: &str) -> Result<Tensor, String> {
        let index = self.entries.remove(name).ok_or("it was read already")?;
        let tensor = match self.built.get(&index) {
            Some(tensor) => tensor.clone(),
            None => {
                let storage = self.objects.tensors[index].view.storage;
                let values = match self.storages.get(&storage) {
                    Some(values) => values.clone(),
                    None => self.read_storage(storage)?,
                };
                let tensor = build_tensor(&self.objects.tensors[index], &values, &mut self.copy_budget)?;
                self.built.insert(index, tensor.clone());
                self.storages.insert(storage, values);
                self.release_storage(storage);
                tensor
            }
        };
        self.release_tensor(index);
        Ok(tensor)
    }

    fn forget(&mut self, name: &str) {
        if let Some(index) = self.entries.remove(name) {
            if self.tensor_users.get(&index) == Some(&1) && !self.built.contains_key(&index) {
                self.release_storage(self.objects.tensors[index].view.storage);
            }
            self.release_tensor(index);
        }
    }

    /// One name of tensor `index` is done with it.
    fn release_tensor(&mut self, index: usize) {
        if let Some(users) = self.tensor_users.get_mut(&index) {
            *users -= 1;
            if *users == 0 {
                self.tensor_users.remove(&index);
                self.built.remove(&index);
            }
        }
    }

    /// One tensor of storage `index` is built (or will never be).
    fn release_storage(&mut self, index: usize) {
        if let Some(users) = self.storage_users.get_mut(&index) {
            *users -= 1;
            if *users == 0 {
                self.storage_users.remove(&index);
                self.storages.remove(&index);
            }
        }
    }

    /// Storage `index` as a 1-D tensor; [`storage_layout`] checked that the
    /// file holds its elements.
    fn read_storage(&mut self, index: usize) -> Result<Tensor, String> {
        let StorageSpec { kind, numel } = self.objects.storages[index];
        let input = &mut self.input;
        input.seek_to(self.data[index])?;
        let n = (numel * kind.element_size()) as usize;
        let io = |err: std::io::Error| format!("its storage at byte {}: {err}", input.pos);
        let tensor = match kind {
            StorageType::Float => {
                let values = read_values(&mut input.inner, n, 4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                Tensor::from_vec(values.map_err(io)?, numel as usize, &Device::Cpu)
            }
            StorageType::Half => {
                let values = read_values(&mut input.inner, n, 2, |b| half::f16::from_le_bytes([b[0], b[1]]));
                Tensor::from_vec(values.map_err(io)?, numel as usize, &Device::Cpu)
            }
            StorageType::BFloat16 => {
                let values = read_values(&mut input.inner, n, 2, |b| half::bf16::from_le_bytes([b[0], b[1]]));
                Tensor::from_vec(values.map_err(io)?, numel as usize, &Device::Cpu)
            }
            // `state_dict` refused tensors of other storages.
            other => return Err(format!("it is stored as {}", other.name())),
        };
        input.pos += n as u64;
        tensor.map_err(|err| err.to_string())
    }
}

/// The file being read, with its length known up front.
struct Input<R> {
    inner: R,
    /// Bytes read so far.
    pos: u64,
    len: u64,
    /// What is being read, for errors.
    section: String,
}

impl<R: Read + Seek> Input<R> {
    /// Fails unless `n` more bytes are left.
    fn need(&self, n: u64) -> Result<(), String> {
        if n > self.len - self.pos {
            return Err(format!(
                "truncated: {} needs {n} bytes at byte {}, the file has {}",
                self.section, self.pos, self.len
            ));
        }
        Ok(())
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), String> {
        self.need(buf.len() as u64)?;
        self.inner.read_exact(buf).map_err(|err| format!("{} at byte {}: {err}", self.section, self.pos))?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut buf = [0u8; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    /// `n` bytes, allocated only once the file is known to hold them.
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, String> {
        self.need(n)?;
        let mut buf = vec![0u8; n as usize];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    /// A line ending in `\n` (a `GLOBAL` operand), at most [`MAX_GLOBAL_LINE`] bytes.
    fn line(&mut self) -> Result<String, String> {
        let start = self.pos;
        let mut line = Vec::new();
        loop {
            match self.byte()? {
                b'\n' => break,
                _ if line.len() == MAX_GLOBAL_LINE => {
                    return Err(format!("a global name at byte {start} is longer than {MAX_GLOBAL_LINE} bytes"));
                }
                b => line.push(b),
            }
        }
        String::from_utf8(line).map_err(|_| format!("invalid UTF-8 in a global name at byte {start}"))
    }

    /// Moves to byte `pos` of the file.
    fn seek_to(&mut self, pos: u64) -> Result<(), String> {
        self.inner
            .seek(SeekFrom::Start(pos))
            .map_err(|err| format!("{}: cannot seek to byte {pos}: {err}", self.section))?;
        self.pos = pos;
        Ok(())
    }
}

/// A pickled value. Lists, dicts and tensors live in [`Objects`] (pickle's
/// memo shares them by reference, and a container is filled after it is
/// memoized), so cloning a value never copies one.
#[derive(Clone, Debug)]
enum Value {
    None,
    /// `True` or `False` (which one no state dict needs).
    Bool,
    Int(i128),
    Str(Arc<str>),
    Tuple(Arc<[Value]>),
    List(usize),
    Dict(usize),
    Global(Global),
    Storage(View),
    Tensor(usize),
}

impl Value {
    /// What the value is, for errors.
    fn kind(&self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Bool => "a bool",
            Self::Int(_) => "an int",
            Self::Str(_) => "a string",
            Self::Tuple(_) => "a tuple",
            Self::List(_) => "a list",
            Self::Dict(_) => "a dict",
            Self::Global(_) => "a class or function",
            Self::Storage(_) => "a storage",
            Self::Tensor(_) => "a tensor",
        }
    }
}

/// The classes and functions a state dict names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Global {
    /// `collections.OrderedDict`: `state_dict()` returns one.
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2`, the tensors of torch 0.4 and later.
    RebuildTensorV2,
    /// `torch._utils._rebuild_tensor`, the tensors of torch 0.3.
    RebuildTensor,
    /// `torch._utils._rebuild_parameter`, an `nn.Parameter` around a tensor.
    RebuildParameter,
    /// `torch.FloatStorage` and the other storage classes.
    Storage(StorageType),
}

impl Global {
    /// The global `module.name`, if a state dict may name it.
    fn resolve(module: &str, name: &str) -> Option<Self> {
        match (module, name) {
            ("collections", "OrderedDict") => Some(Self::OrderedDict),
            ("torch._utils", "_rebuild_tensor_v2") => Some(Self::RebuildTensorV2),
            ("torch._utils", "_rebuild_tensor") => Some(Self::RebuildTensor),
            ("torch._utils", "_rebuild_parameter") => Some(Self::RebuildParameter),
            ("torch", name) => StorageType::from_name(name).map(Self::Storage),
            _ => None,
        }
    }
}

/// A storage class of `torch` (the dtype of a storage's elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StorageType {
    Double,
    Float,
    Half,
    BFloat16,
    Long,
    Int,
    Short,
    Char,
    Byte,
    Bool,
}

impl StorageType {
    const ALL: [Self; 10] = [
        Self::Double,
        Self::Float,
        Self::Half,
        Self::BFloat16,
        Self::Long,
        Self::Int,
        Self::Short,
        Self::Char,
        Self::Byte,
        Self::Bool,
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Double => "DoubleStorage",
            Self::Float => "FloatStorage",
            Self::Half => "HalfStorage",
            Self::BFloat16 => "BFloat16Storage",
            Self::Long => "LongStorage",
            Self::Int => "IntStorage",
            Self::Short => "ShortStorage",
            Self::Char => "CharStorage",
            Self::Byte => "ByteStorage",
            Self::Bool => "BoolStorage",
        }
    }

    /// Bytes per element (`torch._utils._element_size`).
    fn element_size(self) -> u64 {
        match self {
            Self::Double | Self::Long => 8,
            Self::Float | Self::Int => 4,
            Self::Half | Self::BFloat16 | Self::Short => 2,
            Self::Char | Self::Byte | Self::Bool => 1,
        }
    }

    /// Whether the model takes tensors of this type.
    fn is_supported(self) -> bool {
        matches!(self, Self::Float | Self::Half | Self::BFloat16)
    }
}

/// A storage as the file declares it; its data follows the pickles.
#[derive(Debug)]
struct StorageSpec {
    kind: StorageType,
    numel: u64,
}

/// Elements `offset..offset + numel` of storage `storage` (a whole storage,
/// or a storage view of files from torch before 0.4).
#[derive(Clone, Copy, Debug)]
struct View {
    storage: usize,
    offset: u64,
    numel: u64,
}

/// A tensor: where its elements are in its storage.
#[derive(Debug)]
struct TensorSpec {
    view: View,
    /// Storage offset, in elements of the view.
    offset: u64,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// The objects the pickles of one file build, and the storages they declare.
#[derive(Default)]
struct Objects {
    lists: Vec<Vec<Value>>,
    /// Items in insertion order (later items win on repeated keys).
    dicts: Vec<Vec<(Value, Value)>>,
    tensors: Vec<TensorSpec>,
    storages: Vec<StorageSpec>,
    /// Storage index by key.
    storage_index: HashMap<Arc<str>, usize>,
    /// Storage views by key (the first declaration wins, as in torch).
    views: HashMap<Arc<str>, View>,
}

// Pickle opcodes (`Lib/pickletools.py`) of protocols 2 and 3 that state dicts use.
const PROTO: u8 = 0x80;
const STOP: u8 = b'.';
const MARK: u8 = b'(';
const NONE: u8 = b'N';
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const LONG1: u8 = 0x8a;
const BINUNICODE: u8 = b'X';
const EMPTY_TUPLE: u8 = b')';
const TUPLE: u8 = b't';
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const EMPTY_LIST: u8 = b']';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const EMPTY_DICT: u8 = b'}';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const GLOBAL: u8 = b'c';
const REDUCE: u8 = b'R';
const BUILD: u8 = b'b';
const BINPERSID: u8 = b'Q';

/// The stack of one pickle, with its marks.
#[derive(Default)]
struct Stack {
    values: Vec<Value>,
    marks: Vec<usize>,
}

impl Stack {
    /// The top value; never one below the innermost mark.
    fn pop(&mut self, at: u64) -> Result<Value, String> {
        if self.values.len() <= self.marks.last().copied().unwrap_or(0) {
            return Err(format!("pickle stack underflow at byte {at}"));
        }
        self.values.pop().ok_or_else(|| format!("pickle stack underflow at byte {at}"))
    }

    /// The values above the innermost mark, which is dropped.
    fn pop_mark(&mut self, at: u64) -> Result<Vec<Value>, String> {
        let mark = self.marks.pop().ok_or_else(|| format!("no mark for the opcode at byte {at}"))?;
        Ok(self.values.split_off(mark))
    }

    /// The list or dict `pop` leaves on top, as the target of an append or set.
    fn top(&self, at: u64) -> Result<&Value, String> {
        self.values.last().ok_or_else(|| format!("pickle stack underflow at byte {at}"))
    }
}

/// Runs one pickle (up to its `STOP`) and returns its value. Each pickle has
/// a memo of its own, as each `pickle.load` of torch does.
fn unpickle<R: Read + Seek>(input: &mut Input<R>, objects: &mut Objects) -> Result<Value, String> {
    let mut stack = Stack::default();
    let mut memo: HashMap<u32, Value> = HashMap::new();
    loop {
        let at = input.pos;
        let op = input.byte()?;
        let value = match op {
            PROTO => match input.byte()? {
                2 | 3 => continue,
                p => return Err(format!("pickle protocol {p} at byte {at}, expected 2 or 3")),
            },
            STOP => {
                let value = stack.pop(at)?;
                return if stack.values.is_empty() && stack.marks.is_empty() {
                    Ok(value)
                } else {
                    Err(format!("pickle ends at byte {at} with values left on its stack"))
                };
            }
            MARK => {
                stack.marks.push(stack.values.len());
                continue;
            }
            NONE => Value::None,
            NEWTRUE | NEWFALSE => Value::Bool,
            BININT => Value::Int(i32::from_le_bytes(input.array()?).into()),
            BININT1 => Value::Int(input.byte()?.into()),
            BININT2 => Value::Int(u16::from_le_bytes(input.array()?).into()),
            LONG1 => {
                let n = input.byte()?;
                if n > 16 {
                    return Err(format!("an integer of {n} bytes at byte {at}, more than 128 bits"));
                }
                let bytes = input.bytes(n.into())?;
                let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
                let mut wide = [fill; 16];
                wide[..bytes.len()].copy_from_slice(&bytes);
                Value::Int(i128::from_le_bytes(wide))
            }
            BINUNICODE => {
                let n = u32::from_le_bytes(input.array()?);
                let bytes = input.bytes(n.into())?;
                let text = String::from_utf8(bytes).map_err(|_| format!("invalid UTF-8 in the string at byte {at}"))?;
                Value::Str(text.into())
            }
            EMPTY_TUPLE => Value::Tuple(Arc::from([])),
            TUPLE => Value::Tuple(stack.pop_mark(at)?.into()),
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let n = usize::from(op - TUPLE1) + 1;
                let mut items = (0..n).map(|_| stack.pop(at)).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                Value::Tuple(items.into())
            }
            EMPTY_LIST => {
                objects.lists.push(Vec::new());
                Value::List(objects.lists.len() - 1)
            }
            APPEND | APPENDS => {
                let items = if op == APPEND { vec![stack.pop(at)?] } else { stack.pop_mark(at)? };
                match stack.top(at)? {
                    Value::List(list) => objects.lists[*list].extend(items),
                    other => return Err(format!("append to {} at byte {at}", other.kind())),
                }
                continue;
            }
            EMPTY_DICT => {
                objects.dicts.push(Vec::new());
                Value::Dict(objects.dicts.len() - 1)
            }
            SETITEM | SETITEMS => {
                let items = if op == SETITEM {
                    let value = stack.pop(at)?;
                    vec![stack.pop(at)?, value]
                } else {
                    stack.pop_mark(at)?
                };
                if items.len() % 2 != 0 {
                    return Err(format!("a key without a value at byte {at}"));
                }
                let dict = match stack.top(at)? {
                    Value::Dict(dict) => *dict,
                    other => return Err(format!("item set on {} at byte {at}", other.kind())),
                };
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    objects.dicts[dict].push((key, value));
                }
                continue;
            }
            BINPUT | LONG_BINPUT => {
                let index = if op == BINPUT { input.byte()?.into() } else { u32::from_le_bytes(input.array()?) };
                memo.insert(index, stack.top(at)?.clone());
                continue;
            }
            BINGET | LONG_BINGET => {
                let index = if op == BINGET { input.byte()?.into() } else { u32::from_le_bytes(input.array()?) };
                memo.get(&index).cloned().ok_or_else(|| format!("memo entry {index} at byte {at} was never set"))?
            }
            GLOBAL => {
                let module = input.line()?;
                let name = input.line()?;
                let global = Global::resolve(&module, &name).ok_or_else(|| {
                    format!("the global `{module}.{name}` at byte {at} is not part of a state dict of tensors")
                })?;
                Value::Global(global)
            }
            REDUCE => {
                let args = stack.pop(at)?;
                let func = stack.pop(at)?;
                reduce(func, args, objects).map_err(|err| format!("{err} (byte {at})"))?
            }
            BUILD => {
                // `OrderedDict` state: the `_metadata` attribute of `state_dict()`.
                stack.pop(at)?;
                match stack.top(at)? {
                    Value::Dict(_) => continue,
                    other => return Err(format!("the state of {} at byte {at} cannot be set", other.kind())),
                }
            }
            BINPERSID => {
                let id = stack.pop(at)?;
                persistent_load(&id, objects, input.len - input.pos).map_err(|err| format!("{err} (byte {at})"))?
            }
            other => return Err(format!("pickle opcode 0x{other:02x} at byte {at} is not part of a state dict")),
        };
        stack.values.push(value);
    }
}

/// A storage of a persistent id: `('storage', StorageType, key, location,
/// numel, view_metadata)`, where `view_metadata` is `None` or `(view_key,
/// offset, numel)` (`persistent_load` in [`_legacy_load`]).
///
/// [`_legacy_load`]: https://github.com/pytorch/pytorch/blob/v2.15.0/torch/serialization.py#L1821-L1888
fn persistent_load(id: &Value, objects: &mut Objects, bytes_left: u64) -> Result<Value, String> {
    let fields: &[Value] = match id {
        Value::Tuple(fields) => fields,
        other => return Err(format!("a persistent id is {}, expected a tuple", other.kind())),
    };
    let (kind, key, numel, view) = match fields {
        [
            Value::Str(tag),
            Value::Global(Global::Storage(kind)),
            Value::Str(key),
            Value::Str(_),
            Value::Int(numel),
            rest @ ..,
        ] if &**tag == "storage" && rest.len() <= 1 => (*kind, key, *numel, rest.first().unwrap_or(&Value::None)),
        [Value::Str(tag), ..] if &**tag == "module" => {
            return Err("the file holds a pickled module, not a state dict".into());
        }
        _ => return Err("a persistent id is not a storage".into()),
    };
    let numel = u64::try_from(numel).map_err(|_| format!("storage `{key}` has {numel} elements"))?;
    // The elements follow the pickles: a count the rest of the file cannot
    // hold is corrupt (or truncated).
    if numel.checked_mul(kind.element_size()).is_none_or(|bytes| bytes > bytes_left) {
        return Err(format!(
            "storage `{key}` declares {numel} elements of {} bytes, more than the {bytes_left} bytes left in the file",
            kind.element_size()
        ));
    }
    let storage = match objects.storage_index.get(key) {
        Some(&index) => {
            let spec = &objects.storages[index];
            if spec.kind != kind || spec.numel != numel {
                return Err(format!(
                    "storage `{key}` is declared as {} {} and as {numel} {}",
                    spec.numel,
                    spec.kind.name(),
                    kind.name()
                ));
            }
            index
        }
        None => {
            objects.storages.push(StorageSpec { kind, numel });
            objects.storage_index.insert(key.clone(), objects.storages.len() - 1);
            objects.storages.len() - 1
        }
    };
    let whole = View { storage, offset: 0, numel };
    match view {
        Value::None => Ok(Value::Storage(whole)),
        Value::Tuple(view) => match &**view {
            [Value::Str(view_key), Value::Int(offset), Value::Int(size)] => {
                let (offset, size) = (u64::try_from(*offset), u64::try_from(*size));
                let (Ok(offset), Ok(size)) = (offset, size) else {
                    return Err(format!("storage view `{view_key}` has a negative offset or size"));
                };
                if offset.checked_add(size).is_none_or(|end| end > numel) {
                    return Err(format!(
                        "storage view `{view_key}` of elements {offset}..+{size} is outside storage `{key}` of {numel}"
                    ));
                }
                let view = *objects.views.entry(view_key.clone()).or_insert(View { storage, offset, numel: size });
                Ok(Value::Storage(view))
            }
            _ => Err(format!("storage `{key}` has an invalid view")),
        },
        other => Err(format!("storage `{key}` has {} as its view", other.kind())),
    }
}

/// Calls the global `func` with `args` (a `REDUCE`).
fn reduce(func: Value, args: Value, objects: &mut Objects) -> Result<Value, String> {
    let Value::Tuple(args) = args else { return Err(format!("call with {} as arguments", args.kind())) };
    let Value::Global(func) = func else { return Err(format!("call of {}", func.kind())) };
    match (func, &*args) {
        (Global::OrderedDict, []) => {
            objects.dicts.push(Vec::new());
            Ok(Value::Dict(objects.dicts.len() - 1))
        }
        // `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
        // backward_hooks, metadata=None)`; metadata holds the conjugate and
        // negative bits, never set on weights.
        (Global::RebuildTensorV2, [storage, offset, size, stride, Value::Bool, Value::Dict(_), rest @ ..])
            if rest.len() <= 1 =>
        {
            match rest.first() {
                None | Some(Value::None) => {}
                Some(Value::Dict(meta)) if objects.dicts[*meta].is_empty() => {}
                Some(_) => return Err("a tensor with conjugate or negative bits set".into()),
            }
            rebuild_tensor(storage, offset, size, stride, objects)
        }
        // `_rebuild_tensor(storage, storage_offset, size, stride)`.
        (Global::RebuildTensor, [storage, offset, size, stride]) => {
            rebuild_tensor(storage, offset, size, stride, objects)
        }
        // `_rebuild_parameter(data, requires_grad, backward_hooks)`: the tensor itself.
        (Global::RebuildParameter, [tensor @ Value::Tensor(_), Value::Bool, Value::Dict(_)]) => Ok(tensor.clone()),
        (func, args) => Err(format!("unsupported call of {func:?} with {} arguments", args.len())),
    }
}

/// A tensor of `storage` (`_rebuild_tensor` in `torch/_utils.py`): checks that
/// every element it addresses is inside the storage.
fn rebuild_tensor(
    storage: &Value,
    offset: &Value,
    size: &Value,
    stride: &Value,
    objects: &mut Objects,
) -> Result<Value, String> {
    let Value::Storage(view) = storage else { return Err(format!("a tensor of {}", storage.kind())) };
    let dims = |value: &Value, what: &str| -> Result<Vec<usize>, String> {
        let Value::Tuple(items) = value else { return Err(format!("a tensor {what} of {}", value.kind())) };
        items
            .iter()
            .map(|item| match item {
                Value::Int(n) => usize::try_from(*n).map_err(|_| format!("a tensor {what} of {n}")),
                other => Err(format!("a tensor {what} holding {}", other.kind())),
            })
            .collect()
    };
    let (shape, stride) = (dims(size, "size")?, dims(stride, "stride")?);
    let offset = match offset {
        Value::Int(n) => u64::try_from(*n).map_err(|_| format!("a tensor at storage offset {n}"))?,
        other => return Err(format!("a tensor storage offset of {}", other.kind())),
    };
    if shape.len() != stride.len() {
        return Err(format!("a tensor of size {shape:?} with stride {stride:?}"));
    }
    let numel = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64));
    let out_of_bounds = || {
        format!(
            "a tensor of size {shape:?}, stride {stride:?} and offset {offset} reaches past its storage of {} elements",
            view.numel
        )
    };
    match numel {
        Some(0) if offset <= view.numel => {}
        // More elements than the storage means overlapping (expanded) strides,
        // never those of a weight.
        Some(n) if n > 0 && n <= view.numel => {
            // The last element addressed: offset + sum of (size - 1) * stride.
            let last = shape.iter().zip(&stride).try_fold(offset, |acc, (&d, &s)| {
                (d as u64 - 1).checked_mul(s as u64).and_then(|step| acc.checked_add(step))
            });
            if last.is_none_or(|last| last >= view.numel) {
                return Err(out_of_bounds());
            }
        }
        _ => return Err(out_of_bounds()),
    }
    objects.tensors.push(TensorSpec { view: *view, offset, shape, stride });
    Ok(Value::Tensor(objects.tensors.len() - 1))
}

/// The state dict's entries: tensor index by name, each tensor of a dtype the
/// model takes.
fn state_dict(state: &Value, objects: &Objects) -> Result<HashMap<String, usize>, String> {
    let Value::Dict(dict) = state else {
        return Err(format!("the saved object is {}, not a state dict", state.kind()));
    };
    let mut entries = HashMap::new();
    for (key, value) in &objects.dicts[*dict] {
        let Value::Str(name) = key else { return Err(format!("a state dict key is {}", key.kind())) };
        let Value::Tensor(index) = value else {
            return Err(format!("state dict entry `{name}` is {}, not a tensor", value.kind()));
        };
        let kind = objects.storages[objects.tensors[*index].view.storage].kind;
        if !kind.is_supported() {
            return Err(format!(
                "tensor `{name}` is stored as {}, expected FloatStorage, HalfStorage or BFloat16Storage",
                kind.name()
            ));
        }
        entries.insert(name.to_string(), *index);
    }
    Ok(entries)
}

/// The storage keys of the last pickle, in order: each storage the state dict
/// declares, once.
fn storage_keys(list: &Value, objects: &Objects) -> Result<Vec<usize>, String> {
    let Value::List(list) = list else { return Err(format!("the list of storages is {}", list.kind())) };
    let mut seen = HashSet::new();
    let keys = objects.lists[*list]
        .iter()
        .map(|key| {
            let Value::Str(key) = key else { return Err(format!("a storage key is {}", key.kind())) };
            let index =
                *objects.storage_index.get(key).ok_or_else(|| format!("storage `{key}` is listed but never used"))?;
            if !seen.insert(index) {
                return Err(format!("storage `{key}` is listed twice"));
            }
            Ok(index)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((key, _)) = objects.storage_index.iter().find(|(_, index)| !seen.contains(*index)) {
        return Err(format!("storage `{key}` is used but not listed"));
    }
    Ok(keys)
}

/// Where the storages' elements start, by storage index: the storages follow
/// the pickles in the order of `keys`, each an 8-byte element count and the
/// elements, and fill the rest of the file exactly.
fn storage_layout<R: Read + Seek>(input: &mut Input<R>, objects: &Objects, keys: &[usize]) -> Result<Vec<u64>, String> {
    let names: HashMap<usize, &str> = objects.storage_index.iter().map(|(key, &index)| (index, &**key)).collect();
    let mut data = vec![0; objects.storages.len()];
    let mut pos = input.pos;
    for &index in keys {
        let StorageSpec { kind, numel } = objects.storages[index];
        input.section = format!("storage `{}`", names.get(&index).copied().unwrap_or_default());
        input.seek_to(pos)?;
        let count = u64::from_le_bytes(input.array()?);
        if count != numel {
            return Err(format!("{} holds {count} elements, its tensors were saved with {numel}", input.section));
        }
        // `persistent_load` bounded this by the file's length.
        let bytes = numel * kind.element_size();
        input.need(bytes)?;
        data[index] = input.pos;
        pos = input.pos + bytes;
    }
    if pos != input.len {
        return Err(format!("{} trailing bytes after the last storage", input.len - pos));
    }
    Ok(data)
}

/// The tensor `spec` of `storage`: a view of the storage when its
/// elements are contiguous, else a copy, whose bytes are taken from `budget`.
fn build_tensor(spec: &TensorSpec, storage: &Tensor, budget: &mut u64) -> Result<Tensor, String> {
    let start = (spec.view.offset + spec.offset) as usize;
    let numel: usize = spec.shape.iter().product();
    let built = if numel == 0 {
        Tensor::zeros(spec.shape.clone(), storage.dtype(), &Device::Cpu)
    } else if is_contiguous(&spec.shape, &spec.stride) {
        storage.narrow(0, start, numel).and_then(|t| t.reshape(spec.shape.clone()))
    } else {
        let bytes = (numel * storage.dtype().size_in_bytes()) as u64;
        *budget = budget.checked_sub(bytes).ok_or("strided tensors would take more bytes to copy than the file has")?;
        // Element i (row-major) is at start + sum of index_d * stride_d.
        let mut indexes = Vec::with_capacity(numel);
        let mut index = vec![0usize; spec.shape.len()];
        for _ in 0..numel {
            indexes.push((start + index.iter().zip(&spec.stride).map(|(i, s)| i * s).sum::<usize>()) as i64);
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < spec.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        Tensor::from_vec(indexes, numel, &Device::Cpu)
            .and_then(|indexes| storage.index_select(&indexes, 0))
            .and_then(|t| t.reshape(spec.shape.clone()))
    };
    built.map_err(|err| err.to_string())
}

/// Whether `stride` lays out `shape` row-major without gaps (dimensions of
/// size 1 may have any stride).
fn is_contiguous(shape: &[usize], stride: &[usize]) -> bool {
    let mut expected = 1;
    for (&d, &s) in shape.iter().zip(stride).rev() {
        if d != 1 && s != expected {
            return false;
        }
        expected *= d;
    }
    true
}

#[cfg(test)]
mod tests {
    use candle_core::DType;

    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).expect("fixture")
    }

    /// Every tensor of a file in memory, as [`read`] reads them.
    fn read_bytes(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
        let mut state = State::open(std::io::Cursor::new(bytes), bytes.len() as u64)?;
        let names: Vec<String> = state.entries.keys().cloned().collect();
        names
            .into_iter()
            .map(|name| Ok((name.clone(), state.take(&name).map_err(|err| format!("tensor `{name}`: {err}"))?)))
            .collect()
    }

    /// The first three pickles of every file.
    fn header() -> Vec<u8> {
        let mut out = preamble(2).to_vec();
        out.push(STOP);
        out.extend_from_slice(&[PROTO, 2, BININT2, 0xe9, 0x03, STOP]);
        out.extend_from_slice(&[PROTO, 2, EMPTY_DICT, STOP]);
        out
    }

    fn unicode(text: &str) -> Vec<u8> {
        let mut out = vec![BINUNICODE];
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// A persistent id of storage `key` of class `kind` and `numel` elements.
    fn storage(kind: &str, key: &str, numel: u8) -> Vec<u8> {
        let mut out = vec![MARK];
        out.extend(unicode("storage"));
        out.extend(format!("ctorch\n{kind}\n").bytes());
        out.extend(unicode(key));
        out.extend(unicode("cpu"));
        out.extend_from_slice(&[BININT1, numel, NONE, TUPLE, BINPERSID]);
        out
    }

    /// `_rebuild_tensor_v2` of `storage` at `offset` with one dimension.
    fn tensor(storage: Vec<u8>, offset: u8, size: u8, stride: u8) -> Vec<u8> {
        let mut out = b"ctorch._utils\n_rebuild_tensor_v2\n".to_vec();
        out.push(MARK);
        out.extend(storage);
        out.extend_from_slice(&[BININT1, offset, BININT1, size, TUPLE1, BININT1, stride, TUPLE1, NEWFALSE]);
        out.extend(b"ccollections\nOrderedDict\n");
        out.extend_from_slice(&[EMPTY_TUPLE, REDUCE, TUPLE, REDUCE]);
        out
    }

    /// A file of `entries` (name, tensor pickle), listing `keys`, then `data`.
    fn file(entries: &[(&str, Vec<u8>)], keys: &[&str], data: &[u8]) -> Vec<u8> {
        let mut out = header();
        out.extend_from_slice(&[PROTO, 2, EMPTY_DICT, MARK]);
        for (name, tensor) in entries {
            out.extend(unicode(name));
            out.extend(tensor);
        }
        out.extend_from_slice(&[SETITEMS, STOP, PROTO, 2, EMPTY_LIST, MARK]);
        for key in keys {
            out.extend(unicode(key));
        }
        out.extend_from_slice(&[APPENDS, STOP]);
        out.extend_from_slice(data);
        out
    }

    /// Storage data: an element count and f32 values.
    fn floats(values: &[f32]) -> Vec<u8> {
        let mut out = (values.len() as u64).to_le_bytes().to_vec();
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    #[test]
    fn a_hand_written_file_reads_with_offsets_and_shared_storages() {
        let bytes = file(
            &[
                ("a", tensor(storage("FloatStorage", "0", 4), 0, 4, 1)),
                ("b", tensor(storage("FloatStorage", "0", 4), 1, 2, 2)),
            ],
            &["0"],
            &floats(&[1.0, 2.0, 3.0, 4.0]),
        );
        let tensors = read_bytes(&bytes).unwrap();
        assert_eq!(tensors["a"].to_vec1::<f32>().unwrap(), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(tensors["b"].to_vec1::<f32>().unwrap(), [2.0, 4.0]);
    }

    #[test]
    fn every_truncation_of_a_legacy_file_fails_cleanly() {
        let bytes = fixture("tests/fixtures/legacy/views.bin");
        assert_eq!(read_bytes(&bytes).unwrap().len(), 11);
        for len in 0..bytes.len() {
            let err = read_bytes(&bytes[..len]).expect_err("a truncated file must fail");
            let short = err.starts_with("truncated: ") || err.contains(" bytes left in the file");
            assert!(short, "{len}: {err}");
        }
    }

    #[test]
    fn truncations_of_the_tiny_legacy_checkpoint_fail_cleanly() {
        let bytes = fixture("tests/fixtures/tiny-legacy/pytorch_model.bin");
        let tensors = read_bytes(&bytes).unwrap();
        assert!(tensors.values().all(|t| t.dtype() == DType::F32));
        // Every byte of the pickles (the first 24 KB), then every 4099th.
        for len in (14..24_000).chain((24_000..bytes.len()).step_by(4099)) {
            let err = read_bytes(&bytes[..len]).expect_err("a truncated file must fail");
            let short = err.starts_with("truncated: ") || err.contains(" bytes left in the file");
            assert!(short, "{len}: {err}");
        }
    }

    #[test]
    fn storages_past_the_end_of_the_file_are_refused_before_allocation() {
        let mut id = storage("FloatStorage", "0", 1);
        // numel = 2^62: LONG1 of 8 bytes in place of BININT1.
        let at = id.iter().position(|&b| b == BININT1).unwrap();
        id.splice(at..at + 2, [LONG1, 8, 0, 0, 0, 0, 0, 0, 0, 0x40]);
        let err = read_bytes(&file(&[("a", tensor(id, 0, 1, 1))], &["0"], &[])).unwrap_err();
        assert_eq!(
            err,
            "storage `0` declares 4611686018427387904 elements of 4 bytes, more than the 52 bytes left in the file \
             (byte 128)"
        );
    }

    #[test]
    fn tensors_reaching_past_their_storage_are_refused() {
        let err =
            read_bytes(&file(&[("a", tensor(storage("FloatStorage", "0", 4), 2, 2, 2))], &["0"], &floats(&[0.0; 4])))
                .unwrap_err();
        assert_eq!(
            err,
            "a tensor of size [2], stride [2] and offset 2 reaches past its storage of 4 elements (byte 158)"
        );
    }

    #[test]
    fn overlapping_strides_are_refused() {
        // 8 elements with stride 0 over a storage of 4 (an expanded tensor).
        let expanded = tensor(storage("FloatStorage", "0", 4), 0, 8, 0);
        let err = read_bytes(&file(&[("a", expanded)], &["0"], &floats(&[0.0; 4]))).unwrap_err();
        assert_eq!(
            err,
            "a tensor of size [8], stride [0] and offset 0 reaches past its storage of 4 elements (byte 158)"
        );
    }

    #[test]
    fn strided_copies_are_bounded_by_the_file_length() {
        // One strided tensor, then 60 more calls of the memoized function with
        // the memoized arguments: 12 bytes of pickle for each 128 bytes copied.
        let strided = || tensor(storage("FloatStorage", "0", 64), 0, 32, 2);
        let mut first = strided();
        let (function_end, reduce) = (b"ctorch._utils\n_rebuild_tensor_v2\n".len(), first.len() - 1);
        first.splice(reduce..reduce, [BINPUT, 1]);
        first.splice(function_end..function_end, [BINPUT, 0]);
        let names: Vec<String> = (0..61).map(|i| format!("t{i:02}")).collect();
        let mut entries = vec![(names[0].as_str(), first)];
        entries.extend(names[1..].iter().map(|name| (name.as_str(), vec![BINGET, 0, BINGET, 1, REDUCE])));
        let bytes = file(&entries, &["0"], &floats(&[1.5; 64]));
        assert!(61 * 128 > bytes.len(), "the copies must outgrow the file");
        let err = read_bytes(&bytes).unwrap_err();
        assert!(err.starts_with("tensor `t"), "{err}");
        assert!(err.ends_with("`: strided tensors would take more bytes to copy than the file has"), "{err}");
        // The same tensor under many names is built once.
        let mut entries = vec![(names[0].as_str(), [strided(), vec![BINPUT, 2]].concat())];
        entries.extend(names[1..].iter().map(|name| (name.as_str(), vec![BINGET, 2])));
        let tensors = read_bytes(&file(&entries, &["0"], &floats(&[1.5; 64]))).unwrap();
        assert_eq!(tensors.len(), 61);
        assert!(tensors.values().all(|t| t.to_vec1::<f32>().unwrap() == [1.5; 32]));
    }

    #[test]
    fn storage_counts_and_lists_must_match_the_state_dict() {
        let one = || tensor(storage("FloatStorage", "0", 2), 0, 2, 1);
        let err = read_bytes(&file(&[("a", one())], &["0"], &floats(&[1.0, 2.0, 3.0]))).unwrap_err();
        assert_eq!(err, "storage `0` holds 3 elements, its tensors were saved with 2");
        let err = read_bytes(&file(&[("a", one())], &["0", "0"], &floats(&[1.0, 2.0]))).unwrap_err();
        assert_eq!(err, "storage `0` is listed twice");
        let err = read_bytes(&file(&[("a", one())], &[], &[])).unwrap_err();
        assert_eq!(err, "storage `0` is used but not listed");
        let err = read_bytes(&file(&[("a", one())], &["1"], &[])).unwrap_err();
        assert_eq!(err, "storage `1` is listed but never used");
        let mut bytes = file(&[("a", one())], &["0"], &floats(&[1.0, 2.0]));
        bytes.push(0);
        assert_eq!(read_bytes(&bytes).unwrap_err(), "1 trailing bytes after the last storage");
    }

    #[test]
    fn unsupported_dtypes_name_the_tensor_and_storage_type() {
        let err =
            read_bytes(&file(&[("ids", tensor(storage("LongStorage", "0", 1), 0, 1, 1))], &["0"], &[])).unwrap_err();
        assert_eq!(err, "tensor `ids` is stored as LongStorage, expected FloatStorage, HalfStorage or BFloat16Storage");
    }

    #[test]
    fn globals_and_opcodes_outside_a_state_dict_are_refused() {
        let mut bytes = header();
        bytes.extend(b"\x80\x02cos\nsystem\n");
        assert_eq!(
            read_bytes(&bytes).unwrap_err(),
            "the global `os.system` at byte 27 is not part of a state dict of tensors"
        );
        let mut bytes = header();
        bytes.extend_from_slice(&[PROTO, 2, b'G']);
        assert_eq!(read_bytes(&bytes).unwrap_err(), "pickle opcode 0x47 at byte 27 is not part of a state dict");
        let mut bytes = header();
        bytes.extend_from_slice(&[PROTO, 2, EMPTY_LIST, MARK, REDUCE]);
        assert_eq!(read_bytes(&bytes).unwrap_err(), "pickle stack underflow at byte 29");
        let mut bytes = header();
        bytes.extend_from_slice(&[PROTO, 2, BINGET, 7]);
        assert_eq!(read_bytes(&bytes).unwrap_err(), "memo entry 7 at byte 27 was never set");
        let mut bytes = header();
        bytes.extend_from_slice(&[PROTO, 2, BINUNICODE, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            read_bytes(&bytes).unwrap_err(),
            "truncated: the state dict needs 4294967295 bytes at byte 32, the file has 32"
        );
    }

    #[test]
    fn other_files_are_not_taken_for_legacy_ones() {
        assert!(is_legacy(&preamble(2)));
        assert!(is_legacy(&[0x80]));
        assert!(!is_legacy(b""));
        assert!(!is_legacy(b"PK\x03\x04"));
        // A safetensors header length of 640 bytes starts with 0x80 0x02.
        assert!(!is_legacy(&640u64.to_le_bytes()));
    }

    #[test]
    fn contiguity_ignores_strides_of_single_dimensions() {
        assert!(is_contiguous(&[2, 3], &[3, 1]));
        assert!(is_contiguous(&[1, 3], &[99, 1]));
        assert!(is_contiguous(&[], &[]));
        assert!(!is_contiguous(&[2, 3], &[1, 2]));
        assert!(!is_contiguous(&[2, 2], &[6, 1]));
    }
}
