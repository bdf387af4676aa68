"""`acu-meta reproduce --data DIR` reads DIR alone, and every analysis honours ``where``: a
number changed in a copy of data/ changes exactly the outputs it feeds (issue #11, item 3)."""

from __future__ import annotations

import math
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from acu_meta import cli
from acu_meta.analyses import lee2004, three_arm

REPO = Path(__file__).resolve().parents[2]

# Every file the interpreter opens while recording (sys.addaudithook "open" events).
_OPENED: list[str] | None = None
_HOOKED = False


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _OPENED is not None and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(os.path.realpath(os.fsdecode(args[0])))


def _record_opens():
    global _HOOKED
    if not _HOOKED:  # an audit hook cannot be removed; one for the session, idle when off
        sys.addaudithook(_audit)
        _HOOKED = True


def _copy_data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(REPO / "data", folder)
    return folder


def _change(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def changed_run(tmp_path_factory):
    """reproduce on a copy of data/ in which GERAC's printed n of the verum arm in Table 4
    (387) reads 386; the repository's data/ made unreachable; every opened file recorded."""
    global _OPENED
    tmp = tmp_path_factory.mktemp("where")
    folder = _copy_data(tmp)
    _change(folder / "proportions.csv", "haake2007,verum,response,6mo,,387,",
            "haake2007,verum,response,6mo,,386,")
    out = tmp / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACU_META_DATA", str(tmp / "no-such-data"))  # the default data, gone
        _record_opens()
        _OPENED = []
        try:
            status = cli.main(["reproduce", "--data", str(folder), "--out", str(out)])
        finally:
            opened, _OPENED = _OPENED, None
    return status, folder, out, opened


def test_reproduce_reads_only_the_data_folder(changed_run):
    status, folder, out, opened = changed_run
    assert status == 0
    repo = os.path.realpath(REPO)
    allowed = [os.path.realpath(REPO / "src"), os.path.realpath(sys.prefix)]
    outside = sorted({p for p in opened if p.startswith(repo + os.sep)
                      and not any(p.startswith(a + os.sep) for a in allowed)})
    assert outside == [], outside  # e.g. data/*.csv or examples/lee2004.csv of the repository
    read = {Path(p).name for p in opened if p.startswith(os.path.realpath(folder) + os.sep)}
    assert {"datapackage.json", "proportions.csv", "pooled_rows.csv"} <= read
    # the example figure needs --examples once --data is given
    assert not (out / "figures" / "lee2004_gosh.png").exists()
    assert (out / "figures" / "madsen2009_rows_funnel.png").exists()


def test_changed_number_changes_what_it_feeds_and_nothing_else(changed_run):
    _, _, out, _ = changed_run
    new = pd.read_csv(out / "reports" / "reproduction.csv").set_index("target_id")
    old = pd.read_csv(REPO / "reports" / "reproduction.csv").set_index("target_id")
    assert list(new.index) == list(old.index)
    moved = set(new.index[new.reproduced != old.reproduced])
    # the verum arm's n feeds its CI and every difference and P with the verum arm
    assert moved == {"gerac_t4_verum_ci_low", "gerac_t4_verum_ci_high",
                     "gerac_t4_rd_verum_conventional", "gerac_t4_rd_verum_conventional_ci_low",
                     "gerac_t4_rd_verum_conventional_ci_high", "gerac_t4_p_verum_conventional",
                     "gerac_t4_rd_verum_sham", "gerac_t4_rd_verum_sham_ci_low",
                     "gerac_t4_rd_verum_sham_ci_high", "gerac_t4_p_verum_sham"}
    # 184/386: the note is formatted from the data, not typed in
    note = new.loc["gerac_t4_verum_ci_low", "note"]
    assert "no k/386 prints as 47.6%" in note and "184/386 is 42.6 to 52.8" in note
    assert "387" not in note
    claims = (out / "reports" / "article-claims.csv").read_text()
    assert "verum 47.7%" in claims  # 184/386; 47.5% with 387
    assert (out / "reports" / "data-checks.md").read_text() != (
        REPO / "reports" / "data-checks.md").read_text()


def test_madsen_rows_read_where(tmp_path):
    folder = _copy_data(tmp_path)
    _change(folder / "pooled_rows.csv", "bland_madsen_verum_placebo,Brinkhaus,SMD,9.3,-0.32,",
            "bland_madsen_verum_placebo,Brinkhaus,SMD,9.3,-0.42,")
    new, old = three_arm.madsen2009_rows(folder), three_arm.madsen2009_rows()
    i = list(old.studies).index("Brinkhaus")
    assert new.yi[i] == pytest.approx(-0.42) and old.yi[i] == pytest.approx(-0.32)
    assert new.estimate != old.estimate


def test_lee2004_reads_the_csv_it_is_given(tmp_path):
    path = tmp_path / "lee.csv"
    shutil.copy(lee2004.EXAMPLE, path)
    _change(path, "Agarwal 2000,18,100,", "Agarwal 2000,10,100,")  # treatment events 18 -> 10
    new, old = lee2004.effect_sizes(path), lee2004.effect_sizes()
    assert new.yi[0] == pytest.approx(old.yi[0] + math.log(10 / 18), abs=1e-12)
    assert list(new.yi[1:]) == list(old.yi[1:])


def test_reproduce_examples_must_be_a_folder(tmp_path, capsys):
    status = cli.main(["reproduce", "--data", str(REPO / "data"), "--out", str(tmp_path),
                       "--examples", str(tmp_path / "nosuch")])
    assert status == 2 and "--examples is not a folder" in capsys.readouterr().err
