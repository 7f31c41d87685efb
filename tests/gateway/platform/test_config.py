"""Configuration: embedded defaults, and bad values that fail at start naming the variable."""

from __future__ import annotations

import pytest

from gateway.config import ConfigError, Settings
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
