// Small enhancements only: every page works without this file.
(function () {
  'use strict';
  // Disable a form's submit button while it is being sent, so a slow network does not
  // produce a second submission; the label tells the user something is happening.
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var btn = form.querySelector('button[type=submit], button:not([type])');
    if (btn && !btn.disabled) {
      var busy = btn.getAttribute('data-busy');
      setTimeout(function () { btn.disabled = true; if (busy) btn.textContent = busy; }, 0);
    }
  });
  // "Use my location": fills the report's map point from the phone, when the browser can.
  var locate = document.querySelector('[data-locate]');
  if (locate && navigator.geolocation && window.isSecureContext) {
    locate.hidden = false;
    locate.addEventListener('click', function () {
      var form = locate.form || locate.closest('form');
      var status = document.querySelector('[data-locate-status]');
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.long.value = pos.coords.longitude.toFixed(6);
        if (status) status.textContent = locate.getAttribute('data-done');
      }, function () {
        if (status) status.textContent = locate.getAttribute('data-failed');
      }, { timeout: 15000, maximumAge: 60000 });
    });
  }
  // A report survives a failed submit on a poor connection: its words, place and idempotency
  // key are kept on the phone until a case page confirms the filing. Sending it again with the
  // same key never files twice. (Chosen photos cannot be kept; they are chosen again.)
  var DRAFT = 'linli-report-draft';
  try {
    if (document.querySelector('meta[name=linli-filed]') || /[?&]filed=1/.test(location.search)) { localStorage.removeItem(DRAFT); }
    var form = document.querySelector('form[data-keep-draft]');
    if (form && window.localStorage) {
      var fields = ['key', 'text', 'place', 'building_id', 'resident_phone', 'lat', 'long'];
      var saved = JSON.parse(localStorage.getItem(DRAFT) || 'null');
      // A draft is its writer's: on a phone shared in a family it is not offered to another
      // person (or to a visitor), who might send it under their own name.
      var owner = form.elements.by ? form.elements.by.value : '';
      if (saved && saved.owner !== owner) { saved = null; }
      // The key stays the page's own (it is in the address, so Back finds the filed report).
      if (saved && form.elements.text && !form.elements.text.value) {
        fields.forEach(function (n) { if (n !== 'key' && form.elements[n] && saved[n] != null) form.elements[n].value = saved[n]; });
      }
      var save = function () {
        var d = { owner: owner };
        fields.forEach(function (n) { if (form.elements[n]) d[n] = form.elements[n].value; });
        localStorage.setItem(DRAFT, JSON.stringify(d));
      };
      form.addEventListener('input', save);
      form.addEventListener('submit', save);
    }
    // Logging out leaves nothing of what was typed on the phone.
    Array.prototype.forEach.call(document.querySelectorAll('form[action="/logout"]'), function (f) {
      f.addEventListener('submit', function () { localStorage.removeItem(DRAFT); });
    });
  } catch (e) { /* storage unavailable: the form still works */ }
  // "Copy link": the private link of an anonymous report, copied in one tap where the browser
  // allows it (without this the link is plain text to select).
  Array.prototype.forEach.call(document.querySelectorAll('[data-copy]'), function (btn) {
    var source = document.getElementById(btn.getAttribute('data-copy'));
    if (!source || !navigator.clipboard) return;
    btn.hidden = false;
    btn.addEventListener('click', function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        btn.textContent = btn.getAttribute('data-done');
      }, function () { /* the link stays selectable */ });
    });
  });
})();
