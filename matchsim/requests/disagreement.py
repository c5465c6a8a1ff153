"""How often a request's fields disagree with the register's record of the same person.

This is how linkage-quality studies report identifier error (Hagger-Johnson et al., BMC MRM
2017; Lam et al., IJPDS 2024 on ALSPAC), so it is how the requester profiles are checked
against them: realised disagreement per field, over the requests whose person is in the
register, whatever mix of error types produced it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matchsim.errors import ConfigError


@dataclass(frozen=True)
class DisagreementTarget:
    field: str
    value: float
    tolerance: float  # absolute, as a share
    source: str


#: Published within-person disagreement, which the ``research_linkage`` profile is calibrated to.
RESEARCH_LINKAGE_TARGETS: dict[str, DisagreementTarget] = {
    "postcode": DisagreementTarget(
        "postcode disagreed or missing",
        0.53,
        0.03,
        "Hagger-Johnson et al., BMC Med Res Methodol 2017 (hospital records)",
    ),
    "sex_or_dob": DisagreementTarget(
        "sex or date of birth disagreed",
        0.0011,
        0.001,
        "Hagger-Johnson et al., BMC Med Res Methodol 2017 (hospital records)",
    ),
    "surname": DisagreementTarget(
        "surname disagreed",
        0.18,
        0.03,
        "Lam et al., IJPDS 2024 (ALSPAC, two collection points)",
    ),
    "forename": DisagreementTarget(
        "forename disagreed",
        0.12,
        0.03,
        "Lam et al., IJPDS 2024 (ALSPAC, two collection points)",
    ),
}


def _norm(column: pa.ChunkedArray | pa.Array, drop_spaces: bool = False) -> pa.Array:
    text = pc.utf8_upper(pc.utf8_trim_whitespace(column.cast(pa.string())))
    if drop_spaces:
        text = pc.replace_substring(text, " ", "")
    return text


def field_disagreement(requests: pa.Table, pupils: pa.Table) -> dict[str, float]:
    """Share of in-register requests whose field differs from the true pupil's record.

    Names and postcodes are compared after trimming and upper-casing (postcodes also without
    spaces), as a linkage study's cleaning would; a missing value counts as disagreeing for
    the postcode (the published figure is "disagreed or missing") and is ignored for sex and
    date of birth, which requesters may leave out by design.
    """
    for column in ("true_pupil_id", "in_register"):
        if column not in requests.column_names:
            raise ConfigError("requests", f"has no {column!r} column; pass a generated request set")
    inside = requests.filter(pc.fill_null(requests["in_register"], False))
    if inside.num_rows == 0:
        return {k: float("nan") for k in (*RESEARCH_LINKAGE_TARGETS, "sex", "date_of_birth")}
    ids = pupils["pupil_id"].to_numpy()
    order = np.argsort(ids, kind="stable")
    want = inside["true_pupil_id"].to_numpy()
    pos = np.searchsorted(ids, want, sorter=order)
    rows = order[np.minimum(pos, len(ids) - 1)]
    if not np.array_equal(ids[rows], want):
        raise ConfigError("requests", "name pupils that are not in this register")
    truth = pupils.take(pa.array(rows))

    def differs(column: str, drop_spaces: bool = False, missing_differs: bool = True) -> np.ndarray:
        a = _norm(inside[column], drop_spaces)
        b = _norm(truth[column], drop_spaces)
        same = pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)
        missing = pc.is_null(a).to_numpy(zero_copy_only=False)
        return ~same if missing_differs else (~same & ~missing)

    sex = differs("sex", missing_differs=False)
    dob_same = pc.fill_null(
        pc.equal(inside["date_of_birth"], truth["date_of_birth"]), True
    ).to_numpy(zero_copy_only=False)
    dob = ~dob_same
    return {
        "postcode": float(differs("postcode", drop_spaces=True).mean()),
        "sex_or_dob": float((sex | dob).mean()),
        "surname": float(differs("surname").mean()),
        "forename": float(differs("forename").mean()),
        "sex": float(sex.mean()),
        "date_of_birth": float(dob.mean()),
    }
