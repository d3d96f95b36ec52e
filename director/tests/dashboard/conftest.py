"""Fixtures of the dashboard's browser tests: Debian's Chromium through Playwright, a
logged-in page per role, the director's admin API and the fleet's control server, and a
screenshot of the page whenever a test fails. Run by director/tests/dashboard.rs, which
starts the director and the fleet and sets the environment."""
import json
import os
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

URL = os.environ["DIRECTOR_URL"]
SHOTS = os.environ["SCREENSHOTS"]


def call(url, method="GET", body=None, token=None):
    """An HTTP request with a JSON body; its status and JSON answer (None if empty)."""
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
            return answer.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, None


class Fleet:
    """The simulated fleet, steered through the test's control server."""

    def report(self, vin, outcome):
        status, _ = call(os.environ["FLEET_URL"] + "/report", "POST", {"vin": vin, "outcome": outcome})
        assert status == 204, (vin, outcome, status)

    def evaluate(self):
        assert call(os.environ["FLEET_URL"] + "/evaluate", "POST", {})[0] == 204


@pytest.fixture(scope="session")
def fleet():
    return Fleet()


@pytest.fixture(scope="session")
def api():
    """The director's admin API with the administrator's token."""
    return lambda path, method="GET", body=None: call(URL + "/api/v1/admin" + path, method, body, os.environ["ADMIN_TOKEN"])


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ["CHROMIUM"], args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


def logged_in(browser, token, bypass_csp=False):
    # The accessibility check injects axe's script, which the pages' CSP rightly forbids.
    context = browser.new_context(base_url=URL, bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/ui/login")
    page.fill("#token", token)
    page.click("form.login:has(#token) button")
    page.wait_for_url("**/ui/")
    return page


@pytest.fixture
def admin(browser, request):
    page = logged_in(browser, os.environ["ADMIN_TOKEN"])
    request.node.page = page
    yield page
    page.context.close()


@pytest.fixture
def viewer(browser, request):
    page = logged_in(browser, os.environ["VIEWER_TOKEN"])
    request.node.page = page
    yield page
    page.context.close()


@pytest.fixture
def auditing(browser, request):
    """An administrator's page that axe may inject its script into."""
    page = logged_in(browser, os.environ["ADMIN_TOKEN"], bypass_csp=True)
    request.node.page = page
    yield page
    page.context.close()


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    page = getattr(item, "page", None)
    if report.when == "call" and report.failed and page is not None:
        shot(page, f"failed-{item.name}")
    return report
