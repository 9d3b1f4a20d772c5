//! Importing the resident spreadsheet a community already keeps (.xlsx or .csv) and
//! exporting it back. Headers are matched by the names staff use (Chinese or English); a
//! re-import updates residents instead of duplicating them; every bad row is reported with
//! its row number and reason while the good rows are kept.

use crate::ResidentId;
use crate::domain::{ID_REVEAL, IMPORT_EXPORT, ResidentDraft, Tag};
use crate::service::{self, Placement};
use crate::store::{self, Community, ResidentFilter};
use kernel::auth::Principal;
use kernel::error::{AppError, AppResult};
use kernel::i18n::{tf, Locale};
use kernel::state::AppState;
use serde::Serialize;
use std::collections::HashSet;

/// File formats we read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Excel 2007+.
    Xlsx,
    /// Comma-separated, UTF-8 (a BOM is accepted).
    Csv,
}

impl Format {
    /// Picks the format from the file's bytes (not its name): XLSX is a ZIP archive.
    pub fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"PK\x03\x04") { Format::Xlsx } else { Format::Csv }
    }
    /// From a file name's extension, for exports.
    pub fn from_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".xlsx") {
            Some(Format::Xlsx)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }
}

/// The columns, in export order, with the header words accepted on import.
const COLUMNS: &[(Column, &str, &[&str])] = &[
    (Column::Name, "姓名", &["姓名", "name", "居民姓名"]),
    (Column::Phone, "手机号", &["手机号", "手机", "电话", "联系电话", "phone", "mobile"]),
    (Column::IdNumber, "身份证号", &["身份证号", "身份证", "身份证号码", "证件号码", "id_number", "id"]),
    (Column::Building, "楼栋", &["楼栋", "楼号", "楼栋号", "building"]),
    (Column::Unit, "单元", &["单元", "单元号", "unit"]),
    (Column::Room, "房号", &["房号", "门牌号", "室", "room"]),
    (Column::Relation, "与户主关系", &["与户主关系", "关系", "relation"]),
    (Column::Tags, "标签", &["标签", "人员类别", "类别", "tags"]),
    (Column::Grid, "网格", &["网格", "所属网格", "grid"]),
    (Column::Notes, "备注", &["备注", "notes"]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Phone,
    IdNumber,
    Building,
    Unit,
    Room,
    Relation,
    Tags,
    Grid,
    Notes,
}

/// One rejected row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// Spreadsheet row number (the header is row 1).
    pub row: usize,
    /// Column header of the problem, if it concerns one column.
    pub column: String,
    /// Translated reason.
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: usize,
    /// Residents created.
    pub created: usize,
    /// Residents updated.
    pub updated: usize,
    /// Buildings that did not exist and were created (check these for typos).
    pub new_buildings: Vec<String>,
    /// Rows rejected, with reasons.
    pub errors: Vec<RowError>,
}

/// Data rows one import may hold.
pub const MAX_ROWS: usize = 20_000;
/// Columns one import may hold (ours are ten; office sheets carry a few more).
pub const MAX_COLUMNS: usize = 50;

fn too_many_rows() -> AppError {
    AppError::Validation(vec![kernel::FieldError::new("file", "import_too_many").arg("max", MAX_ROWS)])
}

fn too_many_columns() -> AppError {
    AppError::Validation(vec![kernel::FieldError::new("file", "import_too_many_columns").arg("max", MAX_COLUMNS)])
}

/// The sheet's rows (header first), each cell trimmed and without the apostrophe our exports
/// put before formula-like text. A sheet past [`MAX_ROWS`] or [`MAX_COLUMNS`] is refused as a
/// whole, not cut short.
fn read_rows(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let mut rows = match Format::sniff(bytes) {
        Format::Xlsx => read_xlsx(bytes)?,
        Format::Csv => {
            let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
                .map_err(|_| AppError::field("file", "csv_not_utf8"))?;
            let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
            let mut rows = Vec::new();
            // Header plus one row more than allowed, so an oversized sheet is refused, not cut.
            for rec in reader.records().take(MAX_ROWS + 2) {
                let rec = rec.map_err(|e| AppError::bad_request("malformed_upload", e))?;
                if rec.len() > MAX_COLUMNS {
                    return Err(too_many_columns());
                }
                rows.push(rec.iter().map(|s| s.trim().to_string()).collect());
            }
            rows
        }
    };
    for cell in rows.iter_mut().flatten() {
        let plain = kernel::spreadsheet::strip_formula_guard(cell);
        if plain.len() != cell.len() {
            *cell = plain.to_string();
        }
    }
    Ok(rows)
}

/// Reads the first sheet cell by cell. A sheet's cells may sit anywhere (a 1.6 KB file can
/// name cell ZZ200000), so nothing here is sized by the sheet's declared dimensions: a filled
/// cell past the limits refuses the file, and only filled cells are kept.
fn read_xlsx(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    use calamine::Reader;
    let malformed = |e: calamine::XlsxError| AppError::bad_request("malformed_upload", e);
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).map_err(malformed)?;
    let first = book.sheet_names().into_iter().next().ok_or_else(|| AppError::bad_request("malformed_upload", "no worksheet"))?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(malformed)?;
    let mut filled: Vec<(usize, usize, String)> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(malformed)? {
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        let (row, col) = cell.get_position();
        // Header plus one row more than allowed, so an oversized sheet is refused, not cut.
        if row as usize > MAX_ROWS + 1 {
            return Err(too_many_rows());
        }
        if col as usize >= MAX_COLUMNS {
            return Err(too_many_columns());
        }
        // A sheet may name one cell many times; no more cells than the limits allow are kept.
        if filled.len() >= (MAX_ROWS + 2) * MAX_COLUMNS {
            return Err(too_many_rows());
        }
        filled.push((row as usize, col as usize, text));
    }
    // As a spreadsheet's used range: from the first filled row and column.
    let (Some(top), Some(left)) = (filled.iter().map(|c| c.0).min(), filled.iter().map(|c| c.1).min()) else { return Ok(Vec::new()) };
    let bottom = filled.iter().map(|c| c.0).max().unwrap_or(top);
    let right = filled.iter().map(|c| c.1).max().unwrap_or(left);
    let mut rows = vec![vec![String::new(); right - left + 1]; bottom - top + 1];
    for (row, col, text) in filled {
        rows[row - top][col - left] = text;
    }
    Ok(rows)
}

fn cell_text(c: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match c {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.trim().to_string(),
        DataRef::SharedString(s) => s.trim().to_string(),
        // Phone numbers and rooms typed as numbers come back as floats.
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Int(i) => i.to_string(),
        other => calamine::Data::from(other.clone()).to_string().trim().to_string(),
    }
}

/// Imports residents into `c`. Runs in one transaction: either every good row lands, or (on a
/// database failure) nothing does.
pub async fn import(state: &AppState, p: &Principal, c: &Community, bytes: &[u8], locale: Locale) -> AppResult<ImportReport> {
    p.require(c.id, &IMPORT_EXPORT)?;
    let rows = read_rows(bytes)?;
    let Some((header, data)) = rows.split_first() else {
        return Err(AppError::field("file", "import_empty"));
    };
    if data.len() > MAX_ROWS {
        return Err(too_many_rows());
    }
    let columns: Vec<Option<Column>> = header
        .iter()
        .map(|h| {
            let h = h.trim().to_lowercase();
            COLUMNS.iter().find(|(_, _, words)| words.iter().any(|w| w.to_lowercase() == h)).map(|(c, _, _)| *c)
        })
        .collect();
    for required in [Column::Name, Column::Building, Column::Room] {
        if !columns.contains(&Some(required)) {
            let label = COLUMNS.iter().find(|(c, _, _)| *c == required).map(|(_, l, _)| *l).unwrap_or("");
            return Err(AppError::Validation(vec![kernel::FieldError::new("file", "import_missing_column").arg("column", label)]));
        }
    }
    let mut report = ImportReport { rows: 0, ..Default::default() };
    let mut seen_ids = HashSet::new();
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    for (i, row) in data.iter().enumerate() {
        let row_no = i + 2;
        let get = |col: Column| -> String {
            columns.iter().position(|c| *c == Some(col)).and_then(|idx| row.get(idx)).cloned().unwrap_or_default()
        };
        if row.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        let header_of = |field: &str| -> String {
            let col = match field {
                "name" => Column::Name,
                "phone" => Column::Phone,
                "id_number" => Column::IdNumber,
                "building" => Column::Building,
                "unit" => Column::Unit,
                "room" => Column::Room,
                "grid" => Column::Grid,
                "relation" => Column::Relation,
                "tags" => Column::Tags,
                _ => Column::Notes,
            };
            COLUMNS.iter().find(|(c, _, _)| *c == col).map(|(_, l, _)| l.to_string()).unwrap_or_default()
        };
        // Our own export masks phone and ID numbers (`138****5678`, `3201**********1234`): such
        // a cell keeps the stored number.
        let masked = |text: String| if text.contains('*') { (String::new(), true) } else { (text, false) };
        let (id_number, _) = masked(get(Column::IdNumber));
        let (phone, phone_masked) = masked(get(Column::Phone));
        let draft = ResidentDraft {
            name: get(Column::Name),
            phone,
            id_number,
            relation: get(Column::Relation),
            tags: vec![get(Column::Tags)],
            notes: get(Column::Notes),
            ..Default::default()
        };
        let at = Placement { building: get(Column::Building), unit: get(Column::Unit), room: get(Column::Room) };
        let grid = get(Column::Grid);
        let checked = (draft.parse(), at.parse(), kernel::validate::at_most("grid", &grid, 40));
        let (mut input, at) = match checked {
            (Ok(input), Ok(at), Ok(_)) => (input, at),
            (a, b, c) => {
                let errs = a.err().into_iter().chain(b.err()).flatten().chain(c.err());
                for e in errs {
                    report.errors.push(RowError { row: row_no, column: header_of(&e.field), reason: e.message(locale) });
                }
                continue;
            }
        };
        let id_index = input.id_number.as_ref().map(|n| state.cipher.blind_index(n.as_str()));
        if let Some(idx) = &id_index {
            if !seen_ids.insert(idx.clone()) {
                report.errors.push(RowError { row: row_no, column: header_of("id_number"), reason: tf(locale, "error.import_duplicate_id", &[]) });
                continue;
            }
        }
        // Re-import: the same ID number, or else the same name in the same household, is the same person.
        kernel::row! {
            /// The resident holding the row's ID number.
            struct Holder {
                id: ResidentId,
                name: String,
            }
        }
        let by_id: Option<Holder> = match &id_index {
            Some(idx) => sqlx::query_as("SELECT id, name FROM residents WHERE community_id = $1 AND id_number_idx = $2")
                .bind(c.id)
                .bind(idx)
                .fetch_optional(&mut *tx)
                .await?,
            None => None,
        };
        let by_id: Option<(ResidentId, String)> = by_id.map(|h| (h.id, h.name));
        // An ID number held by a resident of another name is a mistake in the sheet or in the
        // registry: the row is refused, never written over that resident.
        if let Some((_, held_by)) = by_id.as_ref().filter(|(_, name)| name.trim() != input.name.trim()) {
            let reason = tf(locale, "error.import_id_other_name", &[("name", held_by.clone())]);
            report.errors.push(RowError { row: row_no, column: header_of("id_number"), reason });
            continue;
        }
        let (household, created) = service::place(&mut tx, now, c.id, &at, Some(&grid)).await?;
        if created {
            report.new_buildings.push(at.building.trim().to_string());
        }
        let existing: Option<ResidentId> = by_id.map(|(id, _)| id);
        let existing = match existing {
            Some(id) => Some(id),
            None => sqlx::query_scalar("SELECT id FROM residents WHERE community_id = $1 AND household_id = $2 AND name = $3 ORDER BY id LIMIT 1")
                .bind(c.id)
                .bind(household)
                .bind(&input.name)
                .fetch_optional(&mut *tx)
                .await?,
        };
        match existing {
            Some(id) => {
                if phone_masked {
                    let stored: String = sqlx::query_scalar("SELECT phone FROM residents WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
                    input.phone = kernel::crypto::PhoneNumber::parse(&stored).ok();
                }
                let (_, before) = service::resident_snapshot(&mut tx, id).await?;
                service::update_resident(&mut tx, state, Some(p), c.id, id, Some(household), &before, input).await?;
                report.updated += 1;
            }
            None => {
                service::insert_resident(&mut tx, state, Some(p), c.id, household, input).await?;
                report.created += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// How much of phone and ID numbers an export shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure<'a> {
    /// Masked (`138****5678`, `3201**********1234`), as every page shows them.
    Masked,
    /// In full, for a stated purpose: needs the permission to see ID numbers, and every
    /// resident in the file is written to the access log with the purpose.
    Full {
        /// Why the full numbers are needed (required, at most 100 characters).
        purpose: &'a str,
    },
}

/// The access log's field for a resident in a full export.
pub const FULL_EXPORT_FIELD: &str = "export:phone,id_number";

/// Exports every resident of `c` with the import's headers, phone and ID numbers masked
/// unless a full export is asked for with a purpose. Text that a spreadsheet would read as a
/// formula is written behind an apostrophe.
pub async fn export(state: &AppState, p: &Principal, c: &Community, format: Format, disclosure: Disclosure<'_>) -> AppResult<Vec<u8>> {
    p.require(c.id, &IMPORT_EXPORT)?;
    let purpose = match disclosure {
        Disclosure::Masked => None,
        Disclosure::Full { purpose } => {
            p.require(c.id, &ID_REVEAL)?;
            Some(kernel::validate::required("purpose", purpose, 100)?)
        }
    };
    let mut rows: Vec<Vec<String>> = vec![COLUMNS.iter().map(|(_, h, _)| h.to_string()).collect()];
    let mut exported: Vec<ResidentId> = Vec::new();
    let mut after = None;
    loop {
        let page = store::residents(state, c.id, &ResidentFilter::default(), None, after, 1000).await?;
        let more = page.len() > 1000;
        for r in page.iter().take(1000) {
            let (phone, id_number, unit, room, building, grid) = export_details(state, r.id, purpose.is_some()).await?;
            rows.push(vec![
                r.name.clone(),
                if purpose.is_some() || phone.is_empty() { phone } else { kernel::crypto::mask_phone(&phone) },
                id_number.unwrap_or_else(|| r.id_number.clone()),
                building,
                unit,
                room,
                r.relation.clone(),
                tag_words(&r.tags),
                grid,
                r.notes.clone(),
            ]);
            exported.push(r.id);
        }
        after = page.get(999).map(|r| r.id.get());
        if !more {
            break;
        }
    }
    if let Some(purpose) = purpose {
        let mut tx = state.db.begin_write().await?;
        let now = state.now();
        for id in &exported {
            kernel::audit::record_access(&mut tx, now, p, c.id, "resident", *id, FULL_EXPORT_FIELD, purpose).await?;
        }
        tx.commit().await?;
    }
    let cells = rows.iter().map(|row| row.iter().map(|v| kernel::spreadsheet::formula_safe(v)));
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
            for row in cells {
                w.write_record(row.map(|v| v.into_owned())).map_err(AppError::internal)?;
            }
            w.into_inner().map_err(AppError::internal)
        }
        Format::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            sheet.set_name("居民").map_err(AppError::internal)?;
            let text = rust_xlsxwriter::Format::new().set_num_format("@");
            for (r, row) in cells.enumerate() {
                for (col, value) in row.enumerate() {
                    sheet.write_string_with_format(r as u32, col as u16, value, &text).map_err(AppError::internal)?;
                }
            }
            sheet.set_column_width(2, 22).map_err(AppError::internal)?;
            sheet.set_column_width(3, 16).map_err(AppError::internal)?;
            book.save_to_buffer().map_err(AppError::internal)
        }
    }
}

async fn export_details(state: &AppState, id: ResidentId, full: bool) -> AppResult<(String, Option<String>, String, String, String, String)> {
    kernel::row! {
        /// A resident's contact and address parts for the export.
        struct Details {
            phone: String,
            id_number_enc: Option<String>,
            unit_name: String,
            room: String,
            building_name: String,
            grid_name: String,
        }
    }
    let r: Details = sqlx::query_as(
        "SELECT r.phone, r.id_number_enc, COALESCE(u.name, '') AS unit_name, COALESCE(h.room, '') AS room, \
           COALESCE(b.name, '') AS building_name, COALESCE(g.name, '') AS grid_name \
         FROM residents r LEFT JOIN households h ON h.id = r.household_id LEFT JOIN units u ON u.id = h.unit_id \
         LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN grids g ON g.id = b.grid_id WHERE r.id = $1",
    )
    .bind(id)
    .fetch_one(&state.db.pool)
    .await?;
    let id_number = match (full, r.id_number_enc) {
        (true, Some(enc)) => Some(state.cipher.decrypt(&enc)?),
        _ => None,
    };
    Ok((r.phone, id_number, r.unit_name, r.room, r.building_name, r.grid_name))
}

/// Tags as the export writes them, for tests.
pub fn tag_words(tags: &[Tag]) -> String {
    tags.iter().map(|t| kernel::i18n::t(Locale::ZhCn, &t.label_key()).to_string()).collect::<Vec<_>>().join("、")
}
