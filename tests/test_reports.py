"""Reports: tables hold measured and published numbers, SVG figures, exports, challenge tables, browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reports import all_tables as build_tables
from reports import build_report, load_results
from reports.challenge import challenge_rows, results_txt, score
from reports.export import to_latex
from reports.tables import ablation_tables, table5
from tests.fakes_bench import build_results, write


class _Cells(HTMLParser):
    """Rows of <table data-table=ID>: list of (tr attrs, [(td class, text)])."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.inside = a.get("data-table") == self.table_id
        elif self.inside and tag == "tr" and a.get("data-model") is not None:
            self.rows.append((a, []))
        elif self.inside and tag == "td" and self.rows:
            self.cell = [a.get("class") or "", ""]

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1][1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data


def _rows(html: str, table_id: str):
    p = _Cells(table_id)
    p.feed(html)
    return p.rows


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    return build_results(tmp_path / "results")


def test_html_table5_measured_next_to_published(results: Path) -> None:
    html = build_report(results, figures=False).read_text()
    rows = _rows(html, "table5-B100")
    measured = {a["data-model"]: cells for a, cells in rows if a["class"] == "measured"}
    assert set(measured) == {"agdn", "agdn-s"}
    texts = {m: [t for _, t in cells] for m, cells in measured.items()}
    # AGDN x4 B100: measured 27.721 next to the paper's 27.72 (green), params 293.0 K vs 293, 16.08 G vs 16.1
    assert texts["agdn"][:2] == ["AGDN", "x4"]
    assert "27.72" in texts["agdn"] and "293.0" in texts["agdn"] and "293" in texts["agdn"] and "16.1" in texts["agdn"]
    assert "+0.001" in texts["agdn"]
    classes = dict((t, c) for c, t in measured["agdn"])
    assert "agree" in classes["+0.001"]
    # every colour has a legend: PSNR, SSIM and params/multi-adds agreement
    section = html[html.index('<section id="table5-B100">'):]
    section = section[:section.index("</section>")]
    for name in ("PSNR vs paper", "SSIM vs paper", "Params vs paper", "Multi-adds vs paper"):
        assert f'<p class="legend">{name}: <span class="sw agree">' in section, name
    # AGDN-S: 27.49 measured vs 27.52 published -> -0.030 dB, amber
    s_cells = dict((t, c) for c, t in measured["agdn-s"])
    assert "27.52" in s_cells and "close" in s_cells["-0.030"]
    # published-only rows: e.g. CARN x4 B100 27.58 from the paper, marked as such
    pub = [[t for _, t in cells] for a, cells in rows if a["class"] == "published-only"]
    carn = [r for r in pub if r[0] == "CARN" and r[1] == "x4"]
    assert carn and "27.58" in carn[0] and carn[0][-1] == "published only"
    assert not [r for r in pub if r[0] in ("AGDN", "AGDN-S") and r[1] == "x4"]
    # no network: no external resources anywhere in the file
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)


def test_agreement_colours_thresholds(results: Path) -> None:
    write(results, "quality/agdn_x4_B100.json", {**json.loads((results / "quality/agdn_x4_B100.json").read_text()),
                                                 "psnr": 27.80})
    t = table5(load_results(results), include_published_only=False)
    row = next(r for r in t.rows if r["model"] == "agdn")
    assert row["d_psnr"] == pytest.approx(0.08) and row["_classes"]["d_psnr"] == "differ"


def _figure(html: str, key: str) -> tuple[dict[str, str], str]:
    """(attributes, SVG text) of figure 1 ``key`` in the page, inflating a gzip-stored one."""
    import base64
    import gzip

    m = re.search(rf'<div class="fig figure1" id="fig1-{key}"([^>]*)>(.*?)</div>', html, re.S)
    assert m, key
    attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))
    svg = m.group(2) or gzip.decompress(base64.b64decode(attrs["data-svg-gz"])).decode()
    return attrs, svg


def test_figure1_published_rows_alone_have_16_points() -> None:
    from reports import ResultSet
    from reports.plots import figure1_svg, published_points

    svg, info = figure1_svg(ResultSet(), "B100", 4)
    assert svg.lstrip().startswith("<svg")
    ids = re.findall(r'id="published-([^"]+)"', svg)
    # table 5 at x4: every row has multi-adds and a B100 PSNR (16 rows, AGDN-S and AGDN included)
    assert len(ids) == 16 and {"CARN", "AGDN", "AGDN-S", "SAFMN"} <= set(ids)
    assert not re.findall(r'id="point-', svg)
    assert info["n_published"] == 16 and info["n_measured"] == 0
    assert "B100 x4 not measured" in info["note"] and "B100 x4 not measured" in svg
    # Manga109 lacks FDIWN-M's value: 15 points; a dataset the paper does not have: none, and it says so
    assert len(published_points("Manga109", 4)) == 15
    _, info = figure1_svg(ResultSet(), "samples", 4)
    assert info["n_published"] == 0 and "no published values for samples x4" in info["note"]


def test_figure1_measured_points_on_top_of_published(results: Path) -> None:
    html = build_report(results, figures=False).read_text()
    attrs, svg = _figure(html, "B100-x4")
    assert sorted(re.findall(r'id="point-([^"]+)"', svg)) == ["agdn", "agdn-s"]  # measured: filled
    assert len(re.findall(r'id="published-', svg)) == 16  # every published point stays
    assert (attrs["data-published"], attrs["data-measured"]) == ("16", "2")
    assert "not measured" not in svg


def test_figure1_files_for_latex(results: Path) -> None:
    out = build_report(results)
    folder = out.parent / "paper_figures"
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["figure1_B100_x4.pdf", "figure1_B100_x4.png", "figure1_B100_x4.svg"]
    pdf = (folder / "figure1_B100_x4.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" not in pdf  # vector, no embedded raster
    svg = (folder / "figure1_B100_x4.svg").read_text()
    assert "<svg" in svg and len(re.findall(r'id="published-', svg)) == 16
    assert len(re.findall(r'id="point-', svg)) == 2
    png = Image.open(folder / "figure1_B100_x4.png")
    assert png.size[0] > 1200 and np.asarray(png.convert("L")).std() > 5  # 300 dpi, not blank
    html = out.read_text()
    assert 'href="paper_figures/figure1_B100_x4.pdf"' in html
    from bench.cli import main

    assert main(["report", str(results), "--format", "figures", "--out", str(results / "figs")]) == 0
    assert sorted(p.suffix for p in (results / "figs").iterdir()) == [".pdf", ".png", ".svg"]


def test_latex_export_compile_ready(results: Path) -> None:
    t = table5(load_results(results), include_published_only=False)
    tex = to_latex(t)
    body = tex.replace(r"\{", "").replace(r"\}", "")
    assert body.count("{") == body.count("}")
    assert tex.count(r"\toprule") == tex.count(r"\midrule") == tex.count(r"\bottomrule") == 1
    lines = tex.splitlines()
    data = lines[lines.index(r"\midrule") + 1:lines.index(r"\bottomrule")]
    assert len(data) == 2 and all(line.endswith(r"\\") for line in data)
    ncols = len(re.search(r"\\begin\{tabular\}\{(\w+)\}", tex).group(1))
    assert all(line.count(" & ") == ncols - 1 for line in data)
    agdn = next(line for line in data if line.startswith("AGDN &"))
    agdn_s = next(line for line in data if line.startswith("AGDN-S &"))
    assert r"\textbf{27.72}" in agdn and r"\underline{27.49}" in agdn_s  # best bold, second underlined
    assert r"\textbf{68.8}" in agdn_s  # fewest params is best
    full = build_report(results, fmt="latex").read_text()
    assert full.startswith(r"\documentclass") and r"\usepackage{booktabs}" in full
    stripped = full.replace(r"\{", "").replace(r"\}", "")
    assert stripped.count("{") == stripped.count("}") and full.count(r"\begin{table}") == full.count(r"\end{table}")
    if shutil.which("pdflatex"):
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=results,
                       check=True, capture_output=True, timeout=120)


def test_csv_md_json_exports(results: Path) -> None:
    csv_dir = build_report(results, fmt="csv")
    lines = (csv_dir / "table5-B100.csv").read_text().splitlines()
    assert lines[0].startswith("Model,Scale,Params [K]")
    assert any(line.startswith("AGDN,4,293.046,293,16.08,16.1,27.721,27.72") for line in lines)
    md = build_report(results, fmt="md").read_text()
    assert "| AGDN | x4 | <u>293.0</u> | 293 |" in md and "**27.72**" in md
    data = json.loads(build_report(results, fmt="json").read_text())
    t5 = next(t for t in data["tables"] if t["id"] == "table5-B100")
    agdn = next(r for r in t5["rows"] if r["model"] == "agdn" and not r["published_only"])
    assert agdn["m_psnr"] == 27.721 and agdn["p_psnr"] == 27.72 and agdn["params_exact"] == 294174


def test_ablation_tables_use_measured_variant_complexity(results: Path) -> None:
    write(results, "complexity/agdn_x4_base.json", {"kind": "complexity", "model": "agdn", "scale": 4,
                                                     "variant": "base", "params": 126552, "params_thop": 126552,
                                                     "thop_macs_hr1280x720": 7_200_000_000, "status": "ok"})
    t1 = ablation_tables(load_results(results))[0]
    base = next(r for r in t1.rows if r["variant"] == "base")
    assert base["m_params_k"] == pytest.approx(126.552) and base["p_params_k"] == 127
    assert base["_classes"]["m_params_k"] == "agree"  # 126.552 K rounds to the paper's 127 K
    assert base["B100_psnr"] == 27.53 and base["m_madds_g"] == pytest.approx(7.2)
    assert next(r for r in t1.rows if r["variant"] == "mvsa")["status"] == "not measured"


def test_challenge_tables_official_results(results: Path, shared: Path) -> None:
    official = json.loads((shared / "reference" / "ntire2026_results.json").read_text())
    (results / "challenge").mkdir()
    shutil.copy(shared / "reference" / "ntire2026_results.json", results / "challenge" / "official.json")
    rs = load_results(results)
    assert len(rs.of("challenge")) == len(official) == 16
    rows = {r["team"]: r for r in challenge_rows(rs.of("challenge"), year=2026)}
    for team, expected in (("22_SPANV2_ESR_C2", 3.8689), ("16_PKDSR_FINAL_CKPT", 5.9840), ("18_DISP", 6.0603),
                           ("00_SPAN", 7.3811)):
        assert rows[team]["score"] == pytest.approx(expected, abs=1e-3)
    assert rows["01_PDS"]["rounding_flag"] and rows["15_DSCF_Fused"]["rounding_flag"]
    assert not rows["01_PDS"]["passes"] and rows["01_PDS"]["rank_main"] is None
    assert rows["22_SPANV2_ESR_C2"]["rank_main"] == 1
    assert score(2024, 13.54, 19.67, 0.317) == pytest.approx(7.3891, abs=1e-4)
    # the official results.txt columns reproduced from results.json
    ours = {line.split("\t")[0].strip(): [c.strip() for c in line.split("\t")[1:10]]
            for line in results_txt(rs.of("challenge")).splitlines()[1:]}
    ref = {line.split("\t")[0].strip(): [c.strip() for c in line.split("\t")[1:10]]
           for line in (shared / "reference" / "ntire2026_results.txt").read_text().splitlines()[1:] if line.strip()}
    assert ours == ref and list(ours) == list(ref)  # same teams, same figures, same order
    assert results_txt(rs.of("challenge")) == (shared / "reference" / "ntire2026_results.txt").read_text()
    t6 = next(t for t in build_tables(rs, 2026) if t.id == "challenge")
    zeno = next(r for r in t6.rows if r["team"] == "04_ZenoSR")  # fewest params but fails the threshold
    assert not zeno["passes"] and "params_m" not in zeno["_rank"]
    best = {r["team"] for r in t6.rows if r["_rank"].get("params_m") == 1}
    assert best == {"22_SPANV2_ESR_C2"}  # 0.139 M: fewest among passing, non-baseline entries
    html = build_report(results, year=2026, figures=False).read_text()
    assert 'id="fig-challenge"' in html and html.count('id="point-') == 2 + 16


def test_figure1_for_every_dataset_and_scale(tmp_path: Path) -> None:
    html = build_report(build_results(tmp_path / "r", dataset="Set5"), figures=False).read_text()
    keys = re.findall(r'class="figs figset[^"]*" data-key="([^"]+)"', html)
    assert keys == ["B100-x4", "Set5-x4"]  # the paper's figure 1 first (published rows), then what was measured
    attrs, b100 = _figure(html, "B100-x4")
    assert "data-svg-gz" not in attrs and not re.findall(r'id="point-', b100)
    assert "B100 x4 not measured in this results directory" in b100
    attrs, set5 = _figure(html, "Set5-x4")  # stored compressed, inflated by the page when selected
    assert "data-svg-gz" in attrs
    assert sorted(re.findall(r'id="point-([^"]+)"', set5)) == ["agdn", "agdn-s"]
    assert len(re.findall(r'id="published-', set5)) == 16
    assert '<select id="figsel">' in html


def test_tables_never_mix_datasets_or_protocols(results: Path) -> None:
    q = json.loads((results / "quality/agdn_x4_B100.json").read_text())
    write(results, "quality/agdn_x4_B100_ntire.json", {**q, "protocol": {"name": "ntire"}, "psnr": 26.9})
    write(results, "quality/agdn_x4_samples.json", {**q, "dataset": "samples", "psnr": 30.5})
    tables = {t.id: t for t in build_tables(load_results(results))}
    assert [k for k in tables if k.startswith("table5")] == ["table5-B100", "table5-B100-ntire", "table5-samples"]
    paper = tables["table5-B100"]
    assert {r["dataset"] for r in paper.rows} == {"B100"} and {r.get("protocol") for r in paper.rows
                                                                if not r.get("_published_only")} == {"paper"}
    assert any(r.get("_published_only") and r["model"] == "CARN" for r in paper.rows)
    for tid in ("table5-B100-ntire", "table5-samples"):  # no published value next to another protocol/dataset
        t = tables[tid]
        assert not any(c.key.startswith(("p_", "d_")) for c in t.columns)
        assert [r["model"] for r in t.rows] == ["agdn"] and not any(r.get("_published_only") for r in t.rows)
    assert tables["table5-B100-ntire"].rows[0]["m_psnr"] == 26.9
    html = build_report(results, figures=False).read_text()  # the page: the paper's table 5 (B100, paper)
    assert re.findall(r'data-table="(table5[^"]*)"', html) == ["table5-B100"]
    views = json.loads(re.search(r'id="lb-data">(.*?)</script>', html, re.S).group(1))["views"]
    assert [v["key"] for v in views] == ["B100|paper", "B100|ntire", "samples|paper"]  # the others: views
    assert "quality" not in tables  # the old all-datasets table is gone (the leaderboard has a dataset view)


def test_stale_status_is_a_short_badge_with_the_detail_in_a_tooltip(results: Path) -> None:
    msg = ("no checkpoint: agdn-s x4: /root/.cache/esr-bench/weights/agdn_s_x4.pth not found; run "
           "`esr-bench weights fetch agdn-s` (downloads https://github.com/x/y/raw/abc/agdn_s_x4.pth)")
    write(results, "quality/agdn-s_x4_B100.json", {"kind": "quality", "model": "agdn-s", "scale": 4, "dataset": "B100",
                                                   "status": "no_checkpoint", "message": msg, "psnr": None,
                                                   "protocol": {"name": "paper"}, "created": "2026-11-29T22:00:00Z"})
    html = build_report(results, figures=False).read_text()
    cells = {a["data-model"]: c for a, c in _rows(html, "table5-B100") if a["class"] == "measured"}
    assert cells["agdn-s"][-1] == ("text", "no_checkpoint")
    assert 'title="no checkpoint; run `esr-bench weights fetch agdn-s`"' in html
    from reports.leaderboard import leaderboard

    lb = leaderboard(load_results(results))
    row = next(r for r in lb["rows"] if r["m"] == "agdn-s|4")
    assert row["status"] == "no_checkpoint" and row["psnr"] is None
    assert msg in row["tip"] and "quality/agdn-s_x4_B100.json" in row["tip"] and "2026-11-29T22:00:00Z" in row["tip"]


def test_leaderboard_data(results: Path) -> None:
    from reports.leaderboard import CONVENTIONS, leaderboard, leaderboard_json

    q = json.loads((results / "quality/agdn-s_x4_B100.json").read_text())
    write(results, "quality/agdn-s_x4_B100_notlc.json", {**q, "options": {"tlc": False}, "psnr": 27.40})
    lb = leaderboard(load_results(results))
    assert [v["key"] for v in lb["views"]] == ["B100|paper"]
    rows = lb["rows"]
    ours = [r for r in rows if r["status"] != "published"]
    assert sorted((r["m"], r["variant"]) for r in ours) == [("agdn-s|4", ""), ("agdn-s|4", "tlc=False"),
                                                             ("agdn|4", "")]
    agdn = next(r for r in ours if r["m"] == "agdn|4")
    assert agdn["psnr"] == 27.721 and agdn["d_psnr"] == pytest.approx(0.001)
    m = lb["models"]["agdn|4"]
    conv = [c["key"] for c in CONVENTIONS]
    assert m["params"][conv.index("paper")] == 293.046 and m["params"][conv.index("ntire")] == 294.174
    assert m["flops"][conv.index("paper")] == pytest.approx(16.08) and m["runtime_ms"] == 40.0
    assert m["flops"][conv.index("ntire")] == pytest.approx(16.08 / 14.0625, abs=1e-4)
    pub = [r for r in rows if r["status"] == "published"]
    assert len(pub) == 46 - 2 and not any(r["m"].startswith(("AGDN|4", "AGDN-S|4")) for r in pub)
    carn = next(r for r in pub if r["m"] == "CARN|4|paper")
    assert carn["psnr"] == 27.58 and lb["models"]["CARN|4|paper"]["madds_g"] == 90.9
    text = leaderboard_json(load_results(results))
    data = json.loads(text)
    assert len(data["rows"]) == len(rows) and "</" not in text


def test_corrupt_record_is_reported_not_fatal(results: Path) -> None:
    (results / "runtime" / "broken_x4.json").write_text('{"kind": "runtime", "mod')
    rs = load_results(results)
    assert rs.errors and rs.errors[0][0].endswith("broken_x4.json")
    assert "broken_x4.json" in build_report(rs, figures=False).read_text()


def test_visual_comparison_metrics_and_png(tmp_path: Path) -> None:
    from reports.visual import psnr_y, render_png, ssim_y, visual_comparison

    rng = np.random.default_rng(0)
    hr = (rng.random((48, 40, 3)) * 255).astype(np.uint8)
    (tmp_path / "ds" / "HR").mkdir(parents=True)
    (tmp_path / "ds" / "LR_bicubic" / "X4").mkdir(parents=True)
    Image.fromarray(hr).save(tmp_path / "ds" / "HR" / "img024.png")
    lr = np.asarray(Image.fromarray(hr).resize((10, 12), Image.BICUBIC))
    Image.fromarray(lr).save(tmp_path / "ds" / "LR_bicubic" / "X4" / "img024x4.png")
    assert ssim_y(hr, hr, 4) == pytest.approx(1.0) and psnr_y(hr, hr, 4) == float("inf")
    noisy = np.clip(hr.astype(int) + 1, 0, 255).astype(np.uint8)
    # +1 on every RGB channel moves Y by (65.481 + 128.553 + 24.966) / 255 = 0.8588 where nothing clips
    assert psnr_y(noisy, hr, 0) == pytest.approx(10 * np.log10(255**2 / 0.8588**2), abs=0.3)

    def sr(model, scale, x):  # nearest-neighbour "model"
        return np.repeat(np.repeat(x, scale, 0), scale, 1)

    res = visual_comparison(["agdn", "agdn-s"], tmp_path / "ds", "img024", 4, box=(8, 8, 16, 16), sr_fn=sr)
    assert [p.title for p in res.panels] == ["HR", "Bicubic", "AGDN", "AGDN-S"]
    assert all(p.crop.shape == (16, 16, 3) for p in res.panels)
    assert res.panels[2].psnr == pytest.approx(psnr_y(sr(None, 4, lr), hr, 4))
    png = render_png(res)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="does not fit"):
        visual_comparison(["agdn"], tmp_path / "ds", "img024", 4, box=(30, 40, 16, 16), sr_fn=sr)


def test_figure_visual_cli(tmp_path: Path, capsys) -> None:
    from bench.cli import main

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:160, 0:192]
    hr = (np.stack([xx, yy, (xx + yy) // 2], -1) % 256).astype(np.uint8) + rng.integers(0, 8, (160, 192, 3), np.uint8)
    (tmp_path / "Tiny" / "HR").mkdir(parents=True)
    Image.fromarray(hr).save(tmp_path / "Tiny" / "HR" / "img092.png")
    out = tmp_path / "results" / "figures" / "visual.png"
    rc = main(["figure", "visual", "--models", "agdn-s", "--dataset", str(tmp_path / "Tiny"), "--image", "img092",
               "--box", "16", "8", "32", "24", "--out", str(out)])
    assert rc == 0, capsys.readouterr()
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [p["title"] for p in meta["panels"]] == ["HR", "Bicubic", "AGDN-S"] and meta["box"] == [16, 8, 32, 24]
    assert all(isinstance(p["psnr"], float) and p["psnr"] > 15 for p in meta["panels"][1:])
    assert Image.open(out).format == "PNG"
    build_results(tmp_path / "results")
    html = build_report(tmp_path / "results").read_text()
    assert re.search(r"data:image/(webp|png);base64,", html) and "img092 x4" in html
    assert main(["figure", "visual", "--models", "agdn-s", "--dataset", str(tmp_path / "Tiny"), "--image",
                 "nope"]) == 2


def test_counting_lists_and_environment_are_folded(results: Path) -> None:
    html = build_report(results, figures=False).read_text()
    # the fake AGDN record: thop skipped LayerNorm2d -> "1 op type", the list one click away
    cells = {a["data-model"]: [t for _, t in c] for a, c in _rows(html, "counting")}
    assert cells["agdn"][-2] == "1 op typethop: LayerNorm2d"  # summary text + folded details text
    assert "<details class=\"cell\"><summary>1 op type</summary><div>thop: LayerNorm2d</div></details>" in html
    env = html[html.index('<h2 id="environment">'):]
    assert '<td class="text">torch</td><td class="text">2.x</td>' in env
    assert "<details><summary>Full environment records (1 distinct)</summary>" in env


def test_protocol_timings_do_not_multiply_protocols(results: Path) -> None:
    for i, model in enumerate(("agdn", "agdn-s")):
        rec = json.loads((results / f"complexity/{model}_x4.json").read_text())
        rec["protocol"] = {"name": "complexity", "hr": [720, 1280], "seconds": 10.0 + i,
                           "seconds_by_counter": {"fvcore": i}}
        write(results, f"complexity/{model}_x4.json", rec)
    html = build_report(results, figures=False).read_text()
    assert "complexity protocol (1 distinct)" in html and "seconds_by_counter" not in html


@pytest.mark.slow
def test_whole_zoo_report_under_300_kb(tmp_path: Path) -> None:
    """40 model/scale pairs x Set5, Set14, samples, ablation variants and a visual comparison."""
    from tests.fakes_report import build_zoo_results

    root = build_zoo_results(tmp_path / "zoo")
    html = build_report(root, figures=False)
    size = html.stat().st_size
    text = html.read_text()
    assert len(re.findall(r'class="fig figure1"', text)) == 10  # B100 x4 + 3 datasets x 3 scales
    assert 'data-table="table5-Set5"' in text and "data:image/" in text
    assert size < 300_000, f"report is {size / 1000:.0f} KB"


def test_terminal_summary_lists_this_run_only(tmp_path: Path, monkeypatch, capsys, shared: Path) -> None:
    import bench.commands._bench_job
    from bench.cli import main
    from tests.fakes_bench import FAKES

    monkeypatch.setattr(bench.commands._bench_job, "default_measures", lambda: dict(FAKES))
    monkeypatch.setenv("ESR_BENCH_DATA", str(shared / "datasets"))
    out = tmp_path / "res"
    common = ["--datasets", "Set5", "--device", "cpu", "--out", str(out), "--no-visual", "--no-progress",
              "--no-report", "--no-ablations"]
    assert main(["bench", "--models", "agdn-s", "rlfn", *common]) == 0
    capsys.readouterr()
    assert main(["bench", "--models", "agdn-s", *common]) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if re.match(r"^  \S+ x\d+: ", line)]
    assert rows == [next(line for line in rows if line.startswith("  agdn-s x4: "))]
    assert f"(2 other model/scale results in {out} not part of this run" in text  # rlfn x2 and x4


def test_variant_records_are_marked(results: Path) -> None:
    q = json.loads((results / "quality/agdn-s_x4_B100.json").read_text())
    write(results, "quality/agdn-s_x4_B100_notlc.json", {**q, "options": {"tlc": False}, "psnr": 27.40})
    t = table5(load_results(results))
    labels = sorted(r["label"] for r in t.rows if r["model"] == "agdn-s")
    assert labels == ["AGDN-S", "AGDN-S [variant: tlc=False]"]
    from reports.plots import measured_points

    assert [p["model"] for p in measured_points(load_results(results), "B100", 4)] == ["agdn", "agdn-s"]


def test_inline_svg_keeps_tick_labels_exact() -> None:
    from reports import ResultSet
    from reports.plots import figure1_svg

    svg, _ = figure1_svg(ResultSet(), "B100", 4)
    ticks = re.findall(r"<text[^>]*>([\d.]+)</text>", svg)
    # B100 x4 PSNRs span 27.52-27.72 dB: matplotlib ticks every 0.05 dB; all distinct, with two decimals
    assert len(ticks) == len(set(ticks)) and "27.55" in ticks and "27.65" in ticks


def test_a_missing_thop_figure_is_never_replaced_by_another_convention(results: Path) -> None:
    """thop failed: the paper's Params [K] is empty (not the exact 294.174 K), the NTIRE figures stay."""
    from reports.leaderboard import CONVENTIONS, leaderboard

    c = json.loads((results / "complexity/agdn_x4.json").read_text())
    write(results, "complexity/agdn_x4.json", {**c, "params_thop": None, "thop_macs_hr1280x720": None,
                                               "status": "partial", "message": "missing headline figure(s) ..."})
    rs = load_results(results)
    row = next(r for r in table5(rs, include_published_only=False).rows if r["model"] == "agdn")
    assert row["m_params_k"] is None and row["m_madds_g"] is None and row["params_exact"] == 294174
    assert "complexity: partial missing headline figure(s)" in row["status_detail"]
    m = leaderboard(rs)["models"]["agdn|4"]
    conv = [cv["key"] for cv in CONVENTIONS]
    assert m["params"][conv.index("paper")] is None and m["params"][conv.index("ntire")] == 294.174
    assert m["flops"][conv.index("ntire")] == pytest.approx(1.1435, abs=1e-4)


def test_quality_best_is_marked_within_one_protocol(results: Path) -> None:
    """An RGB (NTIRE) PSNR of AGDN-S never competes with AGDN's Y-channel (paper) PSNR for "best"."""
    from reports.tables import quality_table

    q = json.loads((results / "quality/agdn-s_x4_B100.json").read_text())
    write(results, "quality/agdn-s_x4_B100_ntire.json",
          {**q, "protocol": {"name": "ntire", "channel": "RGB", "border": 4}, "psnr": 26.1, "ssim": 0.7})
    rows = quality_table(load_results(results)).rows
    ranks = {(r["model"], r["protocol"]): r["_rank"].get("psnr") for r in rows}
    assert ranks == {("agdn", "paper"): 1, ("agdn-s", "paper"): 2, ("agdn-s", "ntire"): 1}


def test_profile_records_make_the_where_the_time_goes_table(results: Path) -> None:
    """`esr-bench profile --out` records: top first-level modules and operators with their shares."""
    from bench.profile import default_out_path, profile_forward
    from bench.records import write_json
    from models import create_model
    from reports.tables import profile_table

    rec = profile_forward(create_model("rlfn-ntire22", 4), 4, name="rlfn-ntire22", input_size=(24, 24), repeats=1,
                          warmup=1)
    write_json(default_out_path(results, rec), rec)
    mods = [{"module": "<root>", "time_ms": 10.0, "share": 1.0}, {"module": "B1", "time_ms": 6.0, "share": 0.6},
            {"module": "B1.esa", "time_ms": 5.0, "share": 0.5}, {"module": "up", "time_ms": 1.25, "share": 0.125}]
    ops = [{"operator": "aten::conv2d", "self_time_ms": 7.0, "share": 0.7},
           {"operator": "aten::gelu", "self_time_ms": 2.0, "share": 0.2}]
    write(results, "profile/agdn-s_x4.json", {"kind": "profile", "model": "agdn-s", "scale": 4, "device": "cpu",
                                             "input_size": [256, 256], "threads": 1, "status": "ok", "forward_ms": 9.5,
                                             "peak_mem_forward_mib": 12.0, "modules": mods, "operators": ops})
    write(results, "profile/broken_x4.json", {"kind": "profile", "model": "broken", "scale": 4, "modules": [1, 2]})
    rs = load_results(results)
    assert [e[0] for e in rs.errors] == ["profile/broken_x4.json"] and "'modules' must be" in rs.errors[0][1]
    rows = {r["model"]: r for r in profile_table(rs).rows}
    assert set(rows) == {"agdn-s", "rlfn-ntire22"}
    # first-level modules only (B1.esa is inside B1), by inclusive time; operators by self time
    assert rows["agdn-s"]["modules"] == "B1 60.0%, up 12.5%"
    assert rows["agdn-s"]["operators"] == "aten::conv2d 70.0%, aten::gelu 20.0%"
    assert rows["agdn-s"]["forward_ms"] == 9.5 and rows["agdn-s"]["input"] == "256x256"
    real = rows["rlfn-ntire22"]["modules"].split(", ")
    assert len(real) == 5 and all(m.split()[0].startswith(("block_", "conv_", "upsampler")) for m in real)
    html = build_report(results, figures=False).read_text()
    cells = {a["data-model"]: [t for _, t in c] for a, c in _rows(html, "profile")}
    assert cells["agdn-s"][-2:] == ["B1 60.0%, up 12.5%", "aten::conv2d 70.0%, aten::gelu 20.0%"]
