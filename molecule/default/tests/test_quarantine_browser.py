"""A real browser on the quarantine (issue 14): Debian's chromium, driven by
chromium-driver through selenium from the controller, which reaches the
gateway's internal address as a LAN user does. It logs in, finds a held
message in the list, releases it and sees the message at the hub. A
screenshot of the list is saved under tests/output/ and its path printed.
"""

import os
import uuid
from pathlib import Path

import pytest
from conftest_lib import (EXTERNAL, GTUBE, INTERNAL, address_by_prefix, delivered_count, quarantine_passwords, send_to_alice,
                          stored_row)

PASSWORDS = quarantine_passwords(__file__, "gateway")
OUTPUT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[3])) / "tests" / "output"


@pytest.fixture(scope="module")
def browser(gateway):
    if not gateway.file("/etc/securemail-quarantine/config.json").exists:
        pytest.skip("no quarantine application on this gateway (quarantine_web_app false)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # Root in a VM: no sandbox; the site's certificate is self-signed.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(90)
    yield driver
    driver.quit()


def loaded(browser, clicked, timeout=90):
    """Wait until the page that held ``clicked`` has been replaced by the one its form posted to, and that one
    has loaded."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    wait = WebDriverWait(browser, timeout)
    wait.until(expected_conditions.staleness_of(clicked))
    wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")


def test_a_browser_logs_in_lists_and_releases(browser, outsider, gateway, hub):
    from selenium.webdriver.common.by import By
    subject = "browser-%s" % uuid.uuid4().hex[:8]
    send_to_alice(outsider, address_by_prefix(gateway, EXTERNAL), subject, GTUBE)
    mail_id = stored_row(gateway, subject)[2]
    site = "https://%s:28443" % address_by_prefix(gateway, INTERNAL)

    browser.get(site + "/")
    assert browser.current_url.endswith("/login"), browser.current_url
    browser.find_element(By.NAME, "user").send_keys("alice@example.org")
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS["alice@example.org"])
    submit = browser.find_element(By.TAG_NAME, "button")
    submit.click()
    # click() may return before the form's navigation has replaced the page.
    loaded(browser, submit)
    assert browser.current_url == site + "/", browser.current_url

    rows = [r for r in browser.find_elements(By.CSS_SELECTOR, "tr.message") if subject in r.text]
    assert len(rows) == 1, browser.page_source[-2000:]
    assert "spam (score" in rows[0].text
    OUTPUT.mkdir(parents=True, exist_ok=True)
    shot = OUTPUT / "quarantine-list.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 1000
    print("\nscreenshot of the quarantine list: %s" % shot)

    release = rows[0].find_element(By.CSS_SELECTOR, "button[value=release]")
    release.click()
    loaded(browser, release)
    assert "Released to alice@example.org" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert delivered_count(hub, "Subject: " + subject) == 1
    # Back in the list, the message is marked released and has no buttons left.
    browser.get(site + "/")
    row = [r for r in browser.find_elements(By.CSS_SELECTOR, "tr.message") if subject in r.text][0]
    assert "released" in row.text and not row.find_elements(By.TAG_NAME, "button"), (row.text, mail_id)
