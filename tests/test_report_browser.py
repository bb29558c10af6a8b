"""The HTML report in a real browser: Debian's chromium driven by playwright (``pip install playwright``,
``apt-get install chromium``; no browser download). Skipped, with the reason in the test summary and a
warning, where either is missing.

Sorting, filtering and the convention selector are checked on the rows the page shows; figure 1 on a
screenshot (not blank) and on the points the browser actually laid out; cell overflow at 1400 px on a
whole-zoo report.
"""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reports import build_report
from tests.fakes_bench import build_results, write

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def _skip(reason: str) -> None:
    warnings.warn(f"browser tests skipped: {reason}", stacklevel=2)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("playwright not installed (pip install 'esr-bench[test]' or pip install playwright)")
    if CHROMIUM is None:
        _skip("no chromium executable (apt-get install -y chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    """AGDN and AGDN-S measured on B100 x4 (fakes_bench) plus AGDN-S on Set5 and a stale-looking
    no_checkpoint row with a long message (path and URL) for ELAN-light x4."""
    root = build_results(tmp_path_factory.mktemp("browser") / "results")
    q = json.loads((root / "quality/agdn-s_x4_B100.json").read_text())
    write(root, "quality/agdn-s_x4_Set5.json", {**q, "dataset": "Set5", "psnr": 32.03, "ssim": 0.892})
    write(root, "complexity/elan-light_x4.json", {**json.loads((root / "complexity/agdn_x4.json").read_text()),
                                                 "model": "elan-light", "params_thop": 601_000})
    write(root, "quality/elan-light_x4_B100.json", {
        "kind": "quality", "model": "elan-light", "scale": 4, "dataset": "B100", "status": "no_checkpoint",
        "psnr": None, "protocol": {"name": "paper"}, "created": "2026-11-29T22:00:00Z",
        "message": "no checkpoint: elan-light x4: /root/.cache/esr-bench/weights/elan-light/ELAN-light_x4_official"
                   "_release_checkpoint_very_long_name.pth not found; run `esr-bench weights fetch elan-light` "
                   "(downloads https://github.com/xindongzhang/ELAN/raw/0123456789abcdef0123456789abcdef01234567/"
                   "experiments/ELAN-light_x4/models/model_x4_best.pth)"})
    return build_report(root, figures=False)


def _open(browser, path: Path, width: int = 1400):
    page = browser.new_page(viewport={"width": width, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: errors.append(f"network request {req.url}")
            if not req.url.startswith(("file:", "data:", "blob:")) else None)
    page.goto(path.resolve().as_uri())
    return page, errors


def _models(page) -> list[str]:
    return page.eval_on_selector_all("#lb tbody tr", "rows => rows.map(r => r.getAttribute('data-model'))")


def _cell(page, model: str, key: str) -> str:
    idx = page.eval_on_selector_all("#lb thead th", "ths => ths.map(t => t.getAttribute('data-key'))").index(key)
    return page.locator(f'#lb tbody tr[data-model="{model}"] td').nth(idx).inner_text()


def test_leaderboard_sort_filter_convention(browser, report: Path) -> None:
    page, errors = _open(browser, report)
    # paper datasets in the paper's order, one view each: a table never mixes datasets
    assert page.locator("#lb-view option").all_inner_texts() == ["Set5 · paper protocol", "B100 · paper protocol"]
    page.select_option("#lb-view", label="B100 · paper protocol")
    # B100 view: 3 zoo rows + the 43 published-only rows of table 5 (46 minus AGDN, AGDN-S and ELAN x4,
    # which the zoo has: elan-light is the paper's ELAN)
    assert len(_models(page)) == 46 and page.inner_text("#lb-count") == "46 of 46 rows"
    page.select_option("#lb-scale", "4")
    assert len(_models(page)) == 3 + 13
    page.click('#lb thead th[data-key="psnr"]')  # first click on a number: best (highest) first
    order = _models(page)
    assert order[0] == "agdn" and order[1] == "LKDN"  # 27.721, then the paper's LKDN x4 27.69
    assert order[-1] == "elan-light"  # no PSNR: always last
    assert page.get_attribute('#lb thead th[data-key="psnr"]', "aria-sort") == "descending"
    page.click('#lb thead th[data-key="psnr"]')
    assert _models(page)[0] == "agdn-s" and _models(page)[-1] == "elan-light"  # 27.49 lowest; missing last
    page.fill("#lb-filter", "agdn")
    assert sorted(_models(page)) == ["agdn", "agdn-s"]
    # the convention selector switches params and FLOPs (exact + fvcore at 256² LR vs thop + thop at 720p HR)
    page.select_option("#lb-conv", label="NTIRE 2024-26 (fvcore, 256² LR)")
    assert _cell(page, "agdn", "params_k") == "294.2" and _cell(page, "agdn", "flops_g") == "1.14"
    page.select_option("#lb-conv", label="AGDN paper (thop, 1280x720 HR)")
    assert _cell(page, "agdn", "params_k") == "293.0" and _cell(page, "agdn", "flops_g") == "16.08"
    assert "thop" in page.inner_text('#lb thead th[data-key="flops_g"]')
    assert _cell(page, "agdn", "d_psnr") == "+0.001"
    page.fill("#lb-filter", "")
    page.uncheck("#lb-pub")
    assert sorted(_models(page)) == ["agdn", "agdn-s", "elan-light"]
    badge = page.locator('#lb tbody tr[data-model="elan-light"] .badge')
    assert badge.inner_text() == "no_checkpoint"
    tip = badge.get_attribute("title")
    assert "esr-bench weights fetch elan-light" in tip and "quality/elan-light_x4_B100.json" in tip
    assert "2026-11-29T22:00:00Z" in tip and "protocol:" in tip
    page.select_option("#lb-view", label="Set5 · paper protocol")
    assert _models(page)[0] == "agdn-s" and _cell(page, "agdn-s", "psnr") == "32.03"
    assert page.locator('#lb tbody tr[data-model="agdn"] .badge').inner_text() == "not measured"
    assert not errors, errors
    page.close()


def _points(page, selector: str) -> int:
    """Points of the figure the browser laid out: groups with a non-empty box inside the figure."""
    return page.eval_on_selector_all(selector, """gs => gs.filter(g => {
        const r = g.getBoundingClientRect(), f = g.closest('svg').getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.left >= f.left - 1 && r.right <= f.right + 1
               && r.top >= f.top - 1 && r.bottom <= f.bottom + 1; }).length""")


def test_figure1_screenshot_not_blank_with_all_points(browser, report: Path) -> None:
    page, errors = _open(browser, report)
    fig = page.locator("#fig1-B100-x4")
    shot = np.asarray(Image.open(io.BytesIO(fig.screenshot())).convert("L"))
    assert shot.shape[1] >= 600 and shot.std() > 20
    assert (shot < 100).mean() > 0.01  # axes, labels and bubble outlines drawn
    assert _points(page, "#fig1-B100-x4 g[id^='published-']") == 16  # every x4 row of table 5
    assert _points(page, "#fig1-B100-x4 g[id^='point-']") == 2  # AGDN and AGDN-S measured
    # the Set5 figure is stored compressed and drawn when chosen
    page.select_option("#figsel", "Set5-x4")
    page.wait_for_selector("#fig1-Set5-x4[data-ready='1']", timeout=10_000)
    assert _points(page, "#fig1-Set5-x4 g[id^='published-']") == 16
    assert _points(page, "#fig1-Set5-x4 g[id^='point-']") == 1
    assert not page.is_visible("#fig1-B100-x4")
    assert not errors, errors
    page.close()


def test_no_text_overflows_a_cell_at_1400px(browser, tmp_path: Path) -> None:
    from tests.fakes_report import build_zoo_results

    html = build_report(build_zoo_results(tmp_path / "zoo", datasets=("Set5",), with_weights=False, visual=False),
                        figures=False)
    page, errors = _open(browser, html, width=1400)
    for view in page.locator("#lb-view option").all_inner_texts():
        page.select_option("#lb-view", label=view)
        assert page.locator("#lb tbody tr").count() > 0
        over = page.eval_on_selector_all("td, th", """cells => cells
            .filter(c => c.offsetParent !== null && c.scrollWidth > c.clientWidth + 1)
            .map(c => c.closest('table').getAttribute('data-table') + ': ' + c.innerText.slice(0, 80))""")
        assert not over, over[:10]
        # and nothing runs off the right edge of the page
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert not errors, errors
    page.close()
