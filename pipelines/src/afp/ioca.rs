//! IOCA image content and IM images → image pages ready to embed.
