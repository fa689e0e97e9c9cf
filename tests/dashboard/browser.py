"""Headless Chromium from the system's packages, driven by Selenium with no downloads.

Selenium Manager is never asked for anything (SE_OFFLINE, an explicit driver path), and the
browser's own background traffic is switched off and its name resolution confined to loopback.
"""
from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REPO = Path(__file__).resolve().parents[2]


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) and os.access(path, os.X_OK)):
            return (f"{path} is missing: `apt-get install -y chromium chromium-driver` "
                    f"(Debian's {package}; .ci/run installs it)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def artifacts_dir() -> Path:
    """Where screenshots go: $STOKER_ARTIFACTS/dashboard, else .artifacts/dashboard."""
    base = os.environ.get("STOKER_ARTIFACTS")
    path = Path(base) / "dashboard" if base else REPO / ".artifacts" / "dashboard"
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_chromium(profile_dir: Path):
    os.environ["SE_OFFLINE"] = "true"   # Selenium Manager must not fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000", f"--user-data-dir={profile_dir}",
                 "--no-first-run", "--no-default-browser-check", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(profile_dir / "driver.log"))
    return webdriver.Chrome(service=service, options=options)
