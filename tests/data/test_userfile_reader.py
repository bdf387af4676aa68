"""The one reader of user CSVs (issue #17, items 1 and 2): line ends, quoting, physical
lines, separators, header, strict numbers and their bounds from numpy.finfo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acu_meta.data.userfile import (
    COUNT_MAX,
    SCALE_MIN,
    SQUARE_MAX,
    VARIANCE_MIN,
    InputError,
    parse_number,
    read_csv,
    read_network_csv,
    read_study_csv,
)

STUDIES = "study,yi,vi\nA,0.1,0.01\nB,-0.25,0.04\nC,1e-3,2.5E-2\n"


def _file(tmp_path, content: str | bytes, name: str = "s.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ------------------------------------------------------------------------------ line ends


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["CRLF", "CR"])
def test_every_line_ending_reads_the_same(tmp_path, ending):
    lf = read_study_csv(_file(tmp_path, STUDIES, "lf.csv"))
    other = read_study_csv(_file(tmp_path, STUDIES.replace("\n", ending), "other.csv"))
    assert other.study == lf.study == ("A", "B", "C")
    assert other.columns == lf.columns == {"yi": (0.1, -0.25, 0.001), "vi": (0.01, 0.04, 0.025)}
    assert other.lines == lf.lines == (2, 3, 4)


def test_stray_cr_in_a_field_is_blank_space(tmp_path):
    t = read_study_csv(_file(tmp_path, "study,yi,vi\nA\r,0.1,0.01\r\nB,0.2\r,0.02\n"))
    assert t.study == ("A", "B") and t.columns["yi"] == (0.1, 0.2)


def test_stray_cr_inside_a_number_is_named(tmp_path):
    path = _file(tmp_path, "study,yi,vi\nA,0.\r1,0.01\n")
    with pytest.raises(InputError, match=r"line 2, column 'yi': '0.\\r1' is not a number"):
        read_study_csv(path)


def test_field_longer_than_the_csv_module_limit(tmp_path):
    label = "L" * 140_000  # csv's default field_size_limit is 131,072
    t = read_study_csv(_file(tmp_path, f"study,yi,vi\n{label},0.1,0.01\n\"{label}\",0.2,0.02\n"))
    assert [len(s) for s in t.study] == [140_000, 140_000]


# ------------------------------------------------------------------------------ quoting, lines


@pytest.mark.parametrize("nl", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_the_physical_line_counts_breaks_inside_quotes(tmp_path, nl):
    text = 'study,yi,vi\n"Smith\n2001",0.1,0.1\nB,x,0.1\n'.replace("\n", nl)
    with pytest.raises(InputError, match=r"s\.csv, line 4, column 'yi': 'x' is not a number"):
        read_study_csv(_file(tmp_path, text))


def test_a_cell_after_a_multiline_label_is_on_the_label_s_last_line(tmp_path):
    path = _file(tmp_path, 'study,yi,vi\n"A\n\nB",x,0.1\n')
    with pytest.raises(InputError, match=r"line 4, column 'yi'"):
        read_study_csv(path)
    t = read_csv(_file(tmp_path, 'study,yi,vi\n"A\n\nB",1,0.1\nC,2,0.2\n', "ok.csv"))
    assert [(r.line, r.cell_lines) for r in t.records] == [(2, (2, 4, 4)), (5, (5, 5, 5))]


def test_dropped_row_names_its_physical_line(tmp_path):
    t = read_study_csv(_file(tmp_path, 'study,yi,vi\n"A\nx",0.1,0.1\nB,,0.1\nC,0.2,0.1\n'),
                       drop_missing=True)
    assert t.study == ("A\nx", "C") and t.lines == (2, 5)
    assert t.excluded == (("B", "line 4: missing yi (dropped with --drop-missing)"),)


@pytest.mark.parametrize("text,needle", [
    ('study,yi,vi\nA,"0.1,0.01\nB,0.2,0.02\n',
     r"line 2, column 'yi': a quoted field opens here and is never closed"),
    ('study,yi,vi\nA,"0.1"5,0.01\n', r"line 2, column 'yi': '5' after the closing quote"),
    ('study,yi,vi\n"A\n",0.1,0.01,\n', r"line 2: has 4 cells, the header has 3"),
], ids=["unclosed", "after-quote", "ragged"])
def test_quoting_errors_name_line_and_column(tmp_path, text, needle):
    with pytest.raises(InputError, match=needle):
        read_study_csv(_file(tmp_path, text))


def test_quoted_cells_with_commas_quotes_and_spaces(tmp_path):
    t = read_study_csv(_file(tmp_path, 'study,yi,vi\n"Lee, ""B""" , "0.1" ,0.01\n'))
    assert t.study == ('Lee, "B"',) and t.columns["yi"] == (0.1,)


def test_blank_lines_are_skipped_and_counted(tmp_path):
    with pytest.raises(InputError, match="line 5, column 'vi'"):
        read_study_csv(_file(tmp_path, "study,yi,vi\n\nA,0.1,0.01\n  \nB,0.1,-1\n"))


# ------------------------------------------------------------------------------ whole file


@pytest.mark.parametrize("content,needle", [
    (b"", "file is empty"),
    (b"\n\n  \n", "file is empty"),
    (b"\nstudy,yi,vi\nA,1,1\n", "line 1: the first line is blank; it must be the header"),
    (b"study,yi\x00,vi\n", "binary content"),
    (b"study,yi,vi\nA,\xff,1\n", "not a UTF-8 text CSV file"),
    (b"study,yi,vi\n", "no data rows below the header"),
], ids=["empty", "blank", "blank-first-line", "nul", "latin1", "header-only"])
def test_whole_file_problems_name_the_file(tmp_path, content, needle):
    path = _file(tmp_path, content)
    with pytest.raises(InputError, match=needle) as info:
        read_study_csv(path)
    assert str(info.value).startswith(f"{path}")


def test_bom_is_allowed(tmp_path):
    t = read_study_csv(_file(tmp_path, b"\xef\xbb\xbf" + STUDIES.encode()))
    assert t.study == ("A", "B", "C")


@pytest.mark.parametrize("sep,name", [(";", "semicolons"), ("\t", "tabs")])
def test_other_separators_are_named(tmp_path, sep, name):
    path = _file(tmp_path, STUDIES.replace(",", sep))
    with pytest.raises(InputError, match=rf"line 1: the columns are separated by {name}, not "
                                         "commas") as info:
        read_study_csv(path)
    assert str(info.value).endswith(f"(header found: {'study,yi,vi'.replace(',', sep)!r})")


def test_missing_column_shows_the_header_found_and_the_case(tmp_path):
    with pytest.raises(InputError, match=r"line 1, column 'vi': required column is missing "
                                         r"\(give vi or sei with yi\); found 'VI': column "
                                         r"names are case-sensitive "
                                         r"\(header found: 'study,yi,VI'\)"):
        read_study_csv(_file(tmp_path, "study,yi,VI\nA,1,1\n"))
    with pytest.raises(InputError, match=r"column 'treatment'.*\(header found: 'study,arm,"):
        read_network_csv(_file(tmp_path, "study,arm,events,n\nA,a,1,2\n", "net.csv"))


def test_duplicate_column(tmp_path):
    with pytest.raises(InputError, match=r"line 1, column 'yi': column appears twice"):
        read_study_csv(_file(tmp_path, "study,yi,yi,vi\nA,1,1,1\n"))


# ------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize("text", ["0.5", "-0.5", "+12", ".5", "5.", "1e-3", "-2.5E+4", "0",
                                  "-0", "007", "1E150", "1.3407807929942596e154"])
def test_plain_decimal_and_scientific_notation_are_numbers(text):
    assert parse_number(text, "here") == float(text)


@pytest.mark.parametrize("text,needle", [
    ("1_000", "underscores are not allowed"),
    ("\u0663", r"non-ASCII digit '\u0663', ARABIC-INDIC DIGIT THREE"),
    ("\uff11\uff12\uff10", r"non-ASCII digit '\uff11', FULLWIDTH DIGIT ONE"),
    ("\u22121", "non-ASCII character '\u2212', MINUS SIGN"),
    ("0x1A", "hexadecimal"),
    ("1,000", "thousands separator or decimal comma"),
    ("0,5", "thousands separator or decimal comma"),
    ("1 000", "a space inside"),
    ("inf", "is not a finite number"),
    ("-Infinity", "is not a finite number"),
    ("nan", "is not a finite number"),
    ("1e999", "beyond the largest float"),
    ("1e-400", "below the smallest float"),
    ("1e155", "too large: its square overflows"),
    ("--1", "'--1' is not a number$"),
    ("1e", "'1e' is not a number$"),
    ("", "'' is not a number$"),
], ids=lambda x: x.encode("unicode_escape").decode())
def test_what_a_csv_user_does_not_mean_is_refused_saying_what(text, needle):
    with pytest.raises(InputError, match=rf"^here: .*{needle}"):
        parse_number(text, "here")


def test_the_bounds_are_those_of_numpy_finfo():
    fi = np.finfo(float)
    assert SQUARE_MAX * SQUARE_MAX <= fi.max
    above = math.nextafter(SQUARE_MAX, math.inf)
    assert math.isinf(above * above)
    assert VARIANCE_MIN == fi.tiny and math.isfinite(1 / VARIANCE_MIN)
    assert SCALE_MIN * SCALE_MIN >= fi.tiny
    below = math.nextafter(SCALE_MIN, 0)
    assert below * below < fi.tiny


@pytest.mark.parametrize("column,text,ok", [
    ("vi", repr(VARIANCE_MIN), True),
    ("vi", repr(math.nextafter(VARIANCE_MIN, 0)), False),
    ("vi", "1e-320", False),
    ("vi", "1e-300", True),
    ("vi", repr(SQUARE_MAX), True),
    ("vi", repr(math.nextafter(SQUARE_MAX, math.inf)), False),
    ("sei", "1e308", False),
    ("sei", "1e-160", False),
    ("sei", repr(SCALE_MIN), True),
    ("sei", repr(math.nextafter(SCALE_MIN, 0)), False),
    ("yi", "1e-320", True),
    ("yi", "-1e300", False),
])
def test_variances_and_ses_whose_weight_would_overflow_are_refused(tmp_path, column, text, ok):
    other = "sei" if column == "sei" else "vi"
    header = f"study,yi,{other}"
    row = f"A,{text},0.1" if column == "yi" else f"A,0.1,{text}"
    path = _file(tmp_path, f"{header}\n{row}\n")
    if ok:
        assert read_study_csv(path).columns[column] == (float(text),)
        return
    with pytest.raises(InputError, match=rf"line 2, column '{column}': .*too (small|large).*"
                                         r"numpy\.finfo\(float\)"):
        read_study_csv(path)


def test_counts_above_2_to_the_53_are_refused(tmp_path):
    assert COUNT_MAX == 2.0 ** (np.finfo(float).nmant + 1) == 9007199254740992.0
    assert COUNT_MAX - 1 != COUNT_MAX and COUNT_MAX + 1 == COUNT_MAX  # 2**53 + 1 is no float
    header = "study,treat_events,treat_n,control_events,control_n"
    ok = _file(tmp_path, f"{header}\nA,1,9007199254740992,2,20\n", "ok.csv")
    assert read_study_csv(ok).columns["treat_n"] == (COUNT_MAX,)
    bad = _file(tmp_path, f"{header}\nA,1,10,9007199254740994,9007199254740994\n")
    with pytest.raises(InputError, match=r"line 2, column 'control_events': event count "
                                         r"9007199254740994 is too large: above 2\*\*53"):
        read_study_csv(bad)


# ------------------------------------------------------------------------------ network files


def test_network_files_go_through_the_same_reader(tmp_path):
    text = 'study,treatment,mean,sd,n\r"S\r1",A,1,2,10\r"S\r1",B,2,2,10\rS2,A,1,1e160,10\r'
    with pytest.raises(InputError, match=r"line 6, column 'sd': standard deviation 1e160 is "
                                         r"too large: its square overflows"):
        read_network_csv(_file(tmp_path, text, "net.csv"))
    shape, cols = read_network_csv(_file(tmp_path, text.replace("1e160", "1"), "ok.csv"))
    assert shape == "continuous" and cols["study"] == ["S\r1", "S\r1", "S2"]


@pytest.mark.parametrize("cell", ["", "NA", "NaN"])
def test_network_missing_value(tmp_path, cell):
    path = _file(tmp_path, f"study,treatment,events,n\nA,a,1,10\nA,b,{cell},10\n", "net.csv")
    with pytest.raises(InputError, match=r"line 3, column 'events': missing value"):
        read_network_csv(path)
