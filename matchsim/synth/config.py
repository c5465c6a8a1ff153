"""Configuration of the synthetic register, with every default's source beside it.

The objects are frozen pydantic models: invalid settings fail when the object is
built, with a message naming the field, never halfway through a run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from matchsim.synth.mobility import DEFAULT_MOVE_RATES_BY_AGE

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Age = Annotated[float, Field(ge=0.0, le=120.0)]
MoveRate = Annotated[float, Field(ge=0.0, le=3.0)]

#: England's school census day in January 2024 (DfE school census guide 2023-24: Thursday 18 January).
DEFAULT_CENSUS_DATE = dt.date(2024, 1, 18)

#: Pupils in all schools in England, January 2024.
#: Source: DfE, "Schools, pupils and their characteristics" 2023/24 (9,092,073).
NATIONAL_PUPILS_2024 = 9_092_073

#: Name-origin mix of the pupil population.
#: Source: DfE, "Schools, pupils and their characteristics" 2023/24, pupil ethnicity, mapped onto
#: naming traditions by ``matchsim/data/name_origin_shares.csv``; the mapping is a matchsim
#: assumption stated row by row there (e.g. Mixed and Black Caribbean pupils carry British surnames;
#: Indian pupils are 29% Sikh, 2001 Census). Groups with no tradition in matchsim (Chinese, Any other
#: Asian, part of White Other, unclassified: 7.5% of pupils) are spread in proportion. The values are
#: ``matchsim.synth.surname_sources.pupil_origin_mix()`` rounded (a test checks they agree).
DEFAULT_ORIGIN_MIX: dict[str, float] = {
    "british": 0.7643,
    "indian": 0.0307,
    "pakistani": 0.0497,
    "bangladeshi": 0.0195,
    "punjabi_sikh": 0.0125,
    "arabic": 0.0130,
    "somali": 0.0078,
    "polish": 0.0247,
    "romanian": 0.0247,
    "turkish": 0.0090,
    "west_african": 0.0311,
    "east_african": 0.0130,
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BirthsConfig(_Frozen):
    """When children are born."""

    #: Relative cohort sizes by calendar year; default: ONS live births, England and Wales
    #: (``matchsim/data/births_by_year.csv``).
    by_year: dict[int, Annotated[float, Field(gt=0)]] | None = None
    #: Relative births by day, as "MM-DD" -> weight; default: a seasonal profile fitted to the
    #: ONS 1995-2014 figures (see :mod:`matchsim.synth.calendar`).
    by_day: dict[str, Annotated[float, Field(ge=0)]] | None = None
    #: Share of births that are boys. Source: ONS birth characteristics, about 105 boys per 100 girls.
    male_share: Probability = 0.512

    @field_validator("by_day")
    @classmethod
    def _month_day_keys(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        for key in value:
            try:
                dt.date(2000, int(key[:2]), int(key[3:]))
                ok = len(key) == 5 and key[2] == "-"
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"key {key!r} is not a month-day such as '09-26'")
        return value


class MultipleBirthsConfig(_Frozen):
    """Twins and triplets."""

    #: Multiple maternities per 1,000 maternities by year; default: ONS birth characteristics
    #: (``matchsim/data/multiple_maternities.csv``: 12.1 in 1991 to 16.1 in 2011).
    per_1000_by_year: dict[int, Annotated[float, Field(ge=0, le=500)]] | None = None
    #: Share of multiple maternities that are triplets or more. Source: ONS birth characteristics
    #: (about 1 in 60 multiple maternities in the 2010s; unverified).
    triplet_share: Probability = 0.016
    #: Share of twin pairs that are monozygotic, hence same sex. Source: Weinberg's differential
    #: rule applied to UK twin registers gives about one third (unverified).
    monozygotic_share: Probability = 0.33


#: Most maternities one family may have (the length of ``children_per_mother``).
MAX_CHILDREN_PER_MOTHER = 12


class FamiliesConfig(_Frozen):
    """Households of siblings."""

    #: Shares of mothers by how many children they have over their lives (1, 2, 3, ...): how
    #: many maternities a family has. Source: ONS, "Childbearing for women born in different
    #: years, England and Wales: 2018": of women born in 1973, 19% childless, 18% with one child,
    #: 37% with two, the rest three or more, 1.89 children on average; about one in ten women
    #: has four or more (the 2014 release, women born 1969). Renormalised to mothers; the split
    #: of four or more into 4-7 is an assumption that keeps mothers' mean at 1.89 / 0.81 = 2.33.
    #: Checked against ONS Families and Households 2012 (1.7 dependent children per family with
    #: dependent children) by ``matchsim fidelity`` (docs/fidelity.md).
    children_per_mother: tuple[Probability, ...] = (0.222, 0.457, 0.198, 0.065, 0.030, 0.016, 0.012)
    #: Mean gap between successive maternities in years, of which ``min_gap_years`` is fixed and
    #: the rest is gamma-distributed with shape 2. Source: ONS birth characteristics put the
    #: median interval between first and second births at about three years (unverified); a
    #: mean of 3.4 years puts the median there.
    birth_gap_mean_years: float = Field(3.4, gt=0.8, le=10.0)
    #: Shortest gap between two maternities of one family, in years (about nine months).
    min_gap_years: float = Field(0.8, ge=0.75, le=3.0)

    @model_validator(mode="before")
    @classmethod
    def _replaced_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and "children_mean" in data:
            raise ValueError(
                "children_mean was replaced by children_per_mother (shares of mothers with 1, "
                "2, 3, ... children; default ONS completed family sizes): remove children_mean, "
                "or give children_per_mother instead"
            )
        return data

    @field_validator("children_per_mother")
    @classmethod
    def _shares_sum_to_one(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not 1 <= len(value) <= MAX_CHILDREN_PER_MOTHER:
            raise ValueError(
                f"gives {len(value)} shares; it needs one per family size 1, 2, ... (at most "
                f"{MAX_CHILDREN_PER_MOTHER})"
            )
        if not math.isclose(sum(value), 1.0, abs_tol=1e-6):
            raise ValueError(f"shares sum to {sum(value):.6g}; they must sum to 1")
        return value

    @property
    def mean_children(self) -> float:
        """Mean maternities of a family (children per mother before twins)."""
        return sum(k * share for k, share in enumerate(self.children_per_mother, start=1))


class NamesConfig(_Frozen):
    """Name origins and frequencies."""

    #: Share of families by naming tradition; must sum to 1.
    origins: dict[str, Probability] = Field(default_factory=lambda: dict(DEFAULT_ORIGIN_MIX))
    #: Zipf exponent of name frequency by rank for the other origins (an assumption: name
    #: frequencies are heavy tailed with exponent near 1 in every published national list).
    zipf_exponent: float = Field(1.0, gt=0.0, le=4.0)
    #: Probability of 0, 1 and 2 middle names. Source: Ancestry UK survey, 2013 ("80 per cent of
    #: children are now given a middle name ... 11 per cent have at least two"); the school
    #: census records middle names but DfE publishes no counts. First names come from the ONS
    #: lists by birth year and sex, middle names from their own distribution
    #: (:mod:`matchsim.synth.forenames`).
    middle_name_counts: tuple[Probability, Probability, Probability] = (0.20, 0.69, 0.11)
    #: Per-family use of honorific surnames (Kaur, Singh, Begum, Bibi) by origin and sex;
    #: default from ``matchsim/data/honorific_surnames.csv``. Rows: (origin, sex, surname, probability).
    honorific_surnames: tuple[tuple[str, Literal["M", "F"], str, Probability], ...] | None = None
    #: How strongly minority origins cluster geographically: the standard deviation of the
    #: log-weight each origin gives to each postcode district (an assumption; ONS census 2021
    #: shows strong concentration, e.g. Bangladeshi families in east London).
    origin_clustering: float = Field(1.5, ge=0.0, le=5.0)
    #: Share of ``british`` families with a double-barrelled surname such as "Smith-Jones"
    #: (an assumption: no official count exists; surname studies put it near 1%).
    double_barrelled_share: Probability = 0.01

    @field_validator("origins")
    @classmethod
    def _weights_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("at least one origin is needed")
        total = sum(value.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"weights sum to {total:.6g}; they must sum to 1")
        return value

    @field_validator("middle_name_counts")
    @classmethod
    def _counts_sum_to_one(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not math.isclose(sum(value), 1.0, abs_tol=1e-6):
            raise ValueError(f"probabilities sum to {sum(value):.6g}; they must sum to 1")
        return value


class MobilityConfig(_Frozen):
    """Residential moves of families."""

    #: Moves per family-year by age of the eldest child: (from age in years, rate) pairs, the
    #: first from age 0, ages increasing. Source: fitted to North et al., IJPDS 2025 (40.1%,
    #: 29.4% and 23.6% of Welsh children aged 0-4, 5-9 and 10-13 moved within five years) and
    #: Davies et al., IJPDS 2024 (58% of under-18s moved in 2012-22; 59% of moves at ages 0-5);
    #: see :mod:`matchsim.synth.mobility` and docs/fidelity.md.
    rates_by_age: tuple[tuple[Age, MoveRate], ...] = DEFAULT_MOVE_RATES_BY_AGE
    #: Families differ in how often they move: each family's rates are multiplied by a gamma
    #: draw of mean 1 and this shape (None: every family moves at the same rates). Source: fitted
    #: to North et al., IJPDS 2025: 32.1% of Welsh children moved at least once in five years and
    #: 9.1% more than once: a negative binomial count with 32.1% moving gives 10.3% moving twice
    #: or more at shape 1 and 5.3% as a Poisson count; shape 1.5 sits near the published 9.1%.
    frailty_shape: float | None = Field(1.5, gt=0.0, le=1000.0)
    #: Where a move goes: the same postcode district, the same postcode area, or anywhere.
    #: Source: ONS internal-migration statistics show most residential moves are short distance;
    #: the split itself is an assumption.
    same_district_share: Probability = 0.55
    same_area_share: Probability = 0.25

    @field_validator("rates_by_age")
    @classmethod
    def _ages_increase(
        cls, value: tuple[tuple[float, float], ...]
    ) -> tuple[tuple[float, float], ...]:
        ages = [a for a, _ in value]
        if not ages or ages[0] != 0 or any(b <= a for a, b in itertools.pairwise(ages)):
            raise ValueError("ages must start at 0 and increase, e.g. [[0, 0.2], [6, 0.08]]")
        return value

    @model_validator(mode="after")
    def _shares(self) -> MobilityConfig:
        if self.same_district_share + self.same_area_share > 1:
            raise ValueError("same_district_share + same_area_share must be at most 1")
        return self


class SchoolsConfig(_Frozen):
    """Schools, phases and the census window."""

    #: Share of each cohort that stays in school for years 12 and 13.
    #: Source: derived from DfE 2024 ("Schools, pupils and their characteristics"): 3.67M pupils in
    #: state-funded secondaries, against about 3.3M in five cohorts of years 7-11, leaves about
    #: 0.37M sixth formers, or about 30% of two cohorts.
    sixth_form_share: Probability = 0.30
    #: Average pupils per school. Source: DfE 2024, about 4.61M primary pupils in about 16,800
    #: state-funded primaries (~275) and 3.67M in about 3,450 secondaries (~1,060).
    pupils_per_primary: int = Field(275, ge=10, le=5000)
    pupils_per_secondary: int = Field(1060, ge=10, le=10000)


class CensusConfig(_Frozen):
    """Everything that shapes a synthetic register. All fields have sourced defaults.

    Examples
    --------
    >>> from matchsim.synth import CensusConfig
    >>> CensusConfig(pupils=1000).pupils
    1000
    """

    #: Number of individuals in the register. Default: national density, i.e. the real number of
    #: children per birth date: the January 2024 census (9,092,073), or, for a ``birth_years``
    #: register, the live births of those years in England and Wales that had started school by
    #: ``census_date`` (ONS, ``matchsim/data/births_by_year.csv``; Welsh births, about 5%, stand in
    #: for children who arrived in England after birth; the NPD held 19.8M UPNs in 2015 and "over
    #: 21 million" in 2020). A smaller number samples the same population more sparsely, which
    #: understates how often two children share a name and date of birth.
    pupils: int | None = Field(None, ge=1, le=500_000_000)
    #: The census date: who is on roll, and which year group they are in, is judged on this day.
    census_date: dt.date = DEFAULT_CENSUS_DATE
    #: ``None`` builds the census on ``census_date`` (pupils on roll that day). A (first, last)
    #: pair of calendar birth years builds an NPD-like register of former and current pupils
    #: born in those years who had started school by ``census_date``.
    birth_years: tuple[int, int] | None = None
    births: BirthsConfig = BirthsConfig()
    multiple_births: MultipleBirthsConfig = MultipleBirthsConfig()
    families: FamiliesConfig = FamiliesConfig()
    names: NamesConfig = NamesConfig()
    mobility: MobilityConfig = MobilityConfig()
    schools: SchoolsConfig = SchoolsConfig()

    @field_validator("birth_years")
    @classmethod
    def _ordered_years(
        cls, value: tuple[int, int] | None, info: ValidationInfo
    ) -> tuple[int, int] | None:
        if value is None:
            return value
        first, last = value
        if not 1900 <= first <= last <= 2100:
            raise ValueError(
                f"{first}-{last} is not a range of years FIRST-LAST with FIRST <= LAST"
            )
        census_date = info.data.get("census_date", DEFAULT_CENSUS_DATE)
        # Reception starts in the first September after the 4th birthday.
        if dt.date(first + 4, 9, 1) > census_date:
            raise ValueError(
                f"nobody born in {first}-{last} had started school by the census date {census_date}"
            )
        return value
