"""Configuration: embedded defaults declared once, bad values that fail at start naming the variable, frozen settings."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from gateway import create_app
from gateway.config import ConfigError, MiB, Settings, keys, specs
from gateway.profile import load_profile


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"HOTLINE_PROFILE": "/no/such/profile.toml"}, "HOTLINE_PROFILE"),
        ({"HOTLINE_MAX_BODY_BYTES": "lots"}, "HOTLINE_MAX_BODY_BYTES"),
        ({"HOTLINE_SYSTEM_TOKENS": "no-colon"}, "HOTLINE_SYSTEM_TOKENS"),
        ({"HOTLINE_PUBLIC_URL": "ftp://x"}, "HOTLINE_PUBLIC_URL"),
        ({"HOTLINE_SMTP_URL": "http://relay"}, "HOTLINE_SMTP_URL"),
        ({"HOTLINE_SMS_ACK": "carrier-pigeon"}, "HOTLINE_SMS_ACK"),
        ({"HOTLINE_SMS_SEGMENT_SECONDS": "-1"}, "HOTLINE_SMS_SEGMENT_SECONDS"),
        ({"HOTLINE_MAIL_MAX_BYTES": "big"}, "HOTLINE_MAIL_MAX_BYTES"),
        ({"HOTLINE_WEB_PROCESSES": "0"}, "HOTLINE_WEB_PROCESSES"),
        ({"HOTLINE_WORKERS": "0"}, "HOTLINE_WORKERS"),
        ({"HOTLINE_LOG_LEVEL": "loud"}, "HOTLINE_LOG_LEVEL"),
        ({"HOTLINE_JOB_GRACE": "soon"}, "HOTLINE_JOB_GRACE"),
        ({"HOTLINE_RETRY_BACKOFF": ","}, "HOTLINE_RETRY_BACKOFF"),
        ({"HOTLINE_SECURE_COOKIES": "maybe"}, "HOTLINE_SECURE_COOKIES"),
        ({"HOTLINE_TRUST_PROXY": "many"}, "HOTLINE_TRUST_PROXY"),
        ({"HOTLINE_RATE_LIMIT_LOOKUP": "often"}, "HOTLINE_RATE_LIMIT_LOOKUP"),
        ({"HOTLINE_MAX_BODY_SMS": "1"}, "HOTLINE_MAX_BODY_SMS"),
    ],
)
def test_a_bad_setting_fails_naming_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_environment(env)


def test_with_nothing_set_the_defaults_are_embedded(tmp_path):
    settings = Settings.from_environment({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.profile_path.endswith("wuhan.toml")
    assert settings.web_processes == 1


def test_a_fresh_settings_from_an_empty_environment_has_each_declared_default():
    settings = Settings.from_environment({})
    for name, spec in specs().items():
        if name != "secure_cookies":  # its default, auto, is decided from two other settings (below)
            assert getattr(settings, name) == spec.parse(spec.variable, spec.default), name
    assert settings.mail_from == "12345@example.wuhan.gov.cn" and settings.mail_max_bytes == 10 * MiB
    assert (settings.job_timeout, settings.job_grace, settings.maintenance_seconds) == (120, 30, 30)
    assert (settings.workers, settings.log_level) == (2, "INFO")
    assert settings.data_dir == str(Path("./var").resolve()) and settings.secure_cookies is False


def test_settings_are_frozen():
    settings = Settings.from_environment({})
    with pytest.raises(FrozenInstanceError):
        setattr(settings, "mail_from", "someone@else.example")  # as `settings.mail_from = ...` would


def test_every_field_says_in_one_line_what_it_means_and_test_only_fields_have_no_variable():
    for f in fields(Settings):
        meaning = f.metadata["spec"].meaning if "spec" in f.metadata else f.metadata["meaning"]
        assert meaning and "\n" not in meaning, f.name
    assert {f.name for f in fields(Settings)} - set(specs()) == {"now", "password_hash_method"}


def test_secure_cookies_on_auto_follow_a_trusted_proxy_or_an_https_public_url():
    assert Settings.from_environment({"HOTLINE_TRUST_PROXY": "1"}).secure_cookies is True
    assert Settings.from_environment({"HOTLINE_PUBLIC_URL": "https://12345.example.cn"}).secure_cookies is True
    assert Settings.from_environment({"HOTLINE_PUBLIC_URL": "http://12345.example.cn"}).secure_cookies is False
    forced_off = {"HOTLINE_PUBLIC_URL": "https://12345.example.cn", "HOTLINE_SECURE_COOKIES": "0"}
    assert Settings.from_environment(forced_off).secure_cookies is False


def test_an_empty_variable_counts_as_unset_where_a_blank_value_means_nothing():
    blank = Settings.from_environment({"HOTLINE_DATA_DIR": "", "HOTLINE_MAIL_FROM": "", "HOTLINE_TRUST_PROXY": " ",
                                       "TWILIO_AUTH_TOKEN": "", "HOTLINE_SMTP_URL": ""})
    assert blank.data_dir == str(Path("./var").resolve()) and blank.mail_from == "12345@example.wuhan.gov.cn"
    assert blank.trust_proxy == 0 and blank.twilio_auth_token is None and blank.smtp_url is None
    with pytest.raises(ConfigError, match="HOTLINE_SESSION_HOURS"):
        Settings.from_environment({"HOTLINE_SESSION_HOURS": ""})


def test_an_override_names_a_setting_by_its_upper_case_key_and_an_unknown_key_is_refused():
    settings = Settings.from_environment({}).overridden({"HEARTBEAT_MAX_AGE": 0, "MAIL_MAX_BYTES": 2048})
    assert (settings.heartbeat_max_age, settings.mail_max_bytes) == (0, 2048)
    assert set(keys()) >= {"DATA_DIR", "REDIS_URL", "QUEUE_PREFIX", "SECRET_KEY", "NOW", "PASSWORD_HASH_METHOD"}
    with pytest.raises(ConfigError, match="BODY_LIMITS"):
        Settings.from_environment({}).overridden({"BODY_LIMITS": {"api": 1024}})


def test_create_app_refuses_a_key_that_is_neither_a_setting_nor_flasks_own(config):
    with pytest.raises(ConfigError, match="BODY_LIMITS"):
        create_app({**config, "BODY_LIMITS": {"api": 1024}})


def test_the_app_holds_its_overridden_settings_and_flasks_own_keys_stay_in_app_config(app, rt):
    assert rt.settings.heartbeat_max_age == 0 and rt.settings.password_hash_method == "pbkdf2:sha256:1000"
    assert app.config["TESTING"] is True and app.config["SECRET_KEY"] == "test-secret"
    assert app.config["MAX_CONTENT_LENGTH"] == rt.settings.max_content_length


def test_no_code_reads_a_setting_by_its_key_from_a_config_mapping():
    root = Path(__file__).resolve().parents[3]
    flask_owned = {"SECRET_KEY", "MAX_CONTENT_LENGTH"}  # create_app hands these two to Flask through app.config
    read = re.compile(r"\.config(?:\[|\.get\()\s*[\"']([A-Z_0-9]+)[\"']")
    sources = [*(root / "gateway").rglob("*.py"), root / "worker.py", *(root / "bench").rglob("*.py")]
    found = {(str(path.relative_to(root)), key) for path in sources
             for key in read.findall(path.read_text(encoding="utf-8")) if key in set(keys()) - flask_owned}
    assert found == set()


def test_a_broken_profile_fails_naming_the_variable(tmp_path):
    bad = tmp_path / "city.toml"
    bad.write_text("[city\nname=")
    with pytest.raises(ConfigError, match="HOTLINE_PROFILE"):
        load_profile(bad)
    unknown = tmp_path / "city2.toml"
    unknown.write_text('[[categories]]\ncode="x"\nname="X"\ndepartments=["NOPE"]\n')
    with pytest.raises(ConfigError, match="NOPE"):
        load_profile(unknown)


def test_the_demo_profile_has_wuhans_districts_and_departments():
    profile = load_profile(Settings.from_environment({}).profile_path)
    names = profile.district_names()
    assert len(names) == 16 and "东湖新技术开发区" in names and "武汉经济技术开发区" in names
    assert profile.category("路灯照明").departments == ["WH-LIGHT"]
    assert {d["kind"] for d in profile.departments} >= {"office", "city", "district", "utility"}


def test_dedupe_topics_must_map_a_kind_of_problem_to_words(tmp_path):
    from dataclasses import replace

    from gateway.intake.matching import Dedupe

    profile = load_profile(Settings.from_environment({}).profile_path)
    assert Dedupe(profile).topics["油烟"] == "fumes"
    broken = replace(profile, dedupe={**profile.dedupe, "topics": {"fumes": "油烟"}})
    with pytest.raises(ConfigError, match=r"HOTLINE_PROFILE.*\[dedupe.topics\]"):
        Dedupe(broken)
