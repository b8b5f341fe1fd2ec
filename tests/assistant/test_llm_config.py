"""Which model answers: flags, environment, config file; and the key staying secret."""

from __future__ import annotations

import logging

import pytest

from tests.assistant._assistant_helpers import FAKE_KEY
from shotsmith.assistant.llm import build_chat_model, parse_llm, resolve_llm
from shotsmith.errors import InvalidInputError


def test_parse_provider_and_model():
    assert parse_llm("openai:gpt-4.1-mini") == ("openai", "gpt-4.1-mini")
    assert parse_llm("ollama:llama3.1:8b") == ("ollama", "llama3.1:8b")
    assert parse_llm("gpt-4o") == ("openai", "gpt-4o")
    with pytest.raises(InvalidInputError, match="not supported"):
        parse_llm("anthropic:claude")
    with pytest.raises(InvalidInputError, match="names no model"):
        parse_llm("openai:")


def test_no_model_configured_means_offline():
    assert resolve_llm() is None


def test_flags_win_over_environment_and_config(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('llm = "ollama:from-config"\nllm_base_url = "http://config:11434/v1"\n')
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    assert resolve_llm().label == "ollama:from-config"
    assert resolve_llm().base_url == "http://config:11434/v1"
    monkeypatch.setenv("SHOTSMITH_LLM", "vllm:from-env")
    assert resolve_llm().label == "vllm:from-env"
    got = resolve_llm("openai:from-flag", "http://flag/v1")
    assert got.label == "openai:from-flag" and got.base_url == "http://flag/v1"


def test_key_from_environment_or_config_secrets_and_never_printed(monkeypatch, tmp_path, caplog):
    config = tmp_path / "config.toml"
    config.write_text(f'[secrets]\nOPENAI_API_KEY = "{FAKE_KEY}"\n')
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    caplog.set_level(logging.DEBUG)
    got = resolve_llm("openai:gpt-4.1-mini")
    assert got.api_key.get_secret_value() == FAKE_KEY
    model = build_chat_model(got)
    for text in (repr(got), str(got), got.label, repr(model)):
        assert FAKE_KEY not in text
    assert FAKE_KEY not in caplog.text


def test_hosted_openai_without_a_key_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="needs an API key") as info:
        resolve_llm("openai:gpt-4.1-mini")
    assert "OPENAI_API_KEY" in info.value.hint


def test_local_server_needs_no_key():
    got = resolve_llm("ollama:llama3.1", "http://127.0.0.1:11434/v1")
    assert got.api_key is None
    assert build_chat_model(got).openai_api_base == "http://127.0.0.1:11434/v1"


def test_bad_settings_fail_before_any_project_folder_exists(tmp_path):
    from shotsmith.assistant.session import ChatSession

    with pytest.raises(InvalidInputError, match="unknown backend"):
        ChatSession.open(tmp_path / "a", backend="no-such-backend")
    with pytest.raises(InvalidInputError, match="needs an API key"):
        ChatSession.open(tmp_path / "b", llm="openai:gpt-4.1-mini")
    with pytest.raises(InvalidInputError, match="unknown resolution"):
        ChatSession.open(tmp_path / "c", resolution="999p")
    assert not any((tmp_path / name).exists() for name in "abc")


def test_credentials_in_a_base_url_are_not_shown():
    got = resolve_llm("vllm:m", "https://user:hunter2@gpu.example:8443/v1?token=hunter2")
    assert got.shown_url == "https://gpu.example:8443/v1"
    assert "hunter2" not in repr(got)
