"""Report labels in Vietnamese (default) and English, and number formatting.

Vietnamese writes 1.234,5 (dot for thousands, comma for decimals); English
writes 1,234.5. Every string the report shows comes from `LABELS` through
`t()`, so a missing translation is a KeyError a test catches, never a silent
English word in a Vietnamese report.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

# key -> {"vi": ..., "en": ...}. Strings may hold str.format fields.
LABELS: dict[str, dict[str, str]] = {
    # titles and sections
    "report_title": {
        "vi": "Báo cáo kiểm định dữ liệu tiêm chủng COVID-19 — {province}",
        "en": "COVID-19 vaccination data audit — {province}",
    },
    "report_subtitle": {
        "vi": "Giai đoạn {start} đến {end} · mã tỉnh {code}",
        "en": "Period {start} to {end} · province code {code}",
    },
    "sec_summary": {"vi": "Tóm tắt trong một phút", "en": "One-minute summary"},
    "sec_coverage_district": {"vi": "Tỷ lệ bao phủ theo huyện", "en": "Coverage by district"},
    "sec_coverage_age_sex": {
        "vi": "Tỷ lệ bao phủ theo nhóm tuổi và giới tính",
        "en": "Coverage by age group and sex",
    },
    "sec_entry_gap": {
        "vi": "Liều đã nhập so với liều kiểm đếm theo thời gian",
        "en": "Doses entered vs doses tallied over time",
    },
    "sec_duplicates": {"vi": "Mũi tiêm trùng lặp theo điểm tiêm", "en": "Duplicate doses by site"},
    "sec_linkage": {"vi": "Chẩn đoán liên kết bản ghi", "en": "Record-linkage diagnostics"},
    "sec_quality": {"vi": "Kiểm định chất lượng dữ liệu", "en": "Data-quality audit"},
    "sec_methods": {"vi": "Phương pháp và lưu ý", "en": "Methods and caveats"},
    "sec_manifest": {"vi": "Thông tin lần chạy (manifest)", "en": "Run manifest"},
    # headline metrics
    "coverage_dose1": {"vi": "Bao phủ ≥ 1 mũi (ước tính)", "en": "Coverage ≥ 1 dose (estimated)"},
    "coverage_dose2": {"vi": "Bao phủ ≥ 2 mũi (ước tính)", "en": "Coverage ≥ 2 doses (estimated)"},
    "coverage_dose1_recorded": {
        "vi": "Bao phủ ≥ 1 mũi (theo phần mềm)",
        "en": "Coverage ≥ 1 dose (as recorded)",
    },
    "coverage_dose2_recorded": {
        "vi": "Bao phủ ≥ 2 mũi (theo phần mềm)",
        "en": "Coverage ≥ 2 doses (as recorded)",
    },
    "duplicate_subject_rate": {
        "vi": "Tỷ lệ hồ sơ trùng người",
        "en": "Duplicate-profile rate",
    },
    "duplicate_dose_rate": {"vi": "Tỷ lệ mũi tiêm nhập trùng", "en": "Duplicate-dose rate"},
    "unlinked_record_rate": {
        "vi": "Tỷ lệ bản ghi không khớp sổ dân cư",
        "en": "Records not matched to the register",
    },
    "missing_entry_rate": {
        "vi": "Tỷ lệ liều tiêm chưa được nhập",
        "en": "Doses given but not entered",
    },
    "late_entry_rate": {
        "vi": "Chưa nhập (dự kiến sẽ nhập)",
        "en": "Not yet entered (expected)",
    },
    "never_entered_rate": {
        "vi": "Có thể không bao giờ được nhập",
        "en": "Likely never entered",
    },
    "entry_split": {
        "vi": "Dữ liệu được trích xuất ngày {extract}. Trong {missing} số liều đã kiểm đếm nhưng chưa có trong dữ liệu, "
              "{late} ({late_ci}) là chưa nhập nhưng dự kiến sẽ được nhập (các liều tiêm những ngày cuối vẫn đang "
              "được nhập dần, ước tính từ phân bố độ trễ nhập liệu) và {never} ({never_ci}) có thể sẽ không bao giờ "
              "được nhập.",
        "en": "The export was taken on {extract}. Of the {missing} of tallied doses missing from it, {late} "
              "({late_ci}) are not yet entered but expected (doses of the last days are still being typed in; "
              "estimated from the entry-lag distribution) and {never} ({never_ci}) are likely never entered.",
    },
    "n_records": {"vi": "Số bản ghi", "en": "Records"},
    "n_subjects": {"vi": "Số hồ sơ (subject)", "en": "Profiles (subjects)"},
    "n_persons_est": {"vi": "Số người ước tính", "en": "Estimated persons"},
    # table headers
    "col_metric": {"vi": "Chỉ số", "en": "Measure"},
    "col_value": {"vi": "Giá trị", "en": "Value"},
    "col_interval": {"vi": "Khoảng tin cậy 95%", "en": "95% interval"},
    "col_district": {"vi": "Huyện", "en": "District"},
    "col_group": {"vi": "Nhóm", "en": "Group"},
    "col_site": {"vi": "Điểm tiêm", "en": "Site"},
    "col_records": {"vi": "Số bản ghi", "en": "Records"},
    "col_dup_doses": {"vi": "Mũi nhập trùng", "en": "Duplicate doses"},
    "col_dup_rate": {"vi": "Tỷ lệ trùng", "en": "Duplicate rate"},
    "col_adults": {"vi": "Dân số ≥ 18 tuổi", "en": "Residents aged ≥ 18"},
    "col_week": {"vi": "Tuần bắt đầu", "en": "Week starting"},
    "col_entered": {"vi": "Liều đã nhập", "en": "Doses entered"},
    "col_tallied": {"vi": "Liều kiểm đếm", "en": "Doses tallied"},
    "col_gap": {"vi": "Chênh lệch", "en": "Gap"},
    "col_basis": {"vi": "Căn cứ liên kết", "en": "Link rests on"},
    "col_links": {"vi": "Số liên kết", "en": "Links"},
    "col_share": {"vi": "Tỷ lệ", "en": "Share"},
    "col_score": {"vi": "Điểm lỗi", "en": "Problem score"},
    "col_table": {"vi": "Bảng", "en": "Table"},
    "col_reason": {"vi": "Lý do", "en": "Reason"},
    "col_rows": {"vi": "Số dòng", "en": "Rows"},
    "col_item": {"vi": "Mục", "en": "Item"},
    "q_missing_id": {"vi": "Thiếu số CCCD/CMND", "en": "ID number missing"},
    "q_invalid_id": {"vi": "Số định danh sai dạng", "en": "ID number malformed"},
    "q_invalid_phone": {"vi": "Số điện thoại sai", "en": "Phone invalid"},
    "q_dob_year_only": {"vi": "Chỉ có năm sinh", "en": "Birth year only"},
    "q_no_dob": {"vi": "Thiếu ngày sinh", "en": "Birth date missing"},
    "q_bad_commune": {"vi": "Mã xã không hợp lệ", "en": "Commune code invalid"},
    "q_late_entry": {"vi": "Nhập muộn > 7 ngày", "en": "Entered > 7 days late"},
    "ind_vf_gap": {"vi": "Lệch so với kiểm đếm", "en": "Gap to tallies"},
    "ind_invalid_share": {"vi": "Giá trị không hợp lệ", "en": "Invalid values"},
    "ind_identifiers_empty_share": {"vi": "Thiếu thông tin định danh", "en": "Identifiers empty"},
    "ind_late_share": {"vi": "Nhập muộn > 7 ngày", "en": "Entered > 7 days late"},
    "ind_outlier_day_share": {"vi": "Ngày bất thường", "en": "Outlier days"},
    "zero_checks_text": {
        "vi": "Không phát hiện lỗi nào ở các kiểm tra: {checks}.",
        "en": "No problem found by the checks: {checks}.",
    },
    "col_worst": {"vi": "Vấn đề lớn nhất", "en": "Worst problem"},
    "col_check": {"vi": "Kiểm tra", "en": "Check"},
    "col_domain": {"vi": "Nhóm kiểm tra", "en": "Domain"},
    "dom_completeness": {"vi": "Đầy đủ (ô trống)", "en": "Completeness (empty)"},
    "dom_validity": {"vi": "Hợp lệ", "en": "Validity"},
    "dom_timeliness": {"vi": "Kịp thời", "en": "Timeliness"},
    "dom_consistency": {"vi": "Nhất quán", "en": "Consistency"},
    "worst_sites_text": {
        "vi": "Các điểm tiêm có ít nhất {k} bản ghi, xếp theo điểm lỗi tổng hợp (điểm tệ nhất trước); {n_small} điểm nhỏ hơn không được liệt kê.",
        "en": "Sites with at least {k} records, ordered by the combined problem score (worst first); {n_small} smaller sites are not listed.",
    },
    "dup_sites_text": {
        "vi": "{n_shown} điểm tiêm có số mũi nhập trùng đủ lớn để công bố (được liệt kê dưới đây); {n_hidden} điểm khác có mũi trùng nhưng số đếm bị ẩn.",
        "en": "{n_shown} sites have enough duplicate doses to publish (listed below); {n_hidden} other sites have duplicates whose counts are suppressed.",
    },
    "fig_dup_district": {
        "vi": "Tỷ lệ mũi tiêm nhập trùng theo huyện (khoảng tin cậy 95%)",
        "en": "Duplicate-dose rate by district (95% intervals)",
    },
    "accuracy_text": {
        "vi": "Độ chính xác của liên kết so với dữ liệu đối chứng (chỉ có với dữ liệu tổng hợp hoặc mẫu đã kiểm tra):",
        "en": "Linkage accuracy against known truth (synthetic data or an audited sample only):",
    },
    "link_precision": {"vi": "Liên kết: độ chính xác", "en": "Links: precision"},
    "link_recall": {"vi": "Liên kết: độ nhạy", "en": "Links: recall"},
    "link_f1": {"vi": "Liên kết: F1", "en": "Links: F1"},
    "dup_precision": {"vi": "Mũi trùng: độ chính xác", "en": "Duplicates: precision"},
    "dup_recall": {"vi": "Mũi trùng: độ nhạy", "en": "Duplicates: recall"},
    "dup_f1": {"vi": "Mũi trùng: F1", "en": "Duplicates: F1"},
    # groups
    "sex_M": {"vi": "Nam", "en": "Male"},
    "sex_F": {"vi": "Nữ", "en": "Female"},
    "age_group": {"vi": "Nhóm tuổi", "en": "Age group"},
    "sex": {"vi": "Giới tính", "en": "Sex"},
    "dose1": {"vi": "≥ 1 mũi", "en": "≥ 1 dose"},
    "dose2": {"vi": "≥ 2 mũi", "en": "≥ 2 doses"},
    "basis_id": {"vi": "Số CCCD/CMND trùng khớp", "en": "ID number agrees"},
    "basis_name_dob": {"vi": "Họ tên + ngày sinh", "en": "Name + date of birth"},
    "basis_other": {"vi": "Bằng chứng một phần", "en": "Partial evidence"},
    # figure texts
    "fig_coverage_district": {
        "vi": "Tỷ lệ bao phủ ước tính theo huyện (khoảng tin cậy 95%)",
        "en": "Estimated coverage by district (95% intervals)",
    },
    "fig_coverage_age": {"vi": "Theo nhóm tuổi", "en": "By age group"},
    "fig_coverage_sex": {"vi": "Theo giới tính", "en": "By sex"},
    "fig_entry_gap": {
        "vi": "Liều đã nhập và liều kiểm đếm mỗi tuần",
        "en": "Doses entered and tallied each week",
    },
    "fig_duplicates": {
        "vi": "Tỷ lệ mũi nhập trùng — các điểm tiêm cao nhất",
        "en": "Duplicate-dose rate — highest sites",
    },
    "fig_match_hist": {
        "vi": "Phân bố xác suất khớp của các liên kết",
        "en": "Match probability of the links",
    },
    "fig_match_weights": {
        "vi": "Trọng số khớp của mô hình (log2 m/u)",
        "en": "Model match weights (log2 m/u)",
    },
    "fig_basis": {"vi": "Căn cứ của các liên kết", "en": "What the links rest on"},
    "axis_coverage": {"vi": "Tỷ lệ bao phủ", "en": "Coverage"},
    "axis_doses": {"vi": "Số liều", "en": "Doses"},
    "axis_rate": {"vi": "Tỷ lệ", "en": "Rate"},
    "axis_probability": {"vi": "Xác suất khớp", "en": "Match probability"},
    "axis_count": {"vi": "Số bản ghi", "en": "Records"},
    "axis_weight": {"vi": "Trọng số khớp", "en": "Match weight"},
    "suppressed": {"vi": "ẩn (< {k})", "en": "suppressed (< {k})"},
    "suppressed_note": {
        "vi": "Ô ghi “{mark}” bị ẩn vì số đếm nhỏ hơn {k} hoặc để không thể suy ngược ra ô bị ẩn từ tổng.",
        "en": "Cells shown as “{mark}” are suppressed: a count below {k}, or hidden so that a suppressed cell cannot be recovered from totals.",
    },
    "no_data": {"vi": "Không có dữ liệu.", "en": "No data."},
    "not_available": {
        "vi": "Không có trong kết quả của lần chạy này.",
        "en": "Not available in this run's outputs.",
    },
    # summary sentences
    "summary_coverage": {
        "vi": "Ước tính {d1} người dân từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi (khoảng tin cậy 95%: {d1ci}) và {d2} đã tiêm đủ 2 mũi ({d2ci}). Riêng theo phần mềm, các tỷ lệ này là {r1} và {r2}.",
        "en": "An estimated {d1} of residents aged 18 and over had at least one dose (95% interval {d1ci}) and {d2} had two doses ({d2ci}). Counting only what the software holds, these shares are {r1} and {r2}.",
    },
    "summary_records": {
        "vi": "Trong giai đoạn có {n_records} bản ghi mũi tiêm thuộc {n_subjects} hồ sơ, ước tính của {n_persons} người.",
        "en": "The period holds {n_records} dose records under {n_subjects} profiles, belonging to an estimated {n_persons} persons.",
    },
    "summary_quality": {
        "vi": "{dup_subj} số hồ sơ là một người bị nhập thành nhiều hồ sơ; {dup_dose} bản ghi là mũi tiêm bị nhập trùng; {unlinked} bản ghi không khớp được với sổ dân cư; và {missing} số liều tiêm đã kiểm đếm trên giấy chưa được nhập vào phần mềm.",
        "en": "{dup_subj} of profiles repeat a person already entered under another profile; {dup_dose} of records repeat a dose already recorded; {unlinked} of records could not be matched to the population register; and {missing} of the doses tallied on paper were not in the software.",
    },
    "summary_gap": {
        "vi": "Khoảng chênh giữa bao phủ ước tính và bao phủ theo phần mềm (mũi 1): {gap} điểm phần trăm.",
        "en": "Gap between estimated and recorded dose-1 coverage: {gap} percentage points.",
    },
    "entry_gap_text": {
        "vi": "Tổng cộng {entered} liều đã nhập so với {tallied} liều kiểm đếm trên giấy.",
        "en": "In all, {entered} doses entered against {tallied} doses tallied on paper.",
    },
    "linkage_text": {
        "vi": "{linked} bản ghi được liên kết với một người trong sổ dân cư; {share_id} trong số đó có số định danh trùng khớp, phần còn lại dựa vào họ tên, ngày sinh và địa chỉ.",
        "en": "{linked} records were linked to a resident of the register; {share_id} of those links have a matching ID number, the rest rest on name, date of birth and address.",
    },
    "quality_text": {
        "vi": "Các điểm tiêm được xếp theo điểm lỗi (trung bình các tỷ lệ lỗi dưới đây), điểm tệ nhất trước.",
        "en": "Sites are ordered by their problem score (the mean of the error rates below), worst first.",
    },
    "quarantine_text": {
        "vi": "Các dòng dữ liệu đầu vào không sử dụng được (cách ly), theo lý do:",
        "en": "Input rows that could not be used (quarantined), by reason:",
    },
    # clerical review (vaxstudy review score), shown when metrics.json has a review block
    "review_text": {
        "vi": "Độ chính xác đo trên chính sổ tiêm chủng này bằng rà soát thủ công {n} mục ({unsure} mục không chắc chắn), khoảng tin cậy 95% theo thiết kế mẫu:",
        "en": "Accuracy measured on this registry by review of {n} items ({unsure} unsure), with design-based 95% intervals:",
    },
    "link_precision_est": {"vi": "Liên kết: độ chính xác (rà soát)", "en": "Links: precision (review)"},
    "link_recall_est": {"vi": "Liên kết: độ nhạy (rà soát)", "en": "Links: recall (review)"},
    "dup_subject_precision_est": {"vi": "Hồ sơ trùng người: độ chính xác (rà soát)",
                                  "en": "Duplicate profiles: precision (review)"},
    "dup_dose_precision_est": {"vi": "Mũi trùng: độ chính xác (rà soát)", "en": "Duplicate doses: precision (review)"},
    "unlinked_record_rate_review_adjusted": {
        "vi": "Tỷ lệ bản ghi không có trong sổ dân cư, hiệu chỉnh theo rà soát",
        "en": "Rows not in the register, adjusted by the review",
    },
    "methods_review": {
        "vi": "**Rà soát thủ công.** Độ chính xác của liên kết được đo trên chính sổ tiêm chủng này bằng rà soát {n} mục chọn theo mẫu phân tầng có xác suất chọn được ghi lại (ước lượng Horvitz–Thompson phân tầng, khoảng tin cậy 95% theo thiết kế mẫu). Tỷ lệ bản ghi không có trong sổ dân cư được hiệu chỉnh: 1 − (1 − tỷ lệ) × độ chính xác / độ nhạy.",
        "en": "**Clerical review.** Linkage accuracy was measured on this registry by review of {n} items drawn in a stratified sample with recorded inclusion probabilities (stratified Horvitz–Thompson estimates, design-based 95% intervals). The share of rows not in the register is adjusted as 1 − (1 − rate) × precision / recall.",
    },
    "methods_text": {
        "vi": (
            "**Nguồn dữ liệu.** Bản xuất của phần mềm tiêm chủng (mỗi dòng một mũi tiêm), sổ dân cư (mỗi dòng một người), danh sách điểm tiêm và số liều kiểm đếm trên giấy tại từng điểm.\n\n"
            "**Liên kết bản ghi.** Tên tiếng Việt được chuẩn hoá (Unicode NFC, dấu thanh, dạng không dấu), ngày sinh, số CCCD/CMND, số điện thoại và mã hành chính được chuẩn hoá; sau đó mỗi bản ghi được liên kết xác suất (Splink, mô hình Fellegi–Sunter) với sổ dân cư, và các bản ghi không khớp được nhóm với nhau.\n\n"
            "**Ước tính.** Bao phủ được tính trên dân số từ 18 tuổi trở lên của sổ dân cư, tuổi tính tại ngày cuối giai đoạn. Các liều đã tiêm nhưng chưa nhập (theo số kiểm đếm) được cộng vào để có bao phủ ước tính; khoảng tin cậy 95% đi kèm mỗi tỷ lệ. Khoảng này phản ánh cả sự khác biệt giữa các điểm tiêm và độ bất định của việc liên kết bản ghi: nó cho biết kết quả dao động thế nào với một nhóm điểm tiêm tương tự, nên rộng hơn độ bất định của riêng số liệu đã nhập của tỉnh (khoảng chỉ do liên kết có trong metrics.json, mục linkage_only_ci).\n\n"
            "**Lưu ý.** Số kiểm đếm trên giấy cũng có thể sai; liên kết xác suất có sai số (xem phần chẩn đoán liên kết); người không có trong sổ dân cư không được tính vào mẫu số. "
            "Các ô có số đếm nhỏ hơn {k} bị ẩn (kể cả ẩn thứ cấp) để bảo vệ quyền riêng tư; báo cáo không chứa họ tên, số định danh hay số điện thoại."
        ),
        "en": (
            "**Data.** The vaccination software's export (one row a dose), the population register (one row a resident), the list of vaccination sites, and the doses each site tallied on paper.\n\n"
            "**Record linkage.** Vietnamese names are normalised (Unicode NFC, tone-mark placement, a diacritic-free form), as are dates of birth, CCCD/CMND numbers, phones and administrative codes; every record is then linked probabilistically (Splink, a Fellegi–Sunter model) to the register, and unlinked records are clustered with each other.\n\n"
            "**Estimation.** Coverage is over register residents aged 18 and over, age at the end of the period. Doses given but never entered (from the tallies) are added back for the estimated coverage; each rate carries a 95% interval. The interval holds both the differences between vaccination sites and the uncertainty of the record linkage: it says how the figure would vary over a similar set of sites, so it is wider than the uncertainty of this province's own entries (the linkage-only intervals are in metrics.json, linkage_only_ci).\n\n"
            "**Caveats.** Paper tallies can be wrong too; probabilistic linkage makes errors (see the linkage diagnostics); people missing from the register are not in the denominator. "
            "Counts below {k} are suppressed (with secondary suppression) to protect privacy; the report holds no name, ID number or phone."
        ),
    },
    "manifest_text": {
        "vi": "Tham số, mã kiểm SHA-256 của từng tệp đầu vào, phiên bản phần mềm và thời gian chạy (đầy đủ trong manifest.json bên cạnh báo cáo).",
        "en": "Parameters, SHA-256 of every input file, software versions and timings (in full in manifest.json beside the report).",
    },
    "m_parameter": {"vi": "Tham số", "en": "Parameter"},
    "m_file": {"vi": "Tệp đầu vào", "en": "Input file"},
    "m_package": {"vi": "Gói phần mềm", "en": "Package"},
    "m_version": {"vi": "Phiên bản", "en": "Version"},
    "m_stage": {"vi": "Giai đoạn", "en": "Stage"},
    "m_seconds": {"vi": "Giây", "en": "Seconds"},
    "total": {"vi": "Tổng", "en": "Total"},
    "other": {"vi": "Khác", "en": "Other"},
    # batch index
    "index_title": {"vi": "Danh sách báo cáo tỉnh", "en": "Provincial reports"},
    "index_province": {"vi": "Tỉnh", "en": "Province"},
    "index_period": {"vi": "Giai đoạn", "en": "Period"},
    "index_status": {"vi": "Trạng thái", "en": "Status"},
    "index_ok": {"vi": "hoàn tất", "en": "done"},
    "index_failed": {"vi": "lỗi", "en": "failed"},
    "index_report": {"vi": "Báo cáo", "en": "Report"},
    "index_trend": {"vi": "Xu hướng theo giai đoạn", "en": "Trend across periods"},
    "index_open": {"vi": "mở", "en": "open"},
}


def check_language(language: str) -> str:
    lang = (language or DEFAULT_LANGUAGE).lower()
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, not {language!r}")
    return lang


def t_or(key: str, fallback: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The label `key` if there is one, else `fallback` (for codes of other modules)."""
    return t(key, language) if key in LABELS else fallback


def t(key: str, language: str = DEFAULT_LANGUAGE, **fields: Any) -> str:
    """The label `key` in `language`, with str.format `fields` filled in."""
    text = LABELS[key][check_language(language)]
    return text.format(**fields) if fields else text


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def fmt_number(x: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """1234.5 -> '1.234,5' (vi) or '1,234.5' (en). Missing -> '–'."""
    if _is_missing(x):
        return "–"
    lang = check_language(language)
    s = f"{float(x):,.{decimals}f}"
    if lang == "vi":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return s


def fmt_int(x: Any, language: str = DEFAULT_LANGUAGE) -> str:
    return fmt_number(x, language, 0)


def fmt_pct(x: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.8734 -> '87,3%' (vi) / '87.3%' (en)."""
    if _is_missing(x):
        return "–"
    return fmt_number(float(x) * 100.0, language, decimals) + "%"


def fmt_interval(ci: Any, language: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """[low, high] fractions -> '85,1%–89,0%'; missing -> '–'."""
    if ci is None or len(ci) != 2 or any(_is_missing(v) for v in ci):
        return "–"
    return f"{fmt_pct(ci[0], language, decimals)}–{fmt_pct(ci[1], language, decimals)}"


def fmt_date(d: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """ISO date -> '31/10/2021' (vi) or '31 Oct 2021' (en)."""
    if _is_missing(d):
        return "–"
    if isinstance(d, str):
        d = _dt.date.fromisoformat(d[:10])
    elif isinstance(d, _dt.datetime):
        d = d.date()
    elif hasattr(d, "date") and not isinstance(d, _dt.date):  # pandas Timestamp
        d = d.date()
    if check_language(language) == "vi":
        return d.strftime("%d/%m/%Y")
    return d.strftime("%d %b %Y")


# Data-quality checks of vaxstudy.estimate.quality, by name.
CHECKS: dict[str, dict[str, str]] = {
    "id_invalid": {"vi": "Số định danh sai dạng (không phải CCCD/CMND)", "en": "ID number neither CCCD nor CMND"},
    "id_inconsistent": {"vi": "CCCD không khớp giới tính/năm sinh", "en": "CCCD disagrees with sex / birth year"},
    "phone_invalid": {"vi": "Số điện thoại không hợp lệ", "en": "Phone number invalid"},
    "commune_invalid": {"vi": "Mã xã không hợp lệ", "en": "Commune code invalid"},
    "vaccinated_before_birth": {"vi": "Ngày tiêm trước ngày sinh", "en": "Vaccinated before birth"},
    "age_outside_target": {"vi": "Tuổi ngoài nhóm đích (< 18 hoặc > 110)", "en": "Age outside target (< 18 or > 110)"},
    "dose_number_invalid": {"vi": "Số mũi không hợp lệ", "en": "Dose number invalid"},
    "dose2_too_soon": {"vi": "Mũi 2 quá sớm sau mũi 1", "en": "Dose 2 too soon after dose 1"},
    "dose2_without_dose1": {"vi": "Có mũi 2 nhưng không có mũi 1", "en": "Dose 2 without a dose 1"},
    "before_campaign": {"vi": "Ngày tiêm trước chiến dịch", "en": "Dated before the campaign"},
    "after_period": {"vi": "Ngày tiêm sau giai đoạn", "en": "Dated after the period"},
    "vaccinated_after_entry": {"vi": "Ngày tiêm sau ngày nhập", "en": "Vaccinated after the day of entry"},
    "entered_date_missing": {"vi": "Thiếu ngày nhập", "en": "Entry date missing"},
    "entered_within_1d": {"vi": "Nhập trong 1 ngày", "en": "Entered within 1 day"},
    "entered_within_7d": {"vi": "Nhập trong 7 ngày", "en": "Entered within 7 days"},
    "entered_within_30d": {"vi": "Nhập trong 30 ngày", "en": "Entered within 30 days"},
}
FIELDS: dict[str, dict[str, str]] = {
    "commune_code": {"vi": "mã xã", "en": "commune code"},
    "district_code": {"vi": "mã huyện", "en": "district code"},
    "province_code": {"vi": "mã tỉnh", "en": "province code"},
    "date_of_birth": {"vi": "ngày sinh", "en": "date of birth"},
    "entered_date": {"vi": "ngày nhập", "en": "entry date"},
    "full_name": {"vi": "họ tên", "en": "full name"},
    "id_number": {"vi": "số CCCD/CMND", "en": "ID number"},
    "phone": {"vi": "số điện thoại", "en": "phone"},
    "sex": {"vi": "giới tính", "en": "sex"},
    "vaccine": {"vi": "loại vắc xin", "en": "vaccine"},
}


def check_label(check: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A data-quality check's name in words ('empty:phone' -> 'Trống: số điện thoại'); unknown names as is."""
    lang = check_language(language)
    if check.startswith("empty:"):
        field_name = check.split(":", 1)[1]
        label = FIELDS.get(field_name, {}).get(lang, field_name)
        return ("Trống: " if lang == "vi" else "Empty: ") + label
    return CHECKS.get(check, {}).get(lang, check)
