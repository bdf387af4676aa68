"""Issue #14's acceptance: a metafor-style session runs end to end. DataFrame in (dat.bcg with
metadat's column names), ``escalc(data=)``, formula moderators, ``predict(newmods, transf =
exp)``, ``anova`` (Wald and likelihood-ratio), a permutation test, and a forest plot of the
pooled model with the study labels of the data. The numbers are checked against metafor 3.8.1
(``tests/fixtures/metafor_api.json``, ``validation/metafor/api_reference.R``) and by a second
route inside acu_meta.

The same session in R::

    dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    res <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat)
    predict(res, newmods = cbind(c(10, 30, 50), c(0, 1, 0), c(0, 0, 1)), transf = exp)
    anova(res, btt = 3:4)
    anova(rma(yi, vi, mods = ~ ablat + factor(alloc), data = dat, method = "ML"),
          rma(yi, vi, mods = ~ ablat, data = dat, method = "ML"))
    permutest(rma(yi, vi, mods = ~ ablat, data = dat[1:6, ]), exact = TRUE)
    forest(rma(yi, vi, data = dat, test = "knha"), atransf = exp)
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from _helpers import fixture_json  # noqa: E402
from _metafor import REF, assert_close  # noqa: E402
from tolerances import CLOSED_FORM, ITERATIVE, SECOND_ROUTE  # noqa: E402

import acu_meta as am  # noqa: E402
from acu_meta import plots  # noqa: E402

API = fixture_json("metafor_api.json")


def dat_bcg() -> pd.DataFrame:
    d = REF["datasets"]["bcg"]
    return pd.DataFrame({"trial": np.arange(1, 14), "author": d["study"], "tpos": d["ai"],
                         "tneg": d["bi"], "cpos": d["ci"], "cneg": d["di"],
                         "ablat": d["mod"], "alloc": d["group"]})


def test_metafor_style_session_end_to_end():
    df = dat_bcg()
    dat = am.escalc("RR", data=df, ai="tpos", bi="tneg", ci="cpos", di="cneg", slab="author")

    res = am.metareg(dat, "~ ablat + C(alloc)")
    for g, w in zip(res.beta, API["reml"]["beta"], strict=True):
        assert_close(g, w, ITERATIVE, "beta")
    assert list(res.data.trial) == list(df.trial)  # the rows used travel with the result

    new = pd.DataFrame({"ablat": [10, 30, 50], "alloc": ["alternate", "random", "systematic"]})
    pred = am.predict(res, new, transf=np.exp)
    for g, w in zip(pred.pred, API["reml"]["predict_exp"]["pred"], strict=True):
        assert_close(g, w, ITERATIVE, "predict(transf = exp)")
    X = np.column_stack([np.ones(3), [10, 30, 50], [0, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(np.log(pred.pred), X @ res.beta, rtol=SECOND_ROUTE)

    wald = am.anova(res, btt="alloc")
    assert_close(wald.QM, API["reml"]["anova_btt34"]["QM"], ITERATIVE, "anova btt = 3:4")
    full = am.metareg(dat, "~ ablat + C(alloc)", method="ML")
    reduced = am.metareg(dat, "~ ablat", method="ML")
    lrt = am.anova(full, reduced)
    assert_close(lrt.LRT, API["lrt_ml"]["LRT"], ITERATIVE, "LRT")
    assert lrt.LRT == pytest.approx(2 * (full.ll - reduced.ll), rel=SECOND_ROUTE)

    six = am.metareg(dat.subset(np.arange(13) < 6), "~ ablat")
    perm = am.permutest(six, exact=True)
    assert_close(perm.QM_p, API["permutest_exact"]["QMp"], CLOSED_FORM, "permutest")
    assert perm.QM == pytest.approx(six.QM, rel=SECOND_ROUTE)

    overall = am.pool(dat, test="knha")
    assert overall.test == "t" and overall.studies == tuple(df.author)
    fig = plots.forest(overall)
    texts = {t.get_text() for t in fig.findobj(matplotlib.text.Text)}
    assert set(df.author) <= texts
    assert any(t.startswith("Test for overall effect: t = ") for t in texts)
    for shown in (res, wald, lrt, perm, pred, overall):
        assert shown.summary() and shown._repr_html_().startswith("<")
    matplotlib.pyplot.close(fig)
