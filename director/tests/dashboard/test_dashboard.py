"""The dashboard as operators and viewers use it, in headless Chromium: a rollout made
and started in the browser pauses by itself when one stratum's vehicles roll back, with
the reason in words, and resumes with a reason the audit log keeps; an attack report
shows on the overview and on the vehicle; metadata near expiry shows its countdown; a
viewer sees no button and a forged form is refused; every page passes axe's checks and
is kept as a screenshot."""
import re

from axe_playwright_python.sync_playwright import Axe
from conftest import shot

BAD_STRATUM = "brake-hw/B/US"


def make_rollout(page, name, stages="50,100", min_finished="4"):
    """A rollout of brake/fw-2.bin made through the form and its preview; its id."""
    page.goto("/ui/rollouts")
    page.fill("#name", name)
    page.fill("#images", "brake-hw=brake/fw-2.bin")
    page.fill("#stages", stages)
    page.fill("#min_finished", min_finished)
    page.click("form.new-rollout button[type=submit]")
    assert page.locator("table.strata").count() == 1, "the preview shows the strata"
    assert BAD_STRATUM in page.inner_text("table.strata")
    page.click("text=Create this rollout (a draft)")
    page.wait_for_url(re.compile(r".*/ui/rollouts/[0-9a-f]+$"))
    return page.url.rsplit("/", 1)[1]


def act(page, command, reason):
    page.fill(f"#reason-{command}", reason)
    page.click(f"form.command[action$='/{command}'] button")


def test_a_rollout_made_in_the_browser_pauses_on_one_stratums_rollbacks_and_resumes_with_a_reason(admin, api, fleet):
    rollout = make_rollout(admin, "brake fw-2 from the browser")
    assert "draft" in admin.inner_text("p.state")
    act(admin, "start", "change board CB-17")
    assert "running, stage 1" in admin.inner_text("p.state")
    fleet.evaluate()
    status, offered = api(f"/rollouts/{rollout}/vehicles?state=offered&limit=1000")
    assert status == 200 and len(offered["vehicles"]) == 20, offered
    for v in offered["vehicles"]:
        fleet.report(v["vin"], "reverts" if v["stratum"] == BAD_STRATUM else "confirms")
    fleet.evaluate()
    admin.reload()
    reason = admin.inner_text(".pause-reason")
    assert "rollback rate" in reason and BAD_STRATUM in reason, reason
    assert "paused" in admin.inner_text("p.state")
    assert "reverted_unconfirmed" in admin.inner_text("ul.failures")
    shot(admin, "rollout-paused")
    # The failures link to the vehicles behind them.
    admin.click("ul.failures a")
    assert admin.locator("ul.vins li").count() == 5
    act(admin, "resume", "the rollbacks came from a test rig")
    assert "running" in admin.inner_text("p.state")
    admin.goto("/ui/audit")
    row = admin.locator("table.audit tr", has_text="rollout-resume").first
    assert "admin:admin" in row.inner_text() and "the rollbacks came from a test rig" in row.inner_text()
    assert "Chain verified" in admin.inner_text("p.verified")


def test_an_attack_report_shows_on_the_overview_and_on_the_vehicle(admin, fleet):
    vin = "VIN0039"
    fleet.report(vin, "attack")
    admin.goto("/ui/")
    alert = admin.locator("li.alert.attack", has_text=vin)
    assert alert.count() >= 1, admin.inner_text("ul.alerts")
    alert.first.locator("a").click()
    admin.wait_for_url(f"**/ui/vehicles/{vin}")
    assert admin.locator("table.ecus tr.attacked").count() == 1
    assert "attack-reported" in admin.inner_text("table.events")
    assert admin.locator("table.manifests tbody tr", has_text="accepted").count() >= 2, "its manifests, from the audit log"
    shot(admin, "vehicle-attacked")


def test_an_ending_support_period_shows_on_the_overview_with_its_ecus(admin):
    admin.goto("/ui/")
    alert = admin.locator("li.alert.support", has_text="wiper-hw")
    assert alert.count() == 1, admin.inner_text("ul.alerts")
    assert "Security support ending" in alert.inner_text() and "40 ECUs" in alert.inner_text()
    admin.goto("/ui/vehicles/VIN0002")
    wiper = admin.locator("table.ecus tr", has_text="wiper-1")
    assert "ending" in wiper.inner_text(), wiper.inner_text()


def test_metadata_near_expiry_shows_its_countdown(admin):
    admin.goto("/ui/")
    row = admin.locator("tr.expiry", has_text="timestamp (soonest)")
    assert row.count() == 1, admin.inner_text("table")
    assert re.search(r"expires in \d+ h", row.inner_text()), row.inner_text()


def test_a_viewer_sees_no_button_and_a_forged_form_is_refused(viewer, admin, api):
    _, listed = api("/rollouts")
    rollout = listed["rollouts"][0]["id"]
    viewer.goto(f"/ui/rollouts/{rollout}")
    assert viewer.locator("form.command").count() == 0, "no command for a viewer"
    assert viewer.locator("form.new-rollout").count() == 0
    before = api(f"/rollouts/{rollout}")[1]["status"]
    csrf = viewer.get_attribute("form.logout input[name=csrf]", "value")
    forged = viewer.request.post(f"/ui/rollouts/{rollout}/abort", form={"csrf": csrf, "reason": "x"}, max_redirects=0)
    assert forged.status == 403, forged.status
    assert "viewer" in forged.text()
    no_token = admin.request.post(f"/ui/rollouts/{rollout}/abort", form={"csrf": "0" * 64, "reason": "x"}, max_redirects=0)
    assert no_token.status == 403, "an operator's form without the session's CSRF token"
    assert api(f"/rollouts/{rollout}")[1]["status"] == before, "nothing changed"


def test_pages_carry_a_strict_csp_and_the_session_cookie_is_httponly_and_samesite(admin):
    answer = admin.request.get("/ui/")
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    (cookie,) = [c for c in admin.context.cookies() if c["name"] == "director_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    as_json = admin.request.get("/ui/rollouts", headers={"accept": "application/json"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert "rollouts" in as_json.json()


def test_logging_out_ends_the_session(browser):
    from conftest import logged_in
    import os

    page = logged_in(browser, os.environ["ADMIN_TOKEN"])
    page.click("form.logout button")
    page.wait_for_url("**/ui/login")
    page.goto("/ui/rollouts")
    assert page.url.endswith("/ui/login"), "the old cookie no longer works"
    page.context.close()


def test_an_operator_logs_in_with_a_name_and_password_and_may_act(browser, api):
    from conftest import URL
    import os

    context = browser.new_context(base_url=URL)
    page = context.new_page()
    page.goto("/ui/login")
    page.fill("#name", os.environ["OPERATOR_NAME"])
    page.fill("#password", "not the password at all")
    page.click("form.login:has(#password) button")
    assert "wrong password" in page.inner_text("p.error")
    page.fill("#name", os.environ["OPERATOR_NAME"])
    page.fill("#password", os.environ["OPERATOR_PASSWORD"])
    page.click("form.login:has(#password) button")
    page.wait_for_url("**/ui/")
    assert "olivia · operator" in page.inner_text(".who")
    rollout = api("/rollouts")[1]["rollouts"][0]["id"]
    page.goto(f"/ui/rollouts/{rollout}")
    assert page.locator("form.command").count() >= 1, "an operator acts"
    context.close()


def test_a_wrong_token_does_not_log_in(browser):
    from conftest import URL

    context = browser.new_context(base_url=URL)
    page = context.new_page()
    page.goto("/ui/login")
    page.fill("#token", "not-a-token")
    page.click("form.login:has(#token) button")
    assert "unknown administrator token" in page.inner_text("p.error")
    assert not [c for c in context.cookies() if c["name"] == "director_session"]
    context.close()


def test_every_page_passes_axe_and_is_kept_as_a_screenshot(auditing, api):
    _, listed = api("/rollouts")
    rollout = listed["rollouts"][0]["id"]
    pages = {
        "overview": "/ui/",
        "rollouts": "/ui/rollouts",
        "rollout": f"/ui/rollouts/{rollout}",
        "vehicles": "/ui/vehicles",
        "vehicle": "/ui/vehicles/VIN0001",
        "images": "/ui/images",
        "keys": "/ui/keys",
        "audit": "/ui/audit",
    }
    axe = Axe()
    problems = []
    for name, path in pages.items():
        auditing.goto(path)
        shot(auditing, name)
        results = axe.run(auditing)
        if results.violations_count:
            problems.append(f"{name}: {results.generate_report()}")
    assert not problems, "\n".join(problems)
