"""An SLI source names what its kind can measure: an http(s) URL, a postgresql:// DSN, a DNS server's ip:port.

``${NAME}`` may stand for any part; only what is written literally is checked by
`gameday validate` (a value that is entirely ``${NAME}`` passes). Each refusal
names file:line and what is allowed, never the value (a URL or a DSN may hold a password).
"""

from __future__ import annotations

import pytest

from tests.loading.test_bad_input import assert_invalid, validate
from tests.support import line_of

URL = "use an http:// or https:// URL with a host, e.g. http://127.0.0.1:9090 (${NAME} may stand for any part)"
DSN = (
    "use a postgresql:// (or postgres://) URL with a host, e.g. postgresql://shop@127.0.0.1:5432/shop, "
    "or libpq key=value pairs, e.g. host=127.0.0.1 dbname=shop, or ${DATABASE_URL}"
)
SERVER = "use the DNS server's address and port (an IPv4 or IPv6 address, port 1-65535, 53 when left out)"


def catalog_with(tree, old: str, new: str) -> str:
    path = tree.root / "probes/slos.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    tree.plan()
    return text


@pytest.mark.parametrize("url", ["ftp://shop/orders", "127.0.0.1:8080/orders", "/orders", "http://", "http://shop:99999/x"])
def test_an_http_sli_needs_an_http_url(tree, gameday, url):
    text = catalog_with(tree, "url: ${SHOP_URL}/orders", f"url: {url}")
    assert_invalid(
        validate(gameday), f"probes/slos.yaml:{line_of(text, 'url: ' + url)}: slos[0].sli.url: this value is not allowed: {URL}"
    )


@pytest.mark.parametrize("url", ["${SHOP_URL}/orders", "https://${SHOP_HOST}:8443/orders", "http://127.0.0.1:${PORT}/x", "${SHOP_URL}"])
def test_placeholders_stand_for_any_part(tree, gameday, url):
    catalog_with(tree, "url: ${SHOP_URL}/orders", f"url: {url}")
    result = validate(gameday)
    assert result.code == 0, result.err


def test_a_prometheus_sli_needs_an_http_url(tree, gameday):
    text = catalog_with(
        tree,
        "      source: http\n      url: ${SHOP_URL}/orders",
        "      source: prometheus\n      url: tcp://127.0.0.1:9090\n      query: up\n      min: 1",
    )
    text_lines = text.replace("      method: POST\n      body: '{\"item\": \"gameday-probe\", \"quantity\": 1}'\n", "", 1)
    (tree.root / "probes/slos.yaml").write_text(text_lines, encoding="utf-8")
    assert_invalid(
        validate(gameday),
        f"probes/slos.yaml:{line_of(text_lines, 'tcp://')}: slos[0].sli.url: this value is not allowed: {URL}",
    )


@pytest.mark.parametrize("dsn", ["mysql://shop@127.0.0.1/shop", "https://db.example/shop", "127.0.0.1:5432", "/var/run/db"])
def test_a_postgres_sli_needs_a_postgresql_dsn(tree, gameday, dsn):
    text = catalog_with(tree, "dsn: ${DATABASE_URL}", f"dsn: {dsn}")
    assert_invalid(
        validate(gameday), f"probes/slos.yaml:{line_of(text, 'dsn: ' + dsn)}: slos[3].sli.dsn: this value is not allowed: {DSN}"
    )


@pytest.mark.parametrize("dsn", [
    "postgresql://shop@127.0.0.1:5432/shop", "postgres://shop@${PGHOST}/shop",
    "host=127.0.0.1 port=5432 dbname=shop user=shop", "host=${PGHOST} dbname=shop application_name='gameday \\'probe\\''",
])
def test_postgresql_and_postgres_urls_pass(tree, gameday, dsn):
    catalog_with(tree, "dsn: ${DATABASE_URL}", f"dsn: {dsn}")
    result = validate(gameday)
    assert result.code == 0, result.err


@pytest.mark.parametrize("server", ["ns1.example.com:53", "127.0.0.1:0", "127.0.0.1:dns", "[::1"])
def test_a_dns_sli_needs_an_address_and_port(tree, gameday, server):
    text = catalog_with(tree, "server: ${SANDBOX_DNS}", f"server: '{server}'")
    assert_invalid(
        validate(gameday),
        f"probes/slos.yaml:{line_of(text, 'server: ')}: slos[2].sli.server: this value is not allowed: {SERVER}",
    )


@pytest.mark.parametrize("server", ["127.0.0.1:5353", "[::1]:53", "127.0.0.1", "127.0.0.1:${DNS_PORT}"])
def test_dns_servers_that_pass(tree, gameday, server):
    catalog_with(tree, "server: ${SANDBOX_DNS}", f"server: '{server}'")
    result = validate(gameday)
    assert result.code == 0, result.err


def test_a_playbook_writer_target_is_checked_for_its_kind(tree, gameday):
    path = tree.root / "playbooks/database-cluster.yaml"
    old = 'writer: {kind: postgres, target: "${DATABASE_URL}"}'
    text = path.read_text(encoding="utf-8").replace(old, "writer: {kind: postgres, target: 'mysql://db/shop'}")
    path.write_text(text, encoding="utf-8")
    tree.plan()
    assert_invalid(
        validate(gameday),
        f"playbooks/database-cluster.yaml:{line_of(text, 'mysql://')}: writer.target: this value is not allowed: {DSN}",
    )


def test_once_expanded_at_run_time_the_source_is_checked_again(tree):
    from gamedays.engine.sources import check_expanded_sources
    from gamedays.loading.plan import load_plan
    from gamedays.model.errors import InvalidInput

    loaded = load_plan(tree.plan())
    text = (tree.root / "probes/slos.yaml").read_text(encoding="utf-8")
    env = {"SHOP_URL": "ftp://127.0.0.1:8080", "SANDBOX_DNS": "ns1.example.com", "DATABASE_URL": "mysql://u:Pw-x81@db/shop"}
    with pytest.raises(InvalidInput) as caught:
        check_expanded_sources(loaded.catalog_path, loaded.catalog.slos, loaded.catalog.slos, env)
    shown = str(caught.value)
    assert f"probes/slos.yaml:{line_of(text, 'url: ${SHOP_URL}/orders')}: slos[0].sli.url: once ${{SHOP_URL}} is expanded, the value is not allowed: {URL}" in shown
    assert f"probes/slos.yaml:{line_of(text, 'server: ${SANDBOX_DNS}')}: slos[2].sli.server: once ${{SANDBOX_DNS}} is expanded, the value is not allowed: {SERVER}" in shown
    assert f"probes/slos.yaml:{line_of(text, 'dsn: ${DATABASE_URL}')}: slos[3].sli.dsn: once ${{DATABASE_URL}} is expanded, the value is not allowed: {DSN}" in shown
    assert "Pw-x81" not in shown and "mysql://" not in shown


def test_sources_that_expand_to_what_their_kind_measures_pass(tree):
    from gamedays.engine.sources import check_expanded_sources
    from gamedays.loading.plan import load_plan

    loaded = load_plan(tree.plan())
    env = {"SHOP_URL": "http://127.0.0.1:8080", "SANDBOX_DNS": "127.0.0.1:5353", "DATABASE_URL": "postgresql://shop@127.0.0.1/shop"}
    check_expanded_sources(loaded.catalog_path, loaded.catalog.slos, loaded.catalog.slos, env)
    check_expanded_sources(loaded.catalog_path, loaded.catalog.slos, loaded.catalog.slos, {})  # unset: the preflight names it
