//! AFP (MO:DCA) print runs → PDF pages, one document per page group.
//!
//! # Layout
//!
//! - `ioca`: IOCA image content (IPD) and IM images → [`crate::image::ImagePage`]

pub(crate) mod ioca;
