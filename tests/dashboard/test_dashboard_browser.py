"""The dashboard in a real browser: headless system Chromium against a real `stoker server`.

Signs in with the keyboard, creates a stack from an uploaded template and watches its graph reach
CREATE_COMPLETE without reloading, opens the logs of the deployment a local-driver server's
agent ran, and sees a validation error at its line. Screenshots go to the printed directory.
"""
from __future__ import annotations

import os
import secrets

import pytest

from cli.processes import start_server
from tests.dashboard import browser as chromium

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

LOADED = 60   # seconds: an agent starting and a deployment running on a loaded 2-core machine

VM_TEMPLATE = """\
heat_template_version: 2018-08-31
description: a local server whose agent runs a script
resources:
  vm:
    type: OS::Nova::Server
    properties: {flavor: m1.small, image: any, user_data_format: SOFTWARE_CONFIG}
  config:
    type: OS::Heat::SoftwareConfig
    properties:
      group: script
      inputs: [{name: who}]
      config: |
        #!/bin/sh
        echo "hello $who"
        echo "a warning" >&2
  deploy:
    type: OS::Heat::SoftwareDeployment
    properties:
      config: {get_resource: config}
      server: {get_resource: vm}
      input_values: {who: dashboard}
outputs:
  stdout: {value: {get_attr: [deploy, deploy_stdout]}}
"""
BAD_TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  size: {type: number, default: 1}
resources:
  value:
    type: OS::Heat::Value
    properties:
      value: {get_parm: size}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard-server")
    token = secrets.token_urlsafe(16)
    process, base = start_server(tmp / "state", token, tmp / "server.log")
    yield base, token, tmp
    assert process.stop() == 0
    assert "Traceback" not in process.log()
    assert token not in process.log()          # no secret in the server's log


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    reason = chromium.missing()
    if reason is not None:
        if os.environ.get("STOKER_REQUIRE_BROWSER"):   # CI installs it: missing is a failure
            pytest.fail(reason)
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-profile")
    browser = chromium.start_chromium(profile)
    print(f"\ndashboard screenshots: {chromium.artifacts_dir()}")
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def signed_in(driver, server):
    """Signed in with the keyboard only: type, Tab, type, Enter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    base, token, _ = server
    driver.get(f"{base}/dashboard/stacks")
    assert "/dashboard/sign-in" in driver.current_url      # a visitor is sent to sign in
    driver.find_element(By.ID, "token").send_keys(token, Keys.TAB, "browser", Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/dashboard/stacks"))
    assert "Tenant: browser" in driver.find_element(By.TAG_NAME, "header").text
    return driver


def follow(driver, element) -> None:
    """Click a link or button and wait for the next page (the old one gone stale)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(chromium.artifacts_dir() / f"{name}.png"))


def upload(driver, base: str, tmp, text: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    path = tmp / f"{name}.yaml"
    path.write_text(text)
    driver.get(f"{base}/dashboard/templates")
    unlabelled = driver.execute_script(
        "return Array.from(document.querySelectorAll('input:not([type=hidden]), textarea'))"
        ".filter(e => e.labels.length === 0).map(e => e.name);")
    assert unlabelled == []                          # every form field has a label
    driver.find_element(By.ID, "stack_name").send_keys(name)
    driver.find_element(By.ID, "template").send_keys(str(path))
    follow(driver, driver.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]"))


def test_create_a_stack_watch_its_graph_and_read_the_deployments_logs(signed_in, server, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver, (base, _, _) = signed_in, server
    upload(driver, base, tmp_path, VM_TEMPLATE, "app")
    assert "/dashboard/stacks/" in driver.current_url
    # an agent has to start and run the script: the first page shows the stack in progress
    assert driver.find_element(By.ID, "stack-status").get_attribute(
        "data-status") == "CREATE_IN_PROGRESS"
    shot(driver, "stack-creating")

    def final_page(d):
        # data-settled="true" comes only from the server's rendering of a settled stack
        status = d.find_element(By.ID, "stack-status").get_attribute("data-status")
        assert status != "CREATE_FAILED", d.find_element(By.ID, "stack-reason").text
        return d.find_element(By.ID, "graph").get_attribute("data-settled") == "true"
    WebDriverWait(driver, LOADED, ignored_exceptions=(StaleElementReferenceException,)).until(
        final_page)
    assert driver.find_element(By.ID, "stack-status").get_attribute(
        "data-status") == "CREATE_COMPLETE"
    # the script redrew the page from live.json before it reloaded the final one
    assert int(driver.execute_script(
        "return window.sessionStorage.getItem('stoker-redraws') || '0'")) >= 1
    nodes = driver.find_elements(By.CSS_SELECTOR, "#graph svg g.node")
    assert sorted(n.get_attribute("data-resource") for n in nodes) == ["config", "deploy", "vm"]
    for node in nodes:          # status in words and icon, not colour alone
        assert node.get_attribute("data-status") == "CREATE_COMPLETE"
        assert "\u2714 CREATE_COMPLETE" in node.find_element(By.CSS_SELECTOR, "text.status").text
    assert "hello dashboard" in driver.find_element(By.ID, "outputs-heading").find_element(
        By.XPATH, "..").text
    assert "deploy" in driver.find_element(By.ID, "events").text
    shot(driver, "stack-complete")

    follow(driver, driver.find_element(By.LINK_TEXT, "Servers"))
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert len(rows) == 1 and "healthy" in rows[0].text
    follow(driver, rows[0].find_element(By.TAG_NAME, "a"))
    follow(driver, driver.find_element(By.CSS_SELECTOR, "main table tbody tr a"))
    assert driver.find_element(By.ID, "stdout").text == "hello dashboard"
    assert driver.find_element(By.ID, "stderr").text == "a warning"
    assert "The deployment is done" in driver.find_element(By.ID, "explanation").text
    assert "CREATE_COMPLETE" in driver.find_element(By.ID, "deployment-status").text
    shot(driver, "deployment-logs")


def test_a_validation_error_is_shown_at_its_line(signed_in, server, tmp_path):
    from selenium.webdriver.common.by import By

    driver, (base, _, _) = signed_in, server
    upload(driver, base, tmp_path, BAD_TEMPLATE, "bad")
    error = driver.find_element(By.ID, "template-error")
    assert "get_parm" in error.text
    assert error.find_element(By.CLASS_NAME, "error-line").text == "8"
    bad = error.find_element(By.CSS_SELECTOR, ".line.bad")
    assert "value: {get_parm: size}" in bad.text and bad.text.startswith("8")
    shot(driver, "validation-error")
