"""Configuration of a request set: the profile, and any override of its defaults."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matchsim.errors import ConfigError
from matchsim.requests.corruptors import ERROR_TYPES
from matchsim.requests.profiles import PROFILES, Profile, ProfileParams, get_profile

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _known_error(name: str) -> str:
    if name not in ERROR_TYPES:
        raise ValueError(f"unknown error type {name!r}; known types: {', '.join(ERROR_TYPES)}")
    return name


class RequestConfig(BaseModel):
    """Who asks, how many, and how their records differ from the register.

    Examples
    --------
    >>> RequestConfig(profile="immigration", count=100, errors={"dob_jan1_default": 0.1}).count
    100
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: One of the registered requester profiles (see ``matchsim.requests.PROFILES``).
    profile: str = "immigration"
    #: Number of requests; default: the profile's (e.g. 1,500 for a Home Office batch).
    count: int | None = Field(None, ge=1, le=100_000_000)
    #: Share of requested people who really are in the register; default: the profile's.
    in_register_share: Probability | None = None
    #: Per-error-type probabilities overriding the profile's.
    errors: dict[str, Probability] = Field(default_factory=dict)
    #: Multiplies every error probability (0 = clean requests); handy for sweeps.
    error_scale: float = Field(1.0, ge=0.0, le=100.0)
    #: error type -> {origin or "*": multiplier}, overriding the profile's.
    error_multipliers: dict[str, dict[str, Annotated[float, Field(ge=0.0)]]] = Field(
        default_factory=dict
    )
    #: Probability that an optional field is supplied at all.
    known: dict[Literal["middle_names", "sex"], Probability] = Field(default_factory=dict)
    #: Relative chance that a person of each origin is asked about (others weigh 1).
    origin_weights: dict[str, Annotated[float, Field(ge=0.0)]] | None = None
    #: Profile-specific options, e.g. police_cohort's dob_years, attendance_years, school_id.
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        if value not in PROFILES:
            raise ValueError(f"unknown profile {value!r}; known profiles: {', '.join(PROFILES)}")
        return value

    @field_validator("errors", "error_multipliers")
    @classmethod
    def _known_errors(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            _known_error(name)
        return value

    def resolve(self) -> tuple[Profile, ProfileParams]:
        """The profile's defaults with this config's overrides applied."""
        profile = get_profile(self.profile)
        unknown_options = set(self.options) - set(profile.options)
        if unknown_options:
            allowed = ", ".join(profile.options) or "none"
            raise ConfigError(
                "options",
                f"{sorted(unknown_options)} not known to profile {profile.name!r} (known: {allowed})",
            )
        errors = {k: v * self.error_scale for k, v in {**profile.errors, **self.errors}.items()}
        known: dict[str, float] = {"middle_names": 1.0, "sex": 1.0, **profile.known}
        for field_name, probability in self.known.items():
            known[field_name] = probability
        return profile, ProfileParams(
            count=self.count if self.count is not None else profile.count,
            in_register_share=(
                self.in_register_share
                if self.in_register_share is not None
                else profile.in_register_share
            ),
            errors={k: min(v, 1.0) for k, v in errors.items()},
            multipliers={**profile.multipliers, **self.error_multipliers},
            known=known,
            origin_weights=self.origin_weights
            if self.origin_weights is not None
            else profile.origin_weights,
            options={**profile.options, **self.options},
        )
