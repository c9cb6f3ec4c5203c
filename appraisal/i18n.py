"""Bilingual text: every message people read exists in Bahasa Indonesia and English.

A :class:`Message` is a code plus parameters; it is rendered in a language only
when shown, so the same problem can go to ``rejects.csv`` in Indonesian and to
a log in English.  Templates live in one catalogue (:data:`CATALOGUE`) so that
translators see every sentence the engine can say in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
DEFAULT_LANG: Lang = "id"

CATALOGUE: dict[str, dict[str, str]] = {
    # --- rubric problems -------------------------------------------------
    "yaml_syntax": {
        "id": "YAML tidak valid: {problem}",
        "en": "invalid YAML: {problem}",
    },
    "yaml_duplicate_key": {
        "id": "kunci {key!r} ditulis dua kali (pertama di baris {first_line})",
        "en": "duplicate key {key!r} (first at line {first_line})",
    },
    "yaml_not_mapping": {
        "id": "isi file harus berupa pemetaan (kunci: nilai) di tingkat atas",
        "en": "the file must contain a mapping (key: value) at the top level",
    },
    "field_missing": {
        "id": "kolom wajib {name!r} belum diisi",
        "en": "required field {name!r} is missing",
    },
    "field_unknown": {
        "id": "kunci {name!r} tidak dikenal (periksa ejaan); yang diizinkan: {allowed}",
        "en": "unknown key {name!r} (check the spelling); allowed: {allowed}",
    },
    "field_bool_for_number": {
        "id": "harus berupa angka; YAML membaca {value!r} sebagai benar/salah — beri tanda kutip atau tulis angka",
        "en": "expected a number; YAML read {value!r} as true/false — quote it or write a number",
    },
    "field_number_for_text": {
        "id": "harus berupa teks; YAML membaca {value!r} sebagai angka — beri tanda kutip, mis. \"{value}\"",
        "en": "expected text; YAML read {value!r} as a number — quote it, e.g. \"{value}\"",
    },
    "field_bound": {
        "id": "harus {relation} {limit}",
        "en": "must be {relation_en} {limit}",
    },
    "field_id_pattern": {
        "id": "{value!r} bukan id yang sah: gunakan huruf, angka, '-', '_' atau '.', diawali huruf atau angka, tanpa spasi",
        "en": "{value!r} is not a valid id: use letters, digits, '-', '_' or '.', starting with a letter or digit, no spaces",
    },
    "field_choice": {
        "id": "harus salah satu dari: {expected}",
        "en": "must be one of: {expected}",
    },
    "field_too_short": {
        "id": "perlu paling sedikit {min_length} entri",
        "en": "needs at least {min_length} entries",
    },
    "field_type": {
        "id": "harus berupa {expected_id}",
        "en": "expected {expected_en}",
    },
    "field_invalid": {
        "id": "{detail}",
        "en": "{detail}",
    },
    "file_not_found": {
        "id": "file tidak ditemukan: {path}",
        "en": "file not found: {path}",
    },
    "rubric_not_found": {
        "id": "rubrik {name!r} tidak ditemukan sebagai file maupun rubrik bawaan; rubrik bawaan: {available}",
        "en": "rubric {name!r} is neither a file nor a built-in rubric; built-in rubrics: {available}",
    },
    "unknown_component": {
        "id": "{kind} {name!r} tidak terdaftar; yang tersedia: {available}",
        "en": "unknown {kind} {name!r}; available: {available}",
    },
    # --- ratings / roster problems ---------------------------------------
    "file_unreadable": {
        "id": "file tidak dapat dibaca: {detail}",
        "en": "cannot read the file: {detail}",
    },
    "file_not_utf8": {
        "id": "file bukan UTF-8; di Excel simpan sebagai \"CSV UTF-8 (Comma delimited)\" ({detail})",
        "en": "the file is not UTF-8; in Excel save it as \"CSV UTF-8 (Comma delimited)\" ({detail})",
    },
    "rollup_not_a_run": {
        "id": "bukan folder hasil `appraisal run`: results.csv atau manifest.json tidak ada (jalankan dengan --format csv)",
        "en": "not an `appraisal run` output folder: results.csv or manifest.json is missing (run with --format csv)",
    },
    "rollup_changed_since_run": {
        "id": "isi file berubah sejak dijalankan (SHA-256 tidak sama dengan manifest.json); jalankan ulang instansi ini",
        "en": "the file changed after the run wrote it (SHA-256 differs from manifest.json); run this agency again",
    },
    "rollup_agency_twice": {
        "id": "nama instansi {agency!r} dipakai dua folder; beri nama folder yang berbeda",
        "en": "agency name {agency!r} is used by two folders; give the folders different names",
    },
    "rollup_other_rubric": {
        "id": "dinilai dengan rubrik lain ({rubric!r}) dari {first} ({first_rubric!r}); nilai dan kategorinya tidak dapat digabung",
        "en": "scored with another rubric ({rubric!r}) than {first} ({first_rubric!r}); scores and categories cannot be merged",
    },
    "rollup_other_columns": {
        "id": "kolomnya berbeda dengan {first}",
        "en": "its columns differ from {first}",
    },
    "rollup_employee_twice": {
        "id": "pegawai {employee!r} juga dinilai oleh instansi {other!r}",
        "en": "employee {employee!r} is also appraised by agency {other!r}",
    },
    "unknown_format": {
        "id": "format file {suffix!r} tidak dikenal; format yang didukung: {available}",
        "en": "unknown file format {suffix!r}; supported formats: {available}",
    },
    "column_missing": {
        "id": "kolom wajib {column!r} tidak ada; kolom yang ditemukan: {found}",
        "en": "required column {column!r} is missing; columns found: {found}",
    },
    "column_duplicate": {
        "id": "kolom {column!r} muncul lebih dari sekali",
        "en": "column {column!r} appears more than once",
    },
    "row_malformed": {
        "id": "baris ini berisi {found} kolom, seharusnya {expected}; periksa pemisah kolom dan tanda kutip",
        "en": "this row has {found} columns instead of {expected}; check the delimiters and quotes",
    },
    "value_blank": {
        "id": "nilai kosong; kolom ini wajib diisi",
        "en": "blank value; this column is required",
    },
    "unknown_relationship": {
        "id": "hubungan {value!r} tidak dikenal; yang diizinkan: {allowed}",
        "en": "unknown relationship {value!r}; allowed: {allowed}",
    },
    "unknown_competency": {
        "id": "kompetensi {value!r} tidak ada di rubrik; yang tersedia: {allowed}",
        "en": "competency {value!r} is not in the rubric; available: {allowed}",
    },
    "unknown_item": {
        "id": "butir {value!r} bukan butir kompetensi {competency!r}; butirnya: {allowed}",
        "en": "item {value!r} is not an item of competency {competency!r}; its items: {allowed}",
    },
    "item_required": {
        "id": "kompetensi {competency!r} dinilai per butir; isi kolom item dengan salah satu: {allowed}",
        "en": "competency {competency!r} is rated per item; fill the item column with one of: {allowed}",
    },
    "item_not_allowed": {
        "id": "kompetensi {competency!r} tidak memiliki butir; kosongkan kolom item (berisi {value!r})",
        "en": "competency {competency!r} has no items; leave the item column blank (it holds {value!r})",
    },
    "score_not_numeric": {
        "id": "skor {value!r} bukan angka dan bukan kode 'tidak teramati' ({codes})",
        "en": "score {value!r} is not a number nor a 'not observed' code ({codes})",
    },
    "score_out_of_scale": {
        "id": "skor {value} di luar skala {min}–{max}",
        "en": "score {value} is outside the scale {min}–{max}",
    },
    "score_not_whole": {
        "id": "skor {value} bukan bilangan bulat; skala rubrik hanya menerima nilai bulat",
        "en": "score {value} is not a whole number; the rubric scale accepts whole points only",
    },
    "self_rater_differs": {
        "id": "hubungan 'self' tetapi penilai ({rater}) bukan pegawai yang dinilai ({ratee})",
        "en": "relationship is 'self' but the rater ({rater}) is not the ratee ({ratee})",
    },
    "rater_is_ratee": {
        "id": "penilai sama dengan pegawai yang dinilai tetapi hubungannya {relationship!r}, bukan 'self'",
        "en": "the rater is the ratee but the relationship is {relationship!r}, not 'self'",
    },
    "ratee_not_in_roster": {
        "id": "pegawai {value!r} tidak ada di daftar pegawai ({roster})",
        "en": "employee {value!r} is not in the roster ({roster})",
    },
    "relationship_conflict": {
        "id": "penilai ini sudah menilai pegawai yang sama sebagai {relationship!r} di baris {first}; satu penilai hanya punya satu hubungan",
        "en": "this rater already rated the same employee as {relationship!r} on row {first}; a rater has one relationship",
    },
    "duplicate_rating": {
        "id": "penilaian ganda: sama persis dengan baris {first} (penilai, pegawai, kompetensi, butir sama); baris {first} dipakai",
        "en": "duplicate rating: identical to row {first} (same rater, ratee, competency, item); row {first} is used",
    },
    "conflicting_rating": {
        "id": "penilaian ganda dengan skor berbeda di baris {rows} (penilai, pegawai, kompetensi, butir sama); tidak ada yang dipakai",
        "en": "conflicting duplicate ratings on rows {rows} (same rater, ratee, competency, item); none is used",
    },
    "supervisor_mismatch": {
        "id": "penilai {rater!r} tercatat sebagai atasan, tetapi di daftar pegawai atasan {ratee!r} adalah {expected!r}",
        "en": "rater {rater!r} rates as supervisor, but the roster lists {expected!r} as the supervisor of {ratee!r}",
    },
    "roster_duplicate_id": {
        "id": "employee_id {value!r} sudah ada di baris {first}",
        "en": "employee_id {value!r} already appears on row {first}",
    },
    "roster_unknown_supervisor": {
        "id": "supervisor_id {value!r} tidak ada di daftar pegawai",
        "en": "supervisor_id {value!r} is not in the roster",
    },
    "roster_unknown_position": {
        "id": "jabatan {value!r} tidak cocok dengan profil jabatan mana pun di rubrik; analisis kesenjangan tidak tersedia untuk pegawai ini",
        "en": "position {value!r} matches no position profile in the rubric; gap analysis is unavailable for this employee",
    },
    "input_unknown_employee": {
        "id": "pegawai {value!r} tidak ada dalam penilaian ini",
        "en": "employee {value!r} is not in this appraisal",
    },
    "input_bad_choice": {
        "id": "nilai {value!r} tidak dikenal; yang diizinkan: {allowed}",
        "en": "unknown value {value!r}; allowed: {allowed}",
    },
    "input_duplicate": {
        "id": "{key} {value!r} sudah ada di baris {first} dengan isi yang sama; baris {first} dipakai",
        "en": "{key} {value!r} already appears on row {first} with the same content; row {first} is used",
    },
    "input_conflict": {
        "id": "{key} {value!r} muncul di beberapa baris dengan isi berbeda ({rows}); tidak ada yang dipakai",
        "en": "{key} {value!r} appears on several rows with different content ({rows}); none is used",
    },
    "input_column_clash": {
        "id": "kolom {column!r} sudah ada di daftar pegawai; hapus salah satunya",
        "en": "column {column!r} is also in the roster; remove one of them",
    },
    "unknown_input": {
        "id": "tabel masukan {name!r} tidak dikenal; yang tersedia: {available}",
        "en": "unknown input table {name!r}; available: {available}",
    },
    "several_cycles": {
        "id": "file berisi lebih dari satu periode penilaian: {cycles}",
        "en": "the file holds more than one appraisal cycle: {cycles}",
    },
    "and_more": {
        "id": "… dan {count} masalah lainnya",
        "en": "… and {count} more problems",
    },
}


def render(code: str, lang: Lang, params: dict[str, Any]) -> str:
    """Render catalogue entry ``code`` in ``lang`` with ``params``."""
    return CATALOGUE[code][lang].format(**params)


@dataclass(frozen=True)
class Message:
    """A sentence for people, kept as code + parameters until it is shown."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise KeyError(f"message code {self.code!r} is not in the catalogue")

    def text(self, lang: Lang = DEFAULT_LANG) -> str:
        return render(self.code, lang, self.params)


def choose(text: dict[str, str] | str | None, lang: Lang) -> str:
    """Pick ``lang`` from a bilingual mapping, falling back to Indonesian."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get(DEFAULT_LANG) or next(iter(text.values()), "")


def join_values(values: list[str] | tuple[str, ...], limit: int = 12) -> str:
    """Comma-join for messages, cut after ``limit`` values so one line stays readable."""
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", … (+{len(values) - limit})" if len(values) > limit else "")
