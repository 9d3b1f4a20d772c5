//! Photos of a case: up to nine "before" photos with the report, "after" photos with the
//! result. Each is kept three ways: the original (staff only), the photo as shown (upright,
//! scaled, re-encoded without any metadata — the camera's GPS position included) and a
//! thumbnail. Staff can blur parts of a photo or hide it; the public ledger shows a case's
//! photos once staff have responded to it, never the original.

use kernel::community::CommunityId;
use kernel::auth::{Principal, UserId};
use registry::{BuildingId, ResidentId};
use crate::domain::CaseId;
use files::picture::{self, Prepared, GRID};
use files::service::NewBlob;
use files::Kind;
use kernel::db::WriteTx;
use kernel::error::{AppError, AppResult, FieldError};
use kernel::state::AppState;
use serde::{Deserialize, Serialize};

/// The most photos a case takes at each stage.
pub const MAX_PHOTOS: usize = 9;

/// When a photo was taken: with the report, or with the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// With the report.
    Before,
    /// With the result.
    After,
}

impl Stage {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Stage::Before => "before",
            Stage::After => "after",
        }
    }
}

/// A photo of a case as a reader sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Photo {
    /// Id.
    pub id: i64,
    /// Before or after.
    pub stage: Stage,
    /// The photo as shown (no metadata, redactions applied).
    pub url: String,
    /// Its thumbnail.
    pub thumb_url: String,
    /// Width of the shown photo.
    pub width: i64,
    /// Height of the shown photo.
    pub height: i64,
    /// Hidden from the public.
    pub hidden: bool,
    /// Cells of the 4 × 4 grid that are blurred (row-major, 0–15).
    pub redacted_cells: Vec<u32>,
}

/// A photo read and checked, ready to be stored.
pub struct Ready {
    name: String,
    original: Vec<u8>,
    kind: Kind,
    prepared: Prepared,
}

/// An uploaded photo.
pub struct Upload {
    /// The name it came with.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Checks and prepares uploads (images only, by content; at most [`MAX_PHOTOS`]; each within the
/// upload limit). The decoding runs off the async threads.
pub async fn prepare(state: &AppState, uploads: Vec<Upload>) -> AppResult<Vec<Ready>> {
    if uploads.len() > MAX_PHOTOS {
        return Err(AppError::Validation(vec![FieldError::new(
            "photos",
            "too_many_files",
        )
        .arg("max", MAX_PHOTOS.to_string())]));
    }
    let limit = state.config.upload_limit;
    let mut out = Vec::with_capacity(uploads.len());
    for u in uploads {
        if u.bytes.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        let kind = files::content::sniff(&u.bytes)
            .filter(|k| matches!(k, Kind::Jpeg | Kind::Png | Kind::Webp))
            .ok_or_else(|| {
                AppError::Validation(vec![
                    FieldError::new("photos", "file_type").arg("types", "jpg, png, webp")
                ])
            })?;
        let Upload { name, bytes } = u;
        let (bytes, prepared) = picture::off_thread(move || {
            let p = picture::prepare(&bytes);
            (bytes, p)
        })
        .await
        .map_err(picture_error)?;
        out.push(Ready {
            name,
            original: bytes,
            kind,
            prepared: prepared.map_err(picture_error)?,
        });
    }
    Ok(out)
}

/// What a resident is told when a photo cannot be used.
fn picture_error(e: picture::PictureError) -> AppError {
    match e {
        picture::PictureError::TooLarge => {
            AppError::Validation(vec![FieldError::new("photos", "image_too_large")])
        }
        picture::PictureError::Busy => AppError::TooManyRequests { retry_after_s: 5 },
        picture::PictureError::Unreadable(_) => AppError::field("photos", "image_unreadable"),
    }
}

/// Photos whose bytes are in the blob store, ready to be recorded on a case (or kept with a
/// report's draft until it is filed).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    name: String,
    #[serde(with = "kind_mime")]
    kind: Kind,
    original: (String, usize),
    shown: (String, usize),
    thumb: (String, usize),
    width: u32,
    height: u32,
}

mod kind_mime {
    use files::Kind;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.mime())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
        let m = String::deserialize(d)?;
        Kind::from_mime(&m).ok_or_else(|| serde::de::Error::custom("kind"))
    }
}

impl Stored {
    /// The thumbnail's bytes, read from the blob store (a draft's photo, before it has a row).
    pub async fn thumbnail(&self, state: &AppState) -> AppResult<Vec<u8>> {
        files::service::store(state)
            .get(&self.thumb.0)
            .await
            .map_err(AppError::internal)?
            .ok_or(AppError::NotFound)
    }
    /// The photo as an anonymous report keeps it: the shown copy, without metadata, stands in
    /// for the original (see [`store`]).
    pub fn without_original(self) -> Stored {
        Stored {
            name: "photo.jpg".into(),
            kind: Kind::Jpeg,
            original: self.shown.clone(),
            ..self
        }
    }
}

/// The error for more than [`MAX_PHOTOS`] photos.
pub fn too_many() -> AppError {
    AppError::Validation(vec![FieldError::new("photos", "too_many_files").arg("max", MAX_PHOTOS.to_string())])
}

/// Puts prepared photos in the blob store, before the write transaction that records them (no
/// network I/O while holding the writer, ADR 002). An anonymous report keeps no original: the
/// phone's file carries EXIF (the owner's name, the GPS position) and a file name that can say
/// who took it, so the shown copy, re-encoded without metadata, stands in for it.
pub async fn store(state: &AppState, photos: &[Ready], anonymous: bool) -> AppResult<Vec<Stored>> {
    let mut out = Vec::with_capacity(photos.len());
    for p in photos {
        let shown = (
            files::service::put_bytes(state, &p.prepared.shown).await?,
            p.prepared.shown.len(),
        );
        let thumb = (
            files::service::put_bytes(state, &p.prepared.thumb).await?,
            p.prepared.thumb.len(),
        );
        let (original, name, kind) = if anonymous {
            (shown.clone(), "photo.jpg".to_string(), Kind::Jpeg)
        } else {
            (
                (
                    files::service::put_bytes(state, &p.original).await?,
                    p.original.len(),
                ),
                p.name.clone(),
                p.kind,
            )
        };
        out.push(Stored {
            name,
            kind,
            original,
            shown,
            thumb,
            width: p.prepared.width,
            height: p.prepared.height,
        });
    }
    Ok(out)
}

/// Attaches stored photos to a case, in the caller's transaction. `uploaded_by` is `None` for an
/// anonymous report. `hidden` keeps them off the public ledger until staff have looked at them.
#[allow(clippy::too_many_arguments)]
pub async fn attach(
    state: &AppState,
    tx: &mut WriteTx,
    case_id: CaseId,
    community_id: CommunityId,
    uploaded_by: Option<UserId>,
    stage: Stage,
    hidden: bool,
    photos: &[Stored],
) -> AppResult<()> {
    if photos.is_empty() {
        return Ok(());
    }
    let now = state.now();
    let existing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM case_photos WHERE case_id = $1 AND stage = $2")
            .bind(case_id)
            .bind(stage.code())
            .fetch_one(&mut **tx)
            .await?;
    if existing as usize + photos.len() > MAX_PHOTOS {
        return Err(AppError::Validation(vec![FieldError::new(
            "photos",
            "too_many_files",
        )
        .arg("max", MAX_PHOTOS.to_string())]));
    }
    for p in photos {
        let base = NewBlob {
            key: "",
            kind: Kind::Jpeg,
            size: 0,
            name: &p.name,
            community_id: Some(community_id),
            uploaded_by,
            purpose: "case_photo",
        };
        let original = files::service::insert(tx, now, &NewBlob { key: &p.original.0, kind: p.kind, size: p.original.1, ..base }).await?;
        // What may be shown carries no name from the phone (it can hold a date or a person's name).
        fn copy<'a>(base: NewBlob<'a>, (key, size): &'a (String, usize)) -> NewBlob<'a> {
            NewBlob { key: key.as_str(), size: *size, name: "photo.jpg", ..base }
        }
        let shown = files::service::insert(tx, now, &copy(base, &p.shown)).await?;
        let thumb = files::service::insert(tx, now, &copy(base, &p.thumb)).await?;
        sqlx::query(
            "INSERT INTO case_photos (case_id, stage, original_blob_id, shown_blob_id, thumb_blob_id, width, height, created_at, hidden) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(case_id)
        .bind(stage.code())
        .bind(original.id)
        .bind(shown.id)
        .bind(thumb.id)
        .bind(i64::from(p.width))
        .bind(i64::from(p.height))
        .bind(now)
        .bind(hidden as i64)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn cells(stored: &str) -> Vec<u32> {
    stored
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

/// The photos of several cases, by case id. `public` leaves out hidden photos.
pub async fn of_cases(
    state: &AppState,
    case_ids: &[CaseId],
    public: bool,
) -> AppResult<Vec<(CaseId, Photo)>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    kernel::row! {
        /// A photo of a case as stored.
        struct Listed {
            case_id: CaseId,
            id: i64,
            stage: String,
            width: i64,
            height: i64,
            hidden: i64,
            redacted_cells: String,
        }
    }
    let hidden = if public { " AND hidden = 0" } else { "" };
    let rows: Vec<Listed> = sqlx::query_as(&format!(
        "SELECT case_id, id, stage, width, height, hidden, redacted_cells FROM case_photos WHERE 1 = 1{hidden}{} ORDER BY id",
        kernel::db::and_in("case_id", Some(case_ids))
    ))
    .fetch_all(&state.db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = r.id;
            (
                r.case_id,
                Photo {
                    id,
                    stage: if r.stage == "after" {
                        Stage::After
                    } else {
                        Stage::Before
                    },
                    url: format!("/case-photos/{id}/shown"),
                    thumb_url: format!("/case-photos/{id}/thumb"),
                    width: r.width,
                    height: r.height,
                    hidden: r.hidden != 0,
                    redacted_cells: cells(&r.redacted_cells),
                },
            )
        })
        .collect())
}

/// Which version of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// As shown.
    Shown,
    /// Thumbnail.
    Thumb,
    /// As uploaded (staff only).
    Original,
}

impl Variant {
    /// Parses a path segment.
    pub fn parse(s: &str) -> Option<Variant> {
        match s {
            "shown" => Some(Variant::Shown),
            "thumb" => Some(Variant::Thumb),
            "original" => Some(Variant::Original),
            _ => None,
        }
    }
}

/// Serves a photo. Staff of the case's community see every version; the named author sees the
/// shown photo and thumbnail; the public sees them once the case has had its first response
/// (staff have looked at it), unless the photo is hidden or the case withdrawn.
/// `follow_token` is an anonymous author's private link token: it shows them their own photos.
pub async fn serve(
    state: &AppState,
    viewer: Option<&Principal>,
    follow_token: Option<&str>,
    photo_id: i64,
    variant: Variant,
) -> AppResult<axum::response::Response> {
    kernel::row! {
        /// A photo with what decides who may see it.
        struct Served {
            original_blob_id: i64,
            shown_blob_id: i64,
            thumb_blob_id: i64,
            hidden: i64,
            community_id: CommunityId,
            author_user_id: Option<UserId>,
            first_response_at: Option<i64>,
            state: String,
            follow_token_hash: Option<String>,
            private: i64,
            building_id: Option<BuildingId>,
            entered_by: Option<UserId>,
            assignee_user_id: Option<UserId>,
            case_id: CaseId,
            resident_id: Option<ResidentId>,
            anonymous: i64,
        }
    }
    let r: Served = sqlx::query_as(
        "SELECT p.original_blob_id, p.shown_blob_id, p.thumb_blob_id, p.hidden, c.community_id, c.author_user_id, c.first_response_at, c.state, \
         c.follow_token_hash, c.private, c.building_id, c.entered_by, c.assignee_user_id, p.case_id, c.resident_id, c.anonymous \
         FROM case_photos p JOIN cases c ON c.id = p.case_id WHERE p.id = $1",
    )
    .bind(photo_id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let community_id = r.community_id;
    let whereabouts = crate::reach::Whereabouts { building: r.building_id, entered_by: r.entered_by, assignee: r.assignee_user_id };
    let staff = match viewer {
        Some(v) => crate::reach::covers(state, v, community_id, whereabouts).await?,
        None => false,
    };
    // Its author, or the resident it was filed for (her own case's page shows them too).
    let subject = match r.resident_id.filter(|_| r.anonymous == 0) {
        Some(resident) => registry::people::contact(&state.db.pool, resident).await?.and_then(|c| c.user_id),
        None => None,
    };
    let author = viewer
        .is_some_and(|v| v.user_id.is_some() && (v.user_id == r.author_user_id || v.user_id == subject))
        || follow_token.is_some_and(|t| {
            t.len() <= 64 && Some(kernel::crypto::hash_token(t)) == r.follow_token_hash
        });
    let public = r.hidden == 0
        && r.first_response_at.is_some()
        && r.state != "withdrawn"
        && r.private == 0;
    let mut allowed = match variant {
        Variant::Original => staff,
        _ => staff || author || public,
    };
    // Family bound to the elder a case is about see its photos as she does.
    if !allowed && variant != Variant::Original {
        if let Some(v) = viewer {
            allowed = crate::family::reads(state, v, r.case_id).await?;
        }
    }
    if !allowed {
        return Err(AppError::NotFound);
    }
    let blob: i64 = match variant {
        Variant::Original => r.original_blob_id,
        Variant::Shown => r.shown_blob_id,
        Variant::Thumb => r.thumb_blob_id,
    };
    // A photo can be redacted, hidden or made private at any time: no cache may keep it.
    files::service::respond(state, blob, "no-cache").await
}

/// What staff do to a photo: blur cells of the 4 × 4 grid (row-major, 0–15; the list replaces
/// the previous one, so an empty list undoes a redaction) and hide it from the public or not.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Redaction {
    /// Cells to blur.
    #[serde(default)]
    pub cells: Vec<u32>,
    /// Keep the photo off the public ledger.
    #[serde(default)]
    pub hidden: bool,
}

/// Redacts a photo: the shown photo and its thumbnail are made again from the original with the
/// cells blurred. Recorded on the case's timeline.
pub async fn redact(
    state: &AppState,
    p: &Principal,
    photo_id: i64,
    red: &Redaction,
) -> AppResult<Photo> {
    kernel::row! {
        /// A photo with where its case stands.
        struct Redacted {
            case_id: CaseId,
            community_id: CommunityId,
            original_blob_id: i64,
            building_id: Option<BuildingId>,
            entered_by: Option<UserId>,
            assignee_user_id: Option<UserId>,
        }
    }
    let r: Redacted = sqlx::query_as(
        "SELECT p.case_id, c.community_id, p.original_blob_id, c.building_id, c.entered_by, c.assignee_user_id \
         FROM case_photos p JOIN cases c ON c.id = p.case_id WHERE p.id = $1",
    )
    .bind(photo_id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let (case_id, community_id, original) = (r.case_id, r.community_id, r.original_blob_id);
    let whereabouts = crate::reach::Whereabouts { building: r.building_id, entered_by: r.entered_by, assignee: r.assignee_user_id };
    if !crate::reach::covers(state, p, community_id, whereabouts).await? {
        return Err(AppError::NotFound);
    }
    if red.cells.iter().any(|&c| c >= GRID * GRID) {
        return Err(AppError::field("cells", "out_of_range"));
    }
    let mut cells_sorted = red.cells.clone();
    cells_sorted.sort_unstable();
    cells_sorted.dedup();
    let bytes = files::service::bytes(state, original).await?;
    let c2 = cells_sorted.clone();
    let prepared = picture::off_thread(move || picture::redact(&bytes, &c2))
        .await
        .map_err(picture_error)?
        .map_err(AppError::internal)?;
    let shown_key = files::service::put_bytes(state, &prepared.shown).await?;
    let thumb_key = files::service::put_bytes(state, &prepared.thumb).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let base = NewBlob {
        key: "",
        kind: Kind::Jpeg,
        size: 0,
        name: "photo.jpg",
        community_id: Some(community_id),
        uploaded_by: p.user_id,
        purpose: "case_photo",
    };
    let shown = files::service::insert(
        &mut tx,
        now,
        &NewBlob {
            key: &shown_key,
            size: prepared.shown.len(),
            ..base
        },
    )
    .await?;
    let thumb = files::service::insert(
        &mut tx,
        now,
        &NewBlob {
            key: &thumb_key,
            size: prepared.thumb.len(),
            ..base
        },
    )
    .await?;
    let stored: Vec<String> = cells_sorted.iter().map(u32::to_string).collect();
    sqlx::query("UPDATE case_photos SET shown_blob_id = $1, thumb_blob_id = $2, hidden = $3, redacted_cells = $4 WHERE id = $5")
        .bind(shown.id)
        .bind(thumb.id)
        .bind(red.hidden as i64)
        .bind(stored.join(","))
        .bind(photo_id)
        .execute(&mut *tx)
        .await?;
    let note = if red.hidden {
        format!("#{photo_id} hidden")
    } else {
        format!("#{photo_id}")
    };
    sqlx::query("INSERT INTO case_events (case_id, at, actor_user_id, kind, state, note) VALUES ($1, $2, $3, 'photo_redacted', NULL, $4)")
        .bind(case_id)
        .bind(now)
        .bind(p.user_id)
        .bind(note)
        .execute(&mut *tx)
        .await?;
    crate::store::forget_ledger(&mut tx, community_id);
    tx.commit().await?;
    of_cases(state, &[case_id], false)
        .await?
        .into_iter()
        .map(|(_, ph)| ph)
        .find(|ph| ph.id == photo_id)
        .ok_or(AppError::NotFound)
}

/// Adds photos to an existing case: the named author or staff before the result, staff with it.
pub async fn add(
    state: &AppState,
    p: &Principal,
    case_id: CaseId,
    stage: Stage,
    uploads: Vec<Upload>,
) -> AppResult<Vec<Photo>> {
    kernel::row! {
        /// The case photos are added to.
        struct Added {
            community_id: CommunityId,
            author_user_id: Option<UserId>,
            first_response_at: Option<i64>,
            building_id: Option<BuildingId>,
            entered_by: Option<UserId>,
            assignee_user_id: Option<UserId>,
        }
    }
    let r: Added = sqlx::query_as("SELECT community_id, author_user_id, first_response_at, building_id, entered_by, assignee_user_id FROM cases WHERE id = $1")
        .bind(case_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let community_id = r.community_id;
    let responded = r.first_response_at.is_some();
    let whereabouts = crate::reach::Whereabouts { building: r.building_id, entered_by: r.entered_by, assignee: r.assignee_user_id };
    let staff = crate::reach::covers(state, p, community_id, whereabouts).await?;
    let author = p.user_id.is_some() && p.user_id == r.author_user_id;
    if !staff && !(author && stage == Stage::Before) {
        return Err(if author {
            AppError::Forbidden
        } else {
            AppError::NotFound
        });
    }
    if uploads.is_empty() {
        return Err(AppError::field("photos", "required"));
    }
    if !staff {
        admit_photos(state, p, uploads.len(), false).await?;
    }
    let ready = prepare(state, uploads).await?;
    let ready = store(state, &ready, false).await?;
    let mut tx = state.db.begin_write().await?;
    // The public sees photos once staff have looked at them: ones the filer adds after the first
    // response stay hidden until staff show them (with the redaction form).
    attach(
        state,
        &mut tx,
        case_id,
        community_id,
        p.user_id,
        stage,
        !staff && responded,
        &ready,
    )
    .await?;
    crate::store::forget_ledger(&mut tx, community_id);
    tx.commit().await?;
    Ok(of_cases(state, &[case_id], false)
        .await?
        .into_iter()
        .map(|(_, ph)| ph)
        .collect())
}

/// Reports with photos one logged-in person may send per hour: photos are decoded and encoded
/// again, which costs seconds of a CPU each, so nobody can take that from everyone else.
pub const REPORTS_WITH_PHOTOS: kernel::quota::Budget = kernel::quota::Budget {
    name: "report_with_photos",
    limit: 30,
    window_ms: 3_600_000,
};

/// Photos one logged-in person may have decoded per hour, with reports or added to a case.
pub const PHOTOS_DECODED: kernel::quota::Budget = kernel::quota::Budget {
    name: "photos_decoded",
    limit: 120,
    window_ms: 3_600_000,
};

/// Admits `photos` photos (of one report, `report` = true, or added by its author to a case)
/// from someone logged in, before they are decoded: spends [`REPORTS_WITH_PHOTOS`] and
/// [`PHOTOS_DECODED`] of their person, or refuses with 429.
pub async fn admit_photos(state: &AppState, filer: &Principal, photos: usize, report: bool) -> AppResult<()> {
    if photos == 0 {
        return Ok(());
    }
    let Some(who) = filer.quota_key() else { return Ok(()) };
    if report {
        kernel::quota::spend(state, &REPORTS_WITH_PHOTOS, &who).await?;
    }
    kernel::quota::spend_n(state, &PHOTOS_DECODED, &who, photos as i64).await
}
