"""The app at laptop and desktop sizes, in Chromium: nothing is cut off, clipped or pushed off screen.

Screenshots land in .pytest_cache/layout-<width>.png (look at them after a layout change).
"""

from __future__ import annotations

import pytest

from explorer.scenario import FIELD_SPECS

from .conftest import REPO
from .servers import browser_page, voila

pytestmark = pytest.mark.slow
APP = REPO / "notebooks" / "app.ipynb"
SHOTS = REPO / ".pytest_cache"

# Every chart inside the charts' column and the window; every control inside the controls' column; no
# words cut short inside a button, label, unit or readout (their content wider than their box).
_OVERFLOWS = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  const box = (e) => e.getBoundingClientRect();
  const charts = box(document.querySelector('.ax-charts'));
  if (charts.right > vw + 1) out.push('the charts column ends at ' + charts.right + ' px, past the window');
  document.querySelectorAll('.ax-charts .vega-embed').forEach((e) => {
    const b = box(e), svg = box(e.querySelector('svg'));
    const name = [...e.classList].find((c) => c.startsWith('ax-chart-'));
    if (b.right > charts.right + 1 || svg.right > charts.right + 1)
      out.push(name + ' ends at ' + Math.round(Math.max(b.right, svg.right)) + ' px, past its column');
  });
  const controls = box(document.querySelector('.ax-controls'));
  document.querySelectorAll('.ax-controls .jupyter-widgets').forEach((e) => {
    if (e.offsetParent === null) return;
    if (box(e).right > controls.right + 1)
      out.push('a control (' + (e.innerText || e.className).slice(0, 40) + ') ends past its column');
  });
  const words = '.widget-toggle-button, .widget-button, .widget-upload, .widget-label, .ax-unit, '
    + '.widget-html-content, .widget-dropdown select';
  document.querySelectorAll(words).forEach((e) => {
    if (e.offsetParent === null) return;
    if (e.scrollWidth > e.clientWidth + 1 || box(e).right > vw + 1)
      out.push('cut short: "' + (e.innerText || e.value || '').slice(0, 40) + '" ('
        + e.scrollWidth + ' px of content in ' + e.clientWidth + ')');
  });
  document.querySelectorAll('.ax-controls .ax-unit').forEach((e) => {
    const holder = e.closest('.widget-html');
    if (e.offsetParent === null || !holder) return;
    if (box(e).right > box(holder).right + 1) out.push('unit cut short: "' + e.innerText + '"');
  });
  // a text box's hint (its placeholder: "the workload's figure", "0.0895 (catalog)") is read whole
  const ruler = document.createElement('canvas').getContext('2d');
  document.querySelectorAll('.ax-controls input[type=text]').forEach((e) => {
    if (e.offsetParent === null || !e.placeholder) return;
    const s = getComputedStyle(e);
    ruler.font = s.font;
    const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    if (ruler.measureText(e.placeholder).width > room + 1)
      out.push('hint cut short: "' + e.placeholder + '" (' + Math.round(room) + ' px of room)');
  });
  if (document.documentElement.scrollWidth > vw + 1) out.push('the page scrolls sideways');
  return out;
}"""


# Every choice of every dropdown on show, shown whole once chosen: each option put in its select in turn
# (no change event: the kernel sees nothing), measured, and the chosen one put back.
_CHOICES_CUT = """() => {
  const out = [];
  document.querySelectorAll('.widget-dropdown select').forEach((s) => {
    if (s.offsetParent === null) return;
    const keep = s.selectedIndex;
    for (let i = 0; i < s.options.length; i++) {
      s.selectedIndex = i;
      if (s.scrollWidth > s.clientWidth + 1)
        out.push('choice cut short: "' + s.options[i].text + '" ('
          + s.scrollWidth + ' px in ' + s.clientWidth + ')');
    }
    s.selectedIndex = keep;
  });
  return out;
}"""

# Every dropdown's label and the help on it (its label's own words carry the title), by label
_DROPDOWN_HELP = """
Object.fromEntries([...document.querySelectorAll('.widget-dropdown')].map((d) => {
  const label = d.querySelector('label');
  const span = label && label.querySelector('span[title]');
  return [label ? label.innerText.trim() : '(no label)', span ? span.title : ''];
}))
"""


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_nothing_is_cut_off(size) -> None:
    width, height = size
    with voila(APP) as url, browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url, timeout=120_000)
        page.locator(".vega-embed svg").nth(5).wait_for(timeout=120_000)
        page.get_by_text("Assumptions", exact=True).last.click()
        page.get_by_text("Download or upload", exact=False).first.click()
        page.get_by_role("button", name="Scenario (JSON)").wait_for(timeout=30_000)
        page.get_by_role("textbox", name="PUE").wait_for(timeout=30_000)
        page.screenshot(path=str(SHOTS / f"layout-{width}.png"))
        assert page.evaluate(_OVERFLOWS) == []
        # any workload, device or region chosen reads whole (a long catalog name is listed short)
        assert page.evaluate(_CHOICES_CUT) == []
        region = page.get_by_role("combobox", name="Region")
        listed = region.evaluate("s => [...s.options].map(o => o.text.replace(/\\u00a0/g, ' '))")
        assert "United States - Virginia" in listed  # the rest of its name is under the dropdown
        under = region.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]").inner_text()
        assert "AWS us-east-1, Google us-east4" in under
        # a dropdown's help is on its label's words (ipywidgets puts a select's tooltip nowhere)
        tip = page.locator(".widget-dropdown label span[title]", has_text="Region").get_attribute("title")
        assert FIELD_SPECS["region"].doc in tip
        # and every dropdown on the page has its help so: the power chart's boundary and the download's
        # chart picker had none
        helped = page.evaluate(_DROPDOWN_HELP)
        assert {"Workload", "Region", "Power at", "Chart"} <= set(helped), helped
        assert [label for label, tip in helped.items() if len(tip) < 20] == [], helped
        # your own model: its fields (name, parameters, layers ...) appear, and fit too
        page.get_by_role("combobox", name="Workload").select_option(label="Your model…")
        page.get_by_role("textbox", name="Model name").wait_for(timeout=30_000)
        page.screenshot(path=str(SHOTS / f"layout-{width}-custom.png"))
        assert page.evaluate(_OVERFLOWS) == []
