(function () {
  'use strict';
  // Filters the findings listed in the page. Everything else is rendered in
  // the HTML; this script reads values from the DOM and writes them back
  // with textContent and properties only, never as markup.
  var list = document.getElementById('list');
  var form = document.getElementById('filters');
  var shown = document.getElementById('shown');
  var items = list ? Array.prototype.slice.call(list.querySelectorAll('details.f')) : [];
  var keys = ['rule', 'user', 'ip', 'app', 'country'];
  var total = items.length;

  function fmt(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','); }

  if (form && total > 0) {
    var texts = items.map(function (e) { return e.textContent.toLowerCase(); });
    var selects = {};
    var values = {};
    keys.forEach(function (key) {
      var counts = new Map();
      items.forEach(function (e) {
        var v = e.getAttribute('data-' + key);
        if (v !== null) { counts.set(v, (counts.get(v) || 0) + 1); }
      });
      var select = document.getElementById('f-' + key);
      var sorted = Array.from(counts.entries()).sort(function (a, b) {
        return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      });
      values[key] = sorted.map(function (p) { return p[0]; });
      sorted.forEach(function (p, i) {
        var option = document.createElement('option');
        option.value = String(i);
        option.textContent = p[0] + ' (' + fmt(p[1]) + ')';
        select.appendChild(option);
      });
      selects[key] = select;
      if (sorted.length === 0) { document.getElementById('w-' + key).hidden = true; }
      select.addEventListener('change', apply);
    });
    var boxes = Array.prototype.slice.call(form.querySelectorAll('input[name=sev]'));
    boxes.forEach(function (b) { b.addEventListener('change', apply); });
    var q = document.getElementById('f-q');
    var timer = 0;
    q.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(apply, 120); });
    form.addEventListener('submit', function (ev) { ev.preventDefault(); });

    function chosen(key) {
      var i = selects[key].value;
      return i === '' ? null : values[key][Number(i)];
    }

    function apply() {
      var sev = {};
      boxes.forEach(function (b) { sev[b.value] = b.checked; });
      var want = {};
      keys.forEach(function (k) { want[k] = chosen(k); });
      var needle = q.value.trim().toLowerCase();
      var n = 0;
      for (var i = 0; i < items.length; i++) {
        var e = items[i];
        var ok = sev[e.getAttribute('data-sev')] === true;
        for (var j = 0; ok && j < keys.length; j++) {
          var w = want[keys[j]];
          if (w !== null && e.getAttribute('data-' + keys[j]) !== w) { ok = false; }
        }
        if (ok && needle && texts[i].indexOf(needle) < 0) { ok = false; }
        e.hidden = !ok;
        if (ok) { n++; }
      }
      shown.textContent = n === total ? fmt(total) + ' listed' : fmt(n) + ' of ' + fmt(total) + ' listed';
      toHash();
    }

    // The filters live in the address's fragment (#sev=high&user=...), so a
    // filtered view can be bookmarked or sent.
    function fromHash() {
      var hash = location.hash.replace(/^#/, '');
      if (!hash) { return; }
      hash.split('&').forEach(function (part) {
        var at = part.indexOf('=');
        if (at < 0) { return; }
        var key, value;
        try {
          key = decodeURIComponent(part.slice(0, at));
          value = decodeURIComponent(part.slice(at + 1));
        } catch (e) { return; }
        if (key === 'sev') {
          var set = value.split(',');
          boxes.forEach(function (b) { b.checked = !b.disabled && set.indexOf(b.value) >= 0; });
        } else if (key === 'q') {
          q.value = value;
        } else if (selects[key]) {
          var i = values[key].indexOf(value);
          if (i >= 0) { selects[key].value = String(i); }
        }
      });
    }

    function toHash() {
      var parts = [];
      var on = boxes.filter(function (b) { return b.checked && !b.disabled; }).map(function (b) { return b.value; });
      if (on.length !== boxes.filter(function (b) { return !b.disabled; }).length) {
        parts.push('sev=' + encodeURIComponent(on.join(',')));
      }
      keys.forEach(function (k) {
        var v = chosen(k);
        if (v !== null) { parts.push(k + '=' + encodeURIComponent(v)); }
      });
      if (q.value.trim()) { parts.push('q=' + encodeURIComponent(q.value.trim())); }
      var hash = parts.length ? '#' + parts.join('&') : '';
      if (hash !== location.hash && !(hash === '' && location.hash === '#')) {
        try { history.replaceState(null, '', hash || location.pathname + location.search); } catch (e) { /* a page opened where history cannot change */ }
      }
    }

    function reset() {
      boxes.forEach(function (b) { b.checked = !b.disabled; });
      keys.forEach(function (k) { selects[k].value = ''; });
      q.value = '';
    }

    document.getElementById('f-reset').addEventListener('click', function () { reset(); apply(); });
    document.getElementById('f-open').addEventListener('click', function () {
      items.forEach(function (e) { if (!e.hidden) { e.open = true; } });
    });
    document.getElementById('f-close').addEventListener('click', function () {
      items.forEach(function (e) { e.open = false; });
    });

    // A click on a row of the totals (or a severity card) filters by it.
    Array.prototype.forEach.call(document.querySelectorAll('[data-filter]'), function (el) {
      el.addEventListener('click', function () {
        var key = el.getAttribute('data-filter');
        var value = el.getAttribute('data-value');
        reset();
        if (key === 'sev') {
          var any = false;
          boxes.forEach(function (b) { b.checked = b.value === value; any = any || b.checked && !b.disabled; });
          if (!any) { reset(); return; }
        } else if (selects[key]) {
          var i = values[key].indexOf(value);
          if (i < 0) { return; }
          selects[key].value = String(i);
        }
        apply();
        form.scrollIntoView({ block: 'start' });
      });
    });

    form.hidden = false;
    fromHash();
    apply();
  }
  document.body.setAttribute('data-ready', '1');
})();
