"""Probe splits by document and the baselines, against scikit-learn.

* strata_probe_group_kfold == sklearn.model_selection.GroupKFold (fold of every
  row, with distinct group sizes where sklearn's order is fully determined);
* strata_probe_group_split keeps every group on one side, with
  ceil(test_fraction * G) test groups (GroupShuffleSplit's count);
* evaluate(groups=..., group="doc"): CV accuracy equals
  cross_val_score(LogisticRegression, cv=GroupKFold) fold by fold within one row
  per fold (same objective, standardize=False, tight tolerances); balanced
  accuracy and the majority baseline equal sklearn's balanced_accuracy_score /
  DummyClassifier(strategy="most_frequent") on the same split;
* document-level labels leak through a row split: with features that identify
  the document and labels drawn per document, a row split scores far above
  chance while the default (auto -> by document) scores near chance.
"""
import numpy as np
import pytest

import strata
from strata import _lib

sk = pytest.importorskip("sklearn", reason="scikit-learn not installed")
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.model_selection import GroupKFold  # noqa: E402


def lib():
    L = _lib.load()
    L.need("strata_probe_group_kfold", "strata_probe_group_split")
    return L


def c_group_kfold(y_cls, groups, k):
    cls = np.ascontiguousarray(y_cls, np.int32)
    g = np.ascontiguousarray(groups, np.int64)
    fold = np.zeros(len(cls), np.int8)
    assert lib().strata_probe_group_kfold(cls.ctypes.data, g.ctypes.data, len(cls), k,
                                          fold.ctypes.data) == 0
    return fold


def c_group_split(y_cls, groups, frac, seed):
    cls = np.ascontiguousarray(y_cls, np.int32)
    g = np.ascontiguousarray(groups, np.int64)
    test = np.zeros(len(cls), np.uint8)
    assert lib().strata_probe_group_split(cls.ctypes.data, g.ctypes.data, len(cls), frac, seed,
                                          test.ctypes.data) == 0
    return test.astype(bool)


def docs_with_sizes(sizes, seed):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)      # arbitrary ids
    perm = rng.permutation(len(groups))                            # rows not contiguous
    return groups[perm]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_group_kfold_equals_sklearn(k):
    rng = np.random.default_rng(k)
    sizes = rng.permutation(np.arange(5, 5 + 23))                 # distinct sizes
    groups = docs_with_sizes(sizes, k)
    cls = rng.integers(0, 2, len(groups))
    fold = c_group_kfold(cls, groups, k)
    want = np.full(len(groups), -1)
    for f, (_, te) in enumerate(GroupKFold(n_splits=k).split(groups, groups=groups)):
        want[te] = f
    np.testing.assert_array_equal(fold, want)


def test_group_kfold_ties_and_unlabelled_rows():
    groups = docs_with_sizes([10] * 12, 1)
    cls = np.zeros(len(groups), np.int32)
    cls[::7] = -1                                                  # unlabelled rows
    fold = c_group_kfold(cls, groups, 4)
    assert (fold[cls < 0] == -1).all()
    for g in np.unique(groups):
        assert len(set(fold[(groups == g) & (cls >= 0)])) == 1     # group whole
    sizes = np.bincount(fold[fold >= 0])
    assert sizes.max() - sizes.min() <= 10                         # balanced to one group
    # fewer groups than folds: refused
    g2 = np.repeat([1, 2], 5)
    c2 = np.zeros(10, np.int32)
    fold2 = np.zeros(10, np.int8)
    assert lib().strata_probe_group_kfold(c2.ctypes.data, g2.astype(np.int64).ctypes.data, 10, 3,
                                          fold2.ctypes.data) != 0


@pytest.mark.parametrize("frac,seed", [(0.2, 0), (0.25, 7), (0.5, 3)])
def test_group_split_keeps_groups_whole(frac, seed):
    sizes = np.arange(3, 3 + 17)
    groups = docs_with_sizes(sizes, seed)
    cls = np.random.default_rng(seed).integers(0, 3, len(groups))
    test = c_group_split(cls, groups, frac, seed)
    test_groups = set(groups[test])
    assert test_groups.isdisjoint(set(groups[~test]))
    assert len(test_groups) == int(np.ceil(frac * len(sizes)))    # GroupShuffleSplit count
    assert (c_group_split(cls, groups, frac, seed) == test).all()  # seeded
    assert (c_group_split(cls, groups, frac, seed + 1) != test).any()


def doc_data(n_docs, rows, d, seed, leak=True):
    """Each document: a label drawn per document and a document-specific offset
    in the features (what a residual stream carries about its context)."""
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 2, n_docs)
    lab[: n_docs // 5] = 1                                          # imbalanced labels
    groups = np.repeat(np.arange(n_docs), rows)
    offs = rng.normal(size=(n_docs, d)) * (3.0 if leak else 0.0)
    X = (offs[groups] + rng.normal(size=(len(groups), d))).astype(np.float32)
    y = lab[groups].astype(np.float32)
    return X, y, groups


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_grouped_cv_equals_sklearn_group_kfold():
    X, y, groups = doc_data(30, 20, 6, seed=4, leak=False)
    X[:, 0] += 0.8 * y                                              # a real signal
    rep = strata.probe.evaluate(X, y, groups=groups, group="doc", cv_folds=5, C=0.5,
                                standardize=False, tol=1e-9, max_iter=10000)
    assert rep.grouped and rep.n_groups == 30
    accs, bals = [], []
    for tr, te in GroupKFold(n_splits=5).split(X, y, groups):
        ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=100000).fit(
            X[tr].astype(np.float64), y[tr])
        pred = ref.predict(X[te].astype(np.float64))
        accs.append((pred == y[te]).mean())
        bals.append(balanced_accuracy_score(y[te], pred))
    tol = 1.0 / (len(y) / 5)                                       # one row per fold
    assert rep.cv_score == pytest.approx(np.mean(accs), abs=tol)
    assert rep.cv_balanced_accuracy == pytest.approx(np.mean(bals), abs=2 * tol)


def test_holdout_balanced_and_majority_equal_sklearn():
    X, y, groups = doc_data(40, 15, 5, seed=8, leak=False)
    X[:, 1] += 1.0 * y
    rep = strata.probe.evaluate(X, y, groups=groups, group="doc", C=1.0, standardize=False,
                                tol=1e-9, max_iter=10000, seed=5)
    cls = y.astype(np.int32)
    test = c_group_split(cls, groups, 0.2, 5)
    assert rep.n_test == test.sum() and rep.n_train == (~test).sum()
    ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=100000).fit(X[~test].astype(np.float64),
                                                                     y[~test])
    pred = ref.predict(X[test].astype(np.float64))
    n_te = test.sum()
    assert rep.test_accuracy == pytest.approx((pred == y[test]).mean(), abs=1 / n_te)
    assert rep.balanced_accuracy == pytest.approx(balanced_accuracy_score(y[test], pred),
                                                  abs=2 / n_te)
    dummy = DummyClassifier(strategy="most_frequent").fit(X[~test], y[~test])
    assert rep.majority_accuracy == pytest.approx(dummy.score(X[test], y[test]), abs=1e-12)


def test_document_labels_leak_through_a_row_split():
    """The reason for the default: labels drawn per document, features that name
    the document, no other signal.  By row, the probe memorises documents."""
    X, y, groups = doc_data(40, 25, 64, seed=2, leak=True)          # d > documents
    by_row = strata.probe.evaluate(X, y, groups=groups, group="row", cv_folds=5)
    auto = strata.probe.evaluate(X, y, groups=groups, cv_folds=5)  # group="auto"
    assert not by_row.grouped and auto.grouped and auto.n_groups == 40
    assert by_row.balanced_accuracy > 0.9 and by_row.cv_balanced_accuracy > 0.9
    assert auto.cv_balanced_accuracy < 0.7, auto.cv_balanced_accuracy


def test_token_level_labels_stay_split_by_row_unless_asked():
    X, y, groups = doc_data(20, 30, 4, seed=3, leak=False)
    y = (np.random.default_rng(0).random(len(y)) < 0.3).astype(np.float32)  # varies in docs
    auto = strata.probe.evaluate(X, y, groups=groups)
    doc = strata.probe.evaluate(X, y, groups=groups, group="doc", cv_folds=4)
    assert not auto.grouped and auto.n_groups == 20
    assert doc.grouped and doc.n_groups == 20
    with pytest.raises(strata.ArgumentError, match="documents"):
        strata.probe.evaluate(X, y, groups=groups, group="doc", cv_folds=25)
    with pytest.raises(strata.ArgumentError, match="params.groups"):
        strata.probe.evaluate(X, y, group="doc")
