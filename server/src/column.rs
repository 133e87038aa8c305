//! Columns read from the database into the domain's types.

/// A code read from the database, parsed: an unknown code means the data or
/// the program is wrong, so it is an error, never a default.
pub fn code<T>(raw: &str, parse: fn(&str) -> Option<T>) -> anyhow::Result<T> {
    parse(raw).ok_or_else(|| anyhow::anyhow!("unknown code `{raw}` in the database"))
}

/// [`code`] for a nullable column.
pub fn code_opt<T>(raw: Option<&str>, parse: fn(&str) -> Option<T>) -> anyhow::Result<Option<T>> {
    raw.map(|r| code(r, parse)).transpose()
}
