"""A synthetic England of postcode districts, towns, streets, addresses and schools.

Faker supplies the vocabularies: the real postcode areas (``POSTAL_ZONES``), street-name
parts and suffixes, and town-name parts. Everything finer (districts, streets, house
numbers, postcode units) is synthetic, derived from integer hashes so that an address is a
pure function of its slot number and nothing per street needs storing.

Address slot ids pack (district, street, house number, flat) into one int64, so that two
families drawn into the same slot share an address, as families in a house in multiple
occupation do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.address.en_GB import Provider as GBAddress
from faker.providers.person.en_GB import Provider as GBPerson

from matchsim.data import load_table
from matchsim.hashing import splitmix64

# Postcode areas outside England (Royal Mail postcode area list): Scotland, Wales, Northern
# Ireland and the Crown dependencies. England-straddling areas (CH, SY, LD, TD) are kept only
# where most of the area is English (CH, SY).
NON_ENGLISH_AREAS = frozenset(
    [
        "AB",
        "DD",
        "DG",
        "EH",
        "FK",
        "G",
        "HS",
        "IV",
        "KA",
        "KW",
        "KY",
        "ML",
        "PA",
        "PH",
        "TD",
        "ZE",
        "CF",
        "LD",
        "LL",
        "NP",
        "SA",
        "BT",
        "GY",
        "JE",
        "IM",
    ]
)

# Unit letters exclude C, I, K, M, O and V (Royal Mail postcode format rules).
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
UNITS = np.array([a + b for a in UNIT_LETTERS for b in UNIT_LETTERS], dtype=object)

# Street types seen on English addresses, as a subset of Faker's en_GB ``street_suffixes``,
# weighted by rough frequency (Road and Street commonest; an assumption: Ordnance Survey
# Open Roads counts would sharpen these).
_STREET_TYPES = {
    "Road": 24,
    "Street": 14,
    "Close": 12,
    "Avenue": 9,
    "Lane": 9,
    "Drive": 8,
    "Way": 5,
    "Gardens": 4,
    "Crescent": 4,
    "Court": 3,
    "Place": 3,
    "Grove": 3,
    "Terrace": 3,
    "Hill": 2,
    "Park": 2,
    "View": 1,
    "Walk": 1,
    "Square": 1,
    "Mews": 1,
    "Row": 1,
    "Green": 1,
}

# 20% of English households live in flats (English Housing Survey 2019-20); a flat gets a
# "Flat N" prefix on its address line.
FLAT_SHARE = 0.20

# Slot packing: 4 bits flat, 9 bits house number, 12 bits street, the rest district.
_FLAT_BITS, _NUMBER_BITS, _STREET_BITS = 4, 9, 12
MAX_FLAT = (1 << _FLAT_BITS) - 1
MAX_NUMBER = (1 << _NUMBER_BITS) - 1
MAX_STREETS = 1 << _STREET_BITS
#: ``address_id >> DISTRICT_SHIFT`` is the address's postcode district index.
DISTRICT_SHIFT = _FLAT_BITS + _NUMBER_BITS + _STREET_BITS


def _hash(*parts: np.ndarray | int) -> np.ndarray:
    acc = np.zeros(1, dtype=np.uint64)
    for part in parts:
        acc = splitmix64(acc ^ np.asarray(part).astype(np.uint64))
    return acc


@dataclass(frozen=True)
class Geography:
    """Postcode districts with their towns, local authorities, streets and schools."""

    salt: int
    area_codes: np.ndarray  # object array of area letters, e.g. "LS"
    district_area: np.ndarray  # int32 area index per district
    district_number: np.ndarray  # int32 district number within its area
    district_town: np.ndarray  # int32 town code per district
    district_la: np.ndarray  # int32 LA number per district
    district_weight: np.ndarray  # float64 share of population, sums to 1
    district_streets: np.ndarray  # int32 number of streets per district
    area_first_district: np.ndarray  # int32, districts are sorted by area
    area_district_count: np.ndarray
    towns: np.ndarray  # object array of town names
    street_words: np.ndarray  # object array: the name part of a street
    street_types: np.ndarray  # object array: Road, Street, ...
    street_type_cumulative: np.ndarray

    @property
    def n_districts(self) -> int:
        return len(self.district_area)

    # -- slots -------------------------------------------------------------------------------

    def draw_slots(self, rng: np.random.Generator, districts: np.ndarray) -> np.ndarray:
        """A random address slot in each given district."""
        n = len(districts)
        street = (rng.random(n) * self.district_streets[districts]).astype(np.int64)
        # House numbers: most streets are short, so low numbers are commonest.
        number = 1 + np.minimum(rng.geometric(1 / 40, n), MAX_NUMBER - 1)
        flat = np.where(rng.random(n) < FLAT_SHARE, 1 + rng.integers(0, MAX_FLAT, n), 0)
        return self.pack(districts.astype(np.int64), street, number, flat)

    @staticmethod
    def pack(
        district: np.ndarray, street: np.ndarray, number: np.ndarray, flat: np.ndarray
    ) -> np.ndarray:
        return (
            ((district << _STREET_BITS | street) << _NUMBER_BITS | number) << _FLAT_BITS | flat
        ).astype(np.int64)

    @staticmethod
    def unpack(slot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        flat = slot & MAX_FLAT
        number = (slot >> _FLAT_BITS) & MAX_NUMBER
        street = (slot >> (_FLAT_BITS + _NUMBER_BITS)) & (MAX_STREETS - 1)
        district = slot >> (_FLAT_BITS + _NUMBER_BITS + _STREET_BITS)
        return district, street, number, flat

    def district_of(self, slot: np.ndarray) -> np.ndarray:
        return slot >> (_FLAT_BITS + _NUMBER_BITS + _STREET_BITS)

    # -- text --------------------------------------------------------------------------------

    def _arrow(self, name: str) -> pa.Array:
        """Text tables as Arrow arrays, built once, so that rendering is a few ``take``s.

        ``street_names`` holds every "Word Type" pair (index ``word * types + type``),
        ``numbers`` "N " for every house number, ``flats`` "" or "Flat N, ", ``inward`` every
        "sector digit + unit letters" (index ``sector * units + unit``).
        """
        cache = self.__dict__.setdefault("_arrow_cache", {})
        if name not in cache:
            if name == "outward_codes":
                values = [
                    f"{self.area_codes[a]}{d}"
                    for a, d in zip(self.district_area, self.district_number, strict=True)
                ]
            elif name == "street_names":  # joined by Arrow: some 20,000 strings
                n_types = len(self.street_types)
                words = pa.array(list(self.street_words), pa.string())
                types = pa.array(list(self.street_types), pa.string())
                cache[name] = pc.binary_join_element_wise(
                    words.take(np.repeat(np.arange(len(words)), n_types)),
                    types.take(np.tile(np.arange(n_types), len(words))),
                    " ",
                )
                return cache[name]
            elif name == "numbers":
                values = [f"{k} " for k in range(MAX_NUMBER + 1)]
            elif name == "flats":
                values = [""] + [f"Flat {k}, " for k in range(1, MAX_FLAT + 1)]
            elif name == "inward":
                values = [f"{sector}{unit}" for sector in range(10) for unit in UNITS]
            elif name == "towns":
                values = list(self.towns)
            else:
                raise KeyError(name)
            cache[name] = pa.array(values, pa.string())
        return cache[name]

    def warm_text(self) -> None:
        """Build every text table that :meth:`render` uses."""
        for name in ("outward_codes", "street_names", "numbers", "flats", "inward", "towns"):
            self._arrow(name)

    def render(self, slot: np.ndarray) -> dict[str, pa.Array]:
        """Address line, town and postcode strings for each slot (Arrow, vectorised).

        The line is "[Flat F, ]N Word Type", the postcode "OUTWARD SU" (sector digit, unit).
        """
        district, street, number, flat = self.unpack(slot)
        street_key = _hash(self.salt, district, street)
        word = (street_key % np.uint64(len(self.street_words))).astype(np.int32)
        u = (street_key >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        stype = np.searchsorted(self.street_type_cumulative, u, side="right").astype(np.int32)
        street_name = self._arrow("street_names").take(word * len(self.street_types) + stype)
        line = pc.binary_join_element_wise(
            self._arrow("flats").take(flat.astype(np.int32)),
            self._arrow("numbers").take(number.astype(np.int32)),
            street_name,
            "",
        )
        # A postcode unit covers about 15 addresses: one side of a stretch of about 30 numbers.
        sector = (_hash(self.salt + 1, district, street) % np.uint64(10)).astype(np.int32)
        unit = (
            _hash(self.salt + 2, district, street, number // 30) % np.uint64(len(UNITS))
        ).astype(np.int32)
        postcode = pc.binary_join_element_wise(
            self._arrow("outward_codes").take(district.astype(np.int32)),
            self._arrow("inward").take(sector * len(UNITS) + unit),
            " ",
        )
        return {
            "address_line": line,
            "town": pa.DictionaryArray.from_arrays(
                pa.array(self.district_town[district], pa.int32()), self._arrow("towns")
            ),
            "postcode": postcode,
        }


def build_geography(seed: np.random.SeedSequence, expected_households: int) -> Geography:
    """England's postcode geography for one seed; sized so that streets are not overcrowded."""
    rng = np.random.default_rng(seed)
    areas = np.array(
        sorted(a for a in GBAddress.POSTAL_ZONES if a not in NON_ENGLISH_AREAS), dtype=object
    )
    # Districts per area and population weights are lognormal (an assumption: real areas range
    # from a handful of districts to nearly a hundred, e.g. B, and district populations from a
    # few thousand to over 100,000).
    n_per_area = np.clip(np.round(rng.lognormal(np.log(18), 0.6, len(areas))), 2, 99).astype(
        np.int32
    )
    district_area = np.repeat(np.arange(len(areas), dtype=np.int32), n_per_area)
    district_number = np.concatenate([np.arange(1, k + 1, dtype=np.int32) for k in n_per_area])
    weight = rng.lognormal(0.0, 0.5, len(district_area))
    weight /= weight.sum()
    area_first = np.concatenate([[0], np.cumsum(n_per_area)[:-1]]).astype(np.int32)

    # About 60 households per street (an assumption), never more streets than a slot can hold.
    streets = np.clip(
        np.round(weight * max(expected_households, 1) / 60 * 3), 25, MAX_STREETS - 1
    ).astype(np.int32)

    towns, district_town = _towns(rng, areas, district_area)

    # Local authorities: each takes a contiguous run of districts, in proportion to population.
    la_numbers = load_table("la_numbers")["la_number"].to_numpy(np.int32)
    rng.shuffle(la_numbers)
    cum = np.cumsum(weight)
    district_la = la_numbers[
        np.minimum((cum - weight / 2) * len(la_numbers), len(la_numbers) - 1).astype(int)
    ]

    words = np.array(
        sorted(
            set(GBPerson.last_names)
            | set(GBPerson.first_names_male)
            | set(GBPerson.first_names_female)
        ),
        dtype=object,
    )
    types = np.array(list(_STREET_TYPES), dtype=object)
    tw = np.array(list(_STREET_TYPES.values()), dtype=np.float64)
    return Geography(
        salt=int(seed.generate_state(1, np.uint32)[0]),
        area_codes=areas,
        district_area=district_area,
        district_number=district_number,
        district_town=district_town,
        district_la=district_la.astype(np.int32),
        district_weight=weight,
        district_streets=streets,
        area_first_district=area_first,
        area_district_count=n_per_area,
        towns=towns,
        street_words=words,
        street_types=types,
        street_type_cumulative=np.cumsum(tw) / tw.sum(),
    )


def _towns(
    rng: np.random.Generator, areas: np.ndarray, district_area: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Town names from Faker en_GB's town formats; each area has 1-6 towns, each covering a run
    of the area's districts (the first town is the area's main town)."""
    firsts = list(GBPerson.first_names_male) + list(GBPerson.first_names_female)
    lasts = list(GBPerson.last_names)
    prefixes = list(GBAddress.city_prefixes)
    suffixes = sorted(set(GBAddress.city_suffixes))
    names: list[str] = []
    seen: set[str] = set()
    town_of_area: list[list[int]] = []
    for _ in areas:
        count = int(rng.integers(1, 7))
        codes: list[int] = []
        while len(codes) < count:
            form = int(rng.integers(0, 4))
            # The four en_GB city formats: "{prefix} {first}{suffix}", "{prefix} {first}",
            # "{first}{suffix}", "{last}{suffix}".
            first = firsts[int(rng.integers(len(firsts)))]
            last = lasts[int(rng.integers(len(lasts)))]
            prefix = prefixes[int(rng.integers(len(prefixes)))]
            suffix = suffixes[int(rng.integers(len(suffixes)))]
            name = [
                f"{prefix} {first}{suffix}",
                f"{prefix} {first}",
                f"{first}{suffix}",
                f"{last}{suffix}",
            ][form]
            if name in seen:
                continue
            seen.add(name)
            codes.append(len(names))
            names.append(name)
        town_of_area.append(codes)
    district_town = np.empty(len(district_area), dtype=np.int32)
    for a, codes in enumerate(town_of_area):
        members = np.flatnonzero(district_area == a)
        split = np.minimum(
            (np.arange(len(members)) * len(codes)) // max(len(members), 1), len(codes) - 1
        )
        district_town[members] = np.array(codes)[split]
    return np.array(names, dtype=object), district_town
