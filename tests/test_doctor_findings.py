"""``ccmon doctor``'s findings: a temporary HOME and repository with real settings files, one
test per cause, each asserting the fix it gives. (The test export is in test_doctor_live.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccmon.commands import doctor
from ccmon.commands.env import Target, env_object

TARGET = Target("127.0.0.1", 4317, 4318)
GOOD = env_object(TARGET, "grpc")


@pytest.fixture
def where(tmp_path, monkeypatch):
    """(home, repository): HOME points at a fresh directory, the managed settings at a file that
    tests may write, and the current directory is a git repository."""
    home, repo = tmp_path / "home", tmp_path / "repo"
    (home / ".claude").mkdir(parents=True)
    (repo / ".git").mkdir(parents=True)
    (repo / ".claude").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CCMON_MANAGED_SETTINGS", str(tmp_path / "managed-settings.json"))
    monkeypatch.chdir(repo)
    return home, repo


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def user(home: Path, env: dict, **other) -> None:
    write(home / ".claude" / "settings.json", {"env": env, **other})


def findings(shell: dict[str, str], target: Target = TARGET) -> dict[str, doctor.Finding]:
    report = doctor.inspect(target, shell)
    return {f.code: f for f in report.findings}


def errors(shell: dict[str, str], target: Target = TARGET) -> set[str]:
    return {code for code, f in findings(shell, target).items() if f.severity == doctor.ERROR}


def without(name: str) -> dict[str, str]:
    return {k: v for k, v in GOOD.items() if k != name}


def test_the_ccmon_env_block_has_no_error_or_warning(where):
    user(where[0], GOOD, statusLine={"type": "command", "command": "ccmon statusline"})
    got = findings({})
    # The repository is optional in the block (commented out): doctor says what it would add.
    assert [(f.code, f.severity) for f in got.values()] == [("repository_off", "info"), ("statusline", "ok")]


def test_telemetry_not_enabled(where):
    user(where[0], without("CLAUDE_CODE_ENABLE_TELEMETRY"))
    f = findings({})["telemetry_disabled"]
    assert f.severity == "error" and f.fix == "CLAUDE_CODE_ENABLE_TELEMETRY=1 (`ccmon setup` writes it)"


def test_protocol_unset(where):
    user(where[0], without("OTEL_EXPORTER_OTLP_PROTOCOL"))
    f = findings({})["protocol_unset"]
    assert f.severity == "error" and f.fix == "OTEL_EXPORTER_OTLP_PROTOCOL=grpc (or http/protobuf, http/json)"


def test_only_the_metrics_exporter(where):
    user(where[0], without("OTEL_LOGS_EXPORTER"))
    f = findings({})["logs_exporter_missing"]
    assert (f.severity, f.fix) == ("warning", "OTEL_LOGS_EXPORTER=otlp")


def test_only_the_logs_exporter(where):
    user(where[0], without("OTEL_METRICS_EXPORTER"))
    f = findings({})["metrics_exporter_missing"]
    assert (f.severity, f.fix) == ("warning", "OTEL_METRICS_EXPORTER=otlp")


def test_no_exporter_at_all(where):
    env = without("OTEL_METRICS_EXPORTER")
    del env["OTEL_LOGS_EXPORTER"]
    user(where[0], env)
    assert findings({})["no_exporter"].fix == "OTEL_METRICS_EXPORTER=otlp and OTEL_LOGS_EXPORTER=otlp"


def test_grpc_aimed_at_the_http_port(where):
    user(where[0], {**GOOD, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    f = findings({})["grpc_to_http_port"]
    assert f.fix == "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 (or OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)"
    assert f.source == "user settings"


def test_http_aimed_at_the_grpc_port(where):
    shell = {**GOOD, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}  # the endpoint stays :4317
    f = findings(shell)["http_to_grpc_port"]
    assert f.fix == "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 (or OTEL_EXPORTER_OTLP_PROTOCOL=grpc)"
    assert f.source == "shell environment"


def test_ports_of_this_ccmon_count_too(where):
    target = Target("127.0.0.1", 5317, 5318)
    shell = {**env_object(target, "grpc"), "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:5318"}
    assert findings(shell, target)["grpc_to_http_port"].fix.startswith(
        "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:5317"
    )


def test_signal_path_appended_to_the_generic_endpoint(where):
    shell = {**env_object(TARGET, "http/protobuf"), "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/v1/metrics"}
    report = doctor.inspect(TARGET, shell)
    f = {f.code: f for f in report.findings}["signal_path_on_endpoint"]
    assert f.fix == "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318"
    assert report.endpoint == "http://127.0.0.1:4318/v1/metrics/v1/metrics"


@pytest.mark.parametrize(
    "typo,meant",
    [
        ("OTEL_EXPORTER_OLTP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ("OTEL_EXPORTER_OTPL_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ("OLTP_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ("OTEL_METRIC_EXPORT_INTERVALL", "OTEL_METRIC_EXPORT_INTERVAL"),
        ("OTEL_METRICS_EXPORT_INTERVAL", "OTEL_METRIC_EXPORT_INTERVAL"),
        ("CLAUDE_CODE_ENABLE_TELEMETERY", "CLAUDE_CODE_ENABLE_TELEMETRY"),
    ],
)
def test_typos_name_the_intended_variable(where, typo, meant):
    user(where[0], {**GOOD, typo: "x"})
    got = findings({})
    assert got["typo"].message == f"{typo} is not a variable Claude Code reads; it looks like {meant}"
    assert got["typo"].fix == f"rename {typo} to {meant}"


def test_unknown_otel_name_without_a_close_match(where):
    f = findings({**GOOD, "OTEL_FROBNICATE": "1"})["unknown_name"]
    assert f.message == "OTEL_FROBNICATE is not a variable Claude Code or OpenTelemetry reads"


def test_default_metric_interval(where):
    user(where[0], without("OTEL_METRIC_EXPORT_INTERVAL"))
    f = findings({})["metric_interval_default"]
    assert (f.severity, f.fix) == ("warning", "OTEL_METRIC_EXPORT_INTERVAL=5000")
    assert "every 60 s" in f.message


def test_session_id_switched_off(where):
    user(where[0], {**GOOD, "OTEL_METRICS_INCLUDE_SESSION_ID": "false"})
    f = findings({})["session_id_off"]
    assert f.fix == "remove OTEL_METRICS_INCLUDE_SESSION_ID (it is on by default)"


@pytest.mark.parametrize("name", ["settings.json", "settings.local.json"])
def test_variables_in_a_repository_are_ignored(where, name):
    home, repo = where
    write(repo / ".claude" / name, {"env": GOOD})
    got = findings({})
    f = got["project_settings_ignored"]
    assert f.fix == "move them to ~/.claude/settings.json (`ccmon setup`) or the shell"
    assert f.message.startswith("CLAUDE_CODE_ENABLE_TELEMETRY, OTEL_EXPORTER_OTLP_ENDPOINT, ")
    assert {"telemetry_disabled", "protocol_unset", "no_exporter"} <= errors({})  # and nothing applies


def test_a_switch_off_in_a_repository_applies(where):
    home, repo = where
    user(home, GOOD)
    write(repo / ".claude" / "settings.local.json", {"env": {"CLAUDE_CODE_ENABLE_TELEMETRY": "0"}})
    f = findings({})["telemetry_disabled"]
    assert f.message == ("telemetry is not enabled (local project settings sets it to '0'): Claude Code sends nothing")
    assert f.source == "local project settings"


def test_managed_settings_pin_another_destination(where, tmp_path):
    home, _ = where
    user(home, {**GOOD, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://127.0.0.1:4317"})
    write(
        tmp_path / "managed-settings.json", {"env": {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.corp.example:4317"}}
    )
    report = doctor.inspect(TARGET, {})
    f = {f.code: f for f in report.findings}["managed_pins_destination"]
    assert f.severity == "error" and f.fix.startswith("ask whoever manages this machine")
    assert report.endpoint == "https://otel.corp.example:4317"  # the user's per-signal endpoint is stripped
    assert "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" not in report.env


def test_prometheus_exporter(where):
    user(where[0], {**GOOD, "OTEL_METRICS_EXPORTER": "prometheus"})
    f = findings({})["prometheus_exporter"]
    assert f.fix.startswith("OTEL_METRICS_EXPORTER=otlp") and ":9464" in f.message


def test_token_the_receiver_wants_is_not_sent(where):
    target = Target("127.0.0.1", 4317, 4318, token="s3cret")
    user(where[0], GOOD)
    f = findings({}, target)["token_missing"]
    assert f.fix.startswith("OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer ")
    user(where[0], env_object(target, "grpc"))
    assert "token_missing" not in findings({}, target) and "token_wrong" not in findings({}, target)
    user(where[0], {**GOOD, "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer other"})
    assert findings({}, target)["token_wrong"].severity == "error"


def test_temporality(where):
    user(where[0], {**GOOD, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative"})
    assert findings({})["temporality_cumulative"].fix == "remove it for delta (the default)"
    user(where[0], {**GOOD, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sometimes"})
    assert findings({})["temporality_invalid"].severity == "warning"


def test_content_logging_is_a_privacy_note(where):
    user(where[0], {**GOOD, "OTEL_LOG_USER_PROMPTS": "1"})
    f = findings({})["content_logged"]
    assert f.severity == "info" and f.fix == "unset them, or keep --retention-days short"


def test_statusline_missing_or_foreign(where):
    user(where[0], GOOD)
    assert findings({})["statusline"].fix == "ccmon setup --statusline"
    user(where[0], GOOD, statusLine={"type": "command", "command": "~/bin/line.sh"})
    assert findings({})["statusline"].message == (
        "the ccmon status line is not installed (statusLine runs '~/bin/line.sh')"
    )


def test_a_settings_file_that_is_not_json(where):
    (where[0] / ".claude" / "settings.json").write_text("{ not json")
    f = findings(GOOD)["settings_unreadable"]
    assert f.severity == "error" and "is not valid JSON" in f.message


def test_shell_loses_to_user_settings(where):
    user(where[0], GOOD)
    report = doctor.inspect(TARGET, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"})
    assert (report.env["OTEL_EXPORTER_OTLP_PROTOCOL"], report.origin["OTEL_EXPORTER_OTLP_PROTOCOL"]) == (
        "grpc",
        "user settings",
    )


# -- precedence, against a reference model -----------------------------------------------------

NAMES = (
    "CLAUDE_CODE_ENABLE_TELEMETRY",
    "OTEL_METRICS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)
VALUES = ("0", "1", "none", "otlp", "http://a:1")
LAYERS = ("shell environment", "user settings", "project settings", "local project settings", "managed settings")
layer_env = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(VALUES), max_size=4)


def reference(envs: list[dict[str, str]]) -> dict[str, str]:
    """Per name: the highest layer that sets it, where the two repository layers count only
    for switch-offs, and a managed endpoint removes the per-signal endpoint set below it."""
    out = {}
    for name in NAMES:
        for layer, env in reversed(list(zip(LAYERS, envs, strict=True))):
            if name not in env:
                continue
            if "project" in layer and not (
                (name == "CLAUDE_CODE_ENABLE_TELEMETRY" and env[name] in ("0",))
                or (name == "OTEL_METRICS_EXPORTER" and env[name] == "none")
            ):
                continue
            out[name] = env[name]
            break
    managed = envs[-1]
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in managed and "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" not in managed:
        out.pop("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", None)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(layer_env, min_size=5, max_size=5))
def test_resolve_follows_claude_codes_precedence(envs):
    layers = [doctor.Layer(name, None, env, True) for name, env in zip(LAYERS, envs, strict=True)]
    env, origin = doctor.resolve(layers)
    assert env == reference(envs)
    assert set(origin) == set(env)
