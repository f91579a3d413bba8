// The report's page: tables (sort, filter, pages), plotly charts and the per-model drill-down, all drawn from the
// JSON in #report-data (nrp_plugin/app/html_report.py shapes it). Nothing here requests anything from anywhere.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var DASH = '\u2013';
  var PLOT_CONFIG = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud']};
  var COLORS = ['#1f5fa8', '#d1495b', '#2e933c', '#edae49', '#7b4fa0', '#00798c', '#8c564b', '#e377c2'];

  function el(tag, props) {
    var node = document.createElement(tag);
    var key;
    for (key in props || {}) {
      if (key === 'text') node.textContent = props[key];
      else if (key === 'className') node.className = props[key];
      else if (key === 'data') Object.keys(props.data).forEach(function (k) { node.dataset[k] = props.data[k]; });
      else node.setAttribute(key, props[key]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function isNum(v) { return typeof v === 'number' && isFinite(v); }
  function fmt(v, digits) { return isNum(v) ? v.toFixed(digits === undefined ? 3 : digits) : DASH; }
  function fmtP(p) { return isNum(p) ? (p < 0.001 ? '< 0.001' : p.toFixed(3)) : DASH; }
  function fmtInterval(iv, digits) {
    if (!Array.isArray(iv) || !isNum(iv[0]) || !isNum(iv[1])) return DASH;
    return '[' + fmt(iv[0], digits) + ', ' + fmt(iv[1], digits) + ']';
  }
  function text(v) {
    if (v === null || v === undefined || v === '') return DASH;
    if (typeof v === 'number') return isNum(v) ? String(v) : DASH;
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (Array.isArray(v) && v.every(function (x) { return typeof x !== 'object' || x === null; })) {
      return v.length ? v.map(text).join(', ') : DASH;
    }
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  // ---------------------------------------------------------------- a sortable, filterable table in pages
  // spec: columns [{key, title, kind: 'text'|'model'|'num'|'p'|'verdict', ci, low, high, p, digits}], rows,
  // pageSize, filter(row) -> bool, visible(col) -> bool, id (the element's id)
  function DataTable(host, spec) {
    var self = this;
    this.spec = spec;
    this.sortKey = null;
    this.sortDir = 1;
    this.page = 0;
    this.pageSize = spec.pageSize || 50;
    host.textContent = '';
    this.pager = el('div', {className: 'pager'});
    this.table = el('table', {className: 'data', id: spec.id});
    host.appendChild(this.pager);
    host.appendChild(el('div', {className: 'scroll'}, this.table));
    this.table.addEventListener('click', function (event) {
      var th = event.target.closest('th.sortable');
      if (th) { self.sortBy(th.dataset.key); return; }
      var link = event.target.closest('button.model-link');
      if (link) showModel(link.dataset.model);
    });
    this.render();
  }
  DataTable.prototype.sortBy = function (key) {
    if (this.sortKey === key) this.sortDir = -this.sortDir;
    else { this.sortKey = key; this.sortDir = 1; }
    this.page = 0;
    this.render();
  };
  DataTable.prototype.rows = function () {
    var spec = this.spec;
    var rows = spec.rows.map(function (row, index) { return {row: row, index: index}; });
    if (spec.filter) rows = rows.filter(function (item) { return spec.filter(item.row); });
    var key = this.sortKey;
    var dir = this.sortDir;
    if (key) {
      rows.sort(function (a, b) {
        var x = a.row[key];
        var y = b.row[key];
        var xm = x === null || x === undefined || (typeof x === 'number' && !isFinite(x));
        var ym = y === null || y === undefined || (typeof y === 'number' && !isFinite(y));
        if (xm || ym) return xm === ym ? a.index - b.index : (xm ? 1 : -1);  // missing values last either way
        var order = (typeof x === 'number' && typeof y === 'number') ? x - y
          : (String(x) < String(y) ? -1 : (String(x) > String(y) ? 1 : 0));
        return order !== 0 ? dir * order : a.index - b.index;
      });
    }
    return rows.map(function (item) { return item.row; });
  };
  DataTable.prototype.cell = function (col, row) {
    var td = el('td', {className: col.kind === 'text' || col.kind === 'model' || col.kind === 'verdict' ? 'text' : ''});
    var v = row[col.key];
    if (col.kind === 'model') {
      td.classList.add('sticky');
      td.appendChild(el('button', {className: 'model-link', type: 'button', data: {model: v}, text: text(v)}));
    } else if (col.kind === 'num') {
      td.appendChild(document.createTextNode(fmt(v, col.digits)));
      if (!isNum(v)) return td;  // no interval without an estimate
      if (col.ci) td.appendChild(el('span', {className: 'ci', text: ' ± ' + fmt(row[col.ci], col.digits)}));
      if (col.low) td.appendChild(el('span', {className: 'ci', text: ' ' + fmtInterval([row[col.low], row[col.high]],
                                                                                          col.digits)}));
      if (col.p) td.appendChild(el('span', {className: 'ci', text: ' p\u2095 ' + fmtP(row[col.p])}));
    } else if (col.kind === 'p') {
      td.textContent = fmtP(v);
    } else if (col.kind === 'verdict') {
      td.textContent = v === true ? 'yes' : (v === false ? 'no' : 'not tested');
    } else {
      td.textContent = text(v);
    }
    return td;
  };
  DataTable.prototype.render = function () {
    var self = this;
    var spec = this.spec;
    var cols = spec.columns.filter(function (col) { return !spec.visible || spec.visible(col); });
    var rows = this.rows();
    var size = this.pageSize > 0 ? this.pageSize : Math.max(rows.length, 1);
    var pages = Math.max(1, Math.ceil(rows.length / size));
    this.page = Math.min(this.page, pages - 1);
    var shown = rows.slice(this.page * size, (this.page + 1) * size);
    this.table.textContent = '';
    var head = el('tr');
    cols.forEach(function (col) {
      var th = el('th', {className: 'sortable' + (col.kind === 'text' || col.kind === 'model' ? ' text' : '')
                           + (col.kind === 'model' ? ' sticky' : ''), data: {key: col.key}, text: col.title});
      if (self.sortKey === col.key) th.classList.add(self.sortDir > 0 ? 'asc' : 'desc');
      if (col.help) th.title = col.help;
      head.appendChild(th);
    });
    this.table.appendChild(el('thead', null, head));
    var body = el('tbody');
    shown.forEach(function (row) {
      var tr = el('tr');
      if (spec.rowData) Object.keys(spec.rowData(row)).forEach(function (k) { tr.dataset[k] = spec.rowData(row)[k]; });
      cols.forEach(function (col) { tr.appendChild(self.cell(col, row)); });
      body.appendChild(tr);
    });
    this.table.appendChild(body);
    this.renderPager(rows.length, pages, size);
  };
  DataTable.prototype.renderPager = function (n, pages, size) {
    var self = this;
    var pager = this.pager;
    pager.textContent = '';
    var first = n ? this.page * size + 1 : 0;
    var last = Math.min(n, (this.page + 1) * size);
    var total = this.spec.rows.length;
    pager.appendChild(el('span', {className: 'count', text: 'rows ' + first + '\u2013' + last + ' of ' + n
                                   + (n !== total ? ' (' + total + ' in all)' : '')}));
    [['\u00ab', 0], ['\u2039', this.page - 1], ['\u203a', this.page + 1], ['\u00bb', pages - 1]].forEach(function (b) {
      var button = el('button', {type: 'button', text: b[0], className: 'page'});
      if (b[1] < 0 || b[1] >= pages || b[1] === self.page) button.disabled = true;
      button.addEventListener('click', function () { self.page = b[1]; self.render(); });
      pager.appendChild(button);
    });
    pager.appendChild(el('span', {text: 'page ' + (this.page + 1) + ' of ' + pages}));
    var select = el('select', {className: 'page-size', 'aria-label': 'rows per page'});
    [10, 25, 50, 100, 0].forEach(function (s) {
      var option = el('option', {value: String(s), text: s ? s + ' per page' : 'all rows'});
      if (s === self.pageSize) option.selected = true;
      select.appendChild(option);
    });
    select.addEventListener('change', function () {
      self.pageSize = Number(select.value);
      self.page = 0;
      self.render();
    });
    pager.appendChild(select);
  };

  // ---------------------------------------------------------------- the comparison table
  var mainTable;
  function setupTable() {
    var modelBox = document.getElementById('filter-model');
    var family = document.getElementById('filter-family');
    var region = document.getElementById('filter-region');
    [[family, D.families], [region, D.regions]].forEach(function (pair) {
      pair[0].appendChild(el('option', {value: '', text: 'all'}));
      pair[1].forEach(function (v) { pair[0].appendChild(el('option', {value: v, text: v})); });
    });
    var mappingBox = document.getElementById('filter-mapping');
    var mappingOn = {};
    D.mappings.forEach(function (m) {
      mappingOn[m.name] = true;
      var box = el('input', {type: 'checkbox', value: m.name, checked: ''});
      box.addEventListener('change', function () { mappingOn[m.name] = box.checked; mainTable.render(); });
      mappingBox.appendChild(el('label', null, box, ' ' + m.title));
    });
    var groupBox = document.getElementById('filter-groups');
    var groupOn = {id: true};
    var groups = [];
    D.columns.forEach(function (col) {
      if (col.group !== 'id' && groups.indexOf(col.group) < 0) groups.push(col.group);
    });
    groups.forEach(function (g) {
      groupOn[g] = D.shown_groups.indexOf(g) >= 0;
      var box = el('input', {type: 'checkbox', value: g});
      box.checked = groupOn[g];
      box.addEventListener('change', function () { groupOn[g] = box.checked; mainTable.render(); });
      groupBox.appendChild(el('label', null, box, ' ' + g));
    });
    mainTable = new DataTable(document.getElementById('main-table'), {
      id: 'comparison', columns: D.columns, rows: D.rows, pageSize: 50,
      rowData: function (row) { return {model: row.model, region: row.region, family: row.family}; },
      visible: function (col) {
        return groupOn[col.group] && (!col.mappings || col.mappings.every(function (m) { return mappingOn[m]; }));
      },
      filter: function (row) {
        var needle = modelBox.value.trim().toLowerCase();
        return (!needle || String(row.model).toLowerCase().indexOf(needle) >= 0)
          && (!family.value || row.family === family.value) && (!region.value || row.region === region.value);
      }
    });
    modelBox.addEventListener('input', function () { mainTable.page = 0; mainTable.render(); });
    [family, region].forEach(function (s) {
      s.addEventListener('change', function () { mainTable.page = 0; mainTable.render(); });
    });
    document.getElementById('legend').textContent = D.legend || '';
  }

  // ---------------------------------------------------------------- charts
  function errors(values) { return values.map(function (v) { return isNum(v) ? v : NaN; }); }

  function drawScatter() {
    var host = document.getElementById('scatter');
    var groups = [];
    D.rows.forEach(function (row) {
      if (!isNum(row.pls_raw_r) || !isNum(row.nrp_error)) return;
      var name = D.families.length > 1 ? row.family + ' \u00b7 ' + row.region : row.region;
      var group = groups.filter(function (g) { return g.name === name; })[0];
      if (!group) { group = {name: name, rows: []}; groups.push(group); }
      group.rows.push(row);
    });
    if (!groups.length) {
      host.textContent = 'No model has both a PLS r and an NRP-error.';
      host.className = 'note';
      return;
    }
    var traces = groups.map(function (g, i) {
      return {
        type: 'scatter', mode: 'markers', name: g.name,
        x: g.rows.map(function (r) { return r.pls_raw_r; }), y: g.rows.map(function (r) { return r.nrp_error; }),
        text: g.rows.map(function (r) { return r.model; }),
        customdata: g.rows.map(function (r) {
          return [fmtInterval([r.pls_raw_r_ci_low, r.pls_raw_r_ci_high]),
                  fmtInterval([r.nrp_error_ci_low, r.nrp_error_ci_high])];
        }),
        error_x: {type: 'data', symmetric: false, thickness: 1, width: 0, color: 'rgba(80,80,80,0.35)',
                  array: errors(g.rows.map(function (r) { return r.pls_raw_r_ci_high - r.pls_raw_r; })),
                  arrayminus: errors(g.rows.map(function (r) { return r.pls_raw_r - r.pls_raw_r_ci_low; }))},
        error_y: {type: 'data', symmetric: false, thickness: 1, width: 0, color: 'rgba(80,80,80,0.35)',
                  array: errors(g.rows.map(function (r) { return r.nrp_error_ci_high - r.nrp_error; })),
                  arrayminus: errors(g.rows.map(function (r) { return r.nrp_error - r.nrp_error_ci_low; }))},
        marker: {size: g.rows.length > 100 ? 6 : 9, color: COLORS[i % COLORS.length], opacity: 0.85,
                 line: {width: 0.5, color: '#fff'}},
        hovertemplate: '<b>%{text}</b><br>PLS r %{x:.3f} %{customdata[0]}<br>NRP-error %{y:.3f} ' +
                       '%{customdata[1]}<extra>%{fullData.name}</extra>'
      };
    });
    Plotly.newPlot(host, traces, {
      height: 520, margin: {l: 70, r: 20, t: 10, b: 55}, hovermode: 'closest',
      xaxis: {title: {text: 'PLS r (higher is better)'}, zeroline: false},
      yaxis: {title: {text: 'NRP-error (lower is better)'}, zeroline: false},
      legend: {orientation: 'h', y: -0.14}
    }, PLOT_CONFIG).then(function () {
      host.on('plotly_click', function (event) { if (event.points.length) showModel(event.points[0].text); });
    });
  }

  function drawRankChanges() {
    var host = document.getElementById('rank-charts');
    var groups = D.ranking.groups.filter(function (g) { return g.ranks.length; });
    if (!groups.length) {
      host.appendChild(el('p', {className: 'note', text: 'No ranks: no model has both scores.'}));
      return;
    }
    // every chart's box first, so that each is drawn at its final width
    var divs = groups.map(function (g, gi) {
      return host.appendChild(el('div', {className: 'rank-chart', id: 'rank-chart-' + gi}));
    });
    groups.forEach(function (g, gi) {
      var div = divs[gi];
      var lineX = [];
      var lineY = [];
      var points = {x: [], y: [], text: [], customdata: []};
      g.ranks.forEach(function (r) {
        lineX.push(0, 1, null);
        lineY.push(r.pls_rank, r.nrp_rank, null);
        [[0, r.pls_rank], [1, r.nrp_rank]].forEach(function (p) {
          points.x.push(p[0]); points.y.push(p[1]); points.text.push(r.model);
          points.customdata.push([text(r.pls_rank), text(r.nrp_rank), fmt(r.pls_r), fmt(r.nrp_error)]);
        });
      });
      var hover = '<b>%{text}</b><br>rank by PLS r %{customdata[0]} (r %{customdata[2]})<br>rank by NRP-error ' +
                  '%{customdata[1]} (%{customdata[3]})<extra></extra>';
      var traces = [
        {type: 'scatter', mode: 'lines', x: lineX, y: lineY, hoverinfo: 'skip', showlegend: false,
         line: {color: 'rgba(110,120,130,0.35)', width: 1}},
        {type: 'scatter', mode: 'markers', x: points.x, y: points.y, text: points.text, customdata: points.customdata,
         hovertemplate: hover, showlegend: false, marker: {size: g.ranks.length > 60 ? 4 : 7, color: '#6e7882'}}
      ];
      g.movers.forEach(function (model, i) {
        var r = g.ranks.filter(function (x) { return x.model === model; })[0];
        if (!r) return;
        traces.push({type: 'scatter', mode: 'lines+markers+text', name: model, x: [0, 1], y: [r.pls_rank, r.nrp_rank],
                     text: ['', model], textposition: 'middle right', hovertemplate: hover,
                     customdata: [[text(r.pls_rank), text(r.nrp_rank), fmt(r.pls_r), fmt(r.nrp_error)],
                                  [text(r.pls_rank), text(r.nrp_rank), fmt(r.pls_r), fmt(r.nrp_error)]],
                     line: {width: 2.5, color: COLORS[(i + 1) % COLORS.length]}, marker: {size: 8}, showlegend: false});
      });
      var n = g.ranks.length;
      Plotly.newPlot(div, traces, {
        title: {text: g.family + ' ' + g.region + ' (' + n + ' models)', font: {size: 14}},
        height: Math.min(900, 260 + 5 * n), margin: {l: 55, r: 20, t: 40, b: 40}, hovermode: 'closest',
        xaxis: {tickvals: [0, 1], ticktext: ['rank by PLS r', 'rank by NRP-error'], range: [-0.15, 1.9],
                zeroline: false, showgrid: false},
        yaxis: {autorange: 'reversed', title: {text: 'rank (1 = best)'}, zeroline: false, dtick: n <= 25 ? 1 : null}
      }, PLOT_CONFIG).then(function () {
        div.on('plotly_click', function (event) { if (event.points.length) showModel(event.points[0].text); });
      });
    });
  }

  // ---------------------------------------------------------------- the ranking analysis (generic entries)
  function renderRanking() {
    var host = document.getElementById('ranking');
    if (!D.ranking.groups.length) {
      host.appendChild(el('p', {className: 'note', text: 'No ranking analysis in this table (' + DASH + ').'}));
      return;
    }
    D.ranking.groups.forEach(function (g, gi) {
      host.appendChild(el('h3', {text: g.family + ' ' + g.region}));
      var names = [];
      g.entries.forEach(function (e) {
        e.estimates.forEach(function (s) { if (names.indexOf(s.name) < 0) names.push(s.name); });
      });
      var table = el('table', {className: 'data ranking-entries'});
      var head = el('tr', null, el('th', {className: 'text', text: 'rankings'}), el('th', {text: 'models'}));
      names.forEach(function (n) { head.appendChild(el('th', {text: n + ' [95% CI]'})); });
      head.appendChild(el('th', {className: 'text', text: 'interval from'}));
      head.appendChild(el('th', {className: 'text', text: 'note'}));
      table.appendChild(el('thead', null, head));
      var body = el('tbody');
      g.entries.forEach(function (e) {
        var tr = el('tr', null, el('td', {className: 'text', text: text(e.title)}), el('td', {text: text(e.n)}));
        names.forEach(function (n) {
          var s = e.estimates.filter(function (x) { return x.name === n; })[0];
          tr.appendChild(el('td', null, s ? fmt(s.value) : DASH,
                            el('span', {className: 'ci', text: ' ' + (s ? fmtInterval(s.interval) : DASH)})));
        });
        tr.appendChild(el('td', {className: 'text', text: text(e.detail)}));
        tr.appendChild(el('td', {className: 'text', text: e.note ? e.note : ''}));
        body.appendChild(tr);
      });
      table.appendChild(body);
      host.appendChild(el('div', {className: 'scroll'}, table));
      host.appendChild(el('p', {className: 'pairs-summary', text: 'Pairs of models ordered differently by PLS r and '
        + 'by the NRP-error: ' + text(g.n_discordant) + ' of ' + text(g.n_pairs) + ' discordant, ' + text(g.n_swaps)
        + ' swap significantly (both Holm p below the level). A: the model with the higher PLS r; B: the one with '
        + 'the lower NRP-error; differences A \u2212 B per split.'}));
      if (g.pairs.length) {
        var cols = [{key: 'model_a', title: 'A (PLS prefers)', kind: 'model'},
                    {key: 'model_b', title: 'B (NRP prefers)', kind: 'model'}];
        g.measures.forEach(function (m) {
          cols.push({key: m[0] + '_difference', title: m[1] + ' A \u2212 B', kind: 'num', low: m[0] + '_ci_low',
                     high: m[0] + '_ci_high', digits: 4});
          cols.push({key: m[0] + '_p', title: 'p', kind: 'p'});
          cols.push({key: m[0] + '_p_holm', title: 'Holm p', kind: 'p'});
        });
        cols.push({key: 'n_splits', title: 'splits', kind: 'text'});
        cols.push({key: 'swaps', title: 'swaps significantly', kind: 'verdict'});
        var box = el('input', {type: 'search', placeholder: 'part of a name', autocomplete: 'off',
                               id: 'pairs-filter-' + gi});
        host.appendChild(el('div', {className: 'controls'}, el('label', null, 'pairs with model ', box)));
        var div = el('div', {className: 'pairs', id: 'pairs-host-' + gi});
        host.appendChild(div);
        var pairs = new DataTable(div, {id: 'pairs-' + gi, columns: cols, rows: g.pairs, pageSize: 10,
          filter: function (pair) {
            var needle = box.value.trim().toLowerCase();
            return !needle || [pair.model_a, pair.model_b].some(function (m) {
              return String(m).toLowerCase().indexOf(needle) >= 0;
            });
          }});
        box.addEventListener('input', function () { pairs.page = 0; pairs.render(); });
      }
    });
    if (D.ranking.method.length) {
      var details = el('details', {className: 'legend'}, el('summary', {text: 'Method'}));
      D.ranking.method.forEach(function (t) { details.appendChild(el('p', {text: t})); });
      host.appendChild(details);
    }
  }

  // ---------------------------------------------------------------- one model's details
  function keyValueTable(object, skip) {
    var table = el('table', {className: 'data kv'});
    Object.keys(object || {}).forEach(function (key) {
      if (skip && skip.indexOf(key) >= 0) return;
      table.appendChild(el('tr', null, el('th', {text: key}), el('td', {text: text(object[key])})));
    });
    return table;
  }

  function mappingTable(row) {
    var table = el('table', {className: 'data'});
    var head = el('tr', null, el('th', {className: 'text', text: 'mapping'}));
    D.mapping_measures.forEach(function (m) { head.appendChild(el('th', {text: m[1]})); });
    table.appendChild(el('thead', null, head));
    var body = el('tbody');
    D.mappings.forEach(function (m) {
      var tr = el('tr', null, el('td', {className: 'text', text: m.title + (row.best_linear_title === m.title
                                                                             ? ' (best linear)' : '')}));
      D.mapping_measures.forEach(function (measure) {
        var key = m.name + '_' + measure[0];
        var td = el('td', null, fmt(row[key]));
        if (isNum(row[key]) && row.hasOwnProperty(key + '_ci_low')) {
          td.appendChild(el('span', {className: 'ci', text: ' ' + fmtInterval([row[key + '_ci_low'],
                                                                              row[key + '_ci_high']])}));
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.appendChild(body);
    return table;
  }

  function siteChart(host, entry) {
    var names = D.mappings.filter(function (m) { return entry.site_mae[m.name]; });
    var order = null;
    var ref = names.length ? entry.site_mae[names[names.length - 1].name] : entry.site_pls_r;
    if (!ref) return false;
    order = ref.map(function (v, i) { return i; });
    order.sort(function (a, b) { return (isNum(ref[a]) ? ref[a] : Infinity) - (isNum(ref[b]) ? ref[b] : Infinity); });
    var ids = order.map(function (i) { return entry.site_ids ? entry.site_ids[i] : 'site ' + (i + 1); });
    var x = order.map(function (i, k) { return k + 1; });
    var traces = names.map(function (m, i) {
      return {type: 'scatter', mode: 'markers', name: m.title + ' MAE', x: x,
              y: order.map(function (j) { return entry.site_mae[m.name][j]; }), text: ids,
              marker: {size: 5, color: COLORS[i % COLORS.length]},
              hovertemplate: '%{text}<br>' + m.title + ' MAE %{y:.4f}<extra></extra>'};
    });
    if (entry.site_pls_r) {
      traces.push({type: 'scatter', mode: 'markers', name: 'PLS r', x: x, yaxis: 'y2', text: ids,
                   y: order.map(function (j) { return entry.site_pls_r[j]; }),
                   marker: {size: 5, symbol: 'x', color: '#555'},
                   hovertemplate: '%{text}<br>PLS r %{y:.3f}<extra></extra>'});
    }
    var div = el('div', {className: 'chart site-chart'});
    host.appendChild(div);
    var layout = {height: 360, margin: {l: 60, r: entry.site_pls_r ? 60 : 20, t: 30, b: 45}, hovermode: 'closest',
                  title: {text: entry.family + ' ' + entry.region + ': per-site values, mean over splits',
                          font: {size: 13}},
                  xaxis: {title: {text: 'site (sorted by ' + (names.length ? names[names.length - 1].title + ' MAE'
                                                              : 'PLS r') + ')'}},
                  yaxis: {title: {text: 'MAE'}}, legend: {orientation: 'h', y: -0.2}};
    if (entry.site_pls_r) {
      layout.yaxis2 = {title: {text: 'PLS r'}, overlaying: 'y', side: 'right', showgrid: false, tickformat: '.2f'};
    }
    Plotly.newPlot(div, traces, layout, PLOT_CONFIG);
    return true;
  }

  // the layer choice's other fields, numbers per layer (the choice's scores) to 3 decimals
  function choiceDetails(fields) {
    return Object.keys(fields).map(function (key) {
      var v = fields[key];
      if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every(function (k) { return isNum(v[k]); })) {
        return key + ': ' + Object.keys(v).map(function (k) { return k + ' ' + fmt(v[k]); }).join(', ');
      }
      return key + ': ' + text(v);
    }).join('; ');
  }

  function showModel(model) {
    var select = document.getElementById('drill-model');
    select.value = model;
    renderModel(model);
    document.getElementById('models-section').scrollIntoView();
  }

  function renderModel(model) {
    var host = document.getElementById('drill');
    host.textContent = '';
    if (model === '' || model === null || model === undefined) return;
    host.dataset.model = model;
    host.appendChild(el('h3', {className: 'drill-title', text: model}));
    D.failed.filter(function (f) { return f.model === model; }).forEach(function (f) {
      host.appendChild(el('p', {className: 'failed', text: 'Could not be scored: ' + text(f.reason)}));
    });
    D.rows.filter(function (r) { return r.model === model; }).forEach(function (row) {
      var card = el('div', {className: 'card'}, el('h4', {text: row.family + ' ' + row.region}));
      card.appendChild(el('p', null, 'PLS r ' + fmt(row.pls_raw_r) + ' '
                          + fmtInterval([row.pls_raw_r_ci_low, row.pls_raw_r_ci_high])
                          + ', NRP-error ' + fmt(row.nrp_error) + ' '
                          + fmtInterval([row.nrp_error_ci_low, row.nrp_error_ci_high])
                          + ', best linear: ' + text(row.best_linear_title)));
      card.appendChild(el('div', {className: 'scroll'}, mappingTable(row)));
      host.appendChild(card);
    });
    var details = D.details[model] || [];
    if (details.length) {
      host.appendChild(el('h4', {text: 'Layers and how they were chosen'}));
      var table = el('table', {className: 'data layers'});
      table.appendChild(el('thead', null, el('tr', null, el('th', {className: 'text', text: 'family'}),
        el('th', {className: 'text', text: 'region'}), el('th', {className: 'text', text: 'layer (-pls)'}),
        el('th', {className: 'text', text: 'NRP layers'}), el('th', {className: 'text', text: 'chosen by'}),
        el('th', {className: 'text', text: 'choice details'}))));
      var body = el('tbody');
      details.forEach(function (e) {
        var choice = e.layer_choice || {};
        var how = choice.method ? choice.method + (choice.images ? ' (' + choice.images + ')' : '') : null;
        var rest = {};
        Object.keys(choice).forEach(function (k) {
          if (['method', 'images', 'layer'].indexOf(k) < 0) rest[k] = choice[k];
        });
        body.appendChild(el('tr', null, el('td', {className: 'text', text: text(e.family)}),
          el('td', {className: 'text', text: text(e.region)}), el('td', {className: 'text', text: text(e.layer)}),
          el('td', {className: 'text', text: e.nrp_layers ? e.nrp_layers.join(', ') : DASH}),
          el('td', {className: 'text', text: text(how)}),
          el('td', {className: 'text', text: Object.keys(rest).length ? choiceDetails(rest) : DASH})));
      });
      table.appendChild(body);
      host.appendChild(el('div', {className: 'scroll'}, table));
      host.appendChild(el('h4', {text: 'Per-site errors'}));
      var drawn = 0;
      details.forEach(function (e) { if (siteChart(host, e)) drawn++; });
      if (!drawn) {
        host.appendChild(el('p', {className: 'note', text: 'The records hold no per-site values (' + DASH + ').'}));
      }
      details.forEach(function (e) {
        if (e.config) {
          var summary = el('summary', {text: 'NRP configuration (' + e.family + ' ' + e.region + ')'});
          host.appendChild(el('details', null, summary, el('pre', {text: JSON.stringify(e.config, null, 1)})));
        }
      });
    }
  }

  function setupModels() {
    var select = document.getElementById('drill-model');
    select.appendChild(el('option', {value: '', text: 'choose a model (' + D.models.length + ')'}));
    D.models.forEach(function (m) { select.appendChild(el('option', {value: m, text: m})); });
    select.addEventListener('change', function () { renderModel(select.value); });
    var host = document.getElementById('failed');
    if (D.failed.length) {
      host.appendChild(el('h3', {className: 'failed',
                                 text: 'Models that could not be scored (' + D.failed.length + ')'}));
      var div = el('div');
      host.appendChild(div);
      new DataTable(div, {id: 'failed-table', columns: [{key: 'model', title: 'model', kind: 'model'},
                                                         {key: 'reason', title: 'why', kind: 'text'}],
                          rows: D.failed, pageSize: 25});
    }
  }

  // ---------------------------------------------------------------- provenance
  function renderProvenance() {
    var host = document.getElementById('provenance');
    var run = D.run || {};
    host.appendChild(el('h3', {text: 'Run'}));
    var runTable = keyValueTable(run, ['models']);
    if (run.models) {
      var models = run.models;
      runTable.insertBefore(el('tr', null, el('th', {text: 'models'}), el('td', null,
        el('details', null, el('summary', {text: models.length + ' requested'}),
           el('pre', {text: models.join('\n')})))),
        runTable.firstChild);
    }
    runTable.appendChild(el('tr', null, el('th', {text: 'computed on'}),
                            el('td', {text: D.devices.length ? D.devices.join(', ') : DASH})));
    host.appendChild(runTable);
    var p = D.provenance || {};
    if (p.mixed) host.appendChild(el('p', {className: 'failed', text: 'The scores come from different code or versions '
                                           + '(the cache held older ones): each set is listed.'}));
    (p.versions || []).forEach(function (v, i) {
      host.appendChild(el('h3', {text: 'Versions' + ((p.versions || []).length > 1 ? ' (set ' + (i + 1) + ')' : '')}));
      host.appendChild(keyValueTable(v));
    });
    (p.code || []).forEach(function (c, i) {
      host.appendChild(el('h3', {text: 'Code' + ((p.code || []).length > 1 ? ' (set ' + (i + 1) + ')' : '')}));
      host.appendChild(typeof c === 'object' && c !== null ? keyValueTable(c) : el('p', {text: text(c)}));
    });
    if (p.data && Object.keys(p.data).length) {
      host.appendChild(el('h3', {text: 'Data'}));
      host.appendChild(keyValueTable(p.data));
    }
  }

  function renderSummary() {
    var run = D.run || {};
    var parts = [D.models.length + ' model' + (D.models.length === 1 ? '' : 's')
                 + (D.failed.length ? ' (' + D.failed.length + ' could not be scored)' : ''),
                 'families: ' + (D.families.join(', ') || DASH), 'regions: ' + (D.regions.join(', ') || DASH)];
    if (run.started) parts.push('started ' + run.started);
    if (run.command) parts.push('command: ' + run.command);
    document.getElementById('summary').textContent = parts.join(' \u00b7 ');
  }

  renderSummary();
  setupTable();
  renderRanking();
  setupModels();
  renderProvenance();
  drawScatter();
  drawRankChanges();
  document.body.dataset.ready = 'true';
}());
