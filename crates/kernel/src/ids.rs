//! Typed ids: a row's id as a type of its own, so that a case's id cannot be passed where a
//! resident's is wanted. Each capability declares the ids of its own tables with [`crate::id!`]:
//!
//! ```
//! kernel::id! {
//!     /// A case's id.
//!     pub struct CaseId;
//! }
//! let id = CaseId::new(7);
//! assert_eq!(id.get(), 7);
//! assert_eq!(id.to_string(), "7");
//! ```
//!
//! An id is stored, bound, sent and read as the integer it wraps: the same column type on both
//! engines, the same number in JSON, forms, addresses and the OpenAPI document (as a named
//! integer schema).

/// What the [`crate::id!`] macro needs from other crates, so a capability using it need not
/// name them itself.
#[doc(hidden)]
pub mod __private {
    pub use sea_query;
    pub use serde;
    pub use sqlx;
    pub use utoipa;
}

/// Declares a typed id: `kernel::id! { /// A case's id. pub struct CaseId; }`.
///
/// The type is `Copy`, ordered and hashable; it binds to and reads from a query as an `i64`,
/// serialises as a plain number, parses from a path segment or a form field, shows as its
/// number, and goes into a sea-query statement as an integer value.
#[macro_export]
macro_rules! id {
    ($(#[$m:meta])* $vis:vis struct $name:ident;) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(i64);

        impl $name {
            /// The id with this number (as read from storage or an address).
            pub const fn new(n: i64) -> Self {
                Self(n)
            }
            /// The number, for what stores or shows ids as integers.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl ::std::convert::From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::num::ParseIntError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl $crate::ids::__private::serde::Serialize for $name {
            fn serialize<S: $crate::ids::__private::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_i64(self.0)
            }
        }

        impl<'de> $crate::ids::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::ids::__private::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                <i64 as $crate::ids::__private::serde::Deserialize>::deserialize(d).map(Self)
            }
        }

        impl $crate::ids::__private::sqlx::Type<$crate::ids::__private::sqlx::Any> for $name {
            fn type_info() -> $crate::ids::__private::sqlx::any::AnyTypeInfo {
                <i64 as $crate::ids::__private::sqlx::Type<$crate::ids::__private::sqlx::Any>>::type_info()
            }
            fn compatible(ty: &$crate::ids::__private::sqlx::any::AnyTypeInfo) -> bool {
                <i64 as $crate::ids::__private::sqlx::Type<$crate::ids::__private::sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> $crate::ids::__private::sqlx::Encode<'q, $crate::ids::__private::sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <$crate::ids::__private::sqlx::Any as $crate::ids::__private::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> ::std::result::Result<$crate::ids::__private::sqlx::encode::IsNull, $crate::ids::__private::sqlx::error::BoxDynError> {
                <i64 as $crate::ids::__private::sqlx::Encode<'q, $crate::ids::__private::sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> $crate::ids::__private::sqlx::Decode<'r, $crate::ids::__private::sqlx::Any> for $name {
            fn decode(
                value: <$crate::ids::__private::sqlx::Any as $crate::ids::__private::sqlx::Database>::ValueRef<'r>,
            ) -> ::std::result::Result<Self, $crate::ids::__private::sqlx::error::BoxDynError> {
                <i64 as $crate::ids::__private::sqlx::Decode<'r, $crate::ids::__private::sqlx::Any>>::decode(value).map(Self)
            }
        }

        impl ::std::convert::From<$name> for $crate::ids::__private::sea_query::Value {
            fn from(id: $name) -> Self {
                $crate::ids::__private::sea_query::Value::BigInt(Some(id.0))
            }
        }

        impl $crate::ids::__private::utoipa::PartialSchema for $name {
            fn schema() -> $crate::ids::__private::utoipa::openapi::RefOr<$crate::ids::__private::utoipa::openapi::schema::Schema> {
                <i64 as $crate::ids::__private::utoipa::PartialSchema>::schema()
            }
        }

        impl $crate::ids::__private::utoipa::ToSchema for $name {}
    };
}

#[cfg(test)]
mod tests {
    crate::id! {
        /// An id for the tests.
        pub struct ThingId;
    }

    #[test]
    fn an_id_reads_and_writes_as_its_number() {
        let id: ThingId = serde_json::from_str("42").unwrap();
        assert_eq!(id, ThingId::new(42));
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!("42".parse::<ThingId>().unwrap().get(), 42);
        assert!("四十二".parse::<ThingId>().is_err());
        assert_eq!(sea_query::Value::from(id), sea_query::Value::BigInt(Some(42)));
    }
}
