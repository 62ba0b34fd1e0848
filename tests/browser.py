"""A page opened from disk in headless Chromium (Debian's chromium and chromium-driver, which .ci/run installs),
driven through Selenium as a reader would: choose, hover, click, read back what is shown, and every console error."""

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WINDOW = (1300, 1000)


def missing_browser():
    """What is missing to run a browser test, or None."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "chromium"
    if not (Path(CHROMEDRIVER).exists() or shutil.which("chromedriver")):
        return "chromedriver"
    return None


class Browser:
    """The page at `path` in a headless Chromium window; screenshots are written to `folder`."""

    def __init__(self, path, folder):
        self.path, self.folder = Path(path), Path(folder)

    def __enter__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        missing = missing_browser()
        assert missing is None, (f"{missing} is not installed: apt-get install chromium chromium-driver (.ci/run "
                                 "does this)")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--force-device-scale-factor=1", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = CHROMEDRIVER if Path(CHROMEDRIVER).exists() else shutil.which("chromedriver")
        self.driver = webdriver.Chrome(service=Service(driver), options=options)
        self.console = []
        self.driver.get(self.path.resolve().as_uri())
        return self

    def __exit__(self, *exc):
        self.driver.quit()

    def find(self, selector):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def choose(self, select_id, text):
        """Pick the option of <select id=select_id> whose text is `text`, as a reader would (a change event)."""
        found = self.driver.execute_script(
            "var select = document.getElementById(arguments[0]), text = arguments[1];"
            "var option = Array.prototype.filter.call(select.options, function (o) { return o.text === text; })[0];"
            "if (!option) return false;"
            "select.value = option.value; select.dispatchEvent(new Event('change')); return true;", select_id, text)
        assert found, f"no option {text!r} in #{select_id}"

    def panel(self):
        """The cell panel: its text, the cell it shows, the test image indices and probabilities under them."""
        return self.driver.execute_script(
            "var p = document.getElementById('cell-panel');"
            "return {text: p.textContent, cell: p.dataset.cell || null,"
            " indices: Array.prototype.map.call(p.querySelectorAll('.thumb'),"
            "  function (t) { return +t.dataset.index; }),"
            " probs: Array.prototype.map.call(p.querySelectorAll('.prob'), function (t) { return +t.textContent; })};")

    def hover(self, selector):
        from selenium.webdriver.common.action_chains import ActionChains

        element = self.find(selector)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        ActionChains(self.driver).move_to_element(element).perform()
        return self.panel()

    def click(self, selector):
        element = self.find(selector)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()
        return self.panel()

    def thumb_pixels(self, number):
        """The `number`-th image of the cell panel as drawn (scale x scale screen pixels a pixel, inside a 1-pixel
        border), read back at the test images' size: (height, width, 3)."""
        element = self.driver.find_elements("css selector", "#cell-panel .thumb")[number]
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        height, width, scale = self.driver.execute_script(
            "var s = JSON.parse(document.getElementById('explorer-data').textContent).sprite;"
            "return [s.height, s.width, s.scale];")
        shot = np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")).astype(float)
        assert shot.shape[:2] == (scale * height + 2, scale * width + 2), shot.shape
        return shot[1:-1, 1:-1].reshape(height, scale, width, scale, 3).mean(axis=(1, 3))

    def model_of(self, condition):
        return self.driver.execute_script(
            "var condition = arguments[0];"
            "return JSON.parse(document.getElementById('explorer-data').textContent).views"
            ".filter(function (v) { return v.condition === condition; })[0].model;", condition)

    def sort(self, key):
        self.click(f'#effects-table th[data-key="{key}"]')

    def column(self, key):
        """The shown rows' values of the effects table's column `key` (numbers as floats)."""
        keys = self.driver.execute_script(
            "return Array.prototype.map.call(document.querySelectorAll('#effects-table th'),"
            " function (h) { return h.dataset.key; });")
        position = keys.index(key)
        values = self.driver.execute_script(
            "var position = arguments[0];"
            "return Array.prototype.map.call(document.querySelectorAll('#effects-table tbody tr'),"
            " function (r) { return r.children[position].textContent; });", position)
        try:
            return [float(value) for value in values]
        except ValueError:
            return values

    def effect_count(self):
        return len(self.driver.find_elements("css selector", "#effects-table tbody tr"))

    def first_link(self):
        """The fragment (#...) of the effects table's first link."""
        return "#" + self.find("#effects-table tbody tr a").get_attribute("href").split("#", 1)[1]

    def screenshot(self, name):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(self.folder / f"{name}.png"))

    def errors(self):
        """Every console message of level SEVERE (JavaScript errors, failed loads) since the page opened."""
        self.console += self.driver.get_log("browser")
        return [entry["message"] for entry in self.console if entry["level"] == "SEVERE"]
