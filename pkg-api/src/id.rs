//! Path ids: every Skein resource is named by a UUID, so anything else is a 400 before any lookup.

use crate::{ApiError, ErrorCode};

/// A path id must be a UUID; anything else cannot name a row. `what` names the resource in the
/// message (`"job"`, `"schedule"`), so the client learns which id it got wrong.
pub fn parse_id(raw: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::new(ErrorCode::InvalidId, format!("{raw:?} is not a {what} id.")))
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn a_uuid_comes_back_in_its_canonical_form() {
        let id = parse_id("0190B2A4-7C6E-7B3A-9F00-0123456789AB", "job").unwrap();
        assert_eq!(id, "0190b2a4-7c6e-7b3a-9f00-0123456789ab");
    }

    #[test]
    fn anything_else_is_a_400_naming_the_resource() {
        let error = parse_id("12", "schedule").unwrap_err();
        let body = serde_json::to_value(error.body()).unwrap();
        assert_eq!(body["error"]["code"], "invalid_id");
        assert_eq!(body["error"]["message"], "\"12\" is not a schedule id.");
    }
}
