//! Registry types and rules (no I/O): tags, the resident record and its validation.

use kernel::auth::{Permission, Role};
use kernel::crypto::{IdCardNumber, PhoneNumber};
use kernel::error::FieldError;
use serde::{Deserialize, Serialize};

kernel::id! {
    /// A registered resident's id.
    pub struct ResidentId;
}

kernel::id! {
    /// A household's id.
    pub struct HouseholdId;
}

kernel::id! {
    /// A building's id.
    pub struct BuildingId;
}

kernel::id! {
    /// A unit's (单元) id, within a building.
    pub struct UnitId;
}

kernel::id! {
    /// A grid's (网格) id.
    pub struct GridId;
}

/// A resident tag that decides who gets which care and attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    /// 60 岁以上老人
    Elderly,
    /// 独居
    LivingAlone,
    /// 残疾
    Disabled,
    /// 低保/困难家庭
    LowIncome,
    /// 租户
    Renter,
    /// 未成年人
    Child,
    /// 党员
    PartyMember,
    /// 退役军人
    Veteran,
}

impl Tag {
    /// Every tag, in display order.
    pub const ALL: [Tag; 8] =
        [Tag::Elderly, Tag::LivingAlone, Tag::Disabled, Tag::LowIncome, Tag::Renter, Tag::Child, Tag::PartyMember, Tag::Veteran];

    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Tag::Elderly => "elderly",
            Tag::LivingAlone => "living_alone",
            Tag::Disabled => "disabled",
            Tag::LowIncome => "low_income",
            Tag::Renter => "renter",
            Tag::Child => "child",
            Tag::PartyMember => "party_member",
            Tag::Veteran => "veteran",
        }
    }

    /// Catalogue key of the label.
    pub fn label_key(self) -> String {
        format!("tag.{}", self.code())
    }

    /// Reads a stored code: one that does not read is an error, never dropped.
    pub fn stored(code: &str) -> kernel::error::AppResult<Tag> {
        Tag::ALL.into_iter().find(|t| t.code() == code).ok_or_else(|| kernel::error::AppError::internal(format!("stored resident tag {code}")))
    }

    /// Parses a code or one of the words staff write in their spreadsheets.
    pub fn parse(word: &str) -> Option<Tag> {
        let w = word.trim();
        Tag::ALL.into_iter().find(|t| t.code() == w).or(match w {
            "老人" | "老年人" | "高龄" | "60岁以上" | "60岁及以上" => Some(Tag::Elderly),
            "独居" | "独居老人" | "空巢" => Some(Tag::LivingAlone),
            "残疾" | "残疾人" | "残障" => Some(Tag::Disabled),
            "低保" | "困难" | "困难家庭" | "低收入" | "低保户" => Some(Tag::LowIncome),
            "租户" | "租客" | "租房" | "租住" => Some(Tag::Renter),
            "儿童" | "未成年" | "未成年人" => Some(Tag::Child),
            "党员" => Some(Tag::PartyMember),
            "退役军人" | "军人" => Some(Tag::Veteran),
            _ => None,
        })
    }

    /// Parses a list written with any of the usual separators (、,，;；/ and spaces).
    pub fn parse_list(text: &str) -> Result<Vec<Tag>, String> {
        let mut out = Vec::new();
        for word in text.split(['、', ',', '，', ';', '；', '/', ' ', '|']).filter(|w| !w.trim().is_empty()) {
            let tag = Tag::parse(word).ok_or_else(|| word.trim().to_string())?;
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
        Ok(out)
    }
}

/// Age in whole years on `today` for someone born on `born` (a year older on the birthday).
pub fn age_on(today: chrono::NaiveDate, born: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    let had_birthday = (today.month(), today.day()) >= (born.month(), born.day());
    today.year() - born.year() - i32::from(!had_birthday)
}

/// Checked input for creating or updating a resident.
#[derive(Debug, Clone)]
pub struct ResidentInput {
    /// Full name.
    pub name: String,
    /// Mobile number, if given.
    pub phone: Option<PhoneNumber>,
    /// ID number, if given.
    pub id_number: Option<IdCardNumber>,
    /// Relation to the head of household (户主, 配偶, 子女 …).
    pub relation: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Staff notes.
    pub notes: String,
}

/// Unchecked input as submitted by a form, an API call or a spreadsheet row.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ResidentDraft {
    /// Full name (required).
    pub name: String,
    /// Mobile number.
    #[serde(default)]
    pub phone: String,
    /// 18-digit ID number.
    #[serde(default)]
    pub id_number: String,
    /// Relation to the head of household.
    #[serde(default)]
    pub relation: String,
    /// Tags as codes or Chinese words.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Staff notes.
    #[serde(default)]
    pub notes: String,
    /// On an edit: remove the stored mobile number (an empty `phone` keeps it).
    #[serde(default)]
    pub clear_phone: bool,
    /// On an edit: remove the stored ID number (an empty `id_number` keeps it).
    #[serde(default)]
    pub clear_id_number: bool,
}

/// What an edit does with a stored sensitive field it was sent empty: forms show such fields
/// masked, never filled in, so an empty one means "unchanged" unless its 清除 box was ticked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clearing {
    /// Remove the mobile number.
    pub phone: bool,
    /// Remove the ID number.
    pub id_number: bool,
}

impl ResidentDraft {
    /// Which stored fields this draft asks to remove (only those it sends empty).
    pub fn clearing(&self) -> Clearing {
        Clearing { phone: self.clear_phone && self.phone.trim().is_empty(), id_number: self.clear_id_number && self.id_number.trim().is_empty() }
    }

    /// Validates every field, collecting all problems at once.
    pub fn parse(self) -> Result<ResidentInput, Vec<FieldError>> {
        use kernel::validate::{at_most, at_most_multiline, person_name};
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        let checks = [person_name("name", &name, 40), at_most("relation", &self.relation, 20), at_most_multiline("notes", &self.notes, 500)];
        errors.extend(checks.into_iter().filter_map(Result::err));
        let phone = match self.phone.trim() {
            "" => None,
            p => PhoneNumber::parse(p).map_err(|c| errors.push(FieldError::new("phone", c))).ok(),
        };
        let id_number = match self.id_number.trim() {
            "" => None,
            n => IdCardNumber::parse(n).map_err(|c| errors.push(FieldError::new("id_number", c))).ok(),
        };
        let mut tags = Vec::new();
        for word in &self.tags {
            match Tag::parse_list(word) {
                Ok(ts) => tags.extend(ts.into_iter().filter(|t| !tags.contains(t)).collect::<Vec<_>>()),
                Err(bad) => errors.push(FieldError::new("tags", "tag_unknown").arg("tag", bad)),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ResidentInput {
            name,
            phone,
            id_number,
            relation: self.relation.trim().to_string(),
            tags,
            notes: self.notes.trim().to_string(),
        })
    }
}

/// See the community's structure (grids, buildings).
pub const STRUCTURE_READ: Permission =
    Permission { name: "registry.structure.read", roles: &[Role::Staff, Role::Admin, Role::GridWorker, Role::Liaison] };
/// Create grids and buildings, assign grid workers.
pub const STRUCTURE_WRITE: Permission = Permission { name: "registry.structure.write", roles: &[Role::Staff, Role::Admin] };
/// See residents (masked).
pub const RESIDENTS_READ: Permission =
    Permission { name: "registry.residents.read", roles: &[Role::Staff, Role::Admin, Role::GridWorker] };
/// Create and edit residents.
pub const RESIDENTS_WRITE: Permission =
    Permission { name: "registry.residents.write", roles: &[Role::Staff, Role::Admin, Role::GridWorker] };
/// See a full ID number (logged).
pub const ID_REVEAL: Permission = Permission { name: "registry.residents.reveal_id", roles: &[Role::Staff, Role::Admin] };
/// Import and export the resident spreadsheet.
pub const IMPORT_EXPORT: Permission = Permission { name: "registry.residents.import_export", roles: &[Role::Staff, Role::Admin] };

/// Every registry permission.
pub const PERMISSIONS: &[Permission] = &[STRUCTURE_READ, STRUCTURE_WRITE, RESIDENTS_READ, RESIDENTS_WRITE, ID_REVEAL, IMPORT_EXPORT];

/// How an ID number being written is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdStanding {
    /// The resident's own: indexed, so unique in the community.
    Registered,
    /// Registered to `holder` already, and entered by someone who may not see ID numbers:
    /// kept encrypted and masked but not indexed, until staff review it.
    AwaitingReview {
        /// The resident the number is registered to.
        holder: ResidentId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_words_become_tags() {
        assert_eq!(Tag::parse_list("独居老人、低保，租户").unwrap(), vec![Tag::LivingAlone, Tag::LowIncome, Tag::Renter]);
        assert_eq!(Tag::parse_list("飞行员").unwrap_err(), "飞行员");
    }

    #[test]
    fn age_counts_whole_years_up_to_the_birthday() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_on(d("2026-06-01"), d("1966-06-01")), 60);
        assert_eq!(age_on(d("2026-06-01"), d("1966-06-02")), 59);
        assert_eq!(age_on(d("2026-06-01"), d("1966-01-31")), 60);
    }

    #[test]
    fn draft_collects_every_problem() {
        let errs = ResidentDraft { name: " ".into(), phone: "123".into(), id_number: "1".into(), ..Default::default() }
            .parse()
            .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "phone", "id_number"]);
    }
}
