use std::fmt;

/// The xAPI versions this LRS serves. A request is routed by its `X-Experience-API-Version`
/// header (Communication 3.3; 2.0 section 4.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// Any 1.0.x request is served under the 1.0.3 rules.
    V1_0_3,
    /// Any 2.0.x request is served under the 2.0.0 rules.
    V2_0_0,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("the X-Experience-API-Version header is required")]
    Missing,
    #[error(
        "X-Experience-API-Version '{0}' is not supported: this LRS serves 1.0.x (as 1.0.3) and 2.0.x (as 2.0.0)"
    )]
    Unsupported(String),
}

impl Version {
    /// All versions served, in the order the About resource lists them.
    pub const ALL: [Version; 2] = [Version::V1_0_3, Version::V2_0_0];

    /// The latest patch of this version: the value of the response header and of the About list.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1_0_3 => "1.0.3",
            Version::V2_0_0 => "2.0.0",
        }
    }

    /// Reads a version header value. `1.0` means 1.0.0 and `2.0` means 2.0.0; any 1.0.x and 2.0.x
    /// is accepted (real clients send 1.0.2), anything else is refused.
    pub fn from_header(value: Option<&str>) -> Result<Version, VersionError> {
        let raw = value.ok_or(VersionError::Missing)?;
        Self::parse(raw).ok_or_else(|| VersionError::Unsupported(raw.to_string()))
    }

    /// Reads the `version` property of a statement: the same rule as the header.
    pub fn parse(raw: &str) -> Option<Version> {
        let mut parts = raw.split('.');
        let major = parts.next()?;
        let minor = parts.next()?;
        let patch = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !number(major) || !number(minor) || !patch.is_none_or(number) {
            return None;
        }
        match (major, minor) {
            ("1", "0") => Some(Version::V1_0_3),
            ("2", "0") => Some(Version::V2_0_0),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_1_0_x_and_2_0_x_c_3_3() {
        for raw in ["1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3", "1.0.9"] {
            assert_eq!(
                Version::from_header(Some(raw)),
                Ok(Version::V1_0_3),
                "{raw}"
            );
        }
        for raw in ["2.0", "2.0.0", "2.0.1"] {
            assert_eq!(
                Version::from_header(Some(raw)),
                Ok(Version::V2_0_0),
                "{raw}"
            );
        }
    }

    #[test]
    fn rejects_missing_and_unsupported_versions_c_3_3() {
        assert_eq!(Version::from_header(None), Err(VersionError::Missing));
        for raw in [
            "", "0.95", "0.9", "1", "1.1.0", "1.1", "2.1.0", "3.0.0", "1.0.x", "1.0.0.1", "1.0.",
            " 1.0.3",
        ] {
            assert!(Version::from_header(Some(raw)).is_err(), "{raw}");
        }
    }
}
