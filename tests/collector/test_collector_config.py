"""os-collect-config.conf parsing."""
import pytest

from collector import config
from collector.errors import ConfigError


def test_defaults_for_an_empty_file():
    cfg = config.parse("", "/etc/occ.conf")
    assert cfg.collectors == ("watch",)
    assert cfg.polling_interval == 30.0
    assert cfg.min_polling_interval == 1.0
    assert cfg.cachedir is None
    assert cfg.settings == {"watch": {"metadata_url": None, "auth_token": None, "timeout": 10.0, "wait": 25.0}}


def test_full_file_as_the_server_documents_it():
    text = """
[DEFAULT]
collectors = watch
polling_interval = 15
min_polling_interval = 0.5
cachedir = /srv/cache

[watch]
metadata_url = http://127.0.0.1:8004/v1/t/servers/s/metadata
auth_token = abc%def
timeout = 3
"""
    cfg = config.parse(text, "f.conf")
    assert (cfg.polling_interval, cfg.min_polling_interval, cfg.cachedir) == (15.0, 0.5, "/srv/cache")
    assert cfg.settings["watch"] == {"metadata_url": "http://127.0.0.1:8004/v1/t/servers/s/metadata",
                                     "auth_token": "abc%def", "timeout": 3.0, "wait": 25.0}


def test_repeated_collectors_lines_accumulate_in_order(monkeypatch):
    from collector import registry
    from collector.fake import FakeCollector

    monkeypatch.setitem(registry.COLLECTORS, "fake", FakeCollector)
    text = "[DEFAULT]\ncollectors = fake\n# collectors = commented\ncollectors = watch\n[watch]\ncollectors = not-here\n"
    assert config.parse(text).collectors == ("fake", "watch")


def test_comma_separated_collectors(monkeypatch):
    from collector import registry
    from collector.fake import FakeCollector

    monkeypatch.setitem(registry.COLLECTORS, "fake", FakeCollector)
    assert config.parse("[DEFAULT]\ncollectors = watch, fake,watch\n").collectors == ("watch", "fake")


def test_collector_sections_do_not_inherit_default_keys():
    cfg = config.parse("[DEFAULT]\ntimeout = 99\n[watch]\nmetadata_url = http://x/\n")
    assert cfg.settings["watch"]["timeout"] == 10.0


@pytest.mark.parametrize("text, where", [
    ("[DEFAULT]\npolling_interval = soon\n", "[DEFAULT] polling_interval = 'soon': not a number"),
    ("[DEFAULT]\nmin_polling_interval = -1\n", "[DEFAULT] min_polling_interval = '-1': must be a number greater than 0"),
    ("[watch]\ntimeout = ten\n", "[watch] timeout = 'ten': not a number"),
    ("[DEFAULT]\ncollectors = nosuch\n", "[DEFAULT] collectors: unknown collector 'nosuch'"),
    ("collectors = watch\n", "File contains no section headers"),
])
def test_errors_name_file_and_key(text, where):
    with pytest.raises(ConfigError) as err:
        config.parse(text, "/etc/os-collect-config.conf")
    message = str(err.value)
    assert message.startswith("/etc/os-collect-config.conf: ")
    assert where in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.conf: cannot read config file: No such file"):
        config.load(str(tmp_path / "missing.conf"))


def test_render_round_trips():
    text = config.render({"watch": {"metadata_url": "http://127.0.0.1:1/m", "auth_token": "t"}},
                         polling_interval=5, min_polling_interval=0.2)
    cfg = config.parse(text)
    assert cfg.collectors == ("watch",)
    assert (cfg.polling_interval, cfg.min_polling_interval) == (5.0, 0.2)
    assert cfg.settings["watch"]["metadata_url"] == "http://127.0.0.1:1/m"
