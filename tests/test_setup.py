"""``ccmon setup`` and ``ccmon env`` on a temporary HOME with real settings files."""

from __future__ import annotations

import json

import pytest

from ccmon.cli import main

EXISTING = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git diff:*)"]},
    "env": {
        "ANTHROPIC_MODEL": "claude-opus-4-8",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318/v1/metrics",
    },
}
BLOCK = {
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
    "OTEL_METRIC_EXPORT_INTERVAL": "5000",
    "OTEL_LOGS_EXPORT_INTERVAL": "2000",
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CCMON_TOKEN", raising=False)
    (tmp_path / ".claude").mkdir()
    return tmp_path


def settings_path(home):
    return home / ".claude" / "settings.json"


def backup_path(home):
    return home / ".claude" / "settings.json.ccmon-backup"


def test_setup_merges_keeps_backs_up_is_idempotent_and_undoes(home, capsys):
    original = json.dumps(EXISTING, indent=4)  # the user's own formatting, restored byte for byte
    settings_path(home).write_text(original)
    assert main(["setup"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(settings_path(home).read_text())
    assert doc["model"] == "opus" and doc["permissions"] == EXISTING["permissions"]
    assert doc["env"] == {"ANTHROPIC_MODEL": "claude-opus-4-8", **BLOCK}  # the per-signal override is gone
    assert list(doc["env"])[:2] == ["ANTHROPIC_MODEL", "OTEL_EXPORTER_OTLP_PROTOCOL"]  # keys keep their place
    assert backup_path(home).read_text() == original
    assert '-    "env": {' in out and '+    "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",' in out
    assert "note: removed OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: they override the endpoint and protocol above" in out

    written = settings_path(home).read_text()
    assert main(["setup"]) == 0
    assert capsys.readouterr().out.endswith(
        "already has Claude Code's telemetry settings for this ccmon; nothing to change\n"
    )
    assert settings_path(home).read_text() == written and backup_path(home).read_text() == original

    assert main(["setup", "--undo"]) == 0
    assert settings_path(home).read_text() == original and not backup_path(home).exists()
    assert main(["setup", "--undo"]) == 1
    assert "nothing to undo" in capsys.readouterr().err


def test_setup_without_a_settings_file_and_undo_removes_it(home, capsys):
    assert main(["setup", "--protocol", "http/protobuf", "--http-port", "5318"]) == 0
    doc = json.loads(settings_path(home).read_text())
    assert doc == {
        "env": {
            **BLOCK,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:5318",
        }
    }
    assert backup_path(home).read_text() == ""  # there was no file
    assert main(["setup", "--undo"]) == 0
    assert not settings_path(home).exists()


def test_dry_run_writes_nothing(home, capsys):
    settings_path(home).write_text('{"model": "opus"}')
    assert main(["setup", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("dry run: nothing written\n") and '+    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",' in out
    assert settings_path(home).read_text() == '{"model": "opus"}' and not backup_path(home).exists()


@pytest.mark.parametrize("scope", ["project", "local"])
def test_setup_refuses_a_repository_scope(home, capsys, scope):
    assert main(["setup", "--scope", scope]) == 2
    err = capsys.readouterr().err
    assert "Claude Code ignores exporter variables in a repository's .claude/settings.json" in err
    assert not settings_path(home).exists()


def test_setup_refuses_a_file_that_is_not_json(home, capsys):
    settings_path(home).write_text("{ oops")
    assert main(["setup"]) == 1
    assert "is not valid JSON" in capsys.readouterr().err
    assert settings_path(home).read_text() == "{ oops"


def test_setup_writes_the_token(home, monkeypatch):
    monkeypatch.setenv("CCMON_TOKEN", "t0k")
    assert main(["setup"]) == 0
    env = json.loads(settings_path(home).read_text())["env"]
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer t0k"


def test_statusline_written_idempotent_and_another_one_kept(home, capsys):
    settings_path(home).write_text(json.dumps({"model": "opus"}))
    assert main(["setup", "--statusline"]) == 0
    doc = json.loads(settings_path(home).read_text())
    assert doc == {"model": "opus", "statusLine": {"type": "command", "command": "ccmon statusline"}}
    capsys.readouterr()
    assert main(["setup", "--statusline"]) == 0
    assert "nothing to change" in capsys.readouterr().out

    mine = {"model": "opus", "statusLine": {"type": "command", "command": "~/bin/line.sh", "padding": 0}}
    settings_path(home).write_text(json.dumps(mine))
    assert main(["setup", "--statusline"]) == 1
    err = capsys.readouterr().err
    assert "already has a status line ('~/bin/line.sh'); ccmon leaves it alone" in err
    assert "`ccmon setup --statusline --replace`" in err
    assert json.loads(settings_path(home).read_text()) == mine

    assert main(["setup", "--statusline", "--replace"]) == 0
    assert json.loads(settings_path(home).read_text())["statusLine"] == {
        "type": "command",
        "command": "ccmon statusline",
        "padding": 0,
    }
    assert json.loads(backup_path(home).read_text()) == mine


def test_env_formats(capsys, monkeypatch):
    monkeypatch.delenv("CCMON_TOKEN", raising=False)
    assert main(["env", "--grpc-port", "5317"]) == 0
    sh = capsys.readouterr().out.splitlines()
    assert sh[2:6] == [
        "# switches Claude Code's telemetry on (it is off by default)",
        "export CLAUDE_CODE_ENABLE_TELEMETRY=1",
        "# metrics (cost, tokens, sessions, lines) go out over OTLP",
        "export OTEL_METRICS_EXPORTER=otlp",
    ]
    assert "export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:5317" in sh
    assert sh[-1] == "# export OTEL_METRICS_INCLUDE_REPOSITORY=true"
    exports = [line for line in sh if line.startswith("export ")]
    comments = [line for line in sh[2:] if line.startswith("# ") and not line.startswith("# export")]
    assert len(exports) == 7 and len(comments) == 8  # one comment per variable, and one for the optional one

    monkeypatch.setenv("CCMON_TOKEN", "a b'c")
    assert main(["env", "--format", "fish", "--protocol", "http/json"]) == 0
    fish = capsys.readouterr().out
    assert "set -gx OTEL_EXPORTER_OTLP_PROTOCOL http/json" in fish
    assert "set -gx OTEL_EXPORTER_OTLP_HEADERS 'Authorization=Bearer a b'\"'\"'c'" in fish
    assert main(["env", "--format", "powershell"]) == 0
    assert "$env:OTEL_EXPORTER_OTLP_HEADERS = 'Authorization=Bearer a b''c'" in capsys.readouterr().out
    assert main(["env", "--format", "json", "--bind", "0.0.0.0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4317"  # a wildcard bind is not an address
    assert doc["env"]["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer a b'c"


def test_env_refuses_port_zero(capsys):
    assert main(["env", "--grpc-port", "0"]) == 2
    assert "port 0" in capsys.readouterr().err
