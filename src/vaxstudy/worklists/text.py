"""Every word the worklists show, in Vietnamese (default) and English.

Sheet titles, column headings, value labels, the instructions sheet and the README
of the worklists folder. Columns: (key, Vietnamese, English, width, kind) where kind
says how a cell is written (text, date, int, prob).
"""

from __future__ import annotations

LANGUAGES = ("vi", "en")

SHEETS = {
    "guide": ("Hướng dẫn", "Instructions"),
    "subjects": ("Trùng đối tượng", "Duplicate subjects"),
    "doses": ("Mũi tiêm nhập trùng", "Duplicate doses"),
    "identity": ("Thiếu - sai định danh", "Missing - wrong identity"),
    "unlinked": ("Không có trong CSDL dân cư", "Not in the register"),
    "tally": ("Liều chưa nhập", "Doses not entered"),
    "summary": ("Tổng hợp", "Summary"),
    "reconcile": ("Đối chiếu chỉ số", "Reconciliation"),
}
# sheet 3's full Vietnamese title has a "/" ("Thiếu / sai định danh"), which Excel forbids in a
# sheet name; the title row of the sheet shows the full title
TITLES = {
    "subjects": ("1. Trùng đối tượng: các hồ sơ là cùng một người", "1. Duplicate subjects: profiles that are one person"),
    "doses": ("2. Mũi tiêm nhập trùng: mũi cần xoá", "2. Duplicate doses: rows to delete"),
    "identity": ("3. Thiếu / sai định danh so với CSDL dân cư", "3. Missing / wrong identity fields against the register"),
    "unlinked": ("4. Không tìm thấy trong CSDL dân cư", "4. Not found in the population register"),
    "tally": ("5. Liều chưa nhập: sổ giấy nhiều hơn số đã nhập", "5. Doses not entered: paper tally above doses entered"),
}

DONE = ("Đã xử lý (ghi x)", "Done (mark x)")
CHECK = ("Kết quả kiểm tra", "Result of the check")

COLUMNS = {
    "subjects": [
        ("group", "Nhóm", "Group", 7, "int"),
        ("role", "Việc cần làm", "Action", 22, "text"),
        ("subject_id", "Mã đối tượng", "Subject ID", 14, "text"),
        ("target_subject_id", "Gộp vào mã đối tượng", "Merge into subject", 16, "text"),
        ("full_name", "Họ tên (đã nhập)", "Name (as entered)", 24, "text"),
        ("date_of_birth", "Ngày sinh (đã nhập)", "Date of birth (as entered)", 14, "text"),
        ("sex", "Giới tính", "Sex", 9, "text"),
        ("id_number", "Số CCCD/CMND", "ID number", 15, "text"),
        ("phone", "Điện thoại", "Phone", 13, "text"),
        ("n_rows", "Số mũi", "Doses", 7, "int"),
        ("site_id", "Mã điểm tiêm", "Site ID", 12, "text"),
        ("site_name", "Tên điểm tiêm", "Site name", 34, "text"),
        ("differs", "Khác với hồ sơ giữ lại", "Differs from the kept profile", 24, "text"),
        ("probability", "Xác suất là cùng người", "Probability same person", 12, "prob"),
    ],
    "doses": [
        ("record_id", "Mã mũi tiêm cần xoá", "Row to delete", 15, "text"),
        ("subject_id", "Mã đối tượng", "Subject ID", 14, "text"),
        ("full_name", "Họ tên (đã nhập)", "Name (as entered)", 24, "text"),
        ("date_of_birth", "Ngày sinh (đã nhập)", "Date of birth (as entered)", 14, "text"),
        ("dose", "Mũi số", "Dose", 7, "int"),
        ("vdate", "Ngày tiêm", "Vaccination date", 12, "date"),
        ("entered_date", "Ngày nhập", "Entered on", 12, "date"),
        ("site_id", "Mã điểm tiêm", "Site ID", 12, "text"),
        ("site_name", "Tên điểm tiêm", "Site name", 34, "text"),
        ("original_record_id", "Trùng với mũi tiêm (giữ lại)", "Repeats row (keep)", 16, "text"),
        ("orig_subject_id", "Mã đối tượng của mũi giữ lại", "Its subject ID", 14, "text"),
        ("orig_vdate", "Ngày tiêm của mũi giữ lại", "Its vaccination date", 12, "date"),
        ("orig_entered_date", "Ngày nhập của mũi giữ lại", "Its entry date", 12, "date"),
        ("same_subject", "Cùng hồ sơ", "Same profile", 9, "text"),
        ("probability", "Xác suất là nhập trùng", "Probability duplicate", 12, "prob"),
    ],
    "identity": [
        ("record_id", "Mã mũi tiêm", "Row ID", 13, "text"),
        ("subject_id", "Mã đối tượng", "Subject ID", 14, "text"),
        ("full_name", "Họ tên (đã nhập)", "Name (as entered)", 24, "text"),
        ("field", "Trường cần sửa", "Field", 14, "text"),
        ("problem", "Vấn đề", "Problem", 18, "text"),
        ("current_value", "Giá trị hiện tại", "Current value", 22, "text"),
        ("proposed_value", "Giá trị theo CSDL dân cư", "Register value", 22, "text"),
        ("person_id", "Số định danh trong CSDL", "Register person ID", 15, "text"),
        ("site_id", "Mã điểm tiêm", "Site ID", 12, "text"),
        ("site_name", "Tên điểm tiêm", "Site name", 34, "text"),
        ("probability", "Độ tin cậy", "Confidence", 11, "prob"),
    ],
    "unlinked": [
        ("record_id", "Mã mũi tiêm", "Row ID", 13, "text"),
        ("subject_id", "Mã đối tượng", "Subject ID", 14, "text"),
        ("full_name", "Họ tên (đã nhập)", "Name (as entered)", 24, "text"),
        ("date_of_birth", "Ngày sinh (đã nhập)", "Date of birth (as entered)", 14, "text"),
        ("sex", "Giới tính", "Sex", 9, "text"),
        ("id_number", "Số CCCD/CMND", "ID number", 15, "text"),
        ("phone", "Điện thoại", "Phone", 13, "text"),
        ("residence", "Nơi ở đã nhập (tỉnh/huyện/xã)", "Residence typed (prov/dist/commune)", 20, "text"),
        ("non_resident", "Có thể không cư trú tại tỉnh", "Looks like a non-resident", 14, "text"),
        ("vdate", "Ngày tiêm", "Vaccination date", 12, "date"),
        ("dose", "Mũi số", "Dose", 7, "int"),
        ("site_id", "Mã điểm tiêm", "Site ID", 12, "text"),
        ("task", "Việc cần làm", "Action", 22, "text"),
        ("incomplete_person_id", "Có trong CSDL, thiếu ngày sinh (số định danh)",
         "In the register, no date of birth (person ID)", 16, "text"),
        ("best_person_id", "Người có thể là (số định danh)", "Best register candidate", 16, "text"),
        ("cand_name", "Họ tên người đó", "Candidate's name", 24, "text"),
        ("cand_dob", "Ngày sinh người đó", "Candidate's date of birth", 12, "date"),
        ("cand_commune", "Xã của người đó", "Candidate's commune", 10, "text"),
        ("best_q", "Xác suất là người đó", "Probability candidate", 12, "prob"),
        ("probability", "Xác suất không có trong CSDL", "Probability not in register", 12, "prob"),
    ],
    "tally": [
        ("site_id", "Mã điểm tiêm", "Site ID", 12, "text"),
        ("site_name", "Tên điểm tiêm", "Site name", 34, "text"),
        ("site_commune", "Mã xã", "Commune", 9, "text"),
        ("vdate", "Ngày tiêm", "Vaccination date", 12, "date"),
        ("dose", "Mũi số", "Dose", 7, "int"),
        ("tally", "Số liều theo sổ giấy", "Doses on the paper tally", 12, "int"),
        ("distinct", "Số liều đã nhập (không trùng)", "Distinct doses entered", 14, "int"),
        ("gap", "Cần nhập thêm", "Doses to enter", 11, "int"),
        ("probability", "Xác suất số liệu đúng", "Probability count exact", 12, "prob"),
    ],
}

VALUES = {
    "keep": ("Giữ lại hồ sơ này", "Keep this profile"),
    "merge": ("Gộp vào hồ sơ giữ lại", "Merge into the kept profile"),
    "empty": ("Để trống", "Empty"),
    "incomplete": ("Chỉ có năm sinh", "Year only"),
    "differs": ("Khác CSDL dân cư", "Differs from register"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "id_number": ("Số CCCD/CMND", "ID number"),
    "date_of_birth": ("Ngày sinh", "Date of birth"),
    "sex": ("Giới tính", "Sex"),
    "full_name": ("Họ tên", "Name"),
    "phone": ("Điện thoại", "Phone"),
    "commune_code": ("Xã", "Commune"),
    "M": ("Nam", "Male"),
    "F": ("Nữ", "Female"),
    "unknown_prob": ("chưa rõ", "unknown"),
    "check_residence": ("Kiểm tra nơi cư trú", "Check the residence"),
    "complete_register_entry": ("Bổ sung ngày sinh vào CSDL dân cư (không tạo mới)",
                                "Complete the register entry: date of birth (do not create one)"),
}


def t(key: str, lang: str, table: dict = VALUES) -> str:
    """The label of ``key`` in ``lang`` (the key itself when none)."""
    pair = table.get(key)
    return key if pair is None else pair[0 if lang == "vi" else 1]


GUIDE = {
    "vi": [
        ("Danh sách làm sạch dữ liệu tiêm chủng", "title"),
        ("Tỉnh {province}, huyện {district}, giai đoạn {start} đến {end}. Lập ngày {made}.", ""),
        ("Tệp này chứa dữ liệu cá nhân: chỉ chuyển cho cán bộ được giao làm sạch dữ liệu của huyện/xã; "
         "không gửi qua thư điện tử công cộng, không in để nơi công cộng; xoá khi đã xử lý xong.", "warn"),
        ("Mỗi trang là một loại việc. Các dòng đã xếp theo mức ảnh hưởng: làm từ trên xuống. Cột xác suất cho biết "
         "mức chắc chắn của gợi ý (1 = chắc chắn); dòng có xác suất dưới 0,99 hoặc 'chưa rõ' cần xem kỹ hồ sơ "
         "trước khi sửa. Làm xong một dòng, ghi x vào cột 'Đã xử lý'.", ""),
        ("1. Trùng đối tượng: một người có nhiều hồ sơ. Giữ hồ sơ ghi 'Giữ lại', gộp các hồ sơ cùng nhóm vào đó "
         "(các mũi tiêm chuyển sang hồ sơ giữ lại). Cột 'Khác với hồ sơ giữ lại' chỉ các trường cần đối chiếu.", ""),
        ("2. Mũi tiêm nhập trùng: một mũi được nhập hai lần. Xoá mũi ở cột đầu; giữ mũi ở cột 'Trùng với mũi tiêm'.",
         ""),
        ("3. Thiếu / sai định danh: sửa trường ghi ở cột 'Trường cần sửa' thành 'Giá trị theo CSDL dân cư', "
         "sau khi đối chiếu với giấy tờ của người tiêm.", ""),
        ("4. Không có trong CSDL dân cư: không tìm thấy người này trong CSDL dân cư. Kiểm tra tại thực địa: "
         "nếu là 'Người có thể là', sửa thông tin theo CSDL; nếu không cư trú tại tỉnh, ghi vào cột kiểm tra.", ""),
        ("5. Liều chưa nhập: sổ tiêm giấy của điểm tiêm ghi nhiều liều hơn số đã nhập. Nhập thêm số liều "
         "ở cột 'Cần nhập thêm' từ sổ giấy của ngày đó.", ""),
        ("Ngày ghi theo dd/mm/yyyy. Mã huyện, mã xã theo danh mục hành chính của Tổng cục Thống kê.", ""),
    ],
    "en": [
        ("Vaccination data cleaning worklists", "title"),
        ("Province {province}, district {district}, period {start} to {end}. Made on {made}.", ""),
        ("This file holds personal data: give it only to the staff in charge of cleaning the district's or "
         "commune's data; never send it by public e-mail or leave a print in public; delete it once done.", "warn"),
        ("Each sheet is one kind of task. Lines are sorted by expected impact: work from the top. The "
         "probability column says how sure the suggestion is (1 = certain); check the records before acting on "
         "a line below 0.99 or 'unknown'. When a line is done, mark x in the 'Done' column.", ""),
        ("1. Duplicate subjects: one person has several profiles. Keep the profile marked 'Keep', merge the "
         "others of the group into it (their doses move to the kept profile).", ""),
        ("2. Duplicate doses: a dose typed twice. Delete the row of the first column; keep the row it repeats.",
         ""),
        ("3. Missing / wrong identity: set the field to the register's value, after checking the person's papers.",
         ""),
        ("4. Not in the register: check in the field; if it is the candidate shown, correct the identity; if the "
         "person does not live in the province, say so in the check column.", ""),
        ("5. Doses not entered: the site's paper tally holds more doses than were entered; enter the missing "
         "ones from that day's paper records.", ""),
        ("Dates are dd/mm/yyyy. District and commune codes are the GSO codes.", ""),
    ],
}

README = {
    "vi": """# Danh sách làm sạch dữ liệu (dữ liệu cá nhân, hạn chế)

Thư mục này chứa danh sách việc cần làm để làm sạch dữ liệu tiêm chủng của tỉnh {province},
giai đoạn {start} đến {end}, lập từ lần chạy `{run}`.

- `district_<mã huyện>.xlsx`: một tệp cho mỗi huyện (theo huyện của điểm tiêm).
- `summary_{province}.xlsx`: số việc của mỗi huyện và đối chiếu với metrics.json.
- `corrections.csv`: cùng các việc, dạng máy đọc được (xem CONTRACT §2, "Corrections").

Các tệp chứa họ tên, số CCCD/CMND, ngày sinh, điện thoại: chỉ được chuyển cho cán bộ
được giao làm sạch dữ liệu của tỉnh/huyện/xã tương ứng (mỗi huyện chỉ nhận tệp của huyện mình),
không công bố, không gửi kèm báo cáo, xoá khi đã xử lý xong.
""",
    "en": """# Data-cleaning worklists (personal data, restricted)

This folder holds the task lists for cleaning the vaccination data of province {province},
period {start} to {end}, made from run `{run}`.

- `district_<district code>.xlsx`: one workbook per district (the district of the site).
- `summary_{province}.xlsx`: the number of tasks per district and the reconciliation with metrics.json.
- `corrections.csv`: the same tasks, machine-readable (CONTRACT §2, "Corrections").

They hold names, ID numbers, dates of birth and phones: give them only to the staff in charge
of cleaning the data of that province, district or commune (each district only its own
workbook); never publish them or attach them to a report; delete them once acted on.
""",
}
