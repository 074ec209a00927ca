"""The metadata filter: text ⇄ structured ⇄ Rucio dicts, and clear errors for bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escape_dlaas.domain.filters import (
    MAX_WHOLE_NUMBER,
    Condition,
    format_filter_string,
    parse_filter_json,
    parse_filter_string,
    to_rucio_filters,
)
from escape_dlaas.errors import InvalidInput


def test_and_or_and_every_operator():
    groups = parse_filter_string("telescope=lofar,energy>3,run<=10;telescope!=ska,level>=2,x<1.5")
    assert groups == [
        [Condition("telescope", "=", "lofar"), Condition("energy", ">", 3), Condition("run", "<=", 10)],
        [Condition("telescope", "!=", "ska"), Condition("level", ">=", 2), Condition("x", "<", 1.5)],
    ]
    assert to_rucio_filters(groups, "*.fits") == [
        {"telescope": "lofar", "energy.gt": 3, "run.lte": 10, "name": "*.fits"},
        {"telescope.ne": "ska", "level.gte": 2, "x.lt": 1.5, "name": "*.fits"},
    ]


def test_range_and_reversed_comparison():
    assert parse_filter_string("2<energy<5") == [[Condition("energy", ">", 2), Condition("energy", "<", 5)]]
    assert parse_filter_string("3<=energy") == [[Condition("energy", ">=", 3)]]


def test_values_are_typed_and_quotes_force_strings():
    (group,) = parse_filter_string('a=12,b=1.5e3,c=true,d="12",e=2023-05-01,f=lofar*')
    assert [c.value for c in group] == [12, 1500.0, True, "12", "2023-05-01", "lofar*"]


def test_quoted_values_may_hold_separators_and_operators():
    assert parse_filter_string("target=\"a,b;c\",note='x>=1';k=1") == [
        [Condition("target", "=", "a,b;c"), Condition("note", "=", "x>=1")],
        [Condition("k", "=", 1)],
    ]


def test_dates_compare_as_iso_strings():
    assert to_rucio_filters(parse_filter_string("obs_date>=2023-01-01,obs_date<2024-01-01")) == [
        {"obs_date.gte": "2023-01-01", "obs_date.lt": "2024-01-01"}
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("energy", "no operator"),
        ("energy>lofar*", "wildcards"),
        ("name=x", "not a metadata key"),
        ("1abc=3", "not a valid metadata key"),
        ("a.b=3", "not a valid metadata key"),
        ("a=1;", "empty"),
        ("a>1,a>2", "appears twice"),
        ("a=true,b>false", "true/false"),
        ("2<a>5", "one way"),
        ("a=", "needs a key"),
    ],
)
def test_bad_filters_name_the_problem(text, words):
    with pytest.raises(InvalidInput) as caught:
        parse_filter_string(text)
    assert words in caught.value.message
    assert caught.value.field == "filter"


def test_structured_json_is_validated():
    assert parse_filter_json([[{"key": "telescope", "op": "=", "value": "lofar"}]]) == [
        [Condition("telescope", "=", "lofar")]
    ]
    for bad in (
        {"a": 1},
        [{"key": "a"}],
        [[{"key": "a", "op": "~", "value": 1}]],
        [[]],
        [[{"key": 1, "op": "=", "value": 1}]],
    ):
        with pytest.raises(InvalidInput):
            parse_filter_json(bad)


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("lofar", "lofar"),
        ("lof*", "lof*"),
        ("HBA 110-190 MHz", "HBA 110-190 MHz"),
        ("2023-05-01", "2023-05-01"),  # Rucio compares it as text: ISO dates sort as text
        ("2023-05-01 10:00:00", "2023-05-01 10:00:00"),  # Rucio compares it as a date and time
        # text Rucio would read as something else is sent so that Rucio reads that very text
        ("0", "'0'"),
        ("0x1F", "'0x1F'"),
        ("None", "'None'"),
        ("[1]", "'[1]'"),
        ("1j", "'1j'"),
        ("...", "'...'"),
        ('"lofar"', "'\"lofar\"'"),
        (150, 150),
        (True, True),
    ],
)
def test_values_reach_rucio_as_the_filter_means_them(value, sent):
    import ast

    (group,) = to_rucio_filters([[Condition("k", "=", value)]])
    assert group == {"k": sent}
    if isinstance(value, str) and sent != value:
        assert ast.literal_eval(sent) == value, "Rucio reads the literal back as the text"


def test_no_filter_searches_by_name_only():
    assert to_rucio_filters([], "run_*") == [{"name": "run_*"}]


def test_mathematical_signs_are_the_operators_other_rucio_tools_write():
    assert parse_filter_string("energy\u2265140,run\u22643;telescope\u2260ska") == [
        [Condition("energy", ">=", 140), Condition("run", "<=", 3)],
        [Condition("telescope", "!=", "ska")],
    ]
    assert parse_filter_string("2\u2264energy\u22645") == [[Condition("energy", ">=", 2), Condition("energy", "<=", 5)]]
    assert parse_filter_json(
        [[{"key": "energy", "op": "\u2265", "value": 1}, {"key": "a", "op": "==", "value": 2}]]
    ) == [[Condition("energy", ">=", 1), Condition("a", "=", 2)]]
    # inside quotes they are the value's characters, and a value holding one is quoted
    assert parse_filter_string('note="a\u2265b"') == [[Condition("note", "=", "a\u2265b")]]
    assert format_filter_string([[Condition("note", "=", "a\u2265b")]]) == 'note="a\u2265b"'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("energy>>5", "'>>' is not an operator; use > or >="),
        ("energy<<5", "'<<' is not an operator; use < or <="),
        ("energy=>5", "'=>' is not an operator; use >="),
        ("energy=<5", "'=<' is not an operator; use <="),
        ("energy<>5", "'<>' is not an operator; use !="),
        ("energy===5", "'===' is not an operator; use ="),
        ("energy>=<5", "'>=<' is not an operator; use one of = != < <= > >="),
        ("a=1,energy>>", "group 1, condition 2: '>>' is not an operator"),
    ],
)
def test_operators_typed_in_a_row_are_named(text, words):
    with pytest.raises(InvalidInput) as caught:
        parse_filter_string(text)
    assert words in caught.value.message
    assert caught.value.field == "filter"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('telescope="lofar', "group 1, condition 1"),
        ("telescope=lofar'", "group 1, condition 1"),
        ('a=1;telescope="lofar,energy>3', "group 2, condition 1"),
        ("a=1,b='", "group 1, condition 2"),
        ('"telescope=lofar', "group 1, condition 1"),
    ],
)
def test_an_unbalanced_quote_is_a_400_naming_the_condition(text, where):
    with pytest.raises(InvalidInput) as caught:
        parse_filter_string(text)
    assert caught.value.message.startswith(f"{where}: ")
    assert "unbalanced quote" in caught.value.message
    assert caught.value.field == "filter"


def test_quotes_inside_a_word_are_ordinary_characters():
    """As in the panel's tokenizer: only a quote where a value starts opens a quoted value."""
    assert parse_filter_string("observer=O'Brien,b=1") == [
        [Condition("observer", "=", "O'Brien"), Condition("b", "=", 1)]
    ]
    assert parse_filter_string("observer='O'Brien'") == [[Condition("observer", "=", "O'Brien")]]
    assert parse_filter_string("  note = ' a,b '  ") == [[Condition("note", "=", " a,b ")]]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a=1,,b=2", "group 1, condition 2 is empty"),
        ("a=1,", "group 1, condition 2 is empty"),
        ("tele\u202escope=lofar", "contains an invisible right-to-left control character (U+202E)"),
        ("telescope=lo\u202efar", "the value for 'telescope' contains an invisible right-to-left control character"),
        ("telescope=lo\x07far", "contains a control character (U+0007)"),
        ("telescope=lo\u200bfar", "contains an invisible character (U+200B)"),
        (f"energy>{MAX_WHOLE_NUMBER + 1}", "too large"),
        ("energy>" + "9" * 300, "too large"),
        ("telescope=" + "x" * 257, "longer than 256 characters"),
    ],
)
def test_what_rucio_cannot_search_with_is_named(text, words):
    with pytest.raises(InvalidInput) as caught:
        parse_filter_string(text)
    assert words in caught.value.message
    assert "\u202e" not in caught.value.message, "invisible characters are never echoed back"


def test_numbers_at_the_edge_of_what_rucio_compares():
    assert parse_filter_string(f"energy>{MAX_WHOLE_NUMBER}") == [[Condition("energy", ">", MAX_WHOLE_NUMBER)]]
    assert parse_filter_string("energy>1e300") == [[Condition("energy", ">", 1e300)]]
    assert parse_filter_string("label=caf\u00e9") == [[Condition("label", "=", "caf\u00e9")]], "non-ASCII text is fine"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([[{"key": "energy", "op": ">", "value": True}]], "true/false can only be compared with = or !="),
        ([[{"key": "energy", "op": ">", "value": None}]], "must be a string, number or boolean"),
        ([[{"key": "energy", "op": ">", "value": [1]}]], "must be a string, number or boolean"),
        ([[{"key": "energy", "op": ">", "value": {"a": 1}}]], "must be a string, number or boolean"),
        ([[{"key": "energy", "op": ">", "value": float("nan")}]], "finite number"),
        ([[{"key": "energy", "op": ">", "value": 10**20}]], "too large"),
        ([[{"key": "energy", "op": ">>", "value": 1}]], "'>>' is not an operator"),
        ([[{"key": "energy", "op": True, "value": 1}]], "key and op must be strings"),
        ([[{"key": "a", "op": "=", "value": 1}]] * 17, "too many OR groups"),
        ([[{"key": f"k{i}", "op": "=", "value": 1} for i in range(33)]], "too many conditions"),
        ([[{"key": "a", "op": "=", "value": 1}, {"key": "a", "op": "==", "value": 2}]], "appears twice"),
    ],
)
def test_structured_filters_are_typed_strictly(data, words):
    with pytest.raises(InvalidInput) as caught:
        parse_filter_json(data)
    assert words in caught.value.message
    assert caught.value.field == "filters"


keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in {"name", "scope", "type", "did_type"}
)
strings = st.text(
    alphabet=st.one_of(
        st.characters(codec="ascii", categories=("L", "N"), include_characters="_-.:/ *,;=<>!\"'"),
        st.sampled_from("\u2265\u2264\u2260\u00e9"),
    ),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s)
values = st.one_of(
    st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), st.booleans(), strings
)


@st.composite
def conditions(draw):
    value = draw(values)
    ops = (
        ["=", "!="]
        if isinstance(value, bool) or (isinstance(value, str) and "*" in value)
        else ["=", "!=", "<", "<=", ">", ">="]
    )
    return Condition(draw(keys), draw(st.sampled_from(ops)), value)


def _unique(group):
    seen, out = set(), []
    for c in group:
        if (c.key, c.op) not in seen:
            seen.add((c.key, c.op))
            out.append(c)
    return out


@given(st.lists(st.lists(conditions(), min_size=1, max_size=4).map(_unique), min_size=1, max_size=4))
def test_text_round_trip(groups):
    """What the filter builder shows as text parses back to the same conditions."""
    text = format_filter_string(groups)
    assert parse_filter_string(text) == groups
    assert parse_filter_json([[c.to_json() for c in g] for g in groups]) == groups
