//! What can be said of a message the decoder cannot index (an unsupported grid, packing or
//! template): its identity, grid and packing read section by section, so that it is skipped or
//! refused by name.

use grib_reader::sections::{index_fields, SectionRef};
use grib_reader::{grib1, GridDefinition, Identification, ProductDefinition};

use super::geometry::{grid_template_words, grid_words};
use super::identity::Identity;

/// One field of an unreadable message.
pub(super) struct RawField {
    /// Its identity, when its product definition could be read.
    pub identity: Option<Identity>,
    /// Its grid, in words.
    pub grid: String,
    /// Its packing, in words.
    pub packing: String,
}

/// The packing of a GRIB2 data representation template (or grib-reader's 1005 for GRIB1
/// second-order packing), in words.
pub(super) fn packing_words(template: u16) -> String {
    match template {
        0 => "simple packing".into(),
        2 => "complex packing".into(),
        3 => "complex packing with spatial differencing".into(),
        4 => "IEEE packing".into(),
        40 => "JPEG 2000 packing (template 5.40)".into(),
        41 => "PNG packing (template 5.41)".into(),
        42 => "CCSDS packing".into(),
        50 | 51 => format!("spherical harmonics packing (template 5.{template})"),
        200 => "run-length packing (template 5.200)".into(),
        1005 => "GRIB1 second-order packing".into(),
        n => format!("data representation template 5.{n}"),
    }
}

fn section<'a>(bytes: &'a [u8], s: &SectionRef) -> Option<&'a [u8]> {
    bytes.get(s.offset..s.offset.checked_add(s.length)?)
}

fn u16_at(bytes: Option<&[u8]>, at: usize) -> Option<u16> {
    let b = bytes?.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// The fields of an unreadable message (`bytes`, one whole message), as far as they can be read.
pub(super) fn fields(bytes: &[u8]) -> Vec<RawField> {
    let unknown = || RawField {
        identity: None,
        grid: "an unreadable grid".into(),
        packing: "an unreadable packing".into(),
    };
    match bytes.get(7).copied() {
        Some(1) => vec![grib1_field(bytes).unwrap_or_else(unknown)],
        Some(2) => match index_fields(bytes) {
            Ok(fields) if !fields.is_empty() => fields
                .iter()
                .map(|f| {
                    let centre = section(bytes, &f.identification)
                        .and_then(|s| Identification::parse(s).ok())
                        .map(|i| i.center_id);
                    let product =
                        section(bytes, &f.product).and_then(|s| ProductDefinition::parse(s).ok());
                    let grid_bytes = section(bytes, &f.grid);
                    let grid = match grid_bytes.map(GridDefinition::parse) {
                        Some(Ok(g)) => grid_words(&g),
                        // Octets 13-14: the grid definition template number.
                        _ => u16_at(grid_bytes, 12)
                            .map_or_else(|| "an unreadable grid".into(), grid_template_words),
                    };
                    // Octets 10-11 of section 5: the data representation template number.
                    let packing = u16_at(section(bytes, &f.data_representation), 9)
                        .map_or_else(|| "an unreadable packing".into(), packing_words);
                    RawField {
                        identity: match (centre, product) {
                            (Some(c), Some(pd)) => Some(Identity::grib2(bytes[6], c, &pd)),
                            _ => None,
                        },
                        grid,
                        packing,
                    }
                })
                .collect(),
            _ => vec![unknown()],
        },
        _ => vec![unknown()],
    }
}

fn grib1_field(bytes: &[u8]) -> Option<RawField> {
    let sections = grib1::parse_message_sections(bytes).ok()?;
    let pds = section(bytes, &sections.pds)?;
    let identity = Identity::grib1(&sections.product, pds);
    // Octet 6 of the grid description: the data representation type (GRIB1 table 6).
    let grid = match sections
        .grid
        .and_then(|g| section(bytes, &g))
        .and_then(|g| g.get(5).copied())
    {
        Some(0) => "regular lat/lon grid".to_string(),
        Some(4) => "Gaussian grid".into(),
        Some(10) => "rotated lat/lon grid".into(),
        Some(50) => "spherical harmonics (spectral)".into(),
        Some(n) => format!("GRIB1 grid type {n}"),
        None => "a predefined or unreadable grid".into(),
    };
    // Octet 4 of the binary data section: its flags; octet 14 of a second-order packed one,
    // more (ecCodes sets its bit 0x08, general extended packing, without setting 0x10 in
    // octet 4).
    let data = section(bytes, &sections.data)?;
    let flags = *data.get(3)?;
    let packing = if flags & 0x80 != 0 {
        "spherical harmonics packing".to_string()
    } else if flags & 0x40 == 0 {
        "simple packing".into()
    } else if data.get(13).is_some_and(|ext| ext & 0x08 != 0) {
        "GRIB1 general extended second-order packing (ecCodes' grid_second_order), which this \
         build does not decode"
            .into()
    } else {
        "GRIB1 second-order packing".into()
    };
    Some(RawField {
        identity: Some(identity),
        grid,
        packing,
    })
}
