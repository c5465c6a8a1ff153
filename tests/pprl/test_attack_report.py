"""The attack comparison's HTML and frontier chart (matchsim.pprl.report)."""

from __future__ import annotations

from matchsim.pprl.report import attacks_html, frontier_svg, worst_case


def row(label, f1, shares):
    quality = {"threshold": 0.8, "precision": 0.9, "recall": 0.9, "f1": f1}
    return {
        "label": label,
        "thresholds": {"oracle": quality, "unsupervised": quality},
        "attack_outcomes": [
            {
                "attack": "graph",
                "field": "forename",
                "knowledge": f"overlap {i}",
                "records_share": s,
                "records_interval": [max(s - 0.01, 0), min(s + 0.01, 1)],
                "values_share": s / 2,
            }
            for i, s in enumerate(shares)
        ],
    }


def test_worst_case_is_the_strongest_attack():
    assert worst_case(row("a", 0.9, [0.1, 0.7, 0.3])) == 0.7
    assert worst_case({"attack_outcomes": []}) is None


def test_the_frontier_joins_only_undominated_settings():
    rows = [row("plain", 0.95, [0.8]), row("salted", 0.94, [0.01]), row("bad", 0.90, [0.5])]
    svg = frontier_svg(rows)
    assert svg.startswith("<svg") and "Privacy-utility frontier" in svg
    points = svg.split('<polyline points="')[1].split('"')[0].split()
    assert len(points) == 2  # "bad" is beaten on both axes by "salted"
    assert all(label in svg for label in ("plain", "salted", "bad"))


def test_the_section_lists_every_attack_per_setting_and_escapes_labels():
    html = attacks_html({"tradeoff": [row("<none>", 0.95, [0.8, 0.1])]})
    assert "&lt;none&gt;" in html and "<none>" not in html
    assert html.count("graph matching: forename") == 2
    assert attacks_html({"tradeoff": []}) == ""


def test_the_quality_table_has_a_column_group_per_threshold_rule_the_results_hold():
    old = row("none", 0.9, [0.5])  # written before the one-to-one rule: oracle and Otsu
    html = attacks_html({"tradeoff": [old]})
    assert "Otsu</th>" in html and "One request, one child</th>" not in html
    assert html.count("<th>Dice</th>") == 2
    new = row("none", 0.9, [0.5])
    new["thresholds"]["one_to_one"] = {
        "threshold": 0.861,
        "precision": 0.97,
        "recall": 0.87,
        "f1": 0.92,
    }
    html = attacks_html({"tradeoff": [new]})
    assert "One request, one child</th>" in html and html.count("<th>Dice</th>") == 3
    assert (
        html.index("Oracle</th>")
        < html.index("One request, one child</th>")
        < html.index("Otsu</th>")
    )
    assert "<td class='num'>0.861</td>" in html
