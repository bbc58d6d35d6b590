//! Opaque pagination cursors. Clients pass back what they were given; what is inside (the
//! last id of the page) is ours to change.

use pkg_api::{ApiError, ErrorCode};

/// One page of a listing.
#[derive(Debug, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

const PREFIX: &str = "c1.";

pub fn encode_cursor(last_id: &str) -> String {
    let hex: String = last_id.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::new(ErrorCode::InvalidCursor, "The cursor is not one this API gave out.");
    let hex = cursor.strip_prefix(PREFIX).ok_or_else(invalid)?;
    if hex.len() % 2 != 0 || hex.len() > 128 {
        return Err(invalid());
    }
    // Pairs of bytes, never slices of the text: a cursor is user input, and a multi-byte
    // character would put a string slice off a character boundary (a panic, not a 400).
    // `from_str_radix` would also take a sign (`+1`): only hex digits are valid here.
    let bytes: Option<Vec<u8>> = hex
        .as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(hex_value(*high)? << 4 | hex_value(*low)?),
            _ => None,
        })
        .collect();
    let id = bytes.and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
    uuid::Uuid::parse_str(&id).map_err(|_| invalid())?;
    Ok(id)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|v| u8::try_from(v).ok())
}

/// `limit` query parameter: 1 to 100, default 20.
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(20),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(n) => {
            Err(ApiError::new(ErrorCode::InvalidLimit, format!("limit must be from 1 to 100, not {n}.")))
        }
    }
}

/// Splits one extra row off a fetch of `limit + 1`: its presence means there is a next page.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> &str) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(id(r))) } else { None };
    Page { items: rows, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let id = uuid::Uuid::now_v7().to_string();
        assert_eq!(decode_cursor(&encode_cursor(&id)).unwrap(), id);
        for bad in [
            "",
            "abc",
            "c1.zz",
            "c1.6",
            "c1.616263",
            &format!("c1.{}", "ab".repeat(100)),
            // Multi-byte characters where hex digits belong: at an odd byte offset, in pairs.
            "c1.a€",
            "c1.€€",
            "c1.+1",
            "c1.é",
        ] {
            assert_eq!(decode_cursor(bad).unwrap_err().code(), "invalid_cursor", "{bad}");
        }
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(page_limit(None).unwrap(), 20);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        for bad in [0, -1, 101, i64::MAX] {
            assert_eq!(page_limit(Some(bad)).unwrap_err().code(), "invalid_limit");
        }
    }
}
