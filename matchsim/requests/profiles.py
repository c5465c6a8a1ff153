"""Who asks, about whom, and with what errors: the requester profiles.

Each profile is a set of sourced defaults that :class:`~matchsim.requests.RequestConfig`
can override field by field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from matchsim.errors import ConfigError, UnknownNameError
from matchsim.requests.index import RegisterIndex, select_weighted
from matchsim.synth import Census

# Baseline error rates for a record typed from a form by another agency. Sources where they
# exist: ALSPAC found surname and forename disagreeing between collection points 18% and 12%
# of the time (IJPDS), but most of that is legitimate change (step-families, nicknames), which
# the specific types below model; hospital records disagreed on sex and DOB in 0.11% of
# records (Hagger-Johnson et al., BMC MRM 2017). The split across types is an assumption.
BASE_ERRORS: dict[str, float] = {
    "name_swap": 0.005,
    "middle_as_forename": 0.01,
    "forename_nickname": 0.03,
    "forename_transliteration": 0.0,
    "surname_transliteration": 0.0,
    "surname_hyphen_reduced": 0.3,
    "middle_missing": 0.1,
    "accents_stripped": 0.5,
    "forename_typo": 0.01,
    "forename_ocr": 0.002,
    "forename_phonetic": 0.005,
    "surname_typo": 0.01,
    "surname_ocr": 0.002,
    "surname_phonetic": 0.005,
    "dob_day_month_swap": 0.002,
    "dob_digit_typo": 0.001,
    "dob_jan1_default": 0.0,
    "dob_year_off_by_one": 0.0005,
    "dob_missing": 0.0,
    "sex_wrong": 0.0005,
    "sex_missing": 0.0,
    "address_stale": 0.05,
    "address_new": 0.05,
    "address_unrelated": 0.01,
    "address_abbreviated": 0.2,
    "house_number_missing": 0.02,
    "postcode_typo": 0.01,
    # ONS, "Stepfamilies in 2011": 9% of dependent children lived in a stepfamily. Assumption:
    # for about a fifth of them two agencies' records hold different surnames.
    "surname_change": 0.02,
}

_ASSUMED = "assumption: no published rate for records of children typed by another agency"
_HJ = "sex or DOB disagreed in 0.11% of hospital records (Hagger-Johnson et al., BMC MRM 2017)"
#: Where each baseline rate comes from (listed with the rates in docs/error-model.md).
BASE_ERROR_SOURCES: dict[str, str] = {
    **dict.fromkeys(BASE_ERRORS, _ASSUMED),
    "dob_day_month_swap": _HJ + "; the split across DOB types is an assumption",
    "dob_digit_typo": _HJ + "; the split across DOB types is an assumption",
    "dob_year_off_by_one": _HJ + "; the split across DOB types is an assumption",
    "sex_wrong": _HJ,
    "forename_nickname": "part of ALSPAC's 12% forename disagreement (Lam et al., IJPDS 2024); "
    "a record typed from a form carries less of it (assumption)",
    "surname_hyphen_reduced": "assumption: systems with one surname field keep one part",
    "accents_stripped": "assumption: most English systems store ASCII names",
    "surname_change": "ONS, Stepfamilies in 2011: 9% of dependent children lived in a "
    "stepfamily; assumed a fifth of them are held under another surname by one of two agencies",
}

# Origins whose names are romanised from another script: transliteration and 1 January
# defaults fall on them (an assumption that follows from how the errors arise).
ROMANISED = ("pakistani", "bangladeshi", "arabic", "somali", "punjabi_sikh", "indian")


@dataclass(frozen=True)
class ProfileParams:
    """Everything a profile resolves to, after config overrides."""

    count: int
    in_register_share: float
    errors: dict[str, float]
    multipliers: dict[str, dict[str, float]]
    known: dict[str, float]
    origin_weights: dict[str, float] | None
    options: dict[str, object]


Selector = Callable[
    [Census, np.random.Generator, int, ProfileParams, "RegisterIndex | None"], np.ndarray
]


def select_uniform(
    census: Census,
    rng: np.random.Generator,
    n: int,
    params: ProfileParams,
    index: RegisterIndex | None = None,
) -> np.ndarray:
    """``n`` distinct register rows, weighted by origin when the profile says so; ``index``
    (see :func:`matchsim.requests.index.register_index`) makes the cost that of ``n`` rows."""
    rows = census.pupils.num_rows
    if n > rows:
        raise ConfigError(
            "count", f"{n} people from the register asked for, but it holds only {rows}"
        )
    if params.origin_weights is None:
        return rng.choice(rows, n, replace=False)
    if index is None:
        from matchsim.requests.index import register_index

        index = register_index(census)
    return select_weighted(index, params.origin_weights, n, rng)


def _year_range(options: dict[str, object], name: str) -> tuple[int, int]:
    """The option ``name``, a (first, last) pair of years."""
    value = options[name]
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError("options", f"{name} must be a pair of years [first, last]; got {value!r}")
    first, last = value
    return int(first), int(last)


def select_school_cohort(
    census: Census,
    rng: np.random.Generator,
    n: int,
    params: ProfileParams,
    index: RegisterIndex | None = None,
) -> np.ndarray:
    """Every pupil of one school born in given years, plus everyone who attended it in given
    years (the police request of Nov 2019: DOB 1992-1995 and attendance 2006-2009)."""
    opts = params.options
    born_from, born_to = _year_range(opts, "dob_years")
    attend_from, attend_to = _year_range(opts, "attendance_years")
    p = census.pupils
    frame = pd.DataFrame({"school_id": p["school_id"].to_numpy()})
    born = pd.Series(pc.year(p["date_of_birth"]).to_numpy(zero_copy_only=False))
    entry = pd.Series(pc.year(p["entry_date"]).to_numpy(zero_copy_only=False))
    leaving = pd.Series(pc.year(p["leaving_date"]).fill_null(9999).to_numpy(zero_copy_only=False))
    in_dob = born.between(born_from, born_to)
    # Secondary school years: entry to year 7 is seven years after reception.
    attended = (entry + 7 <= attend_to) & (leaving >= attend_from)
    wanted = in_dob | attended
    if not wanted.any():
        raise ConfigError(
            "profile",
            f"police_cohort needs pupils born {born_from}-{born_to} or at school {attend_from}-{attend_to}; "
            "generate a register with --birth-years covering them (e.g. 1988-2000)",
        )
    school = opts.get("school_id")
    if school is None:
        counts = frame.loc[wanted, "school_id"].value_counts()
        # Busiest secondary school: the one with the most pupils in the window.
        school = int(counts.index[0])
    rows = np.flatnonzero((wanted & (frame["school_id"] == school)).to_numpy())
    return rng.permutation(rows)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    source: str
    case_prefix: str
    count: int
    in_register_share: float
    errors: dict[str, float]
    multipliers: dict[str, dict[str, float]] = field(default_factory=dict)
    known: dict[str, float] = field(default_factory=dict)
    origin_weights: dict[str, float] | None = None
    options: dict[str, object] = field(default_factory=dict)
    select: Selector = select_uniform
    #: optional fields this requester holds: nationality (Home Office MOU), school dates (police)
    extra_fields: tuple[str, ...] = ()
    #: error type -> where this profile's rate for it comes from (docs/error-model.md); types
    #: not listed take BASE_ERRORS' rate and BASE_ERROR_SOURCES' source
    error_sources: dict[str, str] = field(default_factory=dict)


def _errors(**overrides: float) -> dict[str, float]:
    unknown = set(overrides) - set(BASE_ERRORS)
    if unknown:  # pragma: no cover - guards the profile tables below
        raise ValueError(f"unknown error types {unknown}")
    return {**BASE_ERRORS, **overrides}


PROFILES: dict[str, Profile] = {}


def register_profile(profile: Profile) -> Profile:
    if profile.name in PROFILES:
        raise ValueError(f"profile {profile.name!r} registered twice")
    PROFILES[profile.name] = profile
    return profile


register_profile(
    Profile(
        name="immigration",
        description="Home Office immigration casework lookup, per the Dec 2015 MOU field list",
        source=(
            "MOU Dec 2015: monthly batches of 'in the region of 1,500 individuals'; fields surname, "
            "middle name (if known), forename, address and postcode, gender (if known), DOB, "
            "nationality. 21.6% (2015-16) to 25.9% (2015-22) of requested people were matched and "
            "returned (HCWS272; DfE external data shares, Dec 2022)."
        ),
        case_prefix="HO",
        count=1500,
        # Assumption, inside the band that `matchsim calibrate` solves from the published
        # returned shares (matchsim.scenario.calibration; docs/calibration.md): at the 400,000
        # pupil register, 22.3% (20.6-24.1%) for 2015-16 and 29.3% (27.9-30.7%) for 2016-22.
        in_register_share=0.25,
        errors=_errors(
            forename_transliteration=0.25,
            surname_transliteration=0.25,
            dob_jan1_default=0.03,
            dob_day_month_swap=0.01,
            address_stale=0.15,
            address_new=0.35,
            middle_missing=0.2,
            name_swap=0.02,
        ),
        multipliers={
            # Romanised names vary; other origins' names rarely do (multiplier 0).
            "forename_transliteration": dict.fromkeys(ROMANISED, 1.0) | {"*": 0.0},
            "surname_transliteration": dict.fromkeys(ROMANISED, 1.0) | {"*": 0.0},
            # Home Office practice assigns 1 January where a DOB is unknown; concentrated on
            # people from countries without universal birth registration.
            "dob_jan1_default": {"somali": 5.0, "arabic": 3.0, "*": 1.0},
            "name_swap": dict.fromkeys(ROMANISED, 2.0) | {"*": 1.0},
        },
        error_sources={
            "forename_transliteration": "assumption: a name romanised again by another agency "
            "(ONS counts Muhammad, Mohammed and Mohammad as separate names)",
            "surname_transliteration": "as forename_transliteration",
            "dob_jan1_default": "assumption: Home Office practice records 1 January where a date "
            "of birth is unknown",
            "address_new": "assumption: casework addresses postdate the school census",
            "address_stale": "assumption",
        },
        known={"middle_names": 0.6, "sex": 0.9},
        # Casework concerns foreign nationals: British-origin names are under-represented
        # (an assumption; Home Office immigration statistics give caseload by nationality).
        origin_weights={"british": 0.15},
        extra_fields=("nationality",),
    )
)

register_profile(
    Profile(
        name="benefit_fraud",
        description="DWP identity check of children named on benefit claims",
        source="DfE data register: Apr 2018, 185 child identities checked, 1 positive match ('Y').",
        case_prefix="DWP",
        count=185,
        # One of 185 was a real pupil: the rest were presumably not (fictitious or not in
        # English schools).
        in_register_share=1 / 185,
        errors=_errors(address_new=0.1, address_stale=0.1),
        known={"middle_names": 0.3, "sex": 1.0},
    )
)

register_profile(
    Profile(
        name="police_cohort",
        description="Police request for every pupil of one school, by birth years and attendance years",
        source=(
            "DfE FOI 2020-0041447: Nov 2019, 2,136 pupils of one specified school in two groups, "
            "DOB 1992-1995 and attendance 2006-2009; items shared: name, DOB, last known home "
            "address, entry date, leaving date."
        ),
        case_prefix="POL",
        count=0,  # everyone the selection finds
        in_register_share=1.0,
        # School records held by the police: names as the school knew them, addresses as they
        # were when the pupil left (stale), typed from old records.
        errors=_errors(address_stale=0.2, address_new=0.3, forename_nickname=0.05),
        known={"middle_names": 0.5, "sex": 1.0},
        options={"dob_years": (1992, 1995), "attendance_years": (2006, 2009), "school_id": None},
        select=select_school_cohort,
        extra_fields=("entry_date", "leaving_date"),
    )
)

register_profile(
    Profile(
        name="research_linkage",
        description="A whole cohort held by another agency (e.g. hospital records) linked to the NPD",
        source=(
            "Libuy et al., IJPDS 2021: 95% of NPD pupils linked to hospital records; postcode "
            "disagreed or was missing in 53% of hospital records and sex/DOB in 0.11% "
            "(Hagger-Johnson et al., BMC MRM 2017)."
        ),
        case_prefix="RES",
        count=10_000,
        # Hospital cohorts include children never in English state schools (independent
        # schools, emigration): an assumption chosen so that about 95% link.
        in_register_share=0.97,
        # Calibrated so that realised disagreement with the register (measured by
        # matchsim.requests.disagreement, tested in tests/requests/test_disagreement.py) matches
        # the published figures: postcode disagreed or missing 53% and sex or DOB 0.11%
        # (Hagger-Johnson et al. 2017); surname 18% and forename 12% (ALSPAC, Lam et al.,
        # IJPDS 2024). The split of each total across error types is an assumption.
        errors=_errors(
            address_stale=0.3,
            address_new=0.38,
            postcode_typo=0.05,
            dob_day_month_swap=0.0003,
            dob_digit_typo=0.0003,
            dob_year_off_by_one=0.0002,
            sex_wrong=0.0005,
            forename_nickname=0.17,
            forename_typo=0.02,
            middle_as_forename=0.03,
            forename_transliteration=0.05,
            surname_transliteration=0.05,
            surname_typo=0.02,
            surname_change=0.145,
        ),
        error_sources={
            "address_stale": "with address_new and postcode_typo: postcode disagreed or missing "
            "in 53% of hospital records (Hagger-Johnson et al., BMC MRM 2017)",
            "address_new": "as address_stale",
            "postcode_typo": "as address_stale",
            "sex_wrong": "with the DOB types: sex or DOB disagreed in 0.11% of hospital records "
            "(Hagger-Johnson et al., BMC MRM 2017)",
            "dob_day_month_swap": "as sex_wrong",
            "dob_digit_typo": "as sex_wrong",
            "dob_year_off_by_one": "as sex_wrong",
            "forename_nickname": "with forename_typo and middle_as_forename: forenames "
            "disagreed between ALSPAC collection points 12% of the time (Lam et al., IJPDS 2024)",
            "forename_typo": "as forename_nickname",
            "middle_as_forename": "as forename_nickname",
            "surname_change": "with surname_typo: surnames disagreed between ALSPAC collection "
            "points 18% of the time, mostly natural change (Lam et al., IJPDS 2024); 9% of "
            "children live in a stepfamily (ONS, Stepfamilies in 2011)",
            "surname_typo": "as surname_change",
            "forename_transliteration": "assumption (romanised names only)",
            "surname_transliteration": "assumption (romanised names only)",
        },
        multipliers={
            "forename_transliteration": dict.fromkeys(ROMANISED, 1.0) | {"*": 0.0},
            "surname_transliteration": dict.fromkeys(ROMANISED, 1.0) | {"*": 0.0},
        },
        known={"middle_names": 0.0, "sex": 1.0},
    )
)


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise UnknownNameError("profile", name, PROFILES)
    return PROFILES[name]
