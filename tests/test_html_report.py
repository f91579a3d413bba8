"""report.html without a browser (nrp_plugin.app.html_report): self-contained markup, the `report` command, the
mappings and contrasts read from the document, missing keys, and the data embedded safely. The page's behaviour in a
browser is tests/test_report_browser.py."""
import html.parser
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nrp_plugin import mappings
from nrp_plugin.app import cli, contrasts, html_report, result_cache
from report_records import REGIONS, write_synthetic_report

#: Attributes whose value a browser fetches or navigates to.
URL_ATTRIBUTES = ('src', 'href', 'srcset', 'action', 'formaction', 'poster', 'data', 'background', 'xlink:href',
                  'manifest', 'icon', 'ping', 'content')
REMOTE = re.compile(r'^\s*(https?:)?//', re.IGNORECASE)
CSS_REMOTE = re.compile(r'@import|url\(\s*[\'"]?\s*(https?:)?//', re.IGNORECASE)


class _Markup(html.parser.HTMLParser):
    """The tags, their attributes and the text of the <style> elements of a page (a <script>'s content is text
    to the parser, never markup)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.styles, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == 'style'

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def remote_references(page):
    """Every reference in a page's markup that a browser would fetch from a host: a URL attribute to one, a
    <link> or <script src>, an @import or url(http...) in a style; [] for a self-contained page."""
    markup = _Markup()
    markup.feed(page)
    found = []
    for tag, attrs in markup.tags:
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES and value and REMOTE.match(value):
                found.append(f'<{tag} {name}="{value}">')
            if name == 'style' and value and CSS_REMOTE.search(value):
                found.append(f'<{tag} style="{value}">')
        if tag == 'script' and attrs.get('src') is not None:
            found.append(f'<script src="{attrs["src"]}">')
        if tag == 'link':
            found.append(f'<link {attrs}>')
    found += [f'<style>{style.strip()[:80]}' for style in markup.styles if CSS_REMOTE.search(style)]
    return found


def test_the_check_finds_what_a_browser_would_fetch():
    """The reference of the next test: each kind of remote reference is found, a local one is not."""
    assert remote_references('<p><a href="#x">x</a><img src="data:image/png;base64,AA"></p>') == []
    for page in ('<script src="https://cdn.example/plotly.js"></script>',
                 '<link rel="stylesheet" href="https://fonts.example/css">', '<img src="//host/x.png">',
                 '<style>@import "x.css";</style>', '<style>body { background: url( "http://host/x.png") }</style>',
                 '<div style="background: url(https://host/x.png)"></div>', '<script src="plotly.js"></script>'):
        assert remote_references(page), page


@pytest.fixture
def written(tmp_path, monkeypatch):
    """The files of a `compare` run of 4 generated models (real write_report, no plots)."""
    names = write_synthetic_report(tmp_path, 4, monkeypatch)
    return tmp_path, names


def test_report_is_self_contained_and_the_report_command_rebuilds_it_identically(written, capsys):
    out, names = written
    page = (out / 'report.html').read_text(encoding='utf-8')
    assert remote_references(page) == []
    assert page.count('<script') == page.count('</script>') == 3  # data, plotly, the page's script: all inline
    document = json.loads((out / 'table.json').read_text())
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)[1])
    assert data['models'] == names and len(data['rows']) == len(document['rows']) == 3 * len(REGIONS)
    assert [f['model'] for f in data['failed']] == [names[-1]]
    original = (out / 'report.html').read_bytes()
    (out / 'report.html').unlink()
    assert cli.main(['report', str(out)]) == 0
    assert (out / 'report.html').read_bytes() == original
    assert capsys.readouterr().out.strip() == f"wrote {out / 'report.html'}"
    assert not list(out.glob('.report.html.*'))  # written atomically, no temporary file left
    # the command in another process, whose string hashes (and so set orders) differ from this one's
    (out / 'report.html').unlink()
    done = subprocess.run([sys.executable, '-m', 'nrp_plugin.app.cli', 'report', str(out)], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONHASHSEED='0'), timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / 'report.html').read_bytes() == original


@pytest.mark.parametrize('content', [None, '{"rows": [', '[1, 2]', '{"run": {}}'])
def test_report_command_without_a_readable_table_says_so_in_one_line(tmp_path, capsys, content):
    if content is not None:
        (tmp_path / 'table.json').write_text(content)
    assert cli.main(['report', str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith('nrp-plugin report: ') and '\n' not in err and 'table.json' in err
    assert not (tmp_path / 'report.html').exists()


def test_mappings_and_contrasts_come_from_the_document():
    """A document that names its mappings (a renamed one among them) gets their columns and titles; one without
    gets the package's mappings with the tables' titles."""
    renamed = [{'name': 'pls', 'title': 'PLS', 'linear': True},
               {'name': 'least_squares', 'title': 'least squares', 'linear': True},
               {'name': 'nrp', 'title': 'NRP', 'linear': False}]
    row = {'family': 'F', 'model': 'm', 'region': 'IT', 'least_squares_mae': 0.5, 'least_squares_mae_ci_low': 0.49,
           'least_squares_mae_ci_high': 0.51,
           'nrp_mae': 0.4, 'nrp_minus_least_squares_mae': -0.1, 'nrp_minus_least_squares_ci_low': -0.15,
           'nrp_minus_least_squares_ci_high': -0.05, 'nrp_minus_least_squares_p_holm': 0.01,
           'nrp_minus_best_linear_mae': -0.1}
    data = html_report.report_data({'mappings': renamed, 'rows': [row]})
    assert data['mappings'] == renamed
    by_key = {col['key']: col for col in data['columns']}
    assert by_key['least_squares_mae']['title'] == 'least squares MAE'
    assert (by_key['least_squares_mae']['low'], by_key['least_squares_mae']['high']) == (
        'least_squares_mae_ci_low', 'least_squares_mae_ci_high')
    contrast = by_key['nrp_minus_least_squares_mae']
    assert contrast['title'] == 'NRP − least squares MAE' and contrast['mappings'] == ['nrp', 'least_squares']
    assert (contrast['low'], contrast['high'], contrast['p']) == ('nrp_minus_least_squares_ci_low',
                                                                  'nrp_minus_least_squares_ci_high',
                                                                  'nrp_minus_least_squares_p_holm')
    assert by_key['nrp_minus_best_linear_mae']['title'] == 'NRP − best linear MAE'
    assert not any(key.startswith('linear_') for key in by_key)
    assert data['rows'][0]['least_squares_mae'] == 0.5 and data['rows'][0]['pls_mae'] is None
    fallback = html_report.mappings({})
    assert [m['name'] for m in fallback] == mappings.names()
    assert [m['title'] for m in fallback] == [mappings.title(m) for m in mappings.names()]
    assert [m['name'] for m in fallback if m['linear']] == mappings.linear_names()


def test_every_contrast_of_the_rows_gets_a_column(written):
    out, _ = written
    document = json.loads((out / 'table.json').read_text())
    data = html_report.report_data(document)
    shown = {col['key'] for col in data['columns'] if col['group'] == 'contrasts'}
    assert shown == {f'{a}_minus_{b}_mae' for a, b in contrasts.contrasts()}


def test_ranking_entries_are_read_generically(written):
    """Each correlation's estimates are the keys that hold an estimate; a new estimate shows without code."""
    out, _ = written
    ranking = json.loads((out / 'table.json').read_text())['ranking']
    view = html_report.ranking_view(ranking)
    assert [(g['family'], g['region']) for g in view['groups']] == [(g['family'], g['region'])
                                                                    for g in ranking['regions']]
    for group, source in zip(view['groups'], ranking['regions']):
        for entry, correlation in zip(group['entries'], source['correlations']):
            assert entry['title'] == correlation['title'] and entry['n'] == correlation['n_models']
            expected = {}
            for name in ('spearman', 'kendall'):
                found = correlation[name]
                expected[name] = (found['estimate'], [found['low'], found['high']]
                                  if found.get('low') is not None else None)
            assert {e['name']: (e['value'], e['interval']) for e in entry['estimates']} == expected
        assert len(group['pairs']) == source['n_discordant']
    reshaped = {'regions': [{'family': 'F', 'region': 'IT', 'correlations': [
        {'title': 'NRP-error vs PLS r', 'pearson': {'estimate': 0.5, 'low': 0.1, 'high': 0.8}, 'note': 'a note'}]}]}
    entry = html_report.ranking_view(reshaped)['groups'][0]['entries'][0]
    assert entry['estimates'] == [{'name': 'pearson', 'value': 0.5, 'interval': [0.1, 0.8]}]
    assert entry['note'] == 'a note' and entry['n'] is None
    assert html_report.ranking_view(None) == {'groups': [], 'method': []}


def test_old_and_odd_documents_still_build():
    """Missing keys (records from before a figure was kept) become None, shown as '–'; NaN becomes null (JSON has
    no NaN); a model name with markup cannot end the data's <script> element."""
    name = '</script><script>alert(1)</script>'
    document = {'rows': [{'family': 'F', 'model': name, 'region': 'IT', 'pls_raw_r': 0.5,
                          'nrp_error': float('nan')}],
                'scores': [{'kind': 'nrp', 'model': name, 'family': 'F', 'region': 'IT', 'site_nrp_mae': [[0.1, 0.2]]}],
                'ranking': {'regions': [{'family': 'F', 'region': 'IT', 'correlations': [{'title': 't'}]}]}}
    page = html_report.build_html(document)
    assert page.count('</script>') == 3 and name not in page
    text = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)[1]
    data = json.loads(text, parse_constant=lambda constant: pytest.fail(f'{constant} in the JSON'))
    row = data['rows'][0]
    assert row['model'] == name and row['nrp_error'] is None and row['pls_raw_r_ci_low'] is None
    assert data['details'][name][0]['site_mae'] == {'nrp': [0.1, 0.2]} and data['provenance'] == {}
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in row.values())


def test_the_page_files_do_not_key_the_result_cache():
    """Editing the page cannot change a score: its files are left out of the code fingerprint."""
    package = Path(html_report.__file__).resolve().parents[1]
    files = {path.relative_to(package).as_posix() for path in html_report.ASSETS.iterdir() if path.is_file()}
    assert files and files | {'app/html_report.py'} <= set(result_cache.NOT_SCORING)
