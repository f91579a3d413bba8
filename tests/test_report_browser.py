"""report.html in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright, the page opened from
disk. Reports of 1, 12 and 200 generated models (the real write_report on the records of tests/report_records.py)
load without a console error or a request to anything but the file itself, show every model, sort, filter, name
a point's model when it is hovered, and open a model's details.

Without Chromium or Playwright these tests skip, saying how to install them; with ``NRP_REQUIRE_BROWSER=1`` (CI)
they fail instead."""
import json
import math
import os
import shutil
from pathlib import Path

import pytest

from nrp_plugin.app import html_report
from report_records import FAILURE, LAYERS, REGIONS, SITES, records_layers, reports_references, write_synthetic_report

CHROMIUM = os.environ.get('NRP_CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions']
INSTALL = 'install them with `apt-get install chromium` and `pip install playwright`'
#: The reports: models, regions and sites per record (the 200-model one on one region, to be quick to make).
SIZES = {1: (REGIONS, SITES), 12: (REGIONS, SITES), 200: (('IT',), 8)}
DASH = '–'


def _missing():
    """What this machine lacks for the browser tests ([] when nothing)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append('Playwright is not installed')
    if not Path(CHROMIUM).is_file():
        missing.append(f'no Chromium at {CHROMIUM}')
    return missing


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    """One headless Chromium for the module, with a fresh profile."""
    missing = _missing()
    if missing:
        message = f"browser tests need Chromium and Playwright ({'; '.join(missing)}): {INSTALL}"
        if os.environ.get('NRP_REQUIRE_BROWSER') == '1':
            pytest.fail(f'{message} (NRP_REQUIRE_BROWSER=1)', pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp('chromium-profile')), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={'width': 1280, 'height': 900})
        yield context
        context.close()


@pytest.fixture(scope='module')
def reports(tmp_path_factory):
    """Per number of models: the report's folder, its table.json document and the models' names."""
    made = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for n, (regions, sites) in SIZES.items():
            out = tmp_path_factory.mktemp(f'report{n}')
            names = write_synthetic_report(out, n, monkeypatch, regions=regions, sites=sites)
            made[n] = (out, json.loads((out / 'table.json').read_text()), names)
    return made


class View:
    """A report open in a new page: every request it makes and every console error it logs are kept."""

    def __init__(self, browser, folder):
        self.url = (folder / 'report.html').resolve().as_uri()
        self.requests, self.errors = [], []
        self.page = browser.new_page()
        self.page.set_default_timeout(15000)
        self.page.on('request', lambda request: self.requests.append(request.url))
        self.page.on('console', lambda message: self.errors.append(message.text) if message.type == 'error' else None)
        self.page.on('pageerror', lambda error: self.errors.append(str(error)))
        self.page.goto(self.url)
        self.page.wait_for_selector('body[data-ready="true"]')

    def table_rows(self):
        """``(model, region, family)`` of the comparison table's rows on the page shown."""
        return [tuple(r) for r in self.page.eval_on_selector_all(
            '#comparison tbody tr', 'trs => trs.map(t => [t.dataset.model, t.dataset.region, t.dataset.family])')]

    def show_all_rows(self):
        self.page.select_option('#main-table select.page-size', '0')

    def offline_and_clean(self):
        """No request but the file itself (and data: URLs), no console error."""
        assert [url for url in self.requests if url != self.url and not url.startswith('data:')] == []
        assert self.errors == []

    def close(self):
        self.page.close()


@pytest.fixture(scope='module', params=sorted(SIZES), ids=lambda n: f'{n}models')
def opened(request, browser, reports):
    """One page per report, for all the tests of that report (each leaves the filters as it found them)."""
    out, document, names = reports[request.param]
    page = View(browser, out)
    yield page, document, names
    page.close()


@pytest.fixture
def view(opened):
    yield opened
    opened[0].offline_and_clean()  # whatever the test did: still nothing fetched, no error


def _key(row):
    return row['model'], row['region'], row['family']


def test_loads_offline_without_errors_and_shows_every_model(view):
    page, document, names = view
    page.offline_and_clean()
    assert page.requests[0] == page.url
    page.show_all_rows()
    shown = page.table_rows()
    assert shown == [_key(row) for row in document['rows']]
    failed = [f['model'] for f in document['failed']]
    assert {model for model, _, _ in shown} | set(failed) == set(names)
    failed_shown = page.page.eval_on_selector_all('#failed-table tbody tr button.model-link',
                                                  'bs => bs.map(b => b.dataset.model)')
    assert failed_shown == failed
    options = page.page.eval_on_selector_all('#drill-model option', 'os => os.map(o => o.value)')
    assert options[1:] == names
    # each chart fits its box (drawn at its final width)
    overflow = page.page.evaluate('''() => [...document.querySelectorAll('.js-plotly-plot')].map(
        gd => gd.querySelector('svg.main-svg').getBoundingClientRect().width - gd.getBoundingClientRect().width)''')
    assert overflow and max(overflow) <= 1


def _sorted_keys(rows, key, descending):
    """The table's order after sorting by ``key``: by value, missing values last either way, ties in table order."""
    def order(item):
        index, row = item
        value = row.get(key)
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return missing, 0 if missing else (-value if descending else value), index
    return [_key(row) for _, row in sorted(enumerate(rows), key=order)]


def test_clicking_a_header_sorts_the_rows_by_its_values(view):
    page, document, _ = view
    page.page.select_option('#main-table select.page-size', '50')
    for key in ('nrp_error', 'pls_raw_r', 'nrp_minus_best_linear_mae'):
        header = page.page.locator(f'#comparison th[data-key="{key}"]')
        header.click()
        assert page.table_rows() == _sorted_keys(document['rows'], key, descending=False)[:50]  # the first page
        header.click()
        descending = _sorted_keys(document['rows'], key, descending=True)
        assert page.table_rows() == descending[:50]
        if len(document['rows']) > 50:  # the last page ends the whole sorted table
            page.page.locator('#main-table button.page').nth(3).click()
            assert page.table_rows()[-1] == descending[-1]


def test_filters_hide_rows_and_columns(view):
    page, document, names = view
    rows = document['rows']
    page.page.locator('#comparison th[data-key="model"]').click()  # sorted by model, then by table order
    order = sorted(range(len(rows)), key=lambda i: (rows[i]['model'], i))
    needle = names[0].split('_')[0].upper()  # case does not matter
    page.page.fill('#filter-model', needle)
    page.show_all_rows()
    assert page.table_rows() == [_key(rows[i]) for i in order if needle.lower() in rows[i]['model'].lower()]
    page.page.fill('#filter-model', 'no model has this name')
    assert page.table_rows() == []
    page.page.fill('#filter-model', '')
    region = rows[-1]['region']
    page.page.select_option('#filter-region', region)
    assert page.table_rows() == [_key(rows[i]) for i in order if rows[i]['region'] == region]
    page.page.select_option('#filter-region', '')
    # a mapping unticked: the columns that show it (its own and the contrasts naming it) are gone, the others stay
    mapping = html_report.mappings(document)[0]['name']
    columns = html_report.report_data(document)['columns']
    shown = [c['key'] for c in columns if c['group'] in ('id',) + html_report.SHOWN_GROUPS]
    headers = lambda: page.page.eval_on_selector_all('#comparison th', 'ths => ths.map(t => t.dataset.key)')
    assert headers() == shown and f'{mapping}_mae' in shown
    page.page.uncheck(f'#filter-mapping input[value="{mapping}"]')
    assert headers() == [key for key in shown if mapping not in next(c for c in columns if c['key'] == key).get(
        'mappings', ())]
    page.page.check(f'#filter-mapping input[value="{mapping}"]')
    assert headers() == shown
    # the discordant pairs of a region, filtered by a model on either side
    groups = [(i, g['discordant_pairs']) for i, g in enumerate(document['ranking']['regions']) if g['discordant_pairs']]
    if len(names) > 2:
        assert groups, 'the generated models have discordant pairs'
    for index, pairs in groups:
        model = pairs[-1]['model_b']
        page.page.fill(f'#pairs-filter-{index}', model)
        page.page.select_option(f'#pairs-host-{index} select.page-size', '0')
        shown_pairs = page.page.eval_on_selector_all(
            f'#pairs-{index} tbody tr', 'trs => trs.map(t => [...t.querySelectorAll("button.model-link")].map('
            'b => b.dataset.model))')
        assert shown_pairs == [[p['model_a'], p['model_b']] for p in pairs if model in (p['model_a'], p['model_b'])]


def _point_on_screen(page, row):
    """Where the scatter draws a row's point, in page pixels (plotly's axis mapping)."""
    return page.evaluate('''([x, y]) => {
        const gd = document.getElementById('scatter'), layout = gd._fullLayout, box = gd.getBoundingClientRect();
        return [box.left + layout.xaxis._offset + layout.xaxis.l2p(x),
                box.top + layout.yaxis._offset + layout.yaxis.l2p(y)];
    }''', [row['pls_raw_r'], row['nrp_error']])


def test_hovering_a_point_names_its_model(view):
    page, document, _ = view
    page.page.locator('#scatter').scroll_into_view_if_needed()
    rows = [r for r in document['rows'] if r['pls_raw_r'] is not None and r['nrp_error'] is not None]
    points = [(_point_on_screen(page.page, r), r) for r in rows]
    # the point farthest from every other, so that the hover label can only be its own
    def room(i):
        (x, y), _ = points[i]
        return min((math.hypot(x - u, y - v) for j, ((u, v), _) in enumerate(points) if j != i), default=math.inf)
    (x, y), row = points[max(range(len(points)), key=room)]
    page.page.mouse.move(x, y)
    label = page.page.wait_for_selector('#scatter .hoverlayer .hovertext')
    assert row['model'] in label.text_content()
    page.page.mouse.click(x, y)  # a click opens the model's details
    page.page.wait_for_function('m => document.getElementById("drill").dataset.model === m', arg=row['model'])


def test_a_model_opens_its_details(view):
    page, document, names = view
    model = names[0]
    page.page.fill('#filter-model', model)  # its rows on the page shown, whatever the sorting
    page.page.locator(f'#comparison button.model-link[data-model="{model}"]').first.click()
    page.page.fill('#filter-model', '')
    assert page.page.text_content('#drill .drill-title') == model
    regions = [r['region'] for r in document['rows'] if r['model'] == model]
    assert page.page.eval_on_selector_all('#drill .card h4', 'hs => hs.map(h => h.textContent)') == [
        f"{r['family']} {r['region']}" for r in document['rows'] if r['model'] == model]
    layers = page.page.eval_on_selector_all('#drill table.layers tbody tr',
                                            'trs => trs.map(t => [...t.cells].map(c => c.textContent))')
    assert [row[1] for row in layers] == regions
    assert records_layers(0) and all(row[3] == ', '.join(LAYERS['nrp_layers']) for row in layers)
    # a per-site chart per region; its NRP trace has one point per site, the sites' mean over splits
    charts = page.page.evaluate('''() => [...document.querySelectorAll('#drill .site-chart')].map(
        gd => gd.data.map(t => [t.name, t.y.length]))''')
    sites = len(document['scores'][0]['site_neuroid_id'])
    assert len(charts) == len(regions) and all(['NRP MAE', sites] in chart for chart in charts)
    if len(names) > 1:  # a model without the reference mappings: '–' in their cells; the failed model: its reason
        index = next(i for i in range(len(names) - 1) if not reports_references(i))
        page.page.select_option('#drill-model', names[index])
        cells = page.page.eval_on_selector_all('#drill .card tbody tr',
                                               'trs => trs.map(t => [...t.cells].map(c => c.textContent))')
        titles = {m['name']: m['title'] for m in html_report.mappings(document)}
        reference = 'banded_ridge'  # ridge is always reported, the other references only by some models
        missing = [row for row in cells if row[0].startswith(titles[reference])]
        assert missing and all(row[1] == DASH for row in missing)
        page.page.select_option('#drill-model', names[-1])
        assert page.page.text_content('#drill .drill-title') == names[-1]
        assert FAILURE in page.page.text_content('#drill .failed')
