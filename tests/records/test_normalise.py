"""Name normalisation of a whole vocabulary agrees with the per-value reference."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from matchsim.records import normalise_name, normalise_name_values

NAMES = st.one_of(
    st.none(),
    st.text(max_size=15),
    st.text(alphabet="abcXYZ -'.,0123\t", max_size=15),
    st.sampled_from(["Zoë", "Łukasz", "Ştefan", "O'Neil-Smith", "ß", "Æsa", "  de  la Cruz "]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NAMES, max_size=20))
def test_vectorised_name_normalisation_equals_the_reference(values):
    got = normalise_name_values(pa.array(values, pa.string())).to_pylist()
    assert got == [normalise_name(v) if v is not None else None for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="AZ ", max_size=8), max_size=20))
def test_names_already_in_normal_form_are_kept_and_others_normalised(values):
    """Upper-case letters and spaces: the fast path for a clean file's names must give what
    the reference gives (values with spaces at an end or doubled go the long way)."""
    got = normalise_name_values(pa.array(values, pa.string())).to_pylist()
    assert got == [normalise_name(v) for v in values]


POSTCODES = st.one_of(st.none(), st.text(alphabet="ls1 AB2-.", max_size=9))


#: How a column arrives: plain; dictionary-encoded; in chunks sharing one dictionary (one
#: Parquet row group read in batches); in chunks with dictionaries of their own (many row
#: groups: unified when they are small, decoded when they outnumber the rows).
LAYOUTS = ["plain", "dictionary", "shared dictionary chunks", "own dictionary chunks"]


def laid_out(values: list, layout: str, cut: int):
    column = pa.array(values, pa.string())
    if layout == "dictionary":
        return column.dictionary_encode()
    if layout == "shared dictionary chunks":
        encoded = column.dictionary_encode()
        return pa.chunked_array([encoded[:cut], encoded[cut:]], encoded.type)
    if layout == "own dictionary chunks":
        chunks = [column[:cut].dictionary_encode(), column[cut:].dictionary_encode()]
        return pa.chunked_array(chunks, chunks[0].type)
    return column


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(LAYOUTS), st.sampled_from(["surname", "postcode"]))
def test_each_record_gets_the_code_of_its_normalised_value(data, layout, role):
    """Codes per record: the index of its normalised value among distinct values, MISSING
    for a null or a value that normalises to nothing; the same however the column is encoded."""
    from matchsim.records import MISSING
    from matchsim.records.normalise import normalised_strings

    values = data.draw(st.lists(NAMES if role == "surname" else POSTCODES, max_size=25))
    column = laid_out(values, layout, data.draw(st.integers(0, len(values))))
    distinct, codes = normalised_strings(column, role)
    distinct = distinct.to_pylist()
    assert len(set(distinct)) == len(distinct)
    for value, code in zip(values, codes.tolist(), strict=True):
        if value is None:
            assert code == MISSING
            continue
        want = (
            normalise_name(value)
            if role == "surname"
            else "".join(c for c in value.upper() if c.isalnum())
        )
        if want == "":
            assert code == MISSING
        else:
            assert code >= 0 and distinct[code] == want


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="abc", max_size=3)), max_size=12),
    st.lists(st.text(alphabet="abc", max_size=3), max_size=40),
)
def test_a_few_values_found_in_a_big_set_as_arrow_finds_them(values, value_set):
    """The turned-round lookup (the set hashed against the few values) gives Arrow's
    index_in: the first place of each value in the set, -1 for an absent value or a null."""
    from matchsim.records.vocabulary import index_in, index_in_few

    values, value_set = pa.array(values, pa.string()), pa.array(value_set, pa.string())
    assert index_in_few(values, value_set).tolist() == index_in(values, value_set).tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["M", "F", "m", "female", "Male", "", "X"]))),
    st.booleans(),
)
def test_sex_is_read_from_the_first_letter_of_each_value(values, as_dictionary):
    from matchsim.records import MISSING
    from matchsim.records.normalise import parse_sex

    column = pa.array(values, pa.string())
    if as_dictionary:
        column = column.dictionary_encode()
    want = [0 if v and v[0] in "Mm" else 1 if v and v[0] in "Ff" else MISSING for v in values]
    assert parse_sex(column).tolist() == want


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=12), st.text(alphabet="AB19 ,.-'/É", max_size=12))
    ),
    st.integers(0, 3),
)
def test_squeezing_equals_the_regular_expression_and_trim(values, start):
    """The compiled squeeze gives what Arrow's regex replace and trim give (any text, and a
    slice of the array, whose validity bits start mid-byte)."""
    import pyarrow.compute as pc

    from matchsim.records.kernels import squeeze_to_letters_and_digits

    column = pa.array(values, pa.string()).slice(min(start, len(values)))
    want = pc.utf8_trim_whitespace(pc.replace_substring_regex(column, r"[^A-Z0-9]+", " "))
    assert squeeze_to_letters_and_digits(column).to_pylist() == want.to_pylist()
    # and with no gap: every other character deleted, as postcodes are normalised
    want = pc.replace_substring_regex(column, r"[^A-Z0-9]", "")
    assert squeeze_to_letters_and_digits(column, gap="").to_pylist() == want.to_pylist()
