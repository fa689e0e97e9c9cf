"""os-collect-config's config file and flags as collector.cli reads them."""
import pytest

from collector import cli, config
from collector.errors import ConfigError

UPSTREAM_STYLE = """
[DEFAULT]
command = os-refresh-config
polling_interval = 30
collectors = cfn
collectors = local
deployment_key = deployments
deployment_key = extra

[cfn]
metadata_url = http://192.0.2.99:8000/v1/
stack_name = my.stack
access_key_id = ABC
secret_access_key = 012
path = MyServer.Metadata
path = Other.Metadata.sub

[local]
path = /srv/a
path = /srv/b

[keystone]
cache_dir = /var/cache/ks
"""


def configure(tmp_path, text, *argv):
    conf = tmp_path / "os-collect-config.conf"
    conf.write_text(text)
    args = cli.build_parser().parse_args(["--config-file", str(conf), *argv])
    return cli.configure(args)


def test_upstream_style_file_with_repeated_keys(tmp_path):
    settings, collectors = configure(tmp_path, UPSTREAM_STYLE)
    assert [c.name for c in collectors] == ["cfn", "local"]
    cfn, local = collectors
    assert cfn.paths == ["MyServer.Metadata", "Other.Metadata.sub"]
    assert cfn.settings["stack_name"] == "my.stack"
    assert local.paths == ["/srv/a", "/srv/b"]
    assert settings.command == "os-refresh-config"
    assert settings.deployment_keys == ["deployments", "extra"]
    assert (settings.cachedir, settings.backup_cachedir) == ("/var/lib/os-collect-config", "/var/run/os-collect-config")
    assert settings.splay == cli.DEFAULT_SPLAY > 0


def test_flags_override_the_file_in_both_spellings(tmp_path):
    settings, collectors = configure(
        tmp_path, UPSTREAM_STYLE, "--cfn-metadata-url", "http://other:8000/v1/", "--cfn-stack_name", "s2",
        "--local-path", "/x", "--local-path", "/y", "-i", "12", "--min-polling-interval", "3", "--splay", "0",
        "--command", "true", "--cachedir", "/c", "--backup-cachedir", "/b")
    cfn, local = collectors
    assert cfn.settings["metadata_url"] == "http://other:8000/v1/" and cfn.settings["stack_name"] == "s2"
    assert local.paths == ["/x", "/y"]
    assert (settings.polling_interval, settings.min_polling_interval, settings.splay) == (12, 3, 0)
    assert (settings.command, settings.cachedir, settings.backup_cachedir) == ("true", "/c", "/b")


def test_positional_collectors_replace_the_files(tmp_path):
    _, collectors = configure(tmp_path, UPSTREAM_STYLE, "heat_local", "--heat_local-path", "/h", "--heat-local-path", "/i")
    assert [c.name for c in collectors] == ["heat_local"]
    assert collectors[0].paths == ["/h", "/i"]


def test_default_collectors_are_upstreams(tmp_path):
    _, collectors = configure(tmp_path, "[DEFAULT]\n")
    assert [c.name for c in collectors] == ["heat_local", "ec2", "cfn", "heat", "request", "local", "zaqar"]


def test_dashed_keys_in_the_file_are_accepted():
    cfg = config.parse("[DEFAULT]\ncollectors = request\n[request]\nmetadata-url = http://h/x\n")
    assert cfg.settings["request"]["metadata_url"] == "http://h/x"


@pytest.mark.parametrize("argv, message", [
    (["--ec2-timeout", "soon"], "--ec2-timeout 'soon'"),
    (["--zaqar-use-websockets", "maybe"], "must be true or false"),
])
def test_bad_flag_values_are_one_line(tmp_path, argv, message):
    with pytest.raises(ConfigError, match=message):
        configure(tmp_path, "[DEFAULT]\n", *argv)


def test_bad_file_value_names_file_section_and_key(tmp_path, capsys):
    conf = tmp_path / "occ.conf"
    conf.write_text("[DEFAULT]\ncollectors = local\n[cfn]\n[DEFAULT]\nsplay = -3\n")
    assert cli.main(["--config-file", str(conf), "--print"]) == 1
    err = capsys.readouterr().err
    assert f"{conf}: [DEFAULT] splay = '-3': must be a number, 0 or more" in err
    assert "Traceback" not in err


def test_secrets_are_declared_secret():
    from collector import registry
    secret = {(n, k) for n, cls in registry.COLLECTORS.items() for k, o in cls.options.items() if o.secret}
    assert {("cfn", "secret_access_key"), ("heat", "password"), ("zaqar", "password")} <= secret


def test_config_digest_matches_the_files_bytes_even_with_crlf(tmp_path):
    from collector import occ_loop
    settings, _ = configure(tmp_path, "[DEFAULT]\r\ncollectors = local\r\n")
    assert settings.config_digest == occ_loop.config_hash(settings.config_files)
