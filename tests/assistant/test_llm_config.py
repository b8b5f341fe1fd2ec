"""Which model answers: flags, environment, config file; the key staying secret; timeouts bounded."""

from __future__ import annotations

import logging

import pytest

from shotsmith.assistant.agent.llm import GIVE_UP_AFTER_S, build_chat_model, parse_llm, resolve_llm
from shotsmith.errors import InvalidInputError
from shotsmith.scrub import scrub
from tests.assistant._assistant_helpers import FAKE_KEY


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


def test_key_from_environment_or_config_secrets_never_printed_and_scrubbed(monkeypatch, tmp_path, caplog):
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
    # Registered with the one scrubber, so a gateway quoting it back is hidden too.
    assert FAKE_KEY not in scrub(f"401: the key {FAKE_KEY} is wrong")


def test_hosted_openai_without_a_key_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="needs an API key") as info:
        resolve_llm("openai:gpt-4.1-mini")
    assert "OPENAI_API_KEY" in info.value.hint


def test_local_server_needs_no_key():
    got = resolve_llm("ollama:llama3.1", "http://127.0.0.1:11434/v1")
    assert got.api_key is None
    assert build_chat_model(got).openai_api_base == "http://127.0.0.1:11434/v1"


def test_credentials_in_a_base_url_are_not_shown_and_are_scrubbed():
    got = resolve_llm("vllm:m", "https://user:hunter2secret@gpu.example:8443/v1?token=tok-98765")
    assert got.shown_url == "https://gpu.example:8443/v1"
    assert "hunter2secret" not in repr(got)
    assert "hunter2secret" not in scrub("failed: hunter2secret") and "tok-98765" not in scrub("q tok-98765")


def test_timeouts_are_bounded_and_settings_checked():
    got = resolve_llm("ollama:m", "http://127.0.0.1:1/v1", timeout_s=600)
    assert got.timeout_s <= GIVE_UP_AFTER_S < 90
    assert build_chat_model(got).request_timeout == got.timeout_s
    assert build_chat_model(got).max_retries == 0  # retries are the agent's, with a notice each
    with pytest.raises(InvalidInputError):
        resolve_llm("ollama:m", "http://127.0.0.1:1/v1", timeout_s=0)
    with pytest.raises(InvalidInputError):
        resolve_llm("ollama:m", "http://127.0.0.1:1/v1", max_retries=-1)
