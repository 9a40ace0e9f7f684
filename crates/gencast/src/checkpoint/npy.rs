//! NPY format (versions 1.0, 2.0 and 3.0): header parsing, element types and header writing.

use std::fmt;

/// Element type of an NPY array (little-endian only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `|i1`
    I8,
    /// `<i2`
    I16,
    /// `<i4`
    I32,
    /// `<i8`
    I64,
    /// `|u1`
    U8,
    /// `<u2`
    U16,
    /// `<u4`
    U32,
    /// `<u8`
    U64,
    /// `|b1`
    Bool,
    /// `<U{n}`: fixed-width UTF-32LE strings of `n` code points.
    Str(usize),
}

impl Dtype {
    /// Size of one element in bytes.
    pub fn item_size(self) -> usize {
        match self {
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
            Dtype::I16 | Dtype::U16 => 2,
            Dtype::F32 | Dtype::I32 | Dtype::U32 => 4,
            Dtype::F64 | Dtype::I64 | Dtype::U64 => 8,
            Dtype::Str(n) => 4 * n,
        }
    }

    /// NumPy's `descr` string for this type, e.g. `<f4`.
    pub fn descr(self) -> String {
        match self {
            Dtype::F32 => "<f4".into(),
            Dtype::F64 => "<f8".into(),
            Dtype::I8 => "|i1".into(),
            Dtype::I16 => "<i2".into(),
            Dtype::I32 => "<i4".into(),
            Dtype::I64 => "<i8".into(),
            Dtype::U8 => "|u1".into(),
            Dtype::U16 => "<u2".into(),
            Dtype::U32 => "<u4".into(),
            Dtype::U64 => "<u8".into(),
            Dtype::Bool => "|b1".into(),
            Dtype::Str(n) => format!("<U{n}"),
        }
    }

    /// Whether the type is a (signed or unsigned) integer.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Dtype::I8
                | Dtype::I16
                | Dtype::I32
                | Dtype::I64
                | Dtype::U8
                | Dtype::U16
                | Dtype::U32
                | Dtype::U64
        )
    }

    /// Whether the type is a floating-point type.
    pub fn is_float(self) -> bool {
        matches!(self, Dtype::F32 | Dtype::F64)
    }

    /// Parses a NumPy `descr` string; the error text says what is unsupported.
    pub fn parse(descr: &str) -> Result<Dtype, String> {
        let mut chars = descr.chars();
        let order = chars
            .next()
            .ok_or_else(|| "empty dtype descr".to_string())?;
        let rest = chars.as_str();
        let (order, rest) = match order {
            '<' | '>' | '|' | '=' => (order, rest),
            _ => ('=', descr),
        };
        let kind = rest
            .chars()
            .next()
            .ok_or_else(|| format!("dtype `{descr}` has no type code"))?;
        let size_str = &rest[kind.len_utf8()..];
        let size: usize = size_str
            .parse()
            .map_err(|_| format!("unsupported dtype `{descr}`"))?;
        let single_byte = matches!((kind, size), ('b', 1) | ('i', 1) | ('u', 1));
        if order == '>' && !single_byte {
            return Err(format!(
                "big-endian dtype `{descr}` is not supported (re-save the array as little-endian)"
            ));
        }
        let t = match (kind, size) {
            ('f', 4) => Dtype::F32,
            ('f', 8) => Dtype::F64,
            ('i', 1) => Dtype::I8,
            ('i', 2) => Dtype::I16,
            ('i', 4) => Dtype::I32,
            ('i', 8) => Dtype::I64,
            ('u', 1) => Dtype::U8,
            ('u', 2) => Dtype::U16,
            ('u', 4) => Dtype::U32,
            ('u', 8) => Dtype::U64,
            ('b', 1) => Dtype::Bool,
            ('U', n) => Dtype::Str(n),
            _ => return Err(format!("unsupported dtype `{descr}`")),
        };
        Ok(t)
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.descr())
    }
}

/// Parsed NPY header: element type, shape and where the data starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// Element type.
    pub dtype: Dtype,
    /// Shape (empty for 0-d arrays).
    pub shape: Vec<usize>,
    /// Offset of the first data byte from the start of the NPY member.
    pub data_offset: usize,
}

impl NpyHeader {
    /// Number of elements (1 for 0-d arrays); `None` on overflow.
    pub fn count(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// Number of data bytes; `None` on overflow.
    pub fn data_len(&self) -> Option<usize> {
        self.count()?.checked_mul(self.dtype.item_size())
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses the NPY preamble and header dictionary at the start of `bytes`.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err("not an NPY array (bad magic bytes)".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (len, start) = match major {
        1 => (
            usize::from(u16::from_le_bytes([bytes[8], bytes[9]])),
            10usize,
        ),
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| "NPY preamble truncated".to_string())?;
            let l = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            (usize::try_from(l).map_err(|_| "NPY header too long")?, 12)
        }
        _ => return Err(format!("unsupported NPY format version {major}.{minor}")),
    };
    let end = start
        .checked_add(len)
        .ok_or_else(|| "NPY header length overflows".to_string())?;
    let raw = bytes
        .get(start..end)
        .ok_or_else(|| format!("NPY header truncated: needs {len} bytes"))?;
    let text: String = if major == 3 {
        std::str::from_utf8(raw)
            .map_err(|_| "NPY v3 header is not valid UTF-8".to_string())?
            .to_string()
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let dict = parse_dict(&text)?;
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    for (k, v) in dict {
        match k.as_str() {
            "descr" => descr = Some(v),
            "fortran_order" => fortran = Some(v),
            "shape" => shape = Some(v),
            other => return Err(format!("unexpected key `{other}` in NPY header")),
        }
    }
    let descr = match descr {
        Some(Value::Str(s)) => s,
        Some(_) => return Err("structured / record dtypes are not supported".into()),
        None => return Err("NPY header lacks `descr`".into()),
    };
    match fortran {
        Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            return Err(
                "fortran_order is True: Fortran-ordered arrays are not supported (save C-ordered arrays)"
                    .into(),
            )
        }
        Some(_) => return Err("`fortran_order` is not a boolean".into()),
        None => return Err("NPY header lacks `fortran_order`".into()),
    }
    let shape = match shape {
        Some(Value::Tuple(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::Int(i) => {
                    usize::try_from(i).map_err(|_| format!("negative dimension {i} in shape"))
                }
                _ => Err("shape holds a non-integer".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("`shape` is not a tuple".into()),
        None => return Err("NPY header lacks `shape`".into()),
    };
    let dtype = Dtype::parse(&descr)?;
    Ok(NpyHeader {
        dtype,
        shape,
        data_offset: end,
    })
}

/// A value of the Python literal subset used in NPY headers.
#[derive(Debug)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self
            .s
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "malformed NPY header: expected `{}` at position {}",
                char::from(c),
                self.pos
            ))
        }
    }
    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 16 {
            return Err("malformed NPY header: nesting too deep".into());
        }
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                self.pos += 1;
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(|&c| c != q) {
                    self.pos += 1;
                }
                let body = self
                    .s
                    .get(start..self.pos)
                    .ok_or_else(|| "malformed NPY header: unterminated string".to_string())?;
                if self.pos >= self.s.len() {
                    return Err("malformed NPY header: unterminated string".into());
                }
                self.pos += 1;
                Ok(Value::Str(String::from_utf8_lossy(body).into_owned()))
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(c) if c == close => {}
                        _ => return Err("malformed NPY header: bad tuple".into()),
                    }
                }
                Ok(Value::Tuple(items))
            }
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'+' => {
                let start = self.pos;
                self.pos += 1;
                while self.s.get(self.pos).is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
                let v: i64 = text
                    .parse()
                    .map_err(|_| format!("malformed NPY header: bad integer `{text}`"))?;
                // Python 2 long suffix.
                if matches!(self.s.get(self.pos), Some(b'L' | b'l')) {
                    self.pos += 1;
                }
                Ok(Value::Int(v))
            }
            Some(_) => {
                let start = self.pos;
                while self
                    .s
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphabetic())
                {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"True" => Ok(Value::Bool(true)),
                    b"False" => Ok(Value::Bool(false)),
                    b"None" => Ok(Value::None),
                    _ => Err(format!(
                        "malformed NPY header: unexpected token at position {start}"
                    )),
                }
            }
            None => Err("malformed NPY header: unexpected end".into()),
        }
    }
}

/// Parses the `{'key': value, ...}` dictionary literal of an NPY header.
fn parse_dict(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
    };
    p.expect(b'{')?;
    let mut out = Vec::new();
    loop {
        if p.peek() == Some(b'}') {
            p.pos += 1;
            break;
        }
        let key = match p.value(0)? {
            Value::Str(s) => s,
            _ => return Err("malformed NPY header: dictionary key is not a string".into()),
        };
        p.expect(b':')?;
        let v = p.value(0)?;
        if let Value::None = v {
            return Err(format!("malformed NPY header: `{key}` is None"));
        }
        out.push((key, v));
        match p.peek() {
            Some(b',') => p.pos += 1,
            Some(b'}') => {}
            _ => return Err("malformed NPY header: expected `,` or `}`".into()),
        }
    }
    if p.peek().is_some_and(|c| c != b'\n' && c != 0) {
        return Err("malformed NPY header: trailing characters after dictionary".into());
    }
    Ok(out)
}

/// Builds a version-1.0 NPY preamble and header (padded to a multiple of 64 bytes like NumPy).
#[cfg(any(test, feature = "testing"))]
pub(crate) fn write_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let shape_text = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let unpadded = MAGIC.len() + 2 + 2 + dict.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    dict.extend(std::iter::repeat_n(' ', pad));
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // Headers written here are short (the shape of any real array fits easily).
    let len = u16::try_from(dict.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        for shape in [vec![], vec![3], vec![684, 1, 264]] {
            let h = write_header("<f4", &shape);
            assert_eq!(h.len() % 64, 0);
            let p = parse_header(&h).unwrap();
            assert_eq!(p.dtype, Dtype::F32);
            assert_eq!(p.shape, shape);
            assert_eq!(p.data_offset, h.len());
        }
    }

    #[test]
    fn rejects_fortran_and_big_endian() {
        let e = parse_header(&write_header(">f8", &[2])).unwrap_err();
        assert!(e.contains("big-endian"), "{e}");
        let dict = b"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n";
        let mut fortran = b"\x93NUMPY\x01\x00".to_vec();
        fortran.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        fortran.extend_from_slice(dict);
        let e = parse_header(&fortran).unwrap_err();
        assert!(e.contains("fortran_order"), "{e}");
    }

    #[test]
    fn parses_v2_and_python2_longs() {
        let dict = b"{'descr': '|b1', 'fortran_order': False, 'shape': (3L, 4L), }\n";
        let mut b = b"\x93NUMPY\x02\x00".to_vec();
        b.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        b.extend_from_slice(dict);
        let p = parse_header(&b).unwrap();
        assert_eq!(p.dtype, Dtype::Bool);
        assert_eq!(p.shape, vec![3, 4]);
        assert_eq!(p.data_offset, 12 + dict.len());
    }

    #[test]
    fn dtype_parsing() {
        assert_eq!(Dtype::parse("<U17").unwrap(), Dtype::Str(17));
        assert_eq!(Dtype::parse("|i1").unwrap(), Dtype::I8);
        assert_eq!(Dtype::parse("<u4").unwrap(), Dtype::U32);
        assert!(Dtype::parse("<c8").unwrap_err().contains("unsupported"));
        assert!(Dtype::parse(">U4").unwrap_err().contains("big-endian"));
    }
}
