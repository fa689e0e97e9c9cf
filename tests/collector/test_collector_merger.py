"""Deployment explosion and the merged deployments list."""
import logging

from collector.merger import explode, merged_deployments


def test_explodes_only_os_apply_config_and_ungrouped_items():
    content = {"deployments": [
        {"name": "dep-name1", "group": "Heat::Ungrouped", "config": {"a": 1}},
        {"name": "dep-name2", "group": "os-apply-config", "config": {"b": 2}},
        {"name": "dep-name3", "config": {"c": 3}},  # no group = Heat::Ungrouped
        {"name": "dep-name4", "group": "script", "config": "#!/bin/sh"},
        {"group": "os-apply-config", "config": {"nameless": True}},
    ]}
    assert explode("watch", content) == [
        ("watch", content), ("dep-name1", {"a": 1}), ("dep-name2", {"b": 2}), ("dep-name3", {"c": 3})]


def test_malformed_items_are_skipped_with_a_warning(caplog):
    content = {"deployments": [
        "not an object",
        {"name": "no-config", "group": "os-apply-config"},
        {"name": "../escape", "group": "os-apply-config", "config": {}},
        {"name": "ok", "group": "os-apply-config", "config": {"x": 1}},
    ]}
    with caplog.at_level(logging.WARNING):
        assert explode("watch", content)[1:] == [("ok", {"x": 1})]
    assert len(caplog.records) == 3
    assert "deployments[0] is not an object" in caplog.text
    assert "(no-config) has no config" in caplog.text


def test_non_list_deployments_are_left_alone():
    content = {"deployments": {"not": "a list"}}
    assert explode("watch", content) == [("watch", content)]
    assert explode("watch", ["not", "a dict"]) == [("watch", ["not", "a dict"])]


def test_merged_deployments_last_source_with_a_list_wins():
    assert merged_deployments([("a", {"deployments": [1]}), ("b", {"x": 1}), ("c", {"deployments": [2]})]) == [2]
    assert merged_deployments([("a", {"deployments": [1]}), ("b", {"deployments": "bad"})]) == [1]
    assert merged_deployments([("a", {"x": 1})]) == []
