"""The process-wide helpers for start-up speed: the C YAML parser and one TLS context."""

import ssl

import pytest
import yaml

from tools.tls import default_tls_context
from tools.yaml_safe import SafeLoader, safe_load


def test_the_yaml_loader_is_libyamls_when_pyyaml_has_it() -> None:
    expected = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    assert SafeLoader is expected


def test_the_yaml_loader_stays_safe() -> None:
    assert safe_load("a: [1, two]\nb: {c: true}") == {"a": [1, "two"], "b": {"c": True}}
    with pytest.raises(yaml.YAMLError):
        safe_load("!!python/object/apply:os.system ['true']")


def test_one_verifying_tls_context_serves_the_whole_process() -> None:
    context = default_tls_context()
    assert context is default_tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs() or context.cert_store_stats()["x509_ca"] > 0
